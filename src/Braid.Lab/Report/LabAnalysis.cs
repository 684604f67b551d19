namespace Braid.Lab.Report;

/// <summary>How a fault class (or the run as a whole) fared.</summary>
public enum LabVerdict
{
    /// <summary>No checker violation, no problem, short unavailability, every fault recovered.</summary>
    Held,
    /// <summary>Promises kept, but unavailable for long or not recovered.</summary>
    Degraded,
    /// <summary>The checker found a violation, a fault of the class had a problem, or (for the run)
    /// nothing was acknowledged at all.</summary>
    Failed,
}

/// <summary>A stretch of the run without an acknowledgement (seconds since start) of one partition,
/// or of any partition when <paramref name="Partition"/> is -1; the run's start and end count as its
/// bounds, so a partition (or cluster) that is never acknowledged again is unavailable until the run
/// ends.</summary>
public readonly record struct AckGap(double StartSeconds, double EndSeconds, int Partition = -1)
{
    public double Seconds => EndSeconds - StartSeconds;
}

/// <summary>What one fault did to the workload.</summary>
/// <param name="RecordsAcked">Records acknowledged within the window (its start and end included).</param>
/// <param name="LongestGap">The longest gap between consecutive acknowledgements of any partition
/// that overlaps the window: time with no acknowledgement at all.</param>
/// <param name="LongestStall">The longest gap between consecutive acknowledgements of one partition
/// that overlaps the window (its <see cref="AckGap.Partition"/> says which); when acknowledgements
/// carry no partition, <paramref name="LongestGap"/>.</param>
/// <param name="PartitionsStalled">Partitions with a gap longer than <see cref="LabAnalysis.StallSeconds"/>
/// overlapping the window; null when acknowledgements carry no partition.</param>
/// <param name="MaxLatencyMs">The highest latency of the acknowledgements completed within the
/// window (start and end included); null if none was.</param>
/// <param name="RecoverySeconds">Time from the window's end until throughput was back (see
/// <see cref="LabAnalysis.RecoveryThroughputFraction"/>); null if it was not, or could not be observed.</param>
/// <param name="RecoveryObserved">False when the run ended less than one bin after the window, too
/// early to see a recovery; such a fault is not counted as not recovered.</param>
public sealed record FaultOutcome(
    FaultWindow Fault, long RecordsAcked, AckGap LongestGap, AckGap LongestStall, int? PartitionsStalled,
    double? MaxLatencyMs, double? RecoverySeconds, bool RecoveryObserved)
{
    public bool NotRecovered => RecoveryObserved && RecoverySeconds is null;
}

/// <summary>What the faults of one class did, and the verdict with its reason.</summary>
/// <param name="RecordsAcked">Records acknowledged within the union of the class's windows.</param>
/// <param name="LongestGap">The longest <see cref="FaultOutcome.LongestGap"/> of the class's faults.</param>
/// <param name="LongestStall">The longest <see cref="FaultOutcome.LongestStall"/>: what the verdict judges.</param>
/// <param name="PartitionsStalledMax">The most <see cref="FaultOutcome.PartitionsStalled"/> of one
/// fault; null when acknowledgements carry no partition.</param>
/// <param name="MedianRecoverySeconds">Median over the faults that recovered; null if none did.</param>
public sealed record ClassOutcome(
    string Class,
    int Faults,
    long RecordsAcked,
    AckGap LongestGap,
    AckGap LongestStall,
    int? PartitionsStalledMax,
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
/// latency, the baseline throughput outside faults, each fault's acknowledgements, longest partition
/// stall, longest gap, worst latency and recovery, and per fault class the verdict. Pure and
/// deterministic.
/// </summary>
/// <remarks>
/// Unavailability is judged per partition when acknowledgements carry one (<see cref="ByPartition"/>):
/// with many partitions some keep being acknowledged while others are stuck, and the gaps between
/// acknowledgements of the whole run would hide that. Acknowledgements without a partition then
/// count for throughput and latency only. When none carries one, the gaps of the whole run stand in.
/// </remarks>
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

    /// <summary>A class whose faults left a partition (or, without partitions, the cluster) without
    /// an acknowledgement for longer than this is degraded: clients would notice (and time out) well
    /// before it.</summary>
    public const double DegradedGapSeconds = 5;

    /// <summary>A partition with a gap longer than this is stalled. The lab's producers offer each
    /// partition a batch every 0.2 to 1 s, so shorter gaps are mostly the workload's own pacing.</summary>
    public const double StallSeconds = 1;

    /// <summary>The run's failure when it acknowledged nothing at all (and lasted some time).</summary>
    public const string NothingAcknowledged = "nothing was acknowledged";

    /// <summary>At most this many distinct problems are named in a class's reason.</summary>
    private const int ReasonProblemsMax = 3;

    /// <summary>A problem's text is cut to this length in a reason (the per-fault table has it whole).</summary>
    private const int ReasonProblemCharsMax = 100;

    private readonly double[] _ackSeconds;
    private readonly double[] _ackLatencies;
    private readonly long[] _recordsBefore;
    private readonly AckTimeline _all;
    private readonly List<AckTimeline> _partitions;

    private LabAnalysis(LabRun run)
    {
        var acks = run.Acks.Where(a => double.IsFinite(a.AtSeconds)).OrderBy(a => a.AtSeconds).ToList();
        _ackSeconds = acks.Select(a => Math.Max(0, a.AtSeconds)).ToArray();
        _ackLatencies = acks.Select(a => a.LatencyMs).ToArray();
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
        _all = new AckTimeline(-1, _ackSeconds, RunEndSeconds);
        _partitions = acks.Select((a, i) => (a.Partition, At: _ackSeconds[i])).Where(a => a.Partition >= 0)
            .GroupBy(a => a.Partition).OrderBy(g => g.Key)
            .Select(g => new AckTimeline(g.Key, g.Select(a => a.At).ToArray(), RunEndSeconds)).ToList();
        Partitions = _partitions.Select(p => p.Partition).ToList();
        LongestStall = ByPartition ? _partitions.Select(p => p.LongestWithin(0, RunEndSeconds)).MaxBy(g => g.Seconds) : LongestGap;
        var intervals = _partitions.Select(p => p.MedianIntervalSeconds).OfType<double>().Order().ToList();
        MedianPartitionIntervalSeconds = Quantiles.Median(intervals);
        SlowestPartitionIntervalSeconds = intervals.Count > 0 ? intervals[^1] : null;
        Latency = Summarise(acks);
        Faults = faults.Select(Outcome).ToList();
        Classes = faults.Count == 0 ? [] : ClassOutcomes(run.Check);
        RunFailure = acks.Count == 0 && RunEndSeconds > 0 ? NothingAcknowledged : null;
        Overall = !run.Check.Ok || RunFailure is not null
            ? LabVerdict.Failed
            : Classes.Select(c => c.Verdict).DefaultIfEmpty(LabVerdict.Held).Max();
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

    /// <summary>Every gap between consecutive acknowledgements (of any partition), bounded by the
    /// run's start and end.</summary>
    public IReadOnlyList<AckGap> Gaps { get; }

    /// <summary>The longest time with no acknowledgement at all.</summary>
    public AckGap LongestGap { get; }

    /// <summary>Whether acknowledgements carry partitions, so unavailability is judged per partition.</summary>
    public bool ByPartition => _partitions.Count > 0;

    /// <summary>The partitions acknowledged at least once, ascending (a partition never acknowledged
    /// is not seen); empty when acknowledgements carry no partition.</summary>
    public IReadOnlyList<int> Partitions { get; }

    /// <summary>The longest gap between consecutive acknowledgements of one partition over the run
    /// (bounded by its start and end); <see cref="LongestGap"/> when acknowledgements carry no partition.</summary>
    public AckGap LongestStall { get; }

    /// <summary>The median, over the partitions, of each partition's median time between consecutive
    /// acknowledgements: its ordinary pacing, against which <see cref="StallSeconds"/> is to be read.
    /// Null when no partition was acknowledged twice.</summary>
    public double? MedianPartitionIntervalSeconds { get; }

    /// <summary>The largest of the partitions' median times between acknowledgements.</summary>
    public double? SlowestPartitionIntervalSeconds { get; }

    /// <summary>What failed the run as a whole rather than a fault class (<see cref="NothingAcknowledged"/>), or null.</summary>
    public string? RunFailure { get; }

    /// <summary>Null when the run acknowledged nothing.</summary>
    public LatencySummary? Latency { get; }

    /// <summary>One per fault, in the run's order.</summary>
    public IReadOnlyList<FaultOutcome> Faults { get; }

    /// <summary>One per fault class, in order of the class's first fault.</summary>
    public IReadOnlyList<ClassOutcome> Classes { get; }

    /// <summary>The run's verdict: failed on any checker violation, failed class or <see cref="RunFailure"/>,
    /// degraded if a class was, held otherwise (so a caller can set its exit code from it).</summary>
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
        var gap = _all.LongestWithin(fault.StartSeconds, fault.EndSeconds);
        var stall = gap;
        int? stalled = null;
        if (ByPartition)
        {
            var stalls = _partitions.Select(p => p.LongestWithin(fault.StartSeconds, fault.EndSeconds)).ToList();
            stall = stalls.MaxBy(g => g.Seconds);
            stalled = stalls.Count(g => g.Seconds > StallSeconds);
        }
        return new FaultOutcome(fault, records, gap, stall, stalled, MaxLatencyWithin(fault.StartSeconds, fault.EndSeconds),
            recovery, observed);
    }

    /// <summary>Records acknowledged in [start, end].</summary>
    private long RecordsWithin(double start, double end) =>
        _recordsBefore[UpperBound(end)] - _recordsBefore[LowerBound(start)];

    /// <summary>The highest latency of the acknowledgements in [start, end], or null if there were none.</summary>
    private double? MaxLatencyWithin(double start, double end)
    {
        double? max = null;
        for (int i = LowerBound(start), past = UpperBound(end); i < past; i++)
            if (max is null || _ackLatencies[i] > max) max = _ackLatencies[i];
        return max;
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
            var stall = outcomes.Select(o => o.LongestStall).MaxBy(g => g.Seconds);
            var stalled = ByPartition ? outcomes.Max(o => o.PartitionsStalled) : null;
            var notRecovered = outcomes.Count(o => o.NotRecovered);
            var (verdict, reason) = Judge(outcomes, stall, notRecovered, recovered, checker);
            return new ClassOutcome(group.Key, outcomes.Count, RecordsWithinUnion(outcomes.Select(o => o.Fault)), longest,
                stall, stalled, Quantiles.Median(recovered), recovered.Count > 0 ? recovered[0] : null, recovered.Count > 0 ? recovered[^1] : null,
                notRecovered, verdict, reason);
        }).ToList();
    }

    /// <summary>The verdict rules: failed on a checker violation (which the run as a whole caused, so
    /// every class fails with it) or any problem of the class's faults; degraded when the longest
    /// stall (of a partition, or without partitions the longest gap) exceeds
    /// <see cref="DegradedGapSeconds"/> or a fault did not recover; held otherwise.</summary>
    private static (LabVerdict, string) Judge(List<FaultOutcome> outcomes, AckGap stall, int notRecovered,
        List<double> recovered, string? checker)
    {
        var problems = outcomes.Where(o => !string.IsNullOrWhiteSpace(o.Fault.Problem))
            .Select(o => ProblemText(o.Fault)).Distinct().ToList();
        var degraded = new List<string>();
        if (stall.Seconds > DegradedGapSeconds)
            degraded.Add((stall.Partition >= 0 ? $"partition {stall.Partition} without" : "no") +
                $" acknowledgement for {Seconds(stall.Seconds)} (> {Seconds(DegradedGapSeconds)})");
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
        var longest = stall.Partition >= 0
            ? $"longest partition stall {Seconds(stall.Seconds)} (partition {stall.Partition})"
            : $"longest gap {Seconds(stall.Seconds)}";
        return (LabVerdict.Held, longest + recovery);
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

    /// <summary>The sorted acknowledgement times of one partition (or of all, partition -1) and the
    /// gaps between them, bounded by the run's start and end.</summary>
    private sealed class AckTimeline(int partition, double[] seconds, double runEnd)
    {
        public int Partition => partition;

        /// <summary>The median time between consecutive acknowledgements (bounds not counted), or null
        /// with fewer than two.</summary>
        public double? MedianIntervalSeconds =>
            Quantiles.Median(Enumerable.Range(1, Math.Max(0, seconds.Length - 1)).Select(i => seconds[i] - seconds[i - 1]).Order().ToList());

        /// <summary>The longest gap (a, b) with a &lt; end and b &gt; start, a and b consecutive
        /// acknowledgements or the run's bounds: no acknowledgement for that long while the window
        /// was open. A zero-length window at t meets the gap that holds t. Zero-length at start if none.</summary>
        public AckGap LongestWithin(double start, double end)
        {
            var best = new AckGap(start, start, partition);
            // Gap i runs from ack i-1 (or the run's start) to ack i (or its end): the first that ends
            // after the window's start is gap (first ack after start).
            for (var i = UpperBound(start); i <= seconds.Length; i++)
            {
                var gapStart = i == 0 ? 0 : seconds[i - 1];
                if (gapStart >= end) break;
                var gapEnd = i == seconds.Length ? Math.Max(runEnd, gapStart) : seconds[i];
                if (gapEnd > start && gapEnd - gapStart > best.Seconds) best = new AckGap(gapStart, gapEnd, partition);
            }
            return best;
        }

        private int UpperBound(double at)
        {
            int low = 0, high = seconds.Length;
            while (low < high)
            {
                var middle = (low + high) / 2;
                if (seconds[middle] <= at) low = middle + 1;
                else high = middle;
            }
            return low;
        }
    }
}
