using System.Text;

namespace Braid.Data;

/// <summary>
/// Compact binary encoding of a batch of <see cref="AirQualityRecord"/>s: the payload of one
/// Raft entry. Sites (coordinates, name, agency, ids) and units repeat a lot, so each distinct
/// one is stored once in a per-batch table and records refer to it by index; a record is then
/// about a dozen bytes instead of ~150 of CSV.
/// </summary>
/// <remarks>
/// Layout (little-endian, varints LEB128, signed ones zig-zag):
/// <code>
/// "AQB" version(1)  recordCount
/// stringCount { length UTF-8 }*                       every distinct text once
/// siteCount  { lat lon name agency aqsId fullAqsId+1 }*  (text as string indices; 0: "840"+aqsId)
/// unitCount  { unit }*
/// baseMinute (minutes since 0001-01-01 UTC)
/// records    { site time:Δminute param:u8 unit conc raw aqi category }*
/// </code>
/// Values are exact milli-units (coordinates micro-degrees) as a varint when that is lossless, else tagged raw
/// bits. The decoder (<see cref="Scan{TVisitor}"/>) checks every bound and throws only
/// <see cref="RecordFormatException"/> on bad bytes; the Raft log already checksums entries, so this is
/// the guard against bugs and foreign input, not against bit rot.
/// </remarks>
public static partial class RecordBatchCodec
{
    private static ReadOnlySpan<byte> Magic => "AQB"u8;
    private const byte Version = 1;
    private const int MaxStringBytes = 4096;
    private const int MinRecordBytes = 8;
    private const int MinSiteBytes = 6;
    private const double ValueScale = 1_000;
    private const double CoordinateScale = 1_000_000;
    private const string CountryPrefix = "840";
    internal const long MaxMinute = 3155378975999999999L / TimeSpan.TicksPerMinute; // DateTime.MaxValue

    private readonly record struct SiteKey(double Latitude, double Longitude, string Name, string Agency, string AqsId, string FullAqsId);

    /// <summary>
    /// Encodes records in order. Throws <see cref="ArgumentException"/> for a record that cannot be
    /// stored faithfully: a null string (e.g. a default struct), an unknown parameter, or a time
    /// that is not a whole minute.
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<AirQualityRecord> records)
    {
        var tables = new Tables();
        var siteOf = new int[records.Length];
        var unitOf = new int[records.Length];
        long baseMinute = records.IsEmpty ? 0 : RecordFilter.ToMinute(records[0].TimeUtc);
        for (int i = 0; i < records.Length; i++)
        {
            ref readonly var r = ref records[i];
            Validate(in r, i);
            siteOf[i] = tables.Site(in r, i);
            unitOf[i] = tables.Unit(r.Unit, i);
        }
        var writer = new BatchWriter(64 + tables.Sites.Count * 40 + records.Length * 14);
        WriteHeader(writer, records.Length, tables, baseMinute);
        for (int i = 0; i < records.Length; i++)
        {
            ref readonly var r = ref records[i];
            writer.WriteVarUInt64((ulong)siteOf[i]);
            writer.WriteVarInt64(RecordFilter.ToMinute(r.TimeUtc) - baseMinute);
            writer.WriteByte((byte)r.Parameter);
            writer.WriteVarUInt64((ulong)unitOf[i]);
            writer.WriteValue(r.Concentration, ValueScale);
            writer.WriteValue(r.RawConcentration, ValueScale);
            writer.WriteVarInt64(r.Aqi);
            writer.WriteVarInt64(r.Category);
        }
        return writer.ToArray();
    }

    /// <summary>Number of records in a batch, from its header alone (cheap; checks the magic).</summary>
    public static int Count(ReadOnlySpan<byte> batch)
    {
        var reader = new BatchReader(batch);
        return ReadCount(ref reader);
    }

    /// <summary>Decodes every record (tests, small batches; the query path uses <see cref="Scan{TVisitor}"/>).</summary>
    public static AirQualityRecord[] Decode(ReadOnlySpan<byte> batch)
    {
        var list = new List<AirQualityRecord>(Math.Min(Count(batch), 1 << 16));
        Scan(batch, RecordFilter.All, 0, int.MaxValue, list);
        return [.. list];
    }

    private static void Validate(in AirQualityRecord r, int index)
    {
        if (r.Unit is null || r.SiteName is null || r.SiteAgency is null || r.AqsId is null || r.FullAqsId is null)
            throw new ArgumentException($"record {index} has a null text field");
        if ((int)r.Parameter >= AirParameters.Count) throw new ArgumentException($"record {index} has unknown parameter {(int)r.Parameter}");
        if (r.TimeUtc.Ticks % TimeSpan.TicksPerMinute != 0) throw new ArgumentException($"record {index} time is not a whole minute");
    }



    private static void WriteHeader(BatchWriter writer, int count, Tables tables, long baseMinute)
    {
        writer.WriteBytes(Magic);
        writer.WriteByte(Version);
        writer.WriteVarUInt64((ulong)count);
        writer.WriteVarUInt64((ulong)tables.Strings.Count);
        foreach (var text in tables.Strings) writer.WriteString(text);
        writer.WriteVarUInt64((ulong)tables.Sites.Count);
        foreach (var s in tables.Sites)
        {
            writer.WriteValue(s.Key.Latitude, CoordinateScale);
            writer.WriteValue(s.Key.Longitude, CoordinateScale);
            writer.WriteVarUInt64((ulong)s.Name);
            writer.WriteVarUInt64((ulong)s.Agency);
            writer.WriteVarUInt64((ulong)s.AqsId);
            writer.WriteVarUInt64((ulong)(s.FullAqsId + 1)); // 0: "840" + AQS id, the usual case
        }
        writer.WriteVarUInt64((ulong)tables.Units.Count);
        foreach (var u in tables.Units) writer.WriteVarUInt64((ulong)u);
        writer.WriteVarUInt64((ulong)baseMinute);
    }

    /// <summary>The per-batch tables: each distinct string once, each distinct site once.</summary>
    private sealed class Tables
    {
        private readonly Dictionary<string, int> stringIndex = new(StringComparer.Ordinal);
        private readonly Dictionary<SiteKey, int> siteIndex = [];
        private readonly Dictionary<string, int> unitIndex = new(StringComparer.Ordinal);

        public List<string> Strings { get; } = [];
        public List<(SiteKey Key, int Name, int Agency, int AqsId, int FullAqsId)> Sites { get; } = [];
        public List<int> Units { get; } = [];

        public int Site(in AirQualityRecord r, int record)
        {
            var key = new SiteKey(r.Latitude, r.Longitude, r.SiteName, r.SiteAgency, r.AqsId, r.FullAqsId);
            if (siteIndex.TryGetValue(key, out int index)) return index;
            bool derived = r.FullAqsId.Length == r.AqsId.Length + 3 && r.FullAqsId.StartsWith(CountryPrefix, StringComparison.Ordinal)
                && r.FullAqsId.EndsWith(r.AqsId, StringComparison.Ordinal);
            Sites.Add((key, String(r.SiteName, record), String(r.SiteAgency, record), String(r.AqsId, record),
                derived ? -1 : String(r.FullAqsId, record)));
            siteIndex.Add(key, Sites.Count - 1);
            return Sites.Count - 1;
        }

        public int Unit(string unit, int record)
        {
            if (unitIndex.TryGetValue(unit, out int index)) return index;
            Units.Add(String(unit, record));
            unitIndex.Add(unit, Units.Count - 1);
            return Units.Count - 1;
        }

        private int String(string text, int record)
        {
            if (stringIndex.TryGetValue(text, out int index)) return index;
            if (Encoding.UTF8.GetByteCount(text) > MaxStringBytes)
                throw new ArgumentException($"record {record} has a text field longer than {MaxStringBytes} UTF-8 bytes");
            Strings.Add(text);
            stringIndex.Add(text, Strings.Count - 1);
            return Strings.Count - 1;
        }
    }

    private static int ReadCount(ref BatchReader reader)
    {
        if (reader.Remaining < 4 || !reader.Data[..3].SequenceEqual(Magic)) reader.Throw("not a record batch (bad magic)");
        reader.ReadByte(); reader.ReadByte(); reader.ReadByte();
        byte version = reader.ReadByte();
        if (version != Version) reader.Throw($"unsupported batch version {version}");
        ulong count = reader.ReadVarUInt64();
        if (count > (ulong)(reader.Remaining / MinRecordBytes)) reader.Throw($"record count {count} exceeds what {reader.Remaining} bytes can hold");
        return (int)count;
    }
}
