using Braid.Data;

namespace Braid.Data.Tests;

public class RecordBatchCodecTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    public void RoundTripsEveryField(int count)
    {
        var records = DataSamples.Random(11, count);
        var batch = RecordBatchCodec.Encode(records);
        Assert.Equal(count, RecordBatchCodec.Count(batch));
        Assert.Equal(records, RecordBatchCodec.Decode(batch));
    }

    [Fact]
    public void RepeatedSitesMakeItCompact()
    {
        var records = AirQualityGenerator.Generate(5, 20_000).SelectMany(f => f.Records).Take(5000).ToArray();
        var batch = RecordBatchCodec.Encode(records);
        long csvBytes = records.Sum(r => AirQualityCsv.Format(in r).Length + 1);
        Assert.True(batch.Length * 4 < csvBytes, $"{batch.Length} bytes vs {csvBytes} of CSV");
        Assert.Equal(records, RecordBatchCodec.Decode(batch));
    }

    [Fact]
    public void RejectsRecordsItCannotStoreFaithfully()
    {
        Assert.Throws<ArgumentException>(() => RecordBatchCodec.Encode(new AirQualityRecord[1]));
        var seconds = DataSamples.Oakland with { TimeUtc = DataSamples.Oakland.TimeUtc.AddSeconds(1) };
        Assert.Throws<ArgumentException>(() => RecordBatchCodec.Encode([seconds]));
        Assert.Throws<ArgumentException>(() => RecordBatchCodec.Encode([DataSamples.Oakland with { Parameter = (AirParameter)9 }]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ScanMatchesExactlyWhatTheFilterMatches(bool withTextForms)
    {
        var records = withTextForms ? WithTextForms(5, 3000) : DataSamples.Random(5, 3000);
        var batch = RecordBatchCodec.Encode(records);
        foreach (var filter in SampleFilters())
        {
            var expected = records.Where(r => filter.Matches(in r)).ToList();
            var actual = new List<AirQualityRecord>();
            var result = RecordBatchCodec.Scan(batch, filter, 0, int.MaxValue, actual);
            Assert.Equal(expected, actual);
            Assert.Equal(new ScanResult(expected.Count, records.Length, records.Length), result);
            Assert.True(result.Completed);
            Assert.Equal(expected.Count, RecordBatchCodec.CountMatches(batch, filter));
        }
    }

    [Fact]
    public void AScanResumedFromItsNextRecordYieldsExactlyTheRest()
    {
        var records = DataSamples.Random(6, 2000);
        var batch = RecordBatchCodec.Encode(records);
        var filter = RecordFilter.Create(parameters: [AirParameter.Pm25, AirParameter.Ozone]);
        var all = new List<AirQualityRecord>();
        int start = 0, calls = 0;
        while (true)
        {
            var result = RecordBatchCodec.Scan(batch, filter, start, 7, all);
            calls++;
            Assert.InRange(result.Matched, 0, 7);
            start = result.NextRecord;
            if (result.Completed) break;
        }
        Assert.Equal(records.Where(r => filter.Matches(in r)), all);
        Assert.True(calls > 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => RecordBatchCodec.Scan(batch, filter, records.Length + 1, 1, all));
    }

    [Fact]
    public void AggregatesTheMatchingRecords()
    {
        var records = DataSamples.Random(8, 1500);
        var batch = RecordBatchCodec.Encode(records);
        var filter = RecordFilter.Create(aqiMin: 50);
        var direct = new AirQualityAggregate();
        foreach (var r in records.Where(r => filter.Matches(in r))) direct.Add(in r);
        var scanned = new AirQualityAggregate();
        RecordBatchCodec.Aggregate(batch, filter, scanned);
        Assert.Equal(direct.Rows, scanned.Rows);
    }

    [Fact]
    public void RandomBytesOnlyEverRaiseRecordFormatException()
    {
        var random = new Random(42);
        for (int i = 0; i < 20_000; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            if (i % 2 == 0 && bytes.Length >= 4) (i % 4 == 0 ? "AQB\u0001"u8 : "AQB\u0002"u8).CopyTo(bytes);
            AssertDecodesOrFailsCleanly(bytes);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncationsAndBitFlipsOnlyEverRaiseRecordFormatException(bool withTextForms)
    {
        var batch = RecordBatchCodec.Encode(withTextForms ? WithTextForms(9, 60) : DataSamples.Random(9, 60, sites: 5));
        for (int length = 0; length < batch.Length; length++)
        {
            Assert.Throws<RecordFormatException>(() => RecordBatchCodec.Decode(batch.AsSpan(0, length)));
        }
        var random = new Random(43);
        for (int i = 0; i < 5000; i++)
        {
            var copy = (byte[])batch.Clone();
            for (int flips = random.Next(1, 4); flips > 0; flips--) copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
            AssertDecodesOrFailsCleanly(copy);
        }
    }

    [Fact]
    public void TheErrorSaysWhereAndWhat()
    {
        var e = Assert.Throws<RecordFormatException>(() => RecordBatchCodec.Count("XYZ\u0001\u0000"u8));
        Assert.Contains("bad magic", e.Message, StringComparison.Ordinal);
        var batch = RecordBatchCodec.Encode([DataSamples.Oakland]);
        var longer = batch.Concat(new byte[] { 0 }).ToArray();
        e = Assert.Throws<RecordFormatException>(() => RecordBatchCodec.Decode(longer));
        Assert.Contains("1 bytes after the last record", e.Message, StringComparison.Ordinal);
        Assert.Equal(batch.Length, e.Offset);
    }

    private static void AssertDecodesOrFailsCleanly(byte[] bytes)
    {
        try
        {
            RecordBatchCodec.Decode(bytes);
            RecordBatchCodec.CountMatches(bytes, RecordFilter.Create(siteName: "Oakland", box: new BoundingBox(0, -180, 90, 0)));
        }
        catch (RecordFormatException)
        {
        }
    }

    /// <summary>Random records mixed with real-style parsed ones (decimals as written) and whole-line ones.</summary>
    private static AirQualityRecord[] WithTextForms(int seed, int count)
    {
        var odd = ExactTextTests.OddLines.Select(line =>
        {
            Assert.True(AirQualityCsv.TryParse(line, out var record, out _));
            return record;
        });
        int half = (count - ExactTextTests.OddLines.Length) / 2;
        AirQualityRecord[] records = [.. DataSamples.Random(seed, count - ExactTextTests.OddLines.Length - half), .. ExactTextTests.RealStyle(seed, half), .. odd];
        new Random(seed).Shuffle(records);
        return records;
    }

    internal static IEnumerable<RecordFilter> SampleFilters()
    {
        var from = new DateTime(2020, 8, 20, 0, 0, 0, DateTimeKind.Utc);
        yield return RecordFilter.All;
        yield return RecordFilter.Create(from: from, to: from.AddDays(3));
        yield return RecordFilter.Create(parameters: [AirParameter.Co]);
        yield return RecordFilter.Create(aqiMin: 100, aqiMax: 200);
        yield return RecordFilter.Create(aqiMax: 10);
        yield return RecordFilter.Create(box: new BoundingBox(30, -118, 40, -100));
        yield return RecordFilter.Create(siteName: "OAKLAND 0");
        yield return RecordFilter.Create(from: from, parameters: [AirParameter.Pm25, AirParameter.Pm10], aqiMin: 0, box: new BoundingBox(20, -125, 45, -110));
    }
}
