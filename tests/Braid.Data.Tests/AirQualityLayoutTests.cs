using Braid.Data;

namespace Braid.Data.Tests;

public class AirQualityLayoutTests
{
    [Fact]
    public void PathsFollowTheDayFolderHourFileLayout()
    {
        var day = new DateOnly(2020, 8, 10);
        Assert.Equal("20200810", AirQualityLayout.DayFolder(day));
        Assert.Equal("20200810-01.csv", AirQualityLayout.HourFile(day, 1));
        Assert.Equal("20200810/20200810-23.csv", AirQualityLayout.RelativePath(day, 23));
        Assert.Equal(new DateTime(2020, 8, 10, 23, 0, 0, DateTimeKind.Utc), AirQualityLayout.HourStartUtc(day, 23));
        Assert.Throws<ArgumentOutOfRangeException>(() => AirQualityLayout.HourFile(day, 24));
    }

    [Theory]
    [InlineData("20200810-00.csv", true)]
    [InlineData("20200924-23.csv", true)]
    [InlineData("20200810-24.csv", false)]
    [InlineData("20200810-1.csv", false)]
    [InlineData("20200832-01.csv", false)]
    [InlineData("20200810-01.txt", false)]
    [InlineData("notes.csv", false)]
    public void RecognisesHourFileNames(string name, bool valid)
    {
        Assert.Equal(valid, AirQualityLayout.TryParseHourFile(name, out var day, out var hour));
        if (valid) Assert.Equal(name, AirQualityLayout.HourFile(day, hour));
    }

    [Theory]
    [InlineData("20200810", true)]
    [InlineData("2020081", false)]
    [InlineData("2020-8-10", false)]
    [InlineData("20201301", false)]
    public void RecognisesDayFolderNames(string name, bool valid)
    {
        Assert.Equal(valid, AirQualityLayout.TryParseDayFolder(name, out _));
    }
}
