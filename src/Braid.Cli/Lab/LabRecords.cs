using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Braid.Data;

namespace Braid.Cli.Lab;

/// <summary>
/// The lab's records: each batch's content is a pure function of (producer, batch number), so a
/// resumed producer resends exactly what it sent before, and every record read back names where
/// it came from (its AQS id is "producer-batch-index"). A record's identity packs producer (8 bits),
/// batch (40 bits), index in the batch (12 bits) and parameter (4 bits), so the checker can tell a
/// query's matches from the identity alone.
/// </summary>
internal static class LabRecords
{
    public const int MaxRecordsPerBatch = 4096;

    /// <summary>An identity that no sent record has: a record read back that is not what was sent.</summary>
    public const ulong Garbled = ulong.MaxValue;

    public static AirQualityRecord[] Batch(ulong producer, long batch, int records)
    {
        var result = new AirQualityRecord[records];
        for (var i = 0; i < records; i++) result[i] = Record(producer, batch, i);
        return result;
    }

    public static AirQualityRecord Record(ulong producer, long batch, int index)
    {
        var mix = Mix(producer, batch, index);
        var parameter = (AirParameter)(mix % 6);
        var value = (mix >> 3) % 5000 / 10.0;
        return new AirQualityRecord(
            Latitude: 30 + (mix >> 8) % 2000 / 100.0,
            Longitude: -120 + (mix >> 12) % 3000 / 100.0,
            TimeUtc: new DateTime(2020, 8, 10, 0, 0, 0, DateTimeKind.Utc).AddHours((batch + index) % 1000),
            Parameter: parameter,
            Concentration: value,
            Unit: parameter.Unit(),
            RawConcentration: value,
            Aqi: (int)(mix % 300),
            Category: (int)(mix % 6) + 1,
            SiteName: "lab",
            SiteAgency: "braid",
            AqsId: string.Create(CultureInfo.InvariantCulture, $"{producer}-{batch}-{index}"),
            FullAqsId: "840" + producer.ToString(CultureInfo.InvariantCulture));
    }

    private static uint Mix(ulong producer, long batch, int index) =>
        (uint)((producer * 0x9E3779B1UL) ^ ((ulong)batch * 0x85EBCA77UL) ^ ((ulong)index * 0xC2B2AE3DUL));

    /// <summary>The identity of the record the lab sends at (producer, batch, index), without building it.</summary>
    public static ulong Identity(ulong producer, long batch, int index) =>
        Identity(producer, batch, index, (AirParameter)(Mix(producer, batch, index) % 6));

    public static ulong Identity(ulong producer, long batch, int index, AirParameter parameter) =>
        (producer << 56) | ((ulong)batch << 16) | ((ulong)index << 4) | (ulong)parameter;

    public static AirParameter ParameterOf(ulong identity) => (AirParameter)(identity & 0xF);

    /// <summary>The identity of a record read back, or <see cref="Garbled"/> when it is not exactly a record the lab sent.</summary>
    public static ulong IdentityOf(in AirQualityRecord record)
    {
        var parts = record.AqsId.Split('-');
        if (parts.Length != 3
            || !ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var producer)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var batch)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            || producer > 255 || batch >= 1L << 40 || index >= MaxRecordsPerBatch)
            return Garbled;
        var expected = Record(producer, batch, index);
        // The codec keeps coordinates and values to its own precision: compare what it keeps.
        return Same(expected, record) ? Identity(producer, batch, index, expected.Parameter) : Garbled;
    }

    private static bool Same(in AirQualityRecord a, in AirQualityRecord b) =>
        a.Parameter == b.Parameter && a.TimeUtc == b.TimeUtc && a.Aqi == b.Aqi && a.Category == b.Category
        && Math.Abs(a.Latitude - b.Latitude) < 1e-4 && Math.Abs(a.Longitude - b.Longitude) < 1e-4
        && Math.Abs(a.Concentration - b.Concentration) < 1e-3 && a.SiteName == b.SiteName && a.FullAqsId == b.FullAqsId;

    /// <summary>The same hash the node reports for a stored batch: the first 8 bytes of the payload's SHA-256.</summary>
    public static ulong ContentHash(ReadOnlySpan<byte> payload) =>
        BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(payload));
}
