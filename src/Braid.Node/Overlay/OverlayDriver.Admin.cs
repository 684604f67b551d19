using Braid.Protocol.V1;

namespace Braid.Node.Overlay;

/// <summary>The admin-facing side of the driver: status, probes, fault injection.</summary>
internal sealed partial class OverlayDriver
{
    public Task<StatusReply> StatusAsync(CancellationToken cancellationToken) => AskAsync(now =>
    {
        var reply = new StatusReply
        {
            NodeId = Self,
            Version = typeof(OverlayDriver).Assembly.GetName().Version?.ToString() ?? "unknown",
            UptimeMs = (long)now.TotalMilliseconds,
            ProcessId = Environment.ProcessId,
            Incarnation = options.Incarnation,
            Address = Topology.Node(Self).Address,
            FaultInjectionEnabled = options.AllowFaultInjection,
        };
        foreach (var n in Node.Neighbours(now).OrderBy(n => n.Id, StringComparer.Ordinal))
        {
            reply.Neighbours.Add(new NeighbourStatus
            {
                NodeId = n.Id,
                Alive = n.Alive,
                Connected = n.Connected,
                Phi = double.IsFinite(n.Phi) ? n.Phi : 1e9,
                Fault = faults.TryGetValue(n.Id, out var f) ? f.Describe() : "",
            });
        }
        foreach (var r in Node.Router.Routes.Values.OrderBy(r => r.Destination, StringComparer.Ordinal))
            reply.Routes.Add(new RouteEntry { Destination = r.Destination, NextHop = r.NextHop, Hops = (uint)r.Hops });
        reply.Unreachable.AddRange(Node.Unreachable());
        return reply;
    }, cancellationToken);

    /// <summary>How many nodes of the topology this node reaches (itself included) and how many there are.</summary>
    public Task<(int Reached, int Nodes)> ReachAsync(CancellationToken cancellationToken) => AskAsync(_ =>
        (Topology.Nodes.Count - Node.Unreachable().Count(), Topology.Nodes.Count), cancellationToken);

    /// <summary>Sends a record-route probe and waits for its reply or the timeout.</summary>
    public async Task<PingReply> PingAsync(string destination, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!Topology.Contains(destination))
            return new PingReply { Error = $"unknown node '{destination}' (topology {Topology.Name} has {string.Join(", ", Topology.NodeIds)})" };
        var completion = new TaskCompletionSource<PingReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        ulong? probeId = null;
        var immediate = await AskAsync(now =>
        {
            probeId = Node.SendProbe(destination);
            if (probeId is null) return Unreachable(destination);
            probes[probeId.Value] = new PendingProbe(clock.GetTimestamp(), completion);
            return null;
        }, cancellationToken).ConfigureAwait(false);
        if (immediate is not null) return immediate;
        try
        {
            return await completion.Task.WaitAsync(timeout, clock, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await PostAsync(_ => probes.Remove(probeId!.Value), CancellationToken.None).ConfigureAwait(false);
            return new PingReply { Error = $"no reply from {destination} within {timeout.TotalMilliseconds:F0} ms (the probe or its reply was lost on the way)" };
        }
    }

    private PingReply Unreachable(string destination)
    {
        var live = Node.Router.LiveNeighbours;
        return new PingReply
        {
            Error = $"{destination} is unreachable from {Self}: no path over live links "
                + $"({Self}'s live neighbours: {(live.Count == 0 ? "none" : string.Join(", ", live))}; "
                + $"unreachable: {string.Join(", ", Node.Unreachable())})",
        };
    }

    /// <summary>Sets or clears a fault on the link to <paramref name="neighbour"/>.</summary>
    public Task SetFaultAsync(string neighbour, bool drop, int delayMs, CancellationToken cancellationToken, int jitterMs = 0, double lossPercent = 0) => AskAsync(now =>
    {
        var fault = drop ? new LinkFault(true, 0) : new LinkFault(false, Math.Max(0, delayMs), Math.Max(0, jitterMs), Math.Clamp(lossPercent, 0, 100));
        if (!fault.Drop && fault.DelayMs == 0 && fault.JitterMs == 0 && fault.LossPercent == 0) faults.Remove(neighbour);
        else faults[neighbour] = fault;
        if (active.TryGetValue(neighbour, out var connection)) fault.ApplyTo(connection);
        Log.FaultInjected(logger, neighbour, faults.ContainsKey(neighbour) ? fault.Describe() : "none");
        return true;
    }, cancellationToken);
}
