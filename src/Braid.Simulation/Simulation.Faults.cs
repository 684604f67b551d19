namespace Braid.Simulation;

/// <summary>Fault injection during the fault phase, and healing after it.</summary>
public sealed partial class Simulation
{
    private bool healed;

    internal double CurrentDropRate => healed || !Options.Faults ? 0 : Options.DropRate;
    internal double CurrentDuplicateRate => healed || !Options.Faults ? 0 : Options.DuplicateRate;
    internal TimeSpan CurrentJitter => healed || !Options.Faults ? TimeSpan.FromMilliseconds(1) : Options.JitterMax;

    private void ScheduleFaults()
    {
        var at = TimeSpan.Zero;
        while (true)
        {
            at += TimeSpan.FromMicroseconds(random.NextDouble() * 2 * Options.FaultEvery.TotalMicroseconds);
            if (at >= Options.FaultPhase) break;
            var when = at;
            Schedule(when, InjectFault);
        }
    }

    private void InjectFault()
    {
        if (healed) return;
        var ids = Nodes.Keys.Order(StringComparer.Ordinal).ToArray();
        var node = Nodes[ids[random.Next(ids.Length)]];
        if (Options.DiskFaults && random.Next(4) == 0)
        {
            FillOrFreeDisk(node);
            return;
        }
        switch (random.Next(7))
        {
            case 0:
            case 1:
                if (node.Up && Nodes.Values.Count(n => !n.Up) < (ids.Length - 1) / 2)
                {
                    // Half the crashes strike inside a step: after the node took a message that
                    // makes it write and wrote what it wrote, before its ready was taken (nothing
                    // synced by TakeReady, nothing sent), the window a process kill can hit.
                    if (random.Next(2) == 0) node.CrashInNextStep = true;
                    else CrashNode(node);
                }
                else if (!node.Up) StartNode(node);
                break;
            case 2:
                var edge = Network.Topology.Edges[random.Next(Network.Topology.Edges.Count)];
                Network.Cut(edge.A, edge.B);
                Record($"cut {edge.A}-{edge.B}");
                break;
            case 3:
                var one = Network.Topology.Edges[random.Next(Network.Topology.Edges.Count)];
                Network.CutOneWay(one.A, one.B);
                Record($"cut one way {one.A}->{one.B}");
                break;
            case 4:
                var side = ids.Where(_ => random.Next(2) == 0).ToHashSet(StringComparer.Ordinal);
                var oneWay = random.Next(3) == 0;
                Network.Partition(side, oneWay);
                Record($"partition {{{string.Join(",", side.Order())}}}{(oneWay ? " one way" : "")}");
                break;
            default:
                Network.HealLinks();
                Record("heal links");
                break;
        }
    }

    /// <summary>A node's disk fills up (at most a few KiB left, so a write soon hits ENOSPC), or
    /// space comes back on a full one.</summary>
    private void FillOrFreeDisk(SimNode node)
    {
        var full = node.Replicas.Values.Any(r => r.Device.FreeBytes is not null);
        var left = random.Next(4096);
        foreach (var r in node.Replicas.Values) r.Device.FreeBytes = full ? null : left;
        Record(full ? $"disk of {node.Id} has space again" : $"disk of {node.Id} full ({left} bytes left)");
    }

    /// <summary>Ends the fault phase: every link heals, every crashed node restarts, every full
    /// disk gets space back, messages flow reliably.</summary>
    public void Heal()
    {
        healed = true;
        foreach (var r in Nodes.Values.SelectMany(n => n.Replicas.Values)) r.Device.FreeBytes = null;
        Network.HealLinks();
        foreach (var node in Nodes.Values.Where(n => !n.Up).OrderBy(n => n.Id, StringComparer.Ordinal)) StartNode(node);
        Record("heal everything");
    }
}
