namespace Braid.Data;

/// <summary>One hour file of a generated data set.</summary>
/// <param name="RelativePath">Path under the output folder, e.g. 20200810/20200810-01.csv.</param>
/// <param name="Day">UTC day.</param>
/// <param name="Hour">UTC hour 0..23.</param>
/// <param name="Records">The file's records, ordered by site then parameter (may be empty in a small run).</param>
public sealed record GeneratedFile(string RelativePath, DateOnly Day, int Hour, IReadOnlyList<AirQualityRecord> Records)
{
    /// <summary>The file's lines in CSV form, formatted on demand (no terminators).</summary>
    public IEnumerable<string> Lines => Records.Select(r => AirQualityCsv.Format(in r));
}

/// <summary>
/// A faithful synthetic copy of the 2020 AirNow "fire" data set used by mini 1 and 2: same layout
/// (43 day folders × 24 hour files), same format, exactly the same per-parameter totals
/// (1,167,525 records), realistic sites, units, concentrations and EPA AQIs, the west-coast smoke
/// of August–September 2020 included. Pure and seeded: the same seed gives the same bytes, and
/// files are produced one at a time (bounded memory: one hour, ~1,100 records, at a time).
/// </summary>
/// <remarks>
/// The window 2020-08-10 .. 2020-09-24 has 46 days; the real set has 43. Which three are missing
/// in the real set is not known here, so <see cref="OmittedDays"/> are chosen to make the gaps
/// useful rather than to copy them: one in each third of the window, none adjacent, not the first
/// or last day (so the window's edges stay where users expect them) and none in 2020-09-01..07,
/// the example query window of issue 5. A loader or query that assumes contiguous days fails on them.
/// </remarks>
public static partial class AirQualityGenerator
{
    /// <summary>Records in the full data set.</summary>
    public const long FullRecordCount = 1_167_525;

    /// <summary>First day of the window.</summary>
    public static DateOnly FirstDay { get; } = new(2020, 8, 10);

    /// <summary>Last day of the window (inclusive).</summary>
    public static DateOnly LastDay { get; } = new(2020, 9, 24);

    /// <summary>The three days of the window with no folder (see the remarks for why these).</summary>
    public static IReadOnlyList<DateOnly> OmittedDays { get; } = [new(2020, 8, 18), new(2020, 8, 29), new(2020, 9, 15)];

    /// <summary>The 43 days that have a folder, in order.</summary>
    public static IReadOnlyList<DateOnly> Days { get; } = Enumerable.Range(0, LastDay.DayNumber - FirstDay.DayNumber + 1)
        .Select(FirstDay.AddDays).Where(d => !OmittedDays.Contains(d)).ToArray();

    /// <summary>Per-parameter totals of the real data set (issue 5).</summary>
    public static IReadOnlyDictionary<AirParameter, long> FullCounts { get; } = new Dictionary<AirParameter, long>
    {
        [AirParameter.Ozone] = 478_728,
        [AirParameter.Pm25] = 334_402,
        [AirParameter.Pm10] = 125_784,
        [AirParameter.No2] = 97_613,
        [AirParameter.So2] = 71_332,
        [AirParameter.Co] = 59_666,
    };

    // Monitors per parameter: at least ~10% above the busiest hour's count of the full set.
    private static readonly int[] MonitorCounts = [520, 360, 140, 108, 80, 66];

    /// <summary>
    /// The per-parameter counts a run will produce: the full totals, or <paramref name="recordLimit"/>
    /// split in the same proportions. Independent of the seed.
    /// </summary>
    public static IReadOnlyDictionary<AirParameter, long> ExpectedCounts(long? recordLimit = null)
    {
        var totals = ExpectedTotals(recordLimit);
        return AirParameters.All.ToDictionary(p => p, p => totals[(int)p]);
    }

    /// <summary>The per-hour plan of a run (fast: no record is generated).</summary>
    internal static AirQualityPlan Plan(int seed, long? recordLimit = null) => AirQualityPlan.Create(seed, recordLimit, MonitorCounts);

    /// <summary>
    /// Generates the data set file by file, every hour of every day in order (empty files included
    /// in a small run, so the layout is always complete). Throws <see cref="ArgumentOutOfRangeException"/>
    /// for a limit below 0 or above <see cref="FullRecordCount"/>.
    /// </summary>
    public static IEnumerable<GeneratedFile> Generate(int seed, long? recordLimit = null)
    {
        var plan = Plan(seed, recordLimit);
        return GenerateFiles(plan, new RecordSynthesizer(seed));
    }

    internal static long[] ExpectedTotals(long? recordLimit)
    {
        var full = AirParameters.All.Select(p => FullCounts[p]).ToArray();
        if (recordLimit is not { } limit) return full;
        if (limit < 0 || limit > FullRecordCount)
            throw new ArgumentOutOfRangeException(nameof(recordLimit), limit, $"the record limit must be between 0 and {FullRecordCount:N0}");
        return AirQualityPlan.Apportion(limit, full);
    }

    private static IEnumerable<GeneratedFile> GenerateFiles(AirQualityPlan plan, RecordSynthesizer synthesizer)
    {
        var monitors = Monitors();
        var keys = new List<int>(1200);
        for (int d = 0; d < plan.Days.Count; d++)
        {
            var day = plan.Days[d];
            synthesizer.StartDay(day);
            for (int hour = 0; hour < AirQualityLayout.HoursPerDay; hour++)
            {
                keys.Clear();
                foreach (var p in AirParameters.All) synthesizer.PickMonitors(monitors[(int)p], plan.Count(d, hour, p), p, keys);
                keys.Sort();
                var time = AirQualityLayout.HourStartUtc(day, hour);
                var records = new AirQualityRecord[keys.Count];
                for (int i = 0; i < records.Length; i++)
                {
                    records[i] = synthesizer.Make(AirQualitySites.All[keys[i] >> 3], (AirParameter)(keys[i] & 7), time);
                }
                yield return new GeneratedFile(AirQualityLayout.RelativePath(day, hour), day, hour, records);
            }
        }
    }

    /// <summary>Which sites monitor which parameter: fixed for the table, like the real network.</summary>
    private static int[][] Monitors()
    {
        var random = new Random(20200924);
        var order = Enumerable.Range(0, AirQualitySites.All.Count).ToArray();
        var monitors = new int[AirParameters.Count][];
        for (int p = 0; p < monitors.Length; p++)
        {
            random.Shuffle(order);
            monitors[p] = order[..MonitorCounts[p]];
        }
        return monitors;
    }
}
