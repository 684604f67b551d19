using Braid.Cli.Commands;
using Braid.Data;

namespace Braid.Cli.Tests.Commands;

/// <summary>The demo's record-by-record check (issue 10: per-parameter counts let a lost record
/// and a duplicated one of the same parameter cancel out and both read 0).</summary>
public sealed class RecordTallyTests
{
    private static AirQualityRecord Record(int hour, AirParameter parameter = AirParameter.Pm25) => new(
        34.1, -118.2, new DateTime(2020, 9, 1, hour, 0, 0, DateTimeKind.Utc), parameter, 12.5, "UG/M3", 12.5, 52, 2,
        "Site", "Agency", "060371103", "840060371103");

    [Fact]
    public void ALostAndADuplicatedRecordOfTheSameParameterAreBothReported()
    {
        var sent = new RecordTally();
        var stored = new RecordTally();
        foreach (var hour in new[] { 1, 2, 3 }) sent.Add(Record(hour));
        foreach (var hour in new[] { 1, 1, 3 }) stored.Add(Record(hour)); // 2 lost, 1 twice: same counts per parameter
        Assert.Equal(sent.CountOf(AirParameter.Pm25), stored.CountOf(AirParameter.Pm25));
        Assert.Equal((1L, 1L, 0L), sent.Compare(stored));
    }

    [Fact]
    public void ARecordNobodySentIsAPhantomAndEqualSetsAreClean()
    {
        var sent = new RecordTally();
        var stored = new RecordTally();
        sent.Add(Record(1));
        stored.Add(Record(1));
        Assert.Equal((0L, 0L, 0L), sent.Compare(stored));
        stored.Add(Record(1, AirParameter.Ozone));
        Assert.Equal((0L, 0L, 1L), sent.Compare(stored));
    }
}
