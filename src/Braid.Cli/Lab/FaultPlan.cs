namespace Braid.Cli.Lab;

/// <summary>One planned fault: its class, when it starts and how long it lasts (seconds from the
/// start of the fault phase), and a seed for the choices made when it is injected (which node,
/// which edge, which file).</summary>
internal sealed record PlannedFault(string Class, double StartSeconds, double DurationSeconds, int Seed);

/// <summary>
/// The schedule of a lab run: faults one after another, each of a class drawn from the chosen
/// ones, lasting a drawn time, followed by a drawn quiet gap in which the cluster heals. A pure
/// function of the seed, so <c>--seed S</c> replays the same schedule (targets that depend on the
/// cluster's state, such as "the leader of partition 3", are resolved when injected).
/// </summary>
internal static class FaultPlan
{
    public static readonly IReadOnlyList<string> Classes =
        ["kill", "pause", "link", "partition", "partition-oneway", "majority", "minority", "slow", "disk-full", "bitflip", "truncate", "wipe", "loss"];

    /// <summary>Classes that need the nodes' data on size-limited file systems.</summary>
    public static readonly IReadOnlySet<string> DiskClasses = new HashSet<string> { "disk-full" };

    /// <summary>Classes that cut traffic between namespace hosts with nftables (or links, where sets share a host).</summary>
    public static readonly IReadOnlySet<string> NetworkClasses = new HashSet<string> { "partition", "partition-oneway", "majority", "minority" };

    /// <summary>Classes that need the nodes started with a short <c>--dead-after</c> (a node lost for good is
    /// declared dead and replaced by the cluster itself, then added back as new).</summary>
    public static readonly IReadOnlySet<string> MembershipClasses = new HashSet<string> { "loss" };

    /// <summary>The nodes' <c>--dead-after</c> when a membership class is chosen and none is given.</summary>
    public const string DefaultLossDeadAfter = "5s";

    public static IReadOnlyList<string> ParseClasses(string text)
    {
        var chosen = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (chosen.Count == 1 && chosen[0] == "all") return Classes;
        var unknown = chosen.Where(c => !Classes.Contains(c)).ToList();
        if (unknown.Count > 0) throw new Cluster.CliException($"unknown fault class {string.Join(", ", unknown)} (use all, or some of: {string.Join(", ", Classes)})");
        if (chosen.Count == 0) throw new Cluster.CliException("--faults needs at least one class");
        return chosen.Distinct().ToList();
    }

    /// <param name="duration">Seconds of the fault phase; no fault starts after duration minus its length.</param>
    /// <param name="faultSeconds">Range of one fault's length.</param>
    /// <param name="gapSeconds">Range of the quiet time after each fault.</param>
    public static List<PlannedFault> Make(IReadOnlyList<string> classes, double duration, int seed, (double Min, double Max) faultSeconds, (double Min, double Max) gapSeconds)
    {
        var random = new Random(seed);
        var plan = new List<PlannedFault>();
        var t = Draw(random, gapSeconds);
        // Classes in shuffled rounds, so every chosen class gets its turn early in a short run.
        var round = new List<string>();
        while (true)
        {
            if (round.Count == 0) round = classes.OrderBy(_ => random.Next()).ToList();
            var length = Math.Round(Draw(random, faultSeconds), 1);
            if (t + length > duration) break;
            plan.Add(new PlannedFault(round[0], Math.Round(t, 1), length, random.Next()));
            round.RemoveAt(0);
            t += length + Draw(random, gapSeconds);
        }
        return plan;
    }

    private static double Draw(Random random, (double Min, double Max) range) => range.Min + random.NextDouble() * (range.Max - range.Min);
}
