using Braid.Data;

namespace Braid.Data.Tests;

public class AirQualityCsvTests
{
    [Fact]
    public void ParsesTheExampleLineIntoItsThirteenFields()
    {
        Assert.True(AirQualityCsv.TryParse(DataSamples.OaklandLine, out var record, out var error), error);
        Assert.Equal(DataSamples.Oakland, record);
        Assert.Equal(DateTimeKind.Utc, record.TimeUtc.Kind);
    }

    [Fact]
    public void FormatsTheExactSameText()
    {
        Assert.Equal(DataSamples.OaklandLine, AirQualityCsv.Format(DataSamples.Oakland));
    }

    [Fact]
    public void RoundTripsAwkwardRecords()
    {
        foreach (var record in DataSamples.Random(3, 2000))
        {
            var line = AirQualityCsv.Format(in record);
            Assert.True(AirQualityCsv.TryParse(line, out var parsed, out var error), $"{line}: {error}");
            Assert.Equal(record, parsed);
            Assert.Equal(line, AirQualityCsv.Format(in parsed));
        }
    }

    [Fact]
    public void MissingAqiRoundTrips()
    {
        var record = DataSamples.Oakland with { Aqi = AirQualityRecord.MissingAqi, Category = 0 };
        var line = AirQualityCsv.Format(in record);
        Assert.Contains("\"-999\",\"0\"", line, StringComparison.Ordinal);
        Assert.True(AirQualityCsv.TryParse(line, out var parsed, out _));
        Assert.False(parsed.HasAqi);
    }

    [Theory]
    [InlineData("", "empty line")]
    [InlineData("\"37.742500\",\"-122.169700\"", "expected 13 fields, found 2")]
    [InlineData(DataSamples.OaklandLine + ",\"x\"", "expected 13 fields, found more")]
    [InlineData("37.742500,\"-122.169700\"", "field 1 (Latitude): not quoted")]
    [InlineData("\"37.742500\",\"-122.169700", "field 2 (Longitude): missing closing quote")]
    [InlineData("\"37.742500\"x,\"-122.169700\"", "field 1 (Latitude): unexpected 'x'")]
    public void RejectsBadShapes(string line, string expected)
    {
        Assert.False(AirQualityCsv.TryParse(line, out var record, out var error));
        Assert.Equal(default, record);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "abc", "field 1 (Latitude): 'abc' is not a number")]
    [InlineData(0, "91.5", "field 1 (Latitude): 91.5 is outside -90..90")]
    [InlineData(1, "-190", "field 2 (Longitude): -190 is outside -180..180")]
    [InlineData(1, "NaN", "field 2 (Longitude): 'NaN' is not a number")]
    [InlineData(2, "2020-08-10 01:00", "field 3 (UTC)")]
    [InlineData(2, "2020-02-30T01:00", "field 3 (UTC)")]
    [InlineData(2, "2020-08-10T24:00", "field 3 (UTC)")]
    [InlineData(3, "PM25", "field 4 (Parameter): unknown parameter 'PM25'")]
    [InlineData(3, "LEAD", "field 4 (Parameter): unknown parameter 'LEAD'")]
    [InlineData(4, "9,0", "field 5 (Concentration)")]
    [InlineData(5, "", "field 6 (Unit): empty unit")]
    [InlineData(6, "", "field 7 (Raw Concentration): '' is not a number")]
    [InlineData(7, "38.5", "field 8 (AQI): '38.5' is not an integer")]
    [InlineData(7, "-5", "field 8 (AQI): -5 is negative")]
    [InlineData(8, "one", "field 9 (Category)")]
    [InlineData(9, "", "field 10 (Site Name): empty")]
    [InlineData(12, "", "field 13 (Full AQS ID): empty")]
    public void NamesTheBadField(int field, string value, string expected)
    {
        var fields = DataSamples.OaklandLine[1..^1].Split("\",\"");
        fields[field] = value;
        var line = "\"" + string.Join("\",\"", fields) + "\"";
        Assert.False(AirQualityCsv.TryParse(line, out _, out var error));
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void AcceptsParameterNamesInAnyCase()
    {
        var line = DataSamples.OaklandLine.Replace("\"PM2.5\"", "\"ozone\"", StringComparison.Ordinal);
        Assert.True(AirQualityCsv.TryParse(line, out var record, out _));
        Assert.Equal(AirParameter.Ozone, record.Parameter);
    }

    [Fact]
    public void KeepsCommasAndDoubledQuotesInsideFields()
    {
        var record = DataSamples.Oakland with { SiteName = "Washington, \"DC\" Site" };
        var line = AirQualityCsv.Format(in record);
        Assert.Contains("\"Washington, \"\"DC\"\" Site\"", line, StringComparison.Ordinal);
        Assert.True(AirQualityCsv.TryParse(line, out var parsed, out _));
        Assert.Equal(record, parsed);
    }

    [Fact]
    public void KnownUnitsAreShared()
    {
        Assert.True(AirQualityCsv.TryParse(DataSamples.OaklandLine, out var a, out _));
        Assert.True(AirQualityCsv.TryParse(DataSamples.OaklandLine, out var b, out _));
        Assert.Same(a.Unit, b.Unit);
    }
}

/// <summary>Found by `braid bench fuzz --target csv` (issue 11, item 7).</summary>
public sealed class AirQualityCsvFuzzFindings
{
    [Fact]
    public void AnEscapedQuoteInTheUnitIsUnescapedLikeEveryOtherText()
    {
        var line = "\"33.885400\",\"-118.286000\",\"2020-08-15T05:00\",\"OZONE\",\"37.8\",\"PPB\"\"UG/M3\",\"33.1\",\"31\",\"1\",\"Phoenix Downtown\",\"Maricopa County\",\"040139997\",\"840040139997\"";
        Assert.True(Braid.Data.AirQualityCsv.TryParse(line, out var record, out var error), error);
        Assert.Equal("PPB\"UG/M3", record.Unit);
        Assert.True(Braid.Data.AirQualityCsv.TryParse(Braid.Data.AirQualityCsv.Format(in record), out var again, out _));
        Assert.Equal(record, again);
    }
}

/// <summary>Issue 13: the real files have Canadian and Mexican sites, whose AQS ids are not nine digits.</summary>
public sealed class AirQualityCsvSiteIdTests
{
    [Theory]
    [InlineData("CC0040302", "124CC0040302")]
    [InlineData("MM0010001", "484MM0010001")]
    [InlineData("80CA2020001", "80CA2020001")]
    public void ParsesAlphanumericAqsIds(string aqsId, string fullAqsId)
    {
        var line = DataSamples.OaklandLine.Replace("\"060010009\",\"840060010009\"", $"\"{aqsId}\",\"{fullAqsId}\"", StringComparison.Ordinal);
        Assert.True(AirQualityCsv.TryParse(line, out var record, out var error), error);
        Assert.Equal(aqsId, record.AqsId);
        Assert.Equal(fullAqsId, record.FullAqsId);
        Assert.Equal(record, RecordBatchCodec.Decode(RecordBatchCodec.Encode([record]))[0]);
        Assert.Equal(line, AirQualityCsv.Format(in record));
    }
}
