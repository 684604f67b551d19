using Braid.Core.Log;
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
            var down = Nodes.Values.Where(n => !n.Up).OrderBy(n => n.Id, StringComparer.Ordinal).ToList();
            if (down.Count > 0 && damagedNode is null && random.Next(2) == 0) DamageDisk(down[random.Next(down.Count)]);
            else FillOrFreeDisk(node);
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

    private string? damagedNode;

    /// <summary>
    /// Flips one bit at rest in a stopped node's sealed segment, hard state or snapshot: the
    /// replica must quarantine it at its next start and rejoin without a vote until caught up.
    /// One node per run, so that a majority of every group keeps its disk (the fault model).
    /// Never the last segment: a flip in its last frame looks like a torn write and is cut
    /// without a trace (SegmentScanner's known limit), a loss no rule can see.
    /// </summary>
    private void DamageDisk(SimNode node)
    {
        var groups = node.Replicas.Keys.Order().ToArray();
        var sim = node.Replicas[groups[random.Next(groups.Length)]];
        var segments = sim.Device.ListNames().Where(n => n.EndsWith(".seg", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        var files = segments.Take(segments.Count - 1)
            .Concat(new[] { HardStateStore.FileName, SnapshotStore.FileName }.Where(sim.Device.Exists))
            .Where(n => sim.Device.ContentsOf(n).Length > 0).ToList();
        if (files.Count == 0) return;
        var name = files[random.Next(files.Count)];
        var offset = random.NextInt64(sim.Device.ContentsOf(name).Length);
        sim.Device.FlipBit(name, offset, random.Next(8));
        damagedNode = node.Id;
        Record($"bit flip in {node.Id}/g{sim.Group} {name} at {offset}");
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
