using System.Runtime.InteropServices;

namespace Braid.Data;

/// <summary>
/// One group of an aggregate: the records of one parameter on one UTC day.
/// </summary>
/// <param name="Day">UTC day.</param>
/// <param name="Parameter">Pollutant.</param>
/// <param name="Count">All records of the group, with or without an AQI.</param>
/// <param name="AqiCount">Records that carry an AQI (the statistics below are over these).</param>
/// <param name="AqiSum">Sum of AQI values: an integer, so partials merge exactly in any order.</param>
/// <param name="AqiMin">Smallest AQI, meaningful only when <paramref name="AqiCount"/> &gt; 0.</param>
/// <param name="AqiMax">Largest AQI, meaningful only when <paramref name="AqiCount"/> &gt; 0.</param>
public readonly record struct AggregateRow(DateOnly Day, AirParameter Parameter, long Count, long AqiCount, long AqiSum, int AqiMin, int AqiMax)
{
    /// <summary>Mean AQI over the records that have one, or null if none has.</summary>
    public double? AqiMean => AqiCount == 0 ? null : (double)AqiSum / AqiCount;

    /// <summary>Combines two rows of the same group.</summary>
    public AggregateRow Merge(in AggregateRow other) => AqiCount == 0 && other.AqiCount == 0
        ? this with { Count = Count + other.Count }
        : this with
        {
            Count = Count + other.Count,
            AqiCount = AqiCount + other.AqiCount,
            AqiSum = AqiSum + other.AqiSum,
            AqiMin = AqiCount == 0 ? other.AqiMin : other.AqiCount == 0 ? AqiMin : Math.Min(AqiMin, other.AqiMin),
            AqiMax = AqiCount == 0 ? other.AqiMax : other.AqiCount == 0 ? AqiMax : Math.Max(AqiMax, other.AqiMax),
        };
}

/// <summary>
/// Count, min, max and mean AQI grouped by parameter and UTC day (the questions mini 1 asked),
/// ignoring missing AQIs (-999) in the statistics but counting the records. Mergeable: each
/// replica aggregates its partitions and the coordinator merges the partials, getting exactly
/// what one pass over the union would give (integer sums, so order does not matter).
/// Not thread-safe; one instance per scan.
/// </summary>
public sealed class AirQualityAggregate
{
    private readonly Dictionary<(int DayNumber, AirParameter Parameter), AggregateRow> groups = [];

    /// <summary>Records added (with or without an AQI).</summary>
    public long Count { get; private set; }

    /// <summary>Adds one record.</summary>
    public void Add(in AirQualityRecord record)
    {
        var day = DateOnly.FromDateTime(record.TimeUtc);
        bool has = record.HasAqi;
        Add(new AggregateRow(day, record.Parameter, 1, has ? 1 : 0, has ? record.Aqi : 0, has ? record.Aqi : 0, has ? record.Aqi : 0));
    }

    /// <summary>Adds a partial row, e.g. one received from another node.</summary>
    public void Add(in AggregateRow row)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(groups, (row.Day.DayNumber, row.Parameter), out bool exists);
        slot = exists ? slot.Merge(in row) : row;
        Count += row.Count;
    }

    /// <summary>Adds every group of another aggregate into this one.</summary>
    public void Merge(AirQualityAggregate other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var row in other.groups.Values) Add(in row);
    }

    /// <summary>The groups ordered by day then parameter: a stable result for printing and comparing.</summary>
    public IReadOnlyList<AggregateRow> Rows =>
        groups.Values.OrderBy(r => r.Day).ThenBy(r => r.Parameter).ToArray();

    /// <summary>Rolled up over days: one row per parameter (Day is the earliest day seen).</summary>
    public IReadOnlyList<AggregateRow> ByParameter => RollUp(r => (int)r.Parameter);

    /// <summary>Rolled up over parameters: one row per day (Parameter is the first one seen that day).</summary>
    public IReadOnlyList<AggregateRow> ByDay => RollUp(r => r.Day.DayNumber);

    private AggregateRow[] RollUp(Func<AggregateRow, int> key) =>
        Rows.GroupBy(key).OrderBy(g => g.Key).Select(g => g.Aggregate((a, b) => a.Merge(in b))).ToArray();
}
