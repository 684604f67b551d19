using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;

namespace Braid.Data;

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
        public int Name, Agency, AqsId, FullAqsId; // string indices; FullAqsId -1 means "840" + AQS id
        public byte CoordinateForms;
        public bool Matches;
    }

    /// <summary>The decoded header: where each string lies, the sites, the styles, the whole lines. Pooled arrays.</summary>
    private ref struct Header
    {
        public byte Version;
        public (int Start, int Length)[] Strings;
        public int StringCount;
        public SiteEntry[] Sites;
        public int SiteCount;
        public (string Unit, byte AmountForms)[] Styles;
        public long BaseMinute;
        public (int Record, int Line)[] Lines; // ascending record order
    }

    /// <summary>
    /// Visits the records from <paramref name="startRecord"/> on that match <paramref name="filter"/>.
    /// Allocation is per batch, not per record: the site part of the filter (box, name) is decided
    /// once per site, the rest from a handful of varints, and a string is decoded only when a
    /// matching record first needs it. Throws <see cref="RecordFormatException"/> on bad bytes
    /// and <see cref="ArgumentOutOfRangeException"/> for a start beyond the batch.
    /// </summary>
    public static ScanResult Scan<TVisitor>(ReadOnlySpan<byte> batch, RecordFilter filter, int startRecord, ref TVisitor visitor)
        where TVisitor : struct, IRecordVisitor
    {
        ArgumentNullException.ThrowIfNull(filter);
        var reader = new BatchReader(batch);
        int count = ReadCount(ref reader, out byte version);
        if (startRecord < 0 || startRecord > count) throw new ArgumentOutOfRangeException(nameof(startRecord), $"start {startRecord} is outside a batch of {count} records");
        var header = new Header { Version = version, Strings = [], Sites = [], Lines = [] };
        try
        {
            ReadHeader(ref reader, count, filter, ref header);
            return ScanRecords(ref reader, count, startRecord, ref header, filter, ref visitor);
        }
        finally
        {
            if (header.Strings.Length > 0) ArrayPool<(int, int)>.Shared.Return(header.Strings);
            if (header.Sites.Length > 0) ArrayPool<SiteEntry>.Shared.Return(header.Sites);
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

    private static ScanResult ScanRecords<TVisitor>(ref BatchReader reader, int count, int start, ref Header header,
        RecordFilter filter, ref TVisitor visitor) where TVisitor : struct, IRecordVisitor
    {
        string?[]? cache = null;
        int matched = 0, nextLine = 0;
        bool checkCore = !filter.MatchesEverything;
        var sites = header.Sites.AsSpan(0, header.SiteCount);
        long baseMinute = header.BaseMinute;
        for (int i = 0; i < count; i++)
        {
            int site = reader.ReadIndex(sites.Length, "site index");
            long minute = baseMinute + reader.ReadVarInt64();
            if ((ulong)minute > MaxMinute) reader.Throw("record time out of range");
            byte parameter = reader.ReadByte();
            if (parameter >= AirParameters.Count) reader.Throw($"unknown parameter {parameter}");
            int style = reader.ReadIndex(header.Styles.Length, "style index");
            double concentration = reader.ReadValue(ValueScale);
            double raw = reader.ReadValue(ValueScale);
            int aqi = reader.ReadInt32("AQI");
            int category = reader.ReadInt32("category");
            int line = nextLine < header.Lines.Length && header.Lines[nextLine].Record == i ? header.Lines[nextLine++].Line : -1;
            if (i < start || !sites[site].Matches) continue;
            if (checkCore && !filter.MatchesCore(minute, (AirParameter)parameter, aqi)) continue;
            matched++;
            if (typeof(TVisitor) == typeof(CountingVisitor)) continue; // a count needs no record
            cache ??= new string?[header.StringCount + sites.Length];
            ref readonly var s = ref sites[site];
            var (unit, amountForms) = header.Styles[style];
            var record = new AirQualityRecord(s.Latitude, s.Longitude, new DateTime(minute * TimeSpan.TicksPerMinute, DateTimeKind.Utc),
                (AirParameter)parameter, concentration, unit, raw, aqi, category,
                Text(reader.Data, ref header, cache, s.Name), Text(reader.Data, ref header, cache, s.Agency),
                Text(reader.Data, ref header, cache, s.AqsId), FullAqsId(reader.Data, ref header, cache, site))
            {
                TextForm = new AirQualityTextForm((ushort)(s.CoordinateForms | amountForms << 8),
                    line < 0 ? null : Text(reader.Data, ref header, cache, line)),
            };
            if (!visitor.Visit(in record)) return new ScanResult(matched, i + 1, count);
        }
        if (reader.Remaining != 0) reader.Throw($"{reader.Remaining} bytes after the last record");
        return new ScanResult(matched, count, count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static string Text(ReadOnlySpan<byte> data, ref Header header, string?[] cache, int index) =>
        cache[index] ??= Encoding.UTF8.GetString(data.Slice(header.Strings[index].Start, header.Strings[index].Length));

    private static string FullAqsId(ReadOnlySpan<byte> data, ref Header header, string?[] cache, int site)
    {
        int full = header.Sites[site].FullAqsId;
        if (full >= 0) return Text(data, ref header, cache, full);
        return cache[header.StringCount + site] ??= CountryPrefix + Text(data, ref header, cache, header.Sites[site].AqsId);
    }

    private static void ReadHeader(ref BatchReader reader, int count, RecordFilter filter, ref Header header)
    {
        bool version1 = header.Version == FirstVersion;
        header.StringCount = reader.ReadIndex(reader.Remaining + 1, "string count");
        header.Strings = ArrayPool<(int, int)>.Shared.Rent(Math.Max(header.StringCount, 1));
        for (int i = 0; i < header.StringCount; i++)
        {
            var range = reader.ReadStringRange(version1 ? MaxStringBytes : MaxLineBytes);
            if (!Utf8.IsValid(reader.Data.Slice(range.Start, range.Length))) reader.Throw("text is not valid UTF-8");
            header.Strings[i] = range;
        }
        byte siteForms = version1 ? (byte)0 : reader.ReadByte();
        if (siteForms > 1) reader.Throw($"bad site form flag {siteForms}");
        ulong sites = reader.ReadVarUInt64();
        if (sites > (ulong)count || sites > (ulong)(reader.Remaining / MinSiteBytes)) reader.Throw($"site count {sites} is impossible here");
        header.SiteCount = (int)sites;
        header.Sites = ArrayPool<SiteEntry>.Shared.Rent(Math.Max(header.SiteCount, 1));
        for (int s = 0; s < header.SiteCount; s++) header.Sites[s] = ReadSite(ref reader, ref header, filter, siteForms == 1);
        header.Styles = ReadStyles(ref reader, count, ref header);
        header.BaseMinute = (long)reader.ReadVarUInt64();
        if ((ulong)header.BaseMinute > MaxMinute) reader.Throw("base time out of range");
        if (!version1) header.Lines = ReadLines(ref reader, count, header.StringCount);
    }

    private static SiteEntry ReadSite(ref BatchReader reader, ref Header header, RecordFilter filter, bool withForms)
    {
        var e = new SiteEntry { Latitude = reader.ReadValue(CoordinateScale), Longitude = reader.ReadValue(CoordinateScale) };
        e.Name = reader.ReadIndex(header.StringCount, "site name index");
        e.Agency = reader.ReadIndex(header.StringCount, "site agency index");
        e.AqsId = reader.ReadIndex(header.StringCount, "AQS id index");
        e.FullAqsId = reader.ReadIndex(header.StringCount + 1, "full AQS id index") - 1;
        if (withForms) e.CoordinateForms = reader.ReadByte();
        e.Matches = !filter.HasSiteCondition || SiteMatches(reader.Data.Slice(header.Strings[e.Name].Start, header.Strings[e.Name].Length),
            e.Latitude, e.Longitude, filter);
        return e;
    }

    private static bool SiteMatches(ReadOnlySpan<byte> nameUtf8, double latitude, double longitude, RecordFilter filter)
    {
        if (filter.SiteName is null) return filter.MatchesSite(latitude, longitude, default);
        Span<char> buffer = nameUtf8.Length <= 256 ? stackalloc char[256] : new char[nameUtf8.Length];
        int chars = Encoding.UTF8.GetChars(nameUtf8, buffer);
        return filter.MatchesSite(latitude, longitude, buffer[..chars]);
    }

    /// <summary>The (unit, amounts' text form) table; version 1 has units only, all canonical.</summary>
    private static (string Unit, byte AmountForms)[] ReadStyles(ref BatchReader reader, int count, ref Header header)
    {
        ulong declared = reader.ReadVarUInt64();
        string what = header.Version == FirstVersion ? "unit" : "style";
        if (declared > (ulong)count || declared > (ulong)reader.Remaining) reader.Throw($"{what} count {declared} is impossible here");
        var styles = new (string, byte)[(int)declared];
        Span<char> small = stackalloc char[64];
        for (int u = 0; u < styles.Length; u++)
        {
            var (start, length) = header.Strings[reader.ReadIndex(header.StringCount, "unit index")];
            Span<char> buffer = length <= small.Length ? small : new char[length];
            int chars = Encoding.UTF8.GetChars(reader.Data.Slice(start, length), buffer);
            styles[u] = (AirParameters.InternUnit(buffer[..chars]), header.Version == FirstVersion ? (byte)0 : reader.ReadByte());
        }
        return styles;
    }

    /// <summary>The records kept with their whole source line, in ascending order, each with the line's string index.</summary>
    private static (int Record, int Line)[] ReadLines(ref BatchReader reader, int count, int stringCount)
    {
        ulong declared = reader.ReadVarUInt64();
        if (declared > (ulong)count || declared > (ulong)(reader.Remaining / 2)) reader.Throw($"line count {declared} is impossible here");
        if (declared == 0) return [];
        var lines = new (int, int)[(int)declared];
        long record = -1;
        for (int i = 0; i < lines.Length; i++)
        {
            record += (long)Math.Min(reader.ReadVarUInt64(), (ulong)count) + 1;
            if (record >= count) reader.Throw($"line of record {record} in a batch of {count}");
            lines[i] = ((int)record, reader.ReadIndex(stringCount, "line index"));
        }
        return lines;
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
