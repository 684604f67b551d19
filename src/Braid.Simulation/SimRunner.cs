using System.Diagnostics;
using Braid.Core.Placement;
using Braid.Core.Topology;

namespace Braid.Simulation;

/// <summary>Summary of a range of seeds.</summary>
public sealed record SimSummary(int Seeds, IReadOnlyList<SimResult> Failures, long Acked, long Retries, long Messages, double SimulatedSeconds, TimeSpan Wall)
{
    public double SimulatedSecondsPerWallSecond => SimulatedSeconds / Math.Max(1e-9, Wall.TotalSeconds);
}

/// <summary>Runs many seeds of the standard scenario on one topology, with groups placed by <see cref="PlacementPlanner"/>.</summary>
public static class SimRunner
{
    public static IReadOnlyList<string[]> Groups(ClusterTopology topology, SimOptions options) =>
        PlacementPlanner.Plan(topology, options.Groups, options.Replicas).Partitions.Select(p => p.Replicas.ToArray()).ToList();

    public static SimResult RunOne(ClusterTopology topology, int seed, SimOptions options) =>
        new Simulation(topology, Groups(topology, options), seed, options).Run();

    public static SimSummary RunMany(ClusterTopology topology, int firstSeed, int lastSeed, SimOptions options, Action<SimResult>? onResult = null)
    {
        var groups = Groups(topology, options);
        var clock = Stopwatch.StartNew();
        var failures = new List<SimResult>();
        long acked = 0, retries = 0, messages = 0;
        double simulated = 0;
        for (var seed = firstSeed; seed <= lastSeed; seed++)
        {
            var result = new Simulation(topology, groups, seed, options).Run();
            acked += result.Acked;
            retries += result.Retries;
            messages += result.Messages;
            simulated += result.SimulatedSeconds;
            if (!result.Ok) failures.Add(result);
            onResult?.Invoke(result);
        }
        return new SimSummary(lastSeed - firstSeed + 1, failures, acked, retries, messages, simulated, clock.Elapsed);
    }
}
