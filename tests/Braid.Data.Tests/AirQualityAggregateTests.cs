using Braid.Data;

namespace Braid.Data.Tests;

public class AirQualityAggregateTests
{
    [Fact]
    public void GroupsByDayAndParameterIgnoringMissingAqi()
    {
        var day = DataSamples.Oakland;
        var aggregate = new AirQualityAggregate();
        aggregate.Add(day with { Aqi = 10 });
        aggregate.Add(day with { Aqi = 30 });
        aggregate.Add(day with { Aqi = AirQualityRecord.MissingAqi });
        aggregate.Add(day with { Parameter = AirParameter.Ozone, Aqi = AirQualityRecord.MissingAqi });
        aggregate.Add(day with { TimeUtc = day.TimeUtc.AddDays(1), Aqi = 99 });
        var rows = aggregate.Rows;
        Assert.Equal(3, rows.Count);
        Assert.Equal(new AggregateRow(new DateOnly(2020, 8, 10), AirParameter.Ozone, 1, 0, 0, 0, 0), rows[0]);
        Assert.Null(rows[0].AqiMean);
        Assert.Equal(new AggregateRow(new DateOnly(2020, 8, 10), AirParameter.Pm25, 3, 2, 40, 10, 30), rows[1]);
        Assert.Equal(20.0, rows[1].AqiMean);
        Assert.Equal(new DateOnly(2020, 8, 11), rows[2].Day);
        Assert.Equal(5, aggregate.Count);
    }

    [Fact]
    public void MergedPartialsEqualTheAggregateOfTheUnion()
    {
        var records = DataSamples.Random(21, 5000);
        var whole = new AirQualityAggregate();
        foreach (var r in records) whole.Add(in r);
        var partials = Enumerable.Range(0, 4).Select(_ => new AirQualityAggregate()).ToArray();
        for (int i = 0; i < records.Length; i++) partials[i * 7 % 4].Add(in records[i]);
        var merged = new AirQualityAggregate();
        foreach (var p in partials.Reverse()) merged.Merge(p);
        Assert.Equal(whole.Rows, merged.Rows);
        Assert.Equal(whole.Count, merged.Count);

        var viaRows = new AirQualityAggregate();
        foreach (var p in partials) foreach (var row in p.Rows) viaRows.Add(in row);
        Assert.Equal(whole.Rows, viaRows.Rows);
    }

    [Fact]
    public void RollsUpByParameterAndByDay()
    {
        var records = DataSamples.Random(22, 3000);
        var aggregate = new AirQualityAggregate();
        foreach (var r in records) aggregate.Add(in r);
        var byParameter = aggregate.ByParameter;
        Assert.Equal(records.Select(r => r.Parameter).Distinct().Count(), byParameter.Count);
        foreach (var row in byParameter)
        {
            var group = records.Where(r => r.Parameter == row.Parameter).ToArray();
            var withAqi = group.Where(r => r.HasAqi).Select(r => r.Aqi).ToArray();
            Assert.Equal(group.Length, row.Count);
            Assert.Equal((withAqi.Min(), withAqi.Max(), withAqi.Average()), (row.AqiMin, row.AqiMax, row.AqiMean!.Value));
        }
        Assert.Equal(records.Length, aggregate.ByDay.Sum(r => r.Count));
        Assert.True(aggregate.ByDay.Select(r => r.Day).SequenceEqual(aggregate.ByDay.Select(r => r.Day).Order()));
    }
}
