using Braid.Data;

namespace Braid.Data.Tests;

public class RecordFilterTests
{
    private static readonly AirQualityRecord R = DataSamples.Oakland; // 2020-08-10T01:00 PM2.5 AQI 38 at 37.7425,-122.1697

    [Fact]
    public void TheTimeWindowIncludesFromAndExcludesTo()
    {
        var t = R.TimeUtc;
        Assert.True(RecordFilter.Create(from: t).Matches(in R));
        Assert.False(RecordFilter.Create(from: t.AddMinutes(1)).Matches(in R));
        Assert.False(RecordFilter.Create(to: t).Matches(in R));
        Assert.True(RecordFilter.Create(to: t.AddHours(1)).Matches(in R));
    }

    [Fact]
    public void ParametersAreASet()
    {
        Assert.True(RecordFilter.Create(parameters: [AirParameter.Ozone, AirParameter.Pm25]).Matches(in R));
        Assert.False(RecordFilter.Create(parameters: [AirParameter.Ozone]).Matches(in R));
    }

    [Fact]
    public void TheAqiRangeIsInclusiveAndMissingAqiNeverMatchesIt()
    {
        Assert.True(RecordFilter.Create(aqiMin: 38, aqiMax: 38).Matches(in R));
        Assert.False(RecordFilter.Create(aqiMin: 39).Matches(in R));
        Assert.False(RecordFilter.Create(aqiMax: 37).Matches(in R));
        var missing = R with { Aqi = AirQualityRecord.MissingAqi };
        Assert.False(RecordFilter.Create(aqiMax: 500).Matches(in missing));
        Assert.True(RecordFilter.Create(parameters: [AirParameter.Pm25]).Matches(in missing));
    }

    [Fact]
    public void TheBoxIncludesItsEdges()
    {
        Assert.True(RecordFilter.Create(box: new BoundingBox(37.7425, -122.1697, 38, -122)).Matches(in R));
        Assert.False(RecordFilter.Create(box: new BoundingBox(37.75, -123, 38, -122)).Matches(in R));
        Assert.False(RecordFilter.Create(box: new BoundingBox(30, -122, 38, -100)).Matches(in R));
    }

    [Fact]
    public void SiteNameIsExactButIgnoresCase()
    {
        Assert.True(RecordFilter.Create(siteName: "oakland").Matches(in R));
        Assert.False(RecordFilter.Create(siteName: "Oakland West").Matches(in R));
        Assert.False(RecordFilter.Create(siteName: "Oak").Matches(in R));
    }

    [Fact]
    public void PartsCombineWithAnd()
    {
        var all = RecordFilter.Create(from: R.TimeUtc, to: R.TimeUtc.AddHours(1), parameters: [AirParameter.Pm25], aqiMin: 0, aqiMax: 50,
            box: new BoundingBox(37, -123, 38, -122), siteName: "OAKLAND");
        Assert.True(all.Matches(in R));
        Assert.False(all.Matches(R with { Parameter = AirParameter.Pm10 }));
        Assert.False(all.Matches(R with { Aqi = 51 }));
        Assert.False(all.Matches(R with { Latitude = 36.9 }));
        Assert.False(all.Matches(R with { SiteName = "Fresno" }));
        Assert.False(all.Matches(R with { TimeUtc = R.TimeUtc.AddHours(1) }));
        Assert.True(RecordFilter.All.MatchesEverything);
        Assert.False(all.MatchesEverything);
    }

    [Fact]
    public void ParsesWhatAUserTypes()
    {
        Assert.True(RecordFilterParser.TryParse("2020-09-01", "2020-09-07T12:00", "pm25, OZONE", "100..500", "30,-125,45,-110", "Oakland",
            out var f, out var error), error);
        Assert.Equal(new DateTime(2020, 9, 1, 0, 0, 0, DateTimeKind.Utc), f.From);
        Assert.Equal(new DateTime(2020, 9, 7, 12, 0, 0, DateTimeKind.Utc), f.To);
        Assert.Equal([AirParameter.Ozone, AirParameter.Pm25], f.Parameters);
        Assert.Equal((100, 500), (f.AqiMin, f.AqiMax));
        Assert.Equal(new BoundingBox(30, -125, 45, -110), f.Box);
        Assert.Equal("Oakland", f.SiteName);
        Assert.True(RecordFilterParser.TryParse(null, null, null, "..50", null, null, out f, out _));
        Assert.Equal((null, 50), (f.AqiMin, f.AqiMax));
        Assert.True(RecordFilterParser.TryParse(null, null, null, null, null, null, out f, out _));
        Assert.True(f.MatchesEverything);
    }

    [Theory]
    [InlineData("2020-09-07", "2020-09-01", null, null, null, "time window is empty")]
    [InlineData("yesterday", null, null, null, null, "from time 'yesterday'")]
    [InlineData(null, null, "PM2.5,LEAD", null, null, "unknown parameter 'LEAD'")]
    [InlineData(null, null, null, "500..100", null, "AQI range is reversed: 500 > 100")]
    [InlineData(null, null, null, "100-500", null, "must be MIN..MAX")]
    [InlineData(null, null, null, "..", null, "neither bound")]
    [InlineData(null, null, null, "-5..10", null, "'-5' is not a whole number")]
    [InlineData(null, null, null, null, "30,-125,45", "4 numbers, found 3")]
    [InlineData(null, null, null, null, "30,-125,x,-110", "'x' is not a number")]
    [InlineData(null, null, null, null, "45,-125,30,-110", "minLat 45 > maxLat 30")]
    [InlineData(null, null, null, null, "30,-110,45,-125", "minLon -110 > maxLon -125")]
    [InlineData(null, null, null, null, "30,-125,95,-110", "latitudes must be within -90..90")]
    public void ExplainsWhatIsWrong(string? from, string? to, string? parameters, string? aqi, string? bbox, string expected)
    {
        Assert.False(RecordFilterParser.TryParse(from, to, parameters, aqi, bbox, null, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateRejectsContradictions()
    {
        Assert.Throws<ArgumentException>(() => RecordFilter.Create(parameters: []));
        Assert.Throws<ArgumentException>(() => RecordFilter.Create(siteName: "  "));
        Assert.Throws<ArgumentException>(() => RecordFilter.Create(aqiMin: 5, aqiMax: 4));
        Assert.Throws<ArgumentException>(() => new BoundingBox(10, 0, 5, 1));
    }
}
