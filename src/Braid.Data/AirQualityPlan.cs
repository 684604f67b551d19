namespace Braid.Data;

/// <summary>
/// How many records of each parameter the generator writes into each hour file: computed up
/// front (no record is generated), so the counts can be checked fast and the demo can compare
/// what the cluster holds with what was generated.
/// </summary>
internal sealed class AirQualityPlan
{
    private readonly int[,] perHour; // [hour index, parameter]

    private AirQualityPlan(IReadOnlyList<DateOnly> days, long[] totals, int[,] perHour)
    {
        Days = days;
        this.perHour = perHour;
        ExpectedCounts = AirParameters.All.ToDictionary(p => p, p => totals[(int)p]);
        Total = totals.Sum();
    }

    /// <summary>The UTC days of the data set, in order (one folder each).</summary>
    public IReadOnlyList<DateOnly> Days { get; }

    /// <summary>Records per parameter over the whole run.</summary>
    public IReadOnlyDictionary<AirParameter, long> ExpectedCounts { get; }

    /// <summary>Records in the whole run.</summary>
    public long Total { get; }

    /// <summary>Records of <paramref name="parameter"/> in the file of day index <paramref name="day"/>, hour <paramref name="hour"/>.</summary>
    public int Count(int day, int hour, AirParameter parameter) => perHour[day * AirQualityLayout.HoursPerDay + hour, (int)parameter];

    /// <summary>
    /// Builds the plan: per-parameter totals are the full data set's, or, with a limit, the limit
    /// split in the same proportions (largest remainder, so they add up to it exactly); each total
    /// is then spread over the hours with seeded weights (±4%), so hours differ a little as in the
    /// real files, never beyond the number of monitors of the parameter.
    /// </summary>
    internal static AirQualityPlan Create(int seed, long? recordLimit, IReadOnlyList<int> monitorsPerParameter)
    {
        var totals = AirQualityGenerator.ExpectedTotals(recordLimit);
        var days = AirQualityGenerator.Days;
        int hours = days.Count * AirQualityLayout.HoursPerDay;
        var perHour = new int[hours, AirParameters.Count];
        var random = new Random(seed);
        var weights = new long[hours];
        foreach (var p in AirParameters.All)
        {
            for (int h = 0; h < hours; h++) weights[h] = 960 + random.Next(81);
            var split = Apportion(totals[(int)p], weights);
            for (int h = 0; h < hours; h++)
            {
                if (split[h] > monitorsPerParameter[(int)p])
                    throw new InvalidOperationException($"invariant violated: hour {h} needs {split[h]} {p.Name()} monitors");
                perHour[h, (int)p] = (int)split[h];
            }
        }
        return new AirQualityPlan(days, totals, perHour);
    }

    /// <summary>
    /// Splits <paramref name="total"/> in proportion to <paramref name="weights"/> so the parts add
    /// up exactly (Hamilton's largest-remainder method; ties go to the lower index, deterministic).
    /// </summary>
    public static long[] Apportion(long total, IReadOnlyList<long> weights)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        long sum = weights.Sum();
        if (sum <= 0) throw new ArgumentException("weights must have a positive sum", nameof(weights));
        var parts = new long[weights.Count];
        var remainders = new (Int128 Remainder, int Index)[weights.Count];
        long given = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            Int128 product = (Int128)total * weights[i];
            parts[i] = (long)(product / sum);
            remainders[i] = (product % sum, i);
            given += parts[i];
        }
        Array.Sort(remainders, (a, b) => a.Remainder != b.Remainder ? b.Remainder.CompareTo(a.Remainder) : a.Index.CompareTo(b.Index));
        for (long k = 0; k < total - given; k++) parts[remainders[k].Index]++;
        return parts;
    }
}
