using Braid.Core;
using Braid.Data;

namespace Braid.Cli.Commands;

/// <summary>
/// A multiset of records by content (a 64-bit hash of the record's CSV line), so that two sets can
/// be compared record by record: a lost record and a duplicated one of the same parameter do not
/// cancel out, as they would in per-parameter counts.
/// </summary>
internal sealed class RecordTally
{
    private readonly Dictionary<ulong, int> counts = [];
    private readonly long[] perParameter = new long[AirParameters.Count];

    public long Count { get; private set; }

    public void Add(in AirQualityRecord record)
    {
        var key = Fnv1a.Hash(AirQualityCsv.Format(record));
        counts[key] = counts.GetValueOrDefault(key) + 1;
        perParameter[(int)record.Parameter]++;
        Count++;
    }

    public long CountOf(AirParameter parameter) => perParameter[(int)parameter];

    /// <summary>Compares what <paramref name="stored"/> holds with this (expected) tally: records
    /// missing, stored more often than sent, and stored but never sent.</summary>
    public (long Lost, long Duplicated, long Phantom) Compare(RecordTally stored)
    {
        long lost = 0, duplicated = 0, phantom = 0;
        foreach (var (key, expected) in counts)
        {
            var have = stored.counts.GetValueOrDefault(key);
            lost += Math.Max(0, expected - have);
            duplicated += Math.Max(0, have - expected);
        }
        foreach (var (key, have) in stored.counts)
            if (!counts.ContainsKey(key)) phantom += have;
        return (lost, duplicated, phantom);
    }
}
