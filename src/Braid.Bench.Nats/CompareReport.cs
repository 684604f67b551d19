using System.Globalization;

namespace Braid.Bench.Nats;

/// <summary>
/// The figures of a side-by-side run, row by row (a workload), system by system, and their
/// summary: the median of each system's runs and the ratio Braid / NATS of the medians.
/// </summary>
public sealed class CompareReport
{
    public const string Braid = "braid";
    public const string Nats = "nats";

    private readonly List<string> rows = [];
    private readonly Dictionary<(string Row, string System), List<double>> recordsPerSecond = [];

    /// <summary>Records one run; rows keep the order in which they first appear.</summary>
    public void Add(string row, string system, double value)
    {
        if (system is not (Braid or Nats)) throw new ArgumentException($"system is {Braid} or {Nats}, not {system}", nameof(system));
        if (!double.IsFinite(value) || value < 0) throw new ArgumentOutOfRangeException(nameof(value), value, "records/s is a finite, non-negative number");
        if (!rows.Contains(row)) rows.Add(row);
        if (!recordsPerSecond.TryGetValue((row, system), out var list)) recordsPerSecond[(row, system)] = list = [];
        list.Add(value);
    }

    public IReadOnlyList<double> Runs(string row, string system) =>
        recordsPerSecond.TryGetValue((row, system), out var list) ? list : [];

    /// <summary>Braid's median over NATS's median for <paramref name="row"/>; NaN while either has no run.</summary>
    public double Ratio(string row)
    {
        var braid = Runs(row, Braid);
        var nats = Runs(row, Nats);
        if (braid.Count == 0 || nats.Count == 0) return double.NaN;
        var natsMedian = Median(nats);
        return natsMedian <= 0 ? double.PositiveInfinity : Median(braid) / natsMedian;
    }

    /// <summary>The summary table: per row both medians (records/s), each run, the ratio and whether it meets <paramref name="target"/>.</summary>
    public IReadOnlyList<string> SummaryLines(double target)
    {
        var width = Math.Max(3, rows.Count == 0 ? 3 : rows.Max(r => r.Length));
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"{"row".PadRight(width)}  {"braid rec/s",12}  {"nats rec/s",12}  {"braid/nats",10}  target >= {target:F1}x"),
        };
        foreach (var row in rows)
        {
            var ratio = Ratio(row);
            var verdict = double.IsNaN(ratio) ? "no figure" : ratio >= target ? "met" : "NOT met";
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{row.PadRight(width)}  {Median(Runs(row, Braid)),12:N0}  {Median(Runs(row, Nats)),12:N0}  {FormatRatio(ratio),10}  {verdict}"));
        }
        foreach (var row in rows)
            lines.Add($"  {row}: braid runs {Join(Runs(row, Braid))}; nats runs {Join(Runs(row, Nats))}");
        return lines;
    }

    /// <summary>"1.07x", or "n/a" when there is no ratio.</summary>
    public static string FormatRatio(double ratio) =>
        double.IsNaN(ratio) ? "n/a" : double.IsPositiveInfinity(ratio) ? "inf" : ratio.ToString("F2", CultureInfo.InvariantCulture) + "x";

    /// <summary>The median (the mean of the middle two for an even count); 0 for none.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return 0;
        var sorted = values.Order().ToList();
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>What an acknowledgement means on each side (printed with every comparison).</summary>
    public static IReadOnlyList<string> DurabilityLines(string natsVersion) =>
    [
        "durability of an acknowledgement:",
        "  braid: a batch is acknowledged once it is committed in its partition, i.e. written and fsynced on a majority (2 of 3) of its replicas.",
        $"  nats:  ({natsVersion}): a publish is acknowledged once the stream's Raft group has committed it, i.e. written (write(2), no fsync) to the",
        "         write-ahead log of a majority of its replicas; the stream's files are fsynced every 2 min and the Raft log every 5 min (fixed in 2.9;",
        "         sync_interval, default 2m, is a setting from 2.10 on). A power loss of a majority of servers can lose acknowledged NATS messages.",
    ];

    private static string Join(IReadOnlyList<double> values) =>
        values.Count == 0 ? "-" : string.Join(" ", values.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)));
}
