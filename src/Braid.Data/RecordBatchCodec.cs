using System.Text;

namespace Braid.Data;

/// <summary>
/// Compact binary encoding of a batch of <see cref="AirQualityRecord"/>s: the payload of one
/// Raft entry. Sites (coordinates, name, agency, ids) and units repeat a lot, so each distinct
/// one is stored once in a per-batch table and records refer to it by index; a record is then
/// a dozen bytes plus its share of the tables instead of ~150 of CSV.
/// </summary>
/// <remarks>
/// Layout of version 2 (little-endian, varints LEB128, signed ones zig-zag):
/// <code>
/// "AQB" version(2)  recordCount
/// stringCount { length UTF-8 }*                       every distinct text once
/// siteForms:u8                                        1: sites carry their coordinates' text form
/// siteCount  { lat lon name agency aqsId fullAqsId+1 [coordinateForms:u8] }*
///                                                     (text as string indices; 0: "840"+aqsId)
/// styleCount { unit amountForms:u8 }*                 each distinct (unit, amounts' text form)
/// baseMinute (minutes since 0001-01-01 UTC)
/// lineCount  { record:Δ line }*                       whole source lines, where forms are not enough
/// records    { site time:Δminute param:u8 style conc raw aqi category }*
/// </code>
/// The text forms (<see cref="AirQualityTextForm"/>, issue 13) let every record format back to the
/// very line it was parsed from, at no cost per record: the coordinates' form byte goes with the
/// site, the amounts' with the unit, and the flag spares canonical batches even the site byte.
/// Version 1 had no flag, site form, style form or lines (a "unit" table of string indices in place
/// of the styles); it still decodes, as canonical text. Values are exact milli-units (coordinates
/// micro-degrees) as a varint when that is lossless, else tagged raw bits. The decoder
/// (<see cref="Scan{TVisitor}"/>) checks every bound and throws only <see cref="RecordFormatException"/>
/// on bad bytes; the Raft log already checksums entries, so this is the guard against bugs and
/// foreign input, not against bit rot.
/// </remarks>
public static partial class RecordBatchCodec
{
    private static ReadOnlySpan<byte> Magic => "AQB"u8;
    private const byte Version = 2;
    private const byte FirstVersion = 1;
    internal const int MaxStringBytes = 4096;
    internal const int MaxLineBytes = 1 << 16;
    private const int MinRecordBytes = 8;
    private const int MinSiteBytes = 6;
    private const double ValueScale = 1_000;
    private const double CoordinateScale = 1_000_000;
    private const string CountryPrefix = "840";
    internal const long MaxMinute = 3155378975999999999L / TimeSpan.TicksPerMinute; // DateTime.MaxValue

    /// <summary>A site as a table key: coordinates by their bits, so -0.0 and 0.0 stay apart.</summary>
    private readonly record struct SiteKey(long LatitudeBits, long LongitudeBits, byte CoordinateForms,
        string Name, string Agency, string AqsId, string FullAqsId);

    /// <summary>
    /// Encodes records in order, text forms included. Throws <see cref="ArgumentException"/> for a
    /// record that cannot be stored faithfully: a null string (e.g. a default struct), an unknown
    /// parameter, a time that is not a whole minute, or text beyond the size bounds.
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<AirQualityRecord> records)
    {
        var tables = new Tables();
        var siteOf = new int[records.Length];
        var styleOf = new int[records.Length];
        var lines = new List<(int Record, int Line)>();
        long baseMinute = records.IsEmpty ? 0 : RecordFilter.ToMinute(records[0].TimeUtc);
        for (int i = 0; i < records.Length; i++)
        {
            ref readonly var r = ref records[i];
            Validate(in r, i);
            siteOf[i] = tables.Site(in r, i);
            styleOf[i] = tables.Style(r.Unit, r.TextForm.AmountForms, i);
            if (r.TextForm.SourceLine is { } line) lines.Add((i, tables.Line(line, i)));
        }
        var writer = new BatchWriter(64 + tables.Sites.Count * 40 + records.Length * 14);
        WriteHeader(writer, records.Length, tables, baseMinute, lines);
        for (int i = 0; i < records.Length; i++)
        {
            ref readonly var r = ref records[i];
            writer.WriteVarUInt64((ulong)siteOf[i]);
            writer.WriteVarInt64(RecordFilter.ToMinute(r.TimeUtc) - baseMinute);
            writer.WriteByte((byte)r.Parameter);
            writer.WriteVarUInt64((ulong)styleOf[i]);
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
        return ReadCount(ref reader, out _);
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

    private static void WriteHeader(BatchWriter writer, int count, Tables tables, long baseMinute, List<(int Record, int Line)> lines)
    {
        writer.WriteBytes(Magic);
        writer.WriteByte(Version);
        writer.WriteVarUInt64((ulong)count);
        writer.WriteVarUInt64((ulong)tables.Strings.Count);
        foreach (var text in tables.Strings) writer.WriteString(text);
        bool siteForms = tables.Sites.Exists(s => s.Key.CoordinateForms != 0);
        writer.WriteByte(siteForms ? (byte)1 : (byte)0);
        writer.WriteVarUInt64((ulong)tables.Sites.Count);
        foreach (var s in tables.Sites)
        {
            writer.WriteValue(BitConverter.Int64BitsToDouble(s.Key.LatitudeBits), CoordinateScale);
            writer.WriteValue(BitConverter.Int64BitsToDouble(s.Key.LongitudeBits), CoordinateScale);
            writer.WriteVarUInt64((ulong)s.Name);
            writer.WriteVarUInt64((ulong)s.Agency);
            writer.WriteVarUInt64((ulong)s.AqsId);
            writer.WriteVarUInt64((ulong)(s.FullAqsId + 1)); // 0: "840" + AQS id, the usual case
            if (siteForms) writer.WriteByte(s.Key.CoordinateForms);
        }
        writer.WriteVarUInt64((ulong)tables.Styles.Count);
        foreach (var (unit, amountForms) in tables.Styles)
        {
            writer.WriteVarUInt64((ulong)unit);
            writer.WriteByte(amountForms);
        }
        writer.WriteVarUInt64((ulong)baseMinute);
        writer.WriteVarUInt64((ulong)lines.Count);
        int previous = -1;
        foreach (var (record, line) in lines)
        {
            writer.WriteVarUInt64((ulong)(record - previous - 1));
            writer.WriteVarUInt64((ulong)line);
            previous = record;
        }
    }

    /// <summary>The per-batch tables: each distinct string once, each distinct site and style once.</summary>
    private sealed class Tables
    {
        private readonly Dictionary<string, int> stringIndex = new(StringComparer.Ordinal);
        private readonly Dictionary<SiteKey, int> siteIndex = [];
        private readonly Dictionary<(string Unit, byte Forms), int> styleIndex = [];

        public List<string> Strings { get; } = [];
        public List<(SiteKey Key, int Name, int Agency, int AqsId, int FullAqsId)> Sites { get; } = [];
        public List<(int Unit, byte AmountForms)> Styles { get; } = [];

        public int Site(in AirQualityRecord r, int record)
        {
            var key = new SiteKey(BitConverter.DoubleToInt64Bits(r.Latitude), BitConverter.DoubleToInt64Bits(r.Longitude),
                r.TextForm.CoordinateForms, r.SiteName, r.SiteAgency, r.AqsId, r.FullAqsId);
            if (siteIndex.TryGetValue(key, out int index)) return index;
            bool derived = r.FullAqsId.Length == r.AqsId.Length + 3 && r.FullAqsId.StartsWith(CountryPrefix, StringComparison.Ordinal)
                && r.FullAqsId.EndsWith(r.AqsId, StringComparison.Ordinal);
            Sites.Add((key, String(r.SiteName, record), String(r.SiteAgency, record), String(r.AqsId, record),
                derived ? -1 : String(r.FullAqsId, record)));
            siteIndex.Add(key, Sites.Count - 1);
            return Sites.Count - 1;
        }

        public int Style(string unit, byte amountForms, int record)
        {
            if (styleIndex.TryGetValue((unit, amountForms), out int index)) return index;
            Styles.Add((String(unit, record), amountForms));
            styleIndex.Add((unit, amountForms), Styles.Count - 1);
            return Styles.Count - 1;
        }

        public int Line(string line, int record) => String(line, record, MaxLineBytes);

        private int String(string text, int record, int maxBytes = MaxStringBytes)
        {
            if (stringIndex.TryGetValue(text, out int index)) return index;
            if (Encoding.UTF8.GetByteCount(text) > maxBytes)
                throw new ArgumentException($"record {record} has a text longer than {maxBytes} UTF-8 bytes");
            Strings.Add(text);
            stringIndex.Add(text, Strings.Count - 1);
            return Strings.Count - 1;
        }
    }

    private static int ReadCount(ref BatchReader reader, out byte version)
    {
        if (reader.Remaining < 4 || !reader.Data[..3].SequenceEqual(Magic)) reader.Throw("not a record batch (bad magic)");
        reader.ReadByte(); reader.ReadByte(); reader.ReadByte();
        version = reader.ReadByte();
        if (version is not (FirstVersion or Version)) reader.Throw($"unsupported batch version {version}");
        ulong count = reader.ReadVarUInt64();
        if (count > (ulong)(reader.Remaining / MinRecordBytes)) reader.Throw($"record count {count} exceeds what {reader.Remaining} bytes can hold");
        return (int)count;
    }
}
