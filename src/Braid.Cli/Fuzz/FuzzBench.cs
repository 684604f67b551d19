using System.Globalization;

namespace Braid.Cli.Fuzz;

/// <summary>
/// <c>braid bench fuzz</c> (issue 11, item 7): every input boundary of a node fed mutated valid
/// encodings and uniform random bytes; prints per target the cases, cases/s, accepted, refusals by
/// type and failures with their reproducers.
/// </summary>
internal static class FuzzBench
{
    /// <summary>Every target, in the order they are run.</summary>
    public static IReadOnlyList<Func<FuzzTarget>> Targets { get; } =
    [
        () => new OverlayFuzzTarget(),
        () => new RaftFuzzTarget(),
        () => new AppendRequestFuzzTarget(),
        () => new RawBatchFuzzTarget(),
        () => new CursorFuzzTarget(),
        () => new FilterFuzzTarget(),
        () => new CsvFuzzTarget(),
        () => new SegmentFuzzTarget(),
        () => new SmallFileFuzzTarget("hardstate", Core.Log.HardStateStore.FileName),
        () => new SmallFileFuzzTarget("snapshot", Core.Log.SnapshotStore.FileName),
        () => new TopologyFuzzTarget(),
    ];

    public static readonly string[] TargetNames = ["overlay", "raft", "append", "raw", "cursor", "filter", "csv", "segment", "hardstate", "snapshot", "topology"];

    /// <summary>Runs <paramref name="target"/> (or every target for "all"), printing each target's figures, and returns them.</summary>
    public static Json.FuzzBenchReport Run(string target, FuzzSettings settings, TextWriter output)
    {
        var chosen = target == "all" ? Targets.Select(f => f()).ToList()
            : Targets.Select(f => f()).Where(t => t.Name == target).ToList() is { Count: > 0 } one ? one
            : throw new Cluster.CliException($"unknown fuzz target '{target}' (one of: all, {string.Join(", ", TargetNames)})");
        output.WriteLine(Invariant($"fuzz: seed {settings.Seed}, mode {settings.Mode.ToString().ToLowerInvariant()}, {(settings.OnlyCase is { } c ? $"case {c} only" : $"{settings.Cases:N0} cases per target")}"));
        long failures = 0;
        var targets = new List<Json.FuzzTargetReport>();
        foreach (var t in chosen)
        {
            var report = FuzzRunner.Run(t, settings);
            Print(output, t, report);
            targets.Add(ToReport(t, report));
            failures += report.FailureCount;
        }
        output.WriteLine(failures == 0 ? "fuzz: no failures" : $"fuzz: {failures.ToString(CultureInfo.InvariantCulture)} FAILURES");
        return new Json.FuzzBenchReport(settings.Seed, settings.Mode.ToString().ToLowerInvariant(), settings.Cases, settings.OnlyCase, targets, failures);
    }

    /// <summary>One target's figures as data, for --json.</summary>
    public static Json.FuzzTargetReport ToReport(FuzzTarget target, FuzzReport r) => new(
        r.Target, target.Description, r.Cases, Math.Round(r.Elapsed.TotalSeconds, 3), Math.Round(r.CasesPerSecond, 1), target.Seeds.Count,
        r.Mutated, r.Cases - r.Mutated, r.Accepted, r.AcceptedMutated, r.AcceptedRandom, target is StorageFuzzTarget s ? s.TailCuts : null,
        r.Refused.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new Json.FuzzRefusalReport(kv.Key, kv.Value)).ToList(),
        r.StoppedBecause, r.FailureCount,
        r.Failures.Select(f => new Json.FuzzFailureReport(f.Case, f.Seed, f.ReplayFrom, f.Kind, f.Detail, f.ReproducerPath)).ToList());

    public static void Print(TextWriter output, FuzzTarget target, FuzzReport r)
    {
        output.WriteLine();
        output.WriteLine(Invariant($"{r.Target}: {target.Description}"));
        output.WriteLine(Invariant($"  cases {r.Cases:N0} in {r.Elapsed.TotalSeconds:F1} s: {r.CasesPerSecond:N0} cases/s; {target.Seeds.Count} seeds, {r.Mutated:N0} mutated, {r.Cases - r.Mutated:N0} random"));
        output.WriteLine(Invariant($"  accepted {r.Accepted:N0} ({r.AcceptedMutated:N0} mutated, {r.AcceptedRandom:N0} random)")
            + (target is StorageFuzzTarget s ? Invariant($"; opens with entries missing at the end (tail cut or snapshot reset): {s.TailCuts:N0}") : ""));
        foreach (var (why, count) in r.Refused.OrderByDescending(kv => kv.Value))
            output.WriteLine(Invariant($"  refused {count,10:N0}  {why}"));
        if (r.StoppedBecause is not null) output.WriteLine($"  stopped early: {r.StoppedBecause}");
        output.WriteLine(Invariant($"  FAILURES {r.FailureCount:N0}"));
        foreach (var f in r.Failures) output.WriteLine("    " + f);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
