using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;

namespace Braid.Core.Data;

/// <summary>Receives the records a scan matches; return false to stop the scan after this one.</summary>
public interface IRecordVisitor
{
    /// <summary>Called once per matching record, in batch order.</summary>
    bool Visit(in AirQualityRecord record);
}

/// <summary>Outcome of a scan: how many records matched, and where to resume.</summary>
/// <param name="Matched">Records passed to the visitor.</param>
/// <param name="NextRecord">Index of the first record not yet examined: a cursor resumes here.</param>
/// <param name="RecordCount">Records in the batch; the batch is finished when NextRecord reaches it.</param>
public readonly record struct ScanResult(int Matched, int NextRecord, int RecordCount)
{
    /// <summary>True when every record of the batch has been examined.</summary>
    public bool Completed => NextRecord >= RecordCount;
}

public static partial class RecordBatchCodec
{
    private struct SiteEntry
    {
        public double Latitude, Longitude;
        public int NameStart, NameLength, AgencyStart, AgencyLength, AqsStart, AqsLength, FullStart, FullLength;
        public bool Matches;
    }

    /// <summary>
    /// Visits the records from <paramref name="startRecord"/> on that match <paramref name="filter"/>.
    /// Allocation is per batch, not per record: the site part of the filter (box, name) is decided
    /// once per site, the rest from a handful of varints, and a site's strings are decoded only
    /// when one of its records first matches. Throws <see cref="RecordFormatException"/> on bad bytes
    /// and <see cref="ArgumentOutOfRangeException"/> for a start beyond the batch.
    /// </summary>
    public static ScanResult Scan<TVisitor>(ReadOnlySpan<byte> batch, RecordFilter filter, int startRecord, ref TVisitor visitor)
        where TVisitor : struct, IRecordVisitor
    {
        ArgumentNullException.ThrowIfNull(filter);
        var reader = new BatchReader(batch);
        int count = ReadCount(ref reader);
        if (startRecord < 0 || startRecord > count) throw new ArgumentOutOfRangeException(nameof(startRecord), $"start {startRecord} is outside a batch of {count} records");
        var sites = ReadSites(ref reader, count, filter, out int siteCount);
        try
        {
            var units = ReadUnits(ref reader, count);
            long baseMinute = (long)reader.ReadVarUInt64();
            if (baseMinute > MaxMinute) reader.Throw("base time out of range");
            return ScanRecords(ref reader, count, startRecord, sites.AsSpan(0, siteCount), units, baseMinute, filter, ref visitor);
        }
        finally
        {
            ArrayPool<SiteEntry>.Shared.Return(sites);
        }
    }

    /// <summary>Collects up to <paramref name="maxMatches"/> matches from <paramref name="startRecord"/> on into <paramref name="matches"/>.</summary>
    public static ScanResult Scan(ReadOnlySpan<byte> batch, RecordFilter filter, int startRecord, int maxMatches, List<AirQualityRecord> matches)
    {
        ArgumentNullException.ThrowIfNull(matches);
        ArgumentOutOfRangeException.ThrowIfNegative(maxMatches);
        var visitor = new CollectingVisitor(matches, maxMatches);
        if (maxMatches == 0) return new ScanResult(0, startRecord, Count(batch));
        return Scan(batch, filter, startRecord, ref visitor);
    }

    /// <summary>Counts the records that match (a count query, no record materialised beyond a site's strings).</summary>
    public static int CountMatches(ReadOnlySpan<byte> batch, RecordFilter filter)
    {
        var visitor = new CountingVisitor();
        return Scan(batch, filter, 0, ref visitor).Matched;
    }

    /// <summary>Adds the matching records of a batch to <paramref name="aggregate"/> (the per-partition partial).</summary>
    public static void Aggregate(ReadOnlySpan<byte> batch, RecordFilter filter, AirQualityAggregate aggregate)
    {
        ArgumentNullException.ThrowIfNull(aggregate);
        var visitor = new AggregatingVisitor(aggregate);
        Scan(batch, filter, 0, ref visitor);
    }

    private static ScanResult ScanRecords<TVisitor>(ref BatchReader reader, int count, int start, Span<SiteEntry> sites, string[] units,
        long baseMinute, RecordFilter filter, ref TVisitor visitor) where TVisitor : struct, IRecordVisitor
    {
        string?[]? strings = null;
        int matched = 0;
        bool checkCore = !filter.MatchesEverything;
        for (int i = 0; i < count; i++)
        {
            int site = reader.ReadIndex(sites.Length, "site index");
            long delta = reader.ReadVarInt64();
            if (delta < -MaxMinute || delta > MaxMinute || baseMinute + delta < 0 || baseMinute + delta > MaxMinute) reader.Throw("record time out of range");
            byte parameter = reader.ReadByte();
            if (parameter >= AirParameters.Count) reader.Throw($"unknown parameter {parameter}");
            int unit = reader.ReadIndex(units.Length, "unit index");
            double concentration = reader.ReadValue();
            double raw = reader.ReadValue();
            int aqi = reader.ReadInt32("AQI");
            int category = reader.ReadInt32("category");
            if (i < start || !sites[site].Matches) continue;
            if (checkCore && !filter.MatchesCore(baseMinute + delta, (AirParameter)parameter, aqi)) continue;
            if (typeof(TVisitor) == typeof(CountingVisitor))
            {
                matched++; // a count needs no record: skip decoding the site's strings
                continue;
            }
            strings ??= new string?[sites.Length * 4];
            var record = new AirQualityRecord(sites[site].Latitude, sites[site].Longitude,
                new DateTime((baseMinute + delta) * TimeSpan.TicksPerMinute, DateTimeKind.Utc), (AirParameter)parameter,
                concentration, units[unit], raw, aqi, category,
                SiteString(reader.Data, strings, site, 0, sites[site].NameStart, sites[site].NameLength),
                SiteString(reader.Data, strings, site, 1, sites[site].AgencyStart, sites[site].AgencyLength),
                SiteString(reader.Data, strings, site, 2, sites[site].AqsStart, sites[site].AqsLength),
                SiteString(reader.Data, strings, site, 3, sites[site].FullStart, sites[site].FullLength));
            matched++;
            if (!visitor.Visit(in record)) return new ScanResult(matched, i + 1, count);
        }
        if (reader.Remaining != 0) reader.Throw($"{reader.Remaining} bytes after the last record");
        return new ScanResult(matched, count, count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static string SiteString(ReadOnlySpan<byte> data, string?[] cache, int site, int field, int start, int length) =>
        cache[site * 4 + field] ??= Encoding.UTF8.GetString(data.Slice(start, length));

    private static SiteEntry[] ReadSites(ref BatchReader reader, int count, RecordFilter filter, out int siteCount)
    {
        ulong declared = reader.ReadVarUInt64();
        if (declared > (ulong)count || declared > (ulong)(reader.Remaining / MinSiteBytes)) reader.Throw($"site count {declared} is impossible here");
        siteCount = (int)declared;
        var sites = ArrayPool<SiteEntry>.Shared.Rent(Math.Max(siteCount, 1));
        try
        {
            for (int s = 0; s < siteCount; s++) sites[s] = ReadSite(ref reader, filter);
            return sites;
        }
        catch
        {
            ArrayPool<SiteEntry>.Shared.Return(sites);
            throw;
        }
    }

    private static SiteEntry ReadSite(ref BatchReader reader, RecordFilter filter)
    {
        var e = new SiteEntry { Latitude = reader.ReadDouble(), Longitude = reader.ReadDouble() };
        (e.NameStart, e.NameLength) = ReadText(ref reader);
        (e.AgencyStart, e.AgencyLength) = ReadText(ref reader);
        (e.AqsStart, e.AqsLength) = ReadText(ref reader);
        (e.FullStart, e.FullLength) = ReadText(ref reader);
        e.Matches = !filter.HasSiteCondition || SiteMatches(reader.Data.Slice(e.NameStart, e.NameLength), e.Latitude, e.Longitude, filter);
        return e;
    }

    private static bool SiteMatches(ReadOnlySpan<byte> nameUtf8, double latitude, double longitude, RecordFilter filter)
    {
        if (filter.SiteName is null) return filter.MatchesSite(latitude, longitude, default);
        Span<char> buffer = nameUtf8.Length <= 256 ? stackalloc char[256] : new char[nameUtf8.Length];
        int chars = Encoding.UTF8.GetChars(nameUtf8, buffer);
        return filter.MatchesSite(latitude, longitude, buffer[..chars]);
    }

    private static (int Start, int Length) ReadText(ref BatchReader reader)
    {
        var range = reader.ReadStringRange(MaxStringBytes);
        if (!Utf8.IsValid(reader.Data.Slice(range.Start, range.Length))) reader.Throw("text is not valid UTF-8");
        return range;
    }

    private static string[] ReadUnits(ref BatchReader reader, int count)
    {
        ulong declared = reader.ReadVarUInt64();
        if (declared > (ulong)Math.Max(count, 0) || declared > (ulong)reader.Remaining) reader.Throw($"unit count {declared} is impossible here");
        var units = new string[(int)declared];
        Span<char> small = stackalloc char[64];
        for (int u = 0; u < units.Length; u++)
        {
            var (start, length) = ReadText(ref reader);
            Span<char> buffer = length <= small.Length ? small : new char[length];
            int chars = Encoding.UTF8.GetChars(reader.Data.Slice(start, length), buffer);
            units[u] = AirParameters.InternUnit(buffer[..chars]);
        }
        return units;
    }

    private struct CollectingVisitor(List<AirQualityRecord> matches, int max) : IRecordVisitor
    {
        private int added;

        public bool Visit(in AirQualityRecord record)
        {
            matches.Add(record);
            return ++added < max;
        }
    }

    private struct CountingVisitor : IRecordVisitor
    {
        public readonly bool Visit(in AirQualityRecord record) => true;
    }

    private readonly struct AggregatingVisitor(AirQualityAggregate aggregate) : IRecordVisitor
    {
        public bool Visit(in AirQualityRecord record)
        {
            aggregate.Add(in record);
            return true;
        }
    }
}
