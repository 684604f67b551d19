using System.Text.Json;
using Braid.Lab.Report;

namespace Braid.Lab.Tests;

/// <summary>run.json: a run saved and read back gives the same report.</summary>
public sealed class LabRunJsonTests
{
    [Fact]
    public void ARunRoundTripsWithItsViolationsProblemsAndPartitions()
    {
        var check = new CheckResult(["lost: partition 0 (1,2) was acknowledged at 10 but is not stored as sent", "phantom: \"x\" | <y>"], 1, 0, 1, 7);
        var run = SampleRuns.Realistic() with { Check = check };
        run = run with { Acks = run.Acks.Select((a, i) => a with { Partition = i % 12 }).ToList() };

        var json = LabRunJson.Serialize(run);
        var back = LabRunJson.Deserialize(json);

        Assert.Equal(run.Title, back.Title);
        Assert.Equal(run.DurationSeconds, back.DurationSeconds);
        Assert.Equal(run.Settings, back.Settings);
        Assert.Equal(run.Counts, back.Counts);
        Assert.Equal(run.GraphNotes, back.GraphNotes);
        Assert.Equal(run.Notes, back.Notes);
        Assert.Equal(run.Acks, back.Acks);
        Assert.Equal(run.Faults, back.Faults);
        Assert.Null(back.Faults[0].Problem);
        Assert.Equal("n4 would not restart: No space left on device (exit 134)", back.Faults[4].Problem);
        Assert.Equal(check.Violations, back.Check.Violations);
        Assert.Equal((1L, 0L, 1L, 7L), (back.Check.Lost, back.Check.Duplicated, back.Check.Phantom, back.Check.QueriesChecked));
        Assert.False(back.Check.Ok);
        Assert.Equal(json, LabRunJson.Serialize(back));
        Assert.Equal(LabReport.Build(run).Markdown, LabReport.Build(back).Markdown);
    }

    [Fact]
    public void AnEmptyRunAndOddNumbersRoundTrip()
    {
        var run = SampleRuns.Run("empty", 0, [new AckSample(double.NaN, 0.1, 0), new AckSample(1e-7, double.PositiveInfinity, 3, 5)], []);

        var back = LabRunJson.Deserialize(LabRunJson.Serialize(run));

        Assert.True(double.IsNaN(back.Acks[0].AtSeconds));
        Assert.Equal(-1, back.Acks[0].Partition);
        Assert.Equal(new AckSample(1e-7, double.PositiveInfinity, 3, 5), back.Acks[1]);
        Assert.Empty(back.Faults);
        Assert.True(back.Check.Ok);
    }

    [Fact]
    public void AcksWithoutAPartitionAreRead()
    {
        var json = LabRunJson.Serialize(SampleRuns.Run("old", 1, [new AckSample(0.5, 4, 10, 2)], []))
            .Replace("[0.5,4,10,2]", "[0.5,4,10]", StringComparison.Ordinal);

        Assert.Equal(new AckSample(0.5, 4, 10), Assert.Single(LabRunJson.Deserialize(json).Acks));
    }

    [Fact]
    public void ARunSerialisedWithTheDefaultsIsRead()
    {
        var run = SampleRuns.Steady(30, [new FaultWindow("kill", "n1", 10, 12, "would not restart")], partitions: 3);

        var back = LabRunJson.Deserialize(JsonSerializer.Serialize(run));

        Assert.Equal(run.Acks, back.Acks);
        Assert.Equal(run.Faults, back.Faults);
        Assert.Equal(LabReport.Build(run).Markdown, LabReport.Build(back).Markdown);
    }

    [Fact]
    public void ARunWithoutItsCheckIsRefused()
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(LabRunJson.Serialize(SampleRuns.Run("x", 1, [], [])))!.AsObject();
        Assert.True(node.Remove("check"));
        var withoutCheck = node.ToJsonString();

        Assert.Throws<JsonException>(() => LabRunJson.Deserialize(withoutCheck));
        Assert.Throws<JsonException>(() => LabRunJson.Deserialize("null"));
    }
}
