using System.Globalization;
using Braid.Cli.Cluster;
using Braid.Protocol.V1;
using Grpc.Core;

namespace Braid.Cli.Status;

/// <summary>
/// Asks every node of a cluster, all at once, for Admin.Status and Stream.Describe, each call under
/// its own deadline: a node that is dead, frozen or cut off costs at most one timeout and shows as
/// unreachable; nothing here throws because a node failed.
/// </summary>
internal sealed class StatusCollector(NodeClients clients, TimeSpan timeout)
{
    /// <summary>The nodes of the local cluster in <paramref name="directory"/>, with the state of each process.</summary>
    public static IReadOnlyList<StatusTarget> LocalTargets(ClusterState state) =>
        state.Nodes.Select(n => new StatusTarget(n.Id, n.Address,
            !ProcessControl.IsAlive(n.Pid, n.StartTime) ? "dead" : ProcessControl.State(n.Pid) == 'T' ? "paused" : "running")).ToList();

    /// <summary>Asks the seeds in turn for the cluster's nodes (Describe lists the topology); the first answer wins.</summary>
    public async Task<IReadOnlyList<StatusTarget>> DiscoverAsync(IReadOnlyList<string> seeds, CancellationToken ct)
    {
        var errors = new List<string>();
        foreach (var seed in seeds)
        {
            var (reply, error) = await CallAsync(c => new Protocol.V1.Stream.StreamClient(clients.Channel(seed))
                .DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow + timeout, cancellationToken: c).ResponseAsync, ct).ConfigureAwait(false);
            if (reply is { Nodes.Count: > 0 }) return reply.Nodes.Select(n => new StatusTarget(n.Id, n.Address)).ToList();
            errors.Add($"{seed}: {error ?? "no nodes in its answer"}");
        }
        throw new CliException("no seed answered: " + string.Join("; ", errors), 2);
    }

    public async Task<ClusterStatusReport> CollectAsync(string source, IReadOnlyList<StatusTarget> targets, CancellationToken ct)
    {
        var answers = await Task.WhenAll(targets.Select(t => AskAsync(t.Address, ct))).ConfigureAwait(false);
        var byNode = new Dictionary<string, NodeAnswer>(StringComparer.Ordinal);
        for (var i = 0; i < targets.Count; i++) byNode[targets[i].Id] = answers[i];
        return StatusBuilder.Build(source, DateTimeOffset.UtcNow, targets, byNode);
    }

    private async Task<NodeAnswer> AskAsync(string address, CancellationToken ct)
    {
        var status = CallAsync(c => clients.Admin(address).StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow + timeout, cancellationToken: c).ResponseAsync, ct);
        var describe = CallAsync(c => new Protocol.V1.Stream.StreamClient(clients.Channel(address))
            .DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow + timeout, cancellationToken: c).ResponseAsync, ct);
        var (s, statusError) = await status.ConfigureAwait(false);
        var (d, describeError) = await describe.ConfigureAwait(false);
        var error = (statusError, describeError) switch
        {
            (null, null) => null,
            ({ } a, { } b) when a == b => a,
            ({ } a, { } b) => $"status: {a}; describe: {b}",
            ({ } a, null) => "status: " + a,
            (null, { } b) => "describe: " + b,
        };
        return new NodeAnswer(s, d, error);
    }

    /// <summary>One call; its failure becomes a short reason. The extra wait bounds the call even
    /// if a deadline were not honoured (the status command must never hang on one node).</summary>
    private async Task<(T? Reply, string? Error)> CallAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken ct) where T : class
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(timeout + TimeSpan.FromSeconds(1));
        try
        {
            return (await call(bound.Token).ConfigureAwait(false), null);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.DeadlineExceeded || (e.StatusCode == StatusCode.Cancelled && !ct.IsCancellationRequested))
        {
            return (null, string.Create(CultureInfo.InvariantCulture, $"no answer within {timeout.TotalSeconds:0.#} s"));
        }
        catch (RpcException e) when (!ct.IsCancellationRequested)
        {
            return (null, $"{e.StatusCode}: {Reason(e)}");
        }
        catch (RpcException) when (ct.IsCancellationRequested)
        {
            ct.ThrowIfCancellationRequested(); // Ctrl-C: an ordinary cancellation, not a node failure
            throw;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (null, string.Create(CultureInfo.InvariantCulture, $"no answer within {timeout.TotalSeconds:0.#} s"));
        }
    }

    /// <summary>The innermost cause of a failed call ("Connection refused" rather than "Error connecting to subchannel.").</summary>
    private static string Reason(RpcException e)
    {
        var inner = e.Status.DebugException;
        while (inner?.InnerException is not null) inner = inner.InnerException;
        return inner is not null && inner.Message.Length > 0 ? inner.Message : Shorten(e.Status.Detail);
    }

    /// <summary>gRPC's details chain the inner exceptions ("Error starting gRPC call. HttpRequestException:
    /// ... SocketException: Connection refused"); the last one names the cause.</summary>
    internal static string Shorten(string detail)
    {
        const string marker = "Exception: ";
        var at = detail.LastIndexOf(marker, StringComparison.Ordinal);
        return (at >= 0 ? detail[(at + marker.Length)..] : detail).Trim();
    }
}
