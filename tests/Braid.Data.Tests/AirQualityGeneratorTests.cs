using System.Diagnostics;
using Braid.Data;
using Xunit.Abstractions;

namespace Braid.Data.Tests;

public class AirQualityGeneratorTests(ITestOutputHelper output)
{
    [Fact]
    public void TheFullPlanHasExactlyTheRealPerParameterTotals()
    {
        var plan = AirQualityGenerator.Plan(1);
        Assert.Equal(AirQualityGenerator.FullRecordCount, plan.Total);
        Assert.Equal(478_728, plan.ExpectedCounts[AirParameter.Ozone]);
        Assert.Equal(334_402, plan.ExpectedCounts[AirParameter.Pm25]);
        Assert.Equal(125_784, plan.ExpectedCounts[AirParameter.Pm10]);
        Assert.Equal(97_613, plan.ExpectedCounts[AirParameter.No2]);
        Assert.Equal(71_332, plan.ExpectedCounts[AirParameter.So2]);
        Assert.Equal(59_666, plan.ExpectedCounts[AirParameter.Co]);
        foreach (var p in AirParameters.All)
        {
            long sum = 0;
            for (int d = 0; d < plan.Days.Count; d++)
                for (int h = 0; h < 24; h++) sum += plan.Count(d, h, p);
            Assert.Equal(plan.ExpectedCounts[p], sum);
        }
    }

    [Fact]
    public void FortyThreeDaysWithThreeGapsInsideTheWindow()
    {
        var days = AirQualityGenerator.Days;
        Assert.Equal(43, days.Count);
        Assert.Equal(new DateOnly(2020, 8, 10), days[0]);
        Assert.Equal(new DateOnly(2020, 9, 24), days[^1]);
        Assert.All(AirQualityGenerator.OmittedDays, d => Assert.DoesNotContain(d, days));
        Assert.Equal(46, days.Count + AirQualityGenerator.OmittedDays.Count);
    }

    [Fact]
    public void ASmallRunKeepsTheLayoutAndTheMix()
    {
        var files = AirQualityGenerator.Generate(3, 50_000).ToList();
        Assert.Equal(43 * 24, files.Count);
        Assert.Equal(43, files.Select(f => f.RelativePath[..8]).Distinct().Count());
        Assert.All(files.GroupBy(f => f.Day), g => Assert.Equal(Enumerable.Range(0, 24), g.Select(f => f.Hour)));
        Assert.All(files, f => Assert.Equal(AirQualityLayout.RelativePath(f.Day, f.Hour), f.RelativePath));
        Assert.All(files, f => Assert.All(f.Records, r => Assert.Equal(AirQualityLayout.HourStartUtc(f.Day, f.Hour), r.TimeUtc)));
        var counts = files.SelectMany(f => f.Records).GroupBy(r => r.Parameter).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(AirQualityGenerator.ExpectedCounts(50_000), counts);
        Assert.Equal(50_000, counts.Values.Sum());
        foreach (var p in AirParameters.All)
        {
            double share = (double)AirQualityGenerator.FullCounts[p] / AirQualityGenerator.FullRecordCount;
            Assert.InRange(counts[p], (long)Math.Floor(share * 50_000), (long)Math.Ceiling(share * 50_000));
        }
    }

    [Fact]
    public void TheSameSeedGivesTheSameBytesAndAnotherSeedDoesNot()
    {
        string Text(int seed) => string.Join("\n", AirQualityGenerator.Generate(seed, 5_000).SelectMany(f => f.Lines));
        Assert.Equal(Text(7), Text(7));
        Assert.NotEqual(Text(7), Text(8));
    }

    [Fact]
    public void LinesAreWellFormedAndRealistic()
    {
        var records = AirQualityGenerator.Generate(4, 60_000).SelectMany(f => f.Records).ToList();
        foreach (var r in records.Take(5000))
        {
            var line = AirQualityCsv.Format(in r);
            Assert.True(AirQualityCsv.TryParse(line, out var parsed, out var error), error);
            Assert.Equal(r, parsed);
        }
        Assert.All(records, r =>
        {
            Assert.Equal(r.Parameter.Unit(), r.Unit);
            Assert.InRange(r.Latitude, 18, 72);
            Assert.InRange(r.Longitude, -170, -60);
            Assert.True(r.Concentration >= 0);
            if (r.HasAqi) Assert.Equal((AqiBreakpoints.Aqi(r.Parameter, r.Concentration), AqiBreakpoints.Category(r.Aqi)), (r.Aqi, r.Category));
            else Assert.Equal(0, r.Category);
            Assert.Matches("^[0-9]{9}$", r.AqsId);
            Assert.Equal("840" + r.AqsId, r.FullAqsId);
        });
        double missing = records.Count(r => !r.HasAqi) / (double)records.Count;
        Assert.InRange(missing, 0.005, 0.08);
        var westSmoke = records.Where(r => r.Parameter == AirParameter.Pm25 && r.Longitude < -116 && r.TimeUtc.Day is >= 11 and <= 17 && r.TimeUtc.Month == 9);
        Assert.True(westSmoke.Average(r => r.Concentration) > 50, "September smoke on the west coast");
        var eastAugust = records.Where(r => r.Parameter == AirParameter.Pm25 && r.Longitude > -90 && r.TimeUtc.Month == 8);
        Assert.InRange(eastAugust.Average(r => r.Concentration), 3, 20);
        Assert.Equal(records.Count, records.DistinctBy(r => (r.AqsId, r.Parameter, r.TimeUtc)).Count());
    }

    [Fact]
    public void SitesHaveUniqueNamesAndIds()
    {
        var sites = AirQualitySites.All;
        Assert.InRange(sites.Count, 300, 2000);
        Assert.Equal(sites.Count, sites.Select(s => s.Name).Distinct().Count());
        Assert.Equal(sites.Count, sites.Select(s => s.AqsId).Distinct().Count());
    }

    [Fact]
    public void LimitsOutsideTheDataSetAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AirQualityGenerator.Generate(1, -1).First());
        Assert.Throws<ArgumentOutOfRangeException>(() => AirQualityGenerator.ExpectedCounts(AirQualityGenerator.FullRecordCount + 1));
        Assert.Empty(AirQualityGenerator.Generate(1, 0).SelectMany(f => f.Records));
    }

    [Theory]
    [InlineData(AirParameter.Pm25, 9.0, 38)]
    [InlineData(AirParameter.Pm25, 12.0, 50)]
    [InlineData(AirParameter.Pm25, 35.49, 100)]
    [InlineData(AirParameter.Pm25, 55.5, 151)]
    [InlineData(AirParameter.Pm25, 600, 500)]
    [InlineData(AirParameter.Pm10, 154.9, 100)]
    [InlineData(AirParameter.Ozone, 70.4, 100)]
    [InlineData(AirParameter.Ozone, 86, 151)]
    [InlineData(AirParameter.Co, 4.45, 50)]
    public void AqiFollowsTheEpaBreakpoints(AirParameter parameter, double concentration, int aqi)
    {
        Assert.Equal(aqi, AqiBreakpoints.Aqi(parameter, concentration));
    }

    [Fact]
    public void FullGenerationSpeed()
    {
        var watch = Stopwatch.StartNew();
        long records = 0, chars = 0;
        foreach (var file in AirQualityGenerator.Generate(1))
        {
            records += file.Records.Count;
            if (records < 200_000) chars += file.Lines.Sum(l => l.Length + 1);
            if (watch.Elapsed > TimeSpan.FromSeconds(5)) break;
        }
        output.WriteLine($"generated {records:N0} records in {watch.Elapsed.TotalSeconds:F2} s (formatted the first ~200k: {chars:N0} chars)");
        Assert.True(records > 0);
    }
}
