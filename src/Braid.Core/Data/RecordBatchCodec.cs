using System.Text;

namespace Braid.Core.Data;

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
/// siteCount  { lat:f64 lon:f64 name agency aqsId fullAqsId }*   (strings: varint length + UTF-8)
/// unitCount  { unit }*
/// baseMinute (minutes since 0001-01-01 UTC)
/// records    { site time:Δminute param:u8 unit conc raw aqi category }*
/// </code>
/// Values (conc, raw) are exact milli-units as a varint when that is lossless, else tagged raw
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
    private const int MinSiteBytes = 20;
    internal const long MaxMinute = 3155378975999999999L / TimeSpan.TicksPerMinute; // DateTime.MaxValue

    private readonly record struct SiteKey(double Latitude, double Longitude, string Name, string Agency, string AqsId, string FullAqsId);

    /// <summary>
    /// Encodes records in order. Throws <see cref="ArgumentException"/> for a record that cannot be
    /// stored faithfully: a null string (e.g. a default struct), an unknown parameter, or a time
    /// that is not a whole minute.
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<AirQualityRecord> records)
    {
        var sites = new Dictionary<SiteKey, int>();
        var units = new Dictionary<string, int>(StringComparer.Ordinal);
        var siteOf = new int[records.Length];
        var unitOf = new int[records.Length];
        long baseMinute = records.IsEmpty ? 0 : RecordFilter.ToMinute(records[0].TimeUtc);
        for (int i = 0; i < records.Length; i++)
        {
            ref readonly var r = ref records[i];
            Validate(in r, i);
            var key = new SiteKey(r.Latitude, r.Longitude, r.SiteName, r.SiteAgency, r.AqsId, r.FullAqsId);
            if (!sites.TryGetValue(key, out siteOf[i]))
            {
                CheckLengths(i, r.SiteName, r.SiteAgency, r.AqsId, r.FullAqsId);
                sites.Add(key, siteOf[i] = sites.Count);
            }
            if (!units.TryGetValue(r.Unit, out unitOf[i]))
            {
                CheckLengths(i, r.Unit);
                units.Add(r.Unit, unitOf[i] = units.Count);
            }
        }
        var writer = new BatchWriter(64 + sites.Count * 80 + records.Length * 14);
        WriteHeader(writer, records.Length, sites.Keys, units.Keys, baseMinute);
        for (int i = 0; i < records.Length; i++)
        {
            ref readonly var r = ref records[i];
            writer.WriteVarUInt64((ulong)siteOf[i]);
            writer.WriteVarInt64(RecordFilter.ToMinute(r.TimeUtc) - baseMinute);
            writer.WriteByte((byte)r.Parameter);
            writer.WriteVarUInt64((ulong)unitOf[i]);
            writer.WriteValue(r.Concentration);
            writer.WriteValue(r.RawConcentration);
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

    private static void CheckLengths(int index, params ReadOnlySpan<string> texts)
    {
        foreach (var text in texts)
        {
            if (Encoding.UTF8.GetByteCount(text) > MaxStringBytes)
                throw new ArgumentException($"record {index} has a text field longer than {MaxStringBytes} UTF-8 bytes");
        }
    }

    private static void WriteHeader(BatchWriter writer, int count, IEnumerable<SiteKey> sites, IEnumerable<string> units, long baseMinute)
    {
        writer.WriteBytes(Magic);
        writer.WriteByte(Version);
        writer.WriteVarUInt64((ulong)count);
        writer.WriteVarUInt64((ulong)sites.Count());
        foreach (var s in sites)
        {
            writer.WriteDouble(s.Latitude);
            writer.WriteDouble(s.Longitude);
            writer.WriteString(s.Name);
            writer.WriteString(s.Agency);
            writer.WriteString(s.AqsId);
            writer.WriteString(s.FullAqsId);
        }
        writer.WriteVarUInt64((ulong)units.Count());
        foreach (var u in units) writer.WriteString(u);
        writer.WriteVarUInt64((ulong)baseMinute);
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
