using System.Diagnostics;
using Braid.Data;
using Xunit.Abstractions;

namespace Braid.Data.Tests;

/// <summary>Prints the codec's scan speed (no timed assertion: the machine is shared).</summary>
public class ScanSpeedTests(ITestOutputHelper output)
{
    [Fact]
    public void ScanSpeed()
    {
        var batches = AirQualityGenerator.Generate(2, 300_000).SelectMany(f => f.Records).Chunk(1000).Select(c => RecordBatchCodec.Encode(c)).ToArray();
        long total = batches.Sum(b => (long)RecordBatchCodec.Count(b));
        var selective = RecordFilter.Create(parameters: [AirParameter.Pm25], aqiMin: 100, aqiMax: 500,
            from: new DateTime(2020, 9, 1, 0, 0, 0, DateTimeKind.Utc), to: new DateTime(2020, 9, 8, 0, 0, 0, DateTimeKind.Utc));
        var box = RecordFilter.Create(box: new BoundingBox(32, -125, 49, -114));
        foreach (var (name, filter) in new[] { ("match-all", RecordFilter.All), ("selective", selective), ("bbox west", box) })
        {
            var list = new List<AirQualityRecord>();
            Measure(batches, filter, list); // warm up
            var watch = Stopwatch.StartNew();
            long matched = 0;
            int rounds = 5;
            for (int i = 0; i < rounds; i++) matched = Measure(batches, filter, list);
            double seconds = watch.Elapsed.TotalSeconds;
            output.WriteLine($"{name,-10} scanned {total * rounds / seconds / 1e6:F1} M records/s, matched {matched:N0} of {total:N0}, {batches.Sum(b => b.Length) / (double)total:F1} bytes/record");
            Assert.True(matched > 0);
        }
    }

    private static long Measure(byte[][] batches, RecordFilter filter, List<AirQualityRecord> list)
    {
        long matched = 0;
        foreach (var batch in batches)
        {
            list.Clear();
            matched += RecordBatchCodec.Scan(batch, filter, 0, int.MaxValue, list).Matched;
        }
        return matched;
    }
}
