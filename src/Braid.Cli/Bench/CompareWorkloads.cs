using System.Globalization;
using Braid.Bench.Nats;
using Braid.Data;

namespace Braid.Cli.Bench;

/// <summary>One row of <c>bench compare</c> with the per-parameter counts Braid must hold after it.</summary>
/// <param name="ThroughProducer">Sent through each system's producer API one record per call (Braid:
/// <c>BraidProducer</c> into a raw stream), not as pre-built batches through an <c>IngestSession</c>.</param>
internal sealed record CompareRow(CompareWorkload Workload, IReadOnlyDictionary<AirParameter, long> ExpectedCounts, bool ThroughProducer = false);

/// <summary>The workloads of <c>braid bench compare</c>, built once and sent unchanged to both systems.</summary>
internal static class CompareWorkloads
{
    /// <summary>The generated data set (<paramref name="records"/>, default all 1,167,525) pre-encoded into
    /// batches of <paramref name="batchRecords"/> records: one Braid batch or one NATS message each.</summary>
    public static CompareRow DataSet(int seed, long? records, int batchRecords)
    {
        var (batches, _) = BenchLoad.Encode(seed, records, batchRecords);
        var name = string.Create(CultureInfo.InvariantCulture, $"data set, {batchRecords:N0} rec/batch");
        return new CompareRow(new CompareWorkload(name, batches, CompareWorkload.DefaultWarmup(batches.Count)), AirQualityGenerator.ExpectedCounts(records));
    }

    /// <summary>The first <paramref name="count"/> readings of the data set, each alone in a message of exactly
    /// <paramref name="recordBytes"/> bytes (see <see cref="EncodeExactly"/>): records sent one at a time.</summary>
    public static CompareRow SingleRecords(int seed, int count, int recordBytes, bool throughProducer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var messages = new List<(byte[] Payload, int Records)>(count);
        foreach (var file in AirQualityGenerator.Generate(seed, count))
            foreach (var record in file.Records)
                messages.Add((EncodeExactly(record, recordBytes), 1));
        var name = recordBytes.ToString(CultureInfo.InvariantCulture) + (throughProducer ? "-byte records, one at a time" : "-byte records, one per batch");
        return new CompareRow(new CompareWorkload(name, messages, CompareWorkload.DefaultWarmup(messages.Count)), AirQualityGenerator.ExpectedCounts(count), throughProducer);
    }

    /// <summary>
    /// <paramref name="record"/> as a one-record batch of exactly <paramref name="bytes"/> bytes: its site
    /// name is padded (or cut) to fit. 150 bytes is about the size of a reading's CSV line. Braid takes
    /// only record batches, so the message is a valid one; NATS gets the very same bytes.
    /// </summary>
    public static byte[] EncodeExactly(AirQualityRecord record, int bytes)
    {
        var name = record.SiteName;
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var payload = RecordBatchCodec.Encode([record with { SiteName = name }]);
            var missing = bytes - payload.Length;
            if (missing == 0) return payload;
            if (missing > 0) name += new string('.', missing);
            else if (name.Length >= -missing) name = name[..(name.Length + missing)];
            else break;
        }
        throw new ArgumentOutOfRangeException(nameof(bytes), bytes, $"a reading of site {record.AqsId} cannot be encoded in exactly {bytes} bytes");
    }
}
