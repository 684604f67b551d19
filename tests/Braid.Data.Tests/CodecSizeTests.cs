using System.Globalization;
using Braid.Data;
using Xunit.Abstractions;

namespace Braid.Data.Tests;

/// <summary>
/// Prints what the batch codec costs per record on the generated data set, as the generator writes it
/// (canonical text) and as the real AirNow files write it (coordinates with their own digits, e.g.
/// "28.7456"), in batches of 1,000 like <c>braid load</c>. Issue 13: the exact text must stay cheap.
/// </summary>
public class CodecSizeTests(ITestOutputHelper output)
{
    [Fact]
    public void PrintsTheBytesPerRecord()
    {
        var records = AirQualityGenerator.Generate(1).SelectMany(f => f.Records).Take(100_000).ToArray(); // full density: ~1,100 an hour
        var realStyle = records.Select(r => Parse(RealStyleLine(in r))).ToArray();
        double canonical = Measure(records), real = Measure(realStyle);
        output.WriteLine($"generated (canonical text): {canonical:F2} bytes/record");
        output.WriteLine($"generated, real-file style: {real:F2} bytes/record");
        Assert.InRange(canonical, 5, 60);
        Assert.InRange(real, canonical, canonical + 2);
    }

    /// <summary>The line as the real files write it: coordinates with the digits they need, not six.</summary>
    internal static string RealStyleLine(in AirQualityRecord r)
    {
        var line = AirQualityCsv.Format(in r);
        int third = line.IndexOf("\",\"", line.IndexOf("\",\"", StringComparison.Ordinal) + 3, StringComparison.Ordinal);
        return string.Create(CultureInfo.InvariantCulture, $"\"{r.Latitude:R}\",\"{r.Longitude:R}") + line[third..];
    }

    private static AirQualityRecord Parse(string line)
    {
        Assert.True(AirQualityCsv.TryParse(line, out var record, out var error), error);
        return record;
    }

    private static double Measure(AirQualityRecord[] records) =>
        records.Chunk(1000).Sum(c => (long)RecordBatchCodec.Encode(c).Length) / (double)records.Length;
}
