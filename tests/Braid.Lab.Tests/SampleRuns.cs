using Braid.Lab.Report;

namespace Braid.Lab.Tests;

/// <summary>Synthetic lab runs for the report tests: a steady producer with outages planted where
/// a test wants them, and two realistic runs (2 minutes with a handful of faults, 30 minutes with
/// hundreds) with jittered rates and latencies from a fixed seed.</summary>
internal static class SampleRuns
{
    private static readonly CheckResult Clean = new([], 0, 0, 0, 12);

    /// <summary>A run whose producer is acknowledged every 0.1 s with 10 records (100 records/s),
    /// except inside <paramref name="outages"/>. With <paramref name="partitions"/> the i-th ack
    /// (at i × 0.1 s) is of partition i mod partitions, so each partition is acknowledged every
    /// partitions × 0.1 s, except inside its <paramref name="stalls"/>; without, acks carry no partition.</summary>
    public static LabRun Steady(double durationSeconds, IReadOnlyList<FaultWindow> faults,
        IReadOnlyList<(double Start, double End)>? outages = null, CheckResult? check = null, int partitions = 0,
        IReadOnlyList<(int Partition, double Start, double End)>? stalls = null)
    {
        var acks = new List<AckSample>();
        for (var i = 1; i * 0.1 <= durationSeconds + 1e-9; i++)
        {
            var at = Math.Round(i * 0.1, 6);
            var partition = partitions > 0 ? i % partitions : -1;
            if (outages?.Any(o => at >= o.Start && at < o.End) == true) continue;
            if (stalls?.Any(s => s.Partition == partition && at >= s.Start && at < s.End) == true) continue;
            acks.Add(new AckSample(at, 5, 10, partition));
        }
        return Run("steady", durationSeconds, acks, faults, check ?? Clean);
    }

    public static LabRun Run(string title, double durationSeconds, IReadOnlyList<AckSample> acks,
        IReadOnlyList<FaultWindow> faults, CheckResult? check = null) => new(
        title,
        [new("topology", "mini2"), new("seed", "42"), new("duration", $"{durationSeconds} s")],
        durationSeconds,
        acks,
        faults,
        check ?? Clean,
        [new("appends acknowledged", acks.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))],
        [],
        []);

    /// <summary>Two minutes, six faults of different classes: two overlapping, one instant, one with
    /// a problem and a slow recovery, one with a 12.5 s outage that outlasts its window.</summary>
    public static LabRun Realistic()
    {
        FaultWindow[] faults =
        [
            new("kill", "n2", 20, 26),
            new("partition", "n1 | n2,n3", 40, 52),
            new("pause", "n3", 60, 70),
            new("slow", "n1-n4 200ms", 64, 80),
            new("disk-full", "n4", 90, 100, "n4 would not restart: No space left on device (exit 134)"),
            new("bitflip", "n2 segment 7", 105, 105),
        ];
        var random = new Random(7);
        var acks = Produce(120, random, at => at switch
        {
            >= 20 and < 21.5 => Effect.Outage,
            >= 21.5 and < 26 => new Effect(0.7, 3),
            >= 41 and < 53.5 => Effect.Outage,
            >= 60 and < 80 => new Effect(0.8, at >= 64 ? 25 : 2),
            >= 90 and < 103 => new Effect(at < 100 ? 0.6 : 0.3, 2),
            _ => Effect.None,
        });
        return Run("braid chaos: mini2 on netns hosts (sample)", 120, acks, faults) with
        {
            GraphNotes = ["n1 is a cut vertex: losing it cuts n4 off from n2, n3"],
            Notes = ["n4 exited with code 134: last line \"write failed: No space left on device\""],
        };
    }

    /// <summary>Thirty minutes, 220 faults of random classes and lengths, often overlapping.</summary>
    public static LabRun Long()
    {
        string[] classes = ["kill", "pause", "link", "partition", "partition-oneway", "majority", "minority", "slow", "disk-full"];
        var random = new Random(11);
        var faults = new List<FaultWindow>();
        for (var i = 0; i < 220; i++)
        {
            var start = Math.Round(5 + i * (1780.0 / 220) + random.NextDouble() * 4, 1);
            var length = Math.Round(2 + random.NextDouble() * random.NextDouble() * 30, 1);
            var problem = i % 97 == 50 ? "node would not restart" : null;
            faults.Add(new FaultWindow(classes[random.Next(classes.Length)], $"n{1 + random.Next(5)}", start, start + length, problem));
        }
        var outages = faults.Where(f => f.Class is "majority" or "kill").Select(f => (f.StartSeconds, f.StartSeconds + (f.Class == "kill" ? 1.5 : 7))).ToList();
        var acks = Produce(1800, random, at =>
            outages.Any(o => at >= o.Item1 && at < o.Item2) ? Effect.Outage
            : faults.Any(f => f.Class == "slow" && at >= f.StartSeconds && at < f.EndSeconds) ? new Effect(0.7, 20)
            : Effect.None);
        return Run("braid chaos: mini5, 30 minutes (sample)", 1800, acks, faults);
    }

    /// <summary>What a fault does to the producers at a moment: throughput factor and latency factor.</summary>
    private readonly record struct Effect(double Rate, double Latency)
    {
        public static readonly Effect None = new(1, 1);
        public static readonly Effect Outage = new(0, 1);
    }

    /// <summary>About 2000 records/s in 50-record batches; after an outage the held-back batches
    /// are acknowledged at once, with their wait as latency (the spike after a failover).</summary>
    private static List<AckSample> Produce(double durationSeconds, Random random, Func<double, Effect> effect)
    {
        var acks = new List<AckSample>();
        double? outageStart = null;
        var heldBack = 0;
        for (var at = 0.5; at < durationSeconds; at += 0.025)
        {
            var now = effect(at);
            if (now.Rate == 0)
            {
                outageStart ??= at;
                heldBack++;
                continue;
            }
            if (outageStart is { } since)
            {
                for (var i = 0; i < heldBack; i++)
                    acks.Add(new AckSample(at + i * 0.0005, (at - since) * 1000 * (1 - (double)i / heldBack) + 5, 50));
                (outageStart, heldBack) = (null, 0);
            }
            if (random.NextDouble() > now.Rate) continue;
            var latencyMs = Math.Exp(Math.Log(6) + 0.35 * Normal(random)) * now.Latency;
            acks.Add(new AckSample(at + random.NextDouble() * 0.02, latencyMs, 50));
        }
        return acks;
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
