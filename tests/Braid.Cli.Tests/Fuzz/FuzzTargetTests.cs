using Braid.Cli.Fuzz;
using Braid.Core.Log;
using Xunit.Abstractions;

namespace Braid.Cli.Tests.Fuzz;

/// <summary>
/// Issue 11, item 7 in CI: 10,000 cases per target with a fixed seed, no failure, and enough
/// accepted mutated cases that the fuzzer is seen to get past the first length check.
/// </summary>
public sealed class FuzzTargetTests(ITestOutputHelper output)
{
    private const int Cases = 10_000;
    private const int Seed = 20_251;

    public static TheoryData<string> TargetNames => new(FuzzBench.TargetNames);

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void TenThousandCasesFailNothingAndSomeGetDeep(string name)
    {
        // Snapshot files with their checksums fixed up after mutation are fuzzed too (SnapshotFindings).
        var target = FuzzBench.Targets.Select(f => f()).Single(t => t.Name == name);
        var settings = FuzzSettings.Default(Cases, Seed) with { TargetTimeLimit = TimeSpan.FromMinutes(3) };

        var report = FuzzRunner.Run(target, settings);

        var text = new StringWriter();
        FuzzBench.Print(text, target, report);
        output.WriteLine(text.ToString());
        Assert.Null(report.StoppedBecause);
        Assert.Equal(Cases, report.Cases);
        Assert.Equal(0, report.FailureCount);
        Assert.True(report.AcceptedMutated >= 10, $"only {report.AcceptedMutated} mutated cases accepted");
        Assert.True(report.RefusedTotal > 0, "nothing refused: the mutations do not reach the checks");
    }

    [Fact]
    public void ACrashIsAFailureWithAReproducer()
    {
        var directory = Path.Combine(Path.GetTempPath(), "braid-fuzz-" + Guid.NewGuid().ToString("N"));
        var settings = FuzzSettings.Default(200, Seed) with { OutDirectory = directory };

        var report = FuzzRunner.Run(new PlantedTarget(hang: false), settings);

        Assert.True(report.FailureCount > 0);
        var failure = report.Failures[0];
        Assert.Equal(nameof(IndexOutOfRangeException), failure.Kind);
        Assert.True(File.Exists(failure.ReproducerPath));
        Assert.Contains($"--case {failure.Case}", File.ReadAllText(failure.ReproducerPath!));
        // The case is reproduced by (seed, index) alone.
        var replay = FuzzRunner.Run(new PlantedTarget(hang: false), settings with { OnlyCase = failure.Case, OutDirectory = null });
        Assert.Equal(1, replay.FailureCount);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void AHangIsCaughtByTheWatchdog()
    {
        var settings = FuzzSettings.Default(1_000, Seed) with { HangLimit = TimeSpan.FromMilliseconds(300) };

        var report = FuzzRunner.Run(new PlantedTarget(hang: true), settings);

        Assert.Equal("hang", Assert.Single(report.Failures).Kind);
        Assert.NotNull(report.StoppedBecause);
    }

    /// <summary>Fails on inputs starting with 0xFF: by an out-of-range index, or by never returning.</summary>
    private sealed class PlantedTarget(bool hang) : FuzzTarget
    {
        public override string Name => "planted";
        public override string Description => "a target with a planted bug";
        public override IReadOnlyList<byte[]> Seeds { get; } = [[1, 2, 3, 4]];

        public override string? Run(byte[] input)
        {
            if (input.Length == 0 || input[0] != 0xFF) return input.Length % 2 == 0 ? null : "odd";
            if (hang) Thread.Sleep(Timeout.Infinite);
            return input[input.Length + 1].ToString();
        }
    }
}
