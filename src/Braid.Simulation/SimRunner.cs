using System.Diagnostics;
using Braid.Core.Placement;
using Braid.Core.Topology;

namespace Braid.Simulation;

/// <summary>Summary of a range of seeds.</summary>
public sealed record SimSummary(int Seeds, IReadOnlyList<SimResult> Failures, long Acked, long Retries, long Messages, double SimulatedSeconds, TimeSpan Wall, long Compactions = 0, long SnapshotsInstalled = 0, SimQueryCounts Queries = default, SimMembershipCounts Membership = default)
{
    public double SimulatedSecondsPerWallSecond => SimulatedSeconds / Math.Max(1e-9, Wall.TotalSeconds);
}

/// <summary>Runs many seeds of the standard scenario on one topology, with groups placed by <see cref="PlacementPlanner"/>.</summary>
public static class SimRunner
{
    public static IReadOnlyList<string[]> Groups(ClusterTopology topology, SimOptions options) =>
        PlacementPlanner.Plan(topology, options.Groups, options.Replicas).Partitions.Select(p => p.Replicas.ToArray()).ToList();

    public static SimResult RunOne(ClusterTopology topology, int seed, SimOptions options) =>
        RunSafely(topology, Groups(topology, options), seed, options);

    /// <summary>Runs one seed; an exception escaping the core is a failure of that seed, reported with it.</summary>
    private static SimResult RunSafely(ClusterTopology topology, IReadOnlyList<string[]> groups, int seed, SimOptions options)
    {
        var simulation = new Simulation(topology, groups, seed, options);
        try
        {
            return simulation.Run();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new SimResult(seed, [$"crash at {simulation.Now / 1000.0:F1} ms: {e}"], simulation.Acked, simulation.Retries, simulation.MessagesDelivered, simulation.Now / 1e6, simulation.TraceHash, simulation.TraceText);
        }
    }

    public static SimSummary RunMany(ClusterTopology topology, int firstSeed, int lastSeed, SimOptions options, Action<SimResult>? onResult = null)
    {
        var groups = Groups(topology, options);
        var clock = Stopwatch.StartNew();
        var failures = new List<SimResult>();
        long acked = 0, retries = 0, messages = 0, compactions = 0, installs = 0;
        double simulated = 0;
        var queries = new SimQueryCounts();
        var membership = new SimMembershipCounts();
        for (var seed = firstSeed; seed <= lastSeed; seed++)
        {
            var result = RunSafely(topology, groups, seed, options);
            acked += result.Acked;
            retries += result.Retries;
            messages += result.Messages;
            simulated += result.SimulatedSeconds;
            compactions += result.Compactions;
            installs += result.SnapshotsInstalled;
            queries += result.Queries;
            membership += result.Membership;
            if (!result.Ok) failures.Add(result);
            onResult?.Invoke(result);
        }
        return new SimSummary(lastSeed - firstSeed + 1, failures, acked, retries, messages, simulated, clock.Elapsed, compactions, installs, queries, membership);
    }
}
