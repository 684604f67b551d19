namespace Braid.Lab.Report;

/// <summary>How a fault class (or the run as a whole) fared.</summary>
public enum LabVerdict
{
    /// <summary>No checker violation, no problem, short unavailability, every fault recovered.</summary>
    Held,
    /// <summary>Promises kept, but unavailable for long or not recovered.</summary>
    Degraded,
    /// <summary>The checker found a violation, or a fault of the class had a problem.</summary>
    Failed,
}

/// <summary>A stretch of the run without any acknowledgement (seconds since start); the run's
/// start and end count as its bounds, so a cluster that never acknowledges again is unavailable
/// until the run ends.</summary>
public readonly record struct AckGap(double StartSeconds, double EndSeconds)
{
    public double Seconds => EndSeconds - StartSeconds;
}

/// <summary>What one fault did to the workload.</summary>
/// <param name="RecordsAcked">Records acknowledged within the window (its start and end included).</param>
/// <param name="LongestGap">The longest gap between consecutive acknowledgements that overlaps the window.</param>
/// <param name="RecoverySeconds">Time from the window's end until throughput was back (see
/// <see cref="LabAnalysis.RecoveryThroughputFraction"/>); null if it was not, or could not be observed.</param>
/// <param name="RecoveryObserved">False when the run ended less than one bin after the window, too
/// early to see a recovery; such a fault is not counted as not recovered.</param>
public sealed record FaultOutcome(
    FaultWindow Fault, long RecordsAcked, AckGap LongestGap, double? RecoverySeconds, bool RecoveryObserved)
{
    public bool NotRecovered => RecoveryObserved && RecoverySeconds is null;
}

/// <summary>What the faults of one class did, and the verdict with its reason.</summary>
/// <param name="RecordsAcked">Records acknowledged within the union of the class's windows.</param>
/// <param name="MedianRecoverySeconds">Median over the faults that recovered; null if none did.</param>
public sealed record ClassOutcome(
    string Class,
    int Faults,
    long RecordsAcked,
    AckGap LongestGap,
    double? MedianRecoverySeconds,
    double? MinRecoverySeconds,
    double? MaxRecoverySeconds,
    int NotRecovered,
    LabVerdict Verdict,
    string Reason);

/// <summary>One bin of the run: records acknowledged in it, and their acknowledgement latency p50
/// and p99 in ms (NaN when the bin has none).</summary>
public readonly record struct AckBin(long Records, double P50Ms, double P99Ms);

/// <summary>Acknowledgement latency percentiles over the whole run (nearest rank), in ms.</summary>
public sealed record LatencySummary(int Acks, double P50Ms, double P90Ms, double P99Ms, double MaxMs);

/// <summary>
/// The numbers behind the report, computed from a <see cref="LabRun"/>: per-second throughput and
/// latency, the baseline throughput outside faults, each fault's acknowledgements, longest gap and
/// recovery, and per fault class the verdict. Pure and deterministic.
/// </summary>
public sealed class LabAnalysis
{
    /// <summary>Width of a throughput and latency bin: bin k holds the acknowledgements completed in
    /// [k, k+1) seconds since start.</summary>
    public const double BinSeconds = 1;

    /// <summary>A fault has recovered once a <see cref="BinSeconds"/>-long window starting at or after
    /// its end (at the end itself, or at an acknowledgement after it) holds at least this fraction
    /// of the baseline: the median records per whole-second bin that overlaps no fault window. The
    /// window slides with the acknowledgements rather than snapping to whole seconds, so the
    /// recovery time is not rounded up to the next second boundary.</summary>
    public const double RecoveryThroughputFraction = 0.5;

    /// <summary>A class whose faults left the cluster without any acknowledgement for longer than
    /// this is degraded: clients would notice (and time out) well before it.</summary>
    public const double DegradedGapSeconds = 5;

    /// <summary>At most this many distinct problems are named in a class's reason.</summary>
    private const int ReasonProblemsMax = 3;

    /// <summary>A problem's text is cut to this length in a reason (the per-fault table has it whole).</summary>
    private const int ReasonProblemCharsMax = 100;

    private readonly double[] _ackSeconds;
    private readonly long[] _recordsBefore;

    private LabAnalysis(LabRun run)
    {
        var acks = run.Acks.Where(a => double.IsFinite(a.AtSeconds)).OrderBy(a => a.AtSeconds).ToList();
        _ackSeconds = acks.Select(a => Math.Max(0, a.AtSeconds)).ToArray();
        _recordsBefore = new long[acks.Count + 1];
        for (var i = 0; i < acks.Count; i++) _recordsBefore[i + 1] = _recordsBefore[i] + acks[i].Records;

        RunEndSeconds = Math.Max(double.IsFinite(run.DurationSeconds) ? Math.Max(0, run.DurationSeconds) : 0,
            _ackSeconds.Length > 0 ? _ackSeconds[^1] : 0);
        var faults = run.Faults.Select(f => f with { EndSeconds = Math.Max(f.StartSeconds, f.EndSeconds) }).ToList();
        Bins = BuildBins(acks, RunEndSeconds);
        (BaselineRecordsPerSecond, BaselineOutsideFaults, BaselineSeconds) = Baseline(Bins, faults, RunEndSeconds);
        RecoveryThresholdRecords = Math.Max(1, RecoveryThroughputFraction * BaselineRecordsPerSecond);
        Gaps = BuildGaps(_ackSeconds, RunEndSeconds);
        LongestGap = Gaps.Count > 0 ? Gaps.MaxBy(g => g.Seconds) : default;
        Latency = Summarise(acks);
        Faults = faults.Select(Outcome).ToList();
        Classes = faults.Count == 0 ? [] : ClassOutcomes(run.Check);
        Overall = !run.Check.Ok ? LabVerdict.Failed : Classes.Select(c => c.Verdict).DefaultIfEmpty(LabVerdict.Held).Max();
    }

    /// <summary>Where the run ends: its duration, or the last acknowledgement if that is later.</summary>
    public double RunEndSeconds { get; }

    /// <summary>Per <see cref="BinSeconds"/> bin from the run's start: records acknowledged and latency.</summary>
    public IReadOnlyList<AckBin> Bins { get; }

    /// <summary>Median records per whole-second bin outside all fault windows (or over all bins, if
    /// every second overlapped a fault; see <see cref="BaselineOutsideFaults"/>).</summary>
    public double BaselineRecordsPerSecond { get; }

    public bool BaselineOutsideFaults { get; }

    /// <summary>How many whole seconds the baseline is the median of (0: none, baseline 0).</summary>
    public int BaselineSeconds { get; }

    /// <summary>Records a one-bin window must hold for a fault to count as recovered (at least one).</summary>
    public double RecoveryThresholdRecords { get; }

    /// <summary>Every gap between consecutive acknowledgements, bounded by the run's start and end.</summary>
    public IReadOnlyList<AckGap> Gaps { get; }

    public AckGap LongestGap { get; }

    /// <summary>Null when the run acknowledged nothing.</summary>
    public LatencySummary? Latency { get; }

    /// <summary>One per fault, in the run's order.</summary>
    public IReadOnlyList<FaultOutcome> Faults { get; }

    /// <summary>One per fault class, in order of the class's first fault.</summary>
    public IReadOnlyList<ClassOutcome> Classes { get; }

    /// <summary>The run's verdict: failed on any checker violation or failed class, degraded if a
    /// class was, held otherwise (so a caller can set its exit code from it).</summary>
    public LabVerdict Overall { get; }

    public static LabAnalysis Of(LabRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return new LabAnalysis(run);
    }

    private static List<AckBin> BuildBins(List<AckSample> acks, double runEnd)
    {
        // An acknowledgement at the run's very end belongs to the last bin, not to a bin of its own.
        var count = (int)Math.Ceiling(runEnd / BinSeconds);
        if (acks.Count > 0) count = Math.Max(count, 1);
        var records = new long[count];
        var latencies = new List<double>[count];
        foreach (var ack in acks)
        {
            var bin = Math.Min(BinOf(ack.AtSeconds), count - 1);
            records[bin] += ack.Records;
            (latencies[bin] ??= []).Add(ack.LatencyMs);
        }
        return Enumerable.Range(0, count).Select(k =>
        {
            var sorted = latencies[k]?.Order().ToList() ?? [];
            return new AckBin(records[k], Quantiles.Percentile(sorted, 0.5), Quantiles.Percentile(sorted, 0.99));
        }).ToList();
    }

    private static int BinOf(double seconds) => (int)Math.Floor(Math.Max(0, seconds) / BinSeconds);

    private static (double Baseline, bool OutsideFaults, int Seconds) Baseline(
        IReadOnlyList<AckBin> bins, List<FaultWindow> faults, double runEnd)
    {
        // Only whole bins: a last, partial second would pull the median down.
        var whole = Enumerable.Range(0, bins.Count).Where(k => (k + 1) * BinSeconds <= runEnd + 1e-9).ToList();
        var quiet = whole.Where(k => !faults.Any(f => Overlaps(k * BinSeconds, (k + 1) * BinSeconds, f))).ToList();
        var chosen = quiet.Count > 0 ? quiet : whole;
        return (Quantiles.Median(chosen.Select(k => (double)bins[k].Records).ToList()) ?? 0, quiet.Count > 0, chosen.Count);
    }

    /// <summary>Whether [start, end) meets the window; a zero-length window meets the bin holding it.</summary>
    private static bool Overlaps(double start, double end, FaultWindow fault) =>
        fault.EndSeconds > fault.StartSeconds
            ? start < fault.EndSeconds && end > fault.StartSeconds
            : start <= fault.StartSeconds && fault.StartSeconds < end;

    private static List<AckGap> BuildGaps(double[] ackSeconds, double runEnd)
    {
        var gaps = new List<AckGap>(ackSeconds.Length + 1);
        var previous = 0.0;
        foreach (var at in ackSeconds.Append(runEnd))
        {
            gaps.Add(new AckGap(previous, at));
            previous = at;
        }
        return gaps;
    }

    private static LatencySummary? Summarise(List<AckSample> acks)
    {
        if (acks.Count == 0) return null;
        var sorted = acks.Select(a => a.LatencyMs).Order().ToList();
        return new LatencySummary(sorted.Count, Quantiles.Percentile(sorted, 0.5), Quantiles.Percentile(sorted, 0.9),
            Quantiles.Percentile(sorted, 0.99), sorted[^1]);
    }

    private FaultOutcome Outcome(FaultWindow fault)
    {
        var (recovery, observed) = Recovery(fault.EndSeconds);
        var records = RecordsWithin(fault.StartSeconds, fault.EndSeconds);
        return new FaultOutcome(fault, records, LongestGapWithin(fault), recovery, observed);
    }

    /// <summary>Records acknowledged in [start, end].</summary>
    private long RecordsWithin(double start, double end) =>
        _recordsBefore[UpperBound(end)] - _recordsBefore[LowerBound(start)];

    /// <summary>The longest gap (a_i, a_i+1) with a_i &lt; end and a_i+1 &gt; start: the clients saw no
    /// acknowledgement for that long while the fault was active.</summary>
    private AckGap LongestGapWithin(FaultWindow fault)
    {
        // Gaps[i] runs from ack i-1 (or the start) to ack i (or the end): the first that ends after
        // the window's start is Gaps[first ack index after start].
        var best = new AckGap(fault.StartSeconds, fault.StartSeconds);
        // A zero-length window at t meets the gap that holds t.
        for (var i = UpperBound(fault.StartSeconds); i < Gaps.Count && Gaps[i].StartSeconds < fault.EndSeconds; i++)
        {
            if (Gaps[i].EndSeconds > fault.StartSeconds && Gaps[i].Seconds > best.Seconds) best = Gaps[i];
        }
        return best;
    }

    /// <summary>Seconds from <paramref name="end"/> to the start of the first bin-long window at or
    /// after it holding <see cref="RecoveryThresholdRecords"/>; candidate starts are the end itself and
    /// every acknowledgement after it. Unobserved if the run ends within a bin of the end.</summary>
    private (double? Seconds, bool Observed) Recovery(double end)
    {
        if (end + BinSeconds > RunEndSeconds + 1e-9) return (null, false);
        var n = _ackSeconds.Length;
        var first = LowerBound(end);
        var pastWindow = first;
        var start = end;
        while (start + BinSeconds <= RunEndSeconds + 1e-9)
        {
            while (first < n && _ackSeconds[first] < start) first++;
            pastWindow = Math.Max(pastWindow, first);
            while (pastWindow < n && _ackSeconds[pastWindow] < start + BinSeconds) pastWindow++;
            if (_recordsBefore[pastWindow] - _recordsBefore[first] >= RecoveryThresholdRecords) return (start - end, true);
            var next = first;
            while (next < n && _ackSeconds[next] <= start) next++;
            if (next >= n) break;
            start = _ackSeconds[next];
        }
        return (null, true);
    }

    private List<ClassOutcome> ClassOutcomes(CheckResult check)
    {
        var checker = check.Ok ? null : CheckerReason(check);
        return Faults.GroupBy(f => f.Fault.Class).Select(group =>
        {
            var outcomes = group.ToList();
            var recovered = outcomes.Where(o => o.RecoverySeconds is not null).Select(o => o.RecoverySeconds!.Value)
                .Order().ToList();
            var longest = outcomes.Select(o => o.LongestGap).MaxBy(g => g.Seconds);
            var notRecovered = outcomes.Count(o => o.NotRecovered);
            var (verdict, reason) = Judge(outcomes, longest, notRecovered, recovered, checker);
            return new ClassOutcome(group.Key, outcomes.Count, RecordsWithinUnion(outcomes.Select(o => o.Fault)), longest,
                Quantiles.Median(recovered), recovered.Count > 0 ? recovered[0] : null, recovered.Count > 0 ? recovered[^1] : null,
                notRecovered, verdict, reason);
        }).ToList();
    }

    /// <summary>The verdict rules: failed on a checker violation (which the run as a whole caused, so
    /// every class fails with it) or any problem of the class's faults; degraded when the longest
    /// gap exceeds <see cref="DegradedGapSeconds"/> or a fault did not recover; held otherwise.</summary>
    private static (LabVerdict, string) Judge(List<FaultOutcome> outcomes, AckGap longest, int notRecovered,
        List<double> recovered, string? checker)
    {
        var problems = outcomes.Where(o => !string.IsNullOrWhiteSpace(o.Fault.Problem))
            .Select(o => ProblemText(o.Fault)).Distinct().ToList();
        var degraded = new List<string>();
        if (longest.Seconds > DegradedGapSeconds)
            degraded.Add($"no acknowledgement for {Seconds(longest.Seconds)} (> {Seconds(DegradedGapSeconds)})");
        if (notRecovered > 0) degraded.Add($"{notRecovered} of {outcomes.Count} faults not recovered");
        if (checker is not null || problems.Count > 0)
        {
            // The failure first; what would have degraded the class is kept, as it is news too.
            var parts = new List<string>();
            if (checker is not null) parts.Add(checker);
            if (problems.Count > 0)
                parts.Add(string.Join("; ", problems.Take(ReasonProblemsMax)) +
                    (problems.Count > ReasonProblemsMax ? $"; and {problems.Count - ReasonProblemsMax} more problems" : ""));
            return (LabVerdict.Failed, string.Join("; ", parts.Concat(degraded)));
        }
        if (degraded.Count > 0) return (LabVerdict.Degraded, string.Join("; ", degraded));
        var recovery = recovered.Count > 0 ? $"; all recovered within {Seconds(recovered[^1])}" : "";
        return (LabVerdict.Held, $"longest gap {Seconds(longest.Seconds)}{recovery}");
    }

    private static string CheckerReason(CheckResult check)
    {
        var counts = new[] { ("lost", check.Lost), ("duplicated", check.Duplicated), ("phantom", check.Phantom) }
            .Where(c => c.Item2 > 0).Select(c => $"{c.Item2} {c.Item1}").ToList();
        var violations = check.Violations.Count == 1 ? "1 violation" : $"{check.Violations.Count} violations";
        return counts.Count > 0 ? $"checker: {violations} ({string.Join(", ", counts)})" : $"checker: {violations}";
    }

    /// <summary>The problem, condensed, named by its target unless it names the target itself.</summary>
    private static string ProblemText(FaultWindow fault)
    {
        var problem = Condense(fault.Problem!);
        return fault.Target.Length == 0 || problem.StartsWith(fault.Target, StringComparison.Ordinal)
            ? problem : $"{fault.Target}: {problem}";
    }

    /// <summary>One line, cut to <see cref="ReasonProblemCharsMax"/> characters.</summary>
    internal static string Condense(string text)
    {
        var line = string.Join(' ', text.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries)).Trim();
        return line.Length <= ReasonProblemCharsMax ? line : line[..(ReasonProblemCharsMax - 1)] + "…";
    }

    /// <summary>Records acknowledged within the union of the windows (overlapping windows of one
    /// class count their acknowledgements once).</summary>
    private long RecordsWithinUnion(IEnumerable<FaultWindow> windows)
    {
        long total = 0;
        double? start = null, end = null;
        foreach (var window in windows.OrderBy(w => w.StartSeconds))
        {
            if (start is not null && window.StartSeconds <= end)
            {
                end = Math.Max(end.Value, window.EndSeconds);
                continue;
            }
            if (start is not null) total += RecordsWithin(start.Value, end!.Value);
            (start, end) = (window.StartSeconds, window.EndSeconds);
        }
        if (start is not null) total += RecordsWithin(start.Value, end!.Value);
        return total;
    }

    /// <summary>Seconds as the report writes them: one decimal, invariant culture.</summary>
    internal static string Seconds(double seconds) =>
        seconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " s";

    /// <summary>Index of the first acknowledgement at or after <paramref name="seconds"/>.</summary>
    private int LowerBound(double seconds)
    {
        int low = 0, high = _ackSeconds.Length;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (_ackSeconds[middle] < seconds) low = middle + 1;
            else high = middle;
        }
        return low;
    }

    /// <summary>Index of the first acknowledgement after <paramref name="seconds"/>.</summary>
    private int UpperBound(double seconds)
    {
        int low = 0, high = _ackSeconds.Length;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (_ackSeconds[middle] <= seconds) low = middle + 1;
            else high = middle;
        }
        return low;
    }
}
