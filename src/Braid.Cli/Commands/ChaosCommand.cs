using System.CommandLine;
using System.Globalization;
using Braid.Cli.Cluster;
using Braid.Cli.Hosts;
using Braid.Cli.Lab;

namespace Braid.Cli.Commands;

internal static class ChaosCommand
{
    public static Command Create()
    {
        var topology = Options.Topology();
        var hosts = new Option<string>("--hosts")
        {
            Description = "Where nodes run: netns (one network namespace per site; needs root), netns-per-node, or loopback",
            DefaultValueFactory = _ => "netns",
        };
        var faults = new Option<string>("--faults")
        {
            Description = $"Fault classes, comma-separated, or all: {string.Join(", ", FaultPlan.Classes)}",
            DefaultValueFactory = _ => "kill,pause,partition",
        };
        var duration = new Option<double>("--duration") { Description = "Seconds of faults (the run adds start-up, a quiet tail and the final check)", DefaultValueFactory = _ => 300 };
        var seed = new Option<int?>("--seed") { Description = "Seed of the fault schedule and the workload's choices (default: random, printed); the same seed replays the same schedule" };
        var output = new Option<string>("--out") { Description = "Folder for report.md and its charts", DefaultValueFactory = _ => ".braid/chaos" };
        var dir = new Option<string?>("--dir") { Description = "Folder for the cluster's state, logs and data (default: OUT/cluster)" };
        var producers = new Option<int>("--producers") { Description = "Concurrent exactly-once producers", DefaultValueFactory = _ => 3 };
        var rate = new Option<double>("--rate") { Description = "Batches per second each producer offers", DefaultValueFactory = _ => 20 };
        var batch = new Option<int>("--batch-records") { Description = "Records per batch", DefaultValueFactory = _ => 50 };
        var queries = new Option<int>("--queries") { Description = "Concurrent query workers (paged, resumed at other nodes)", DefaultValueFactory = _ => 2 };
        var restart = new Option<double>("--producer-restart") { Description = "Mean seconds between a producer's crashes (0: never)", DefaultValueFactory = _ => 30 };
        var faultSeconds = new Option<string>("--fault-seconds") { Description = "Range of one fault's length, MIN-MAX seconds", DefaultValueFactory = _ => "3-8" };
        var gapSeconds = new Option<string>("--gap-seconds") { Description = "Range of the quiet time after each fault, MIN-MAX seconds", DefaultValueFactory = _ => "2-5" };
        var allowDataLoss = new Option<bool>("--allow-majority-data-loss")
        {
            Description = "Turn the fault budget off. By default a bitflip, truncate or wipe waits while any replica is still recovering "
                + "from earlier lost data (and is skipped, and reported as held back, if its slot ends first), so each partition loses at most "
                + "one replica's data at a time: the minority Raft tolerates. With this option such faults go ahead regardless and can destroy "
                + "a majority, or every copy, of a partition: for showing what happens beyond the fault model, not for testing within it",
        };
        var deadAfter = new Option<string?>("--dead-after")
        {
            Description = $"The nodes' --dead-after: how long a node may have no route before it is declared dead and replaced (default {FaultPlan.DefaultLossDeadAfter} when loss is among the faults, else the nodes' 5m). "
                + "Faults longer than it (kill, pause, cuts) get nodes declared dead too: the lab adds each back as new once it runs again",
        };
        var partitions = Options.Partitions();
        var replicas = Options.Replicas();
        var command = new Command("chaos", "Run a Jepsen-style experiment: a cluster on namespace hosts, concurrent producers and queries, faults on a seeded schedule; check the history and write OUT/report.md with charts (exit 4 if the checker finds a violation)")
        {
            topology, hosts, faults, duration, seed, output, dir, producers, rate, batch, queries, restart, faultSeconds, gapSeconds, allowDataLoss, deadAfter, partitions, replicas,
        };
        command.Subcommands.Add(Report());
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            var mode = NetworkLayout.ParseMode(parse.GetValue(hosts)!);
            var classes = FaultPlan.ParseClasses(parse.GetValue(faults)!);
            if (mode == HostMode.Loopback && classes.Any(FaultPlan.NetworkClasses.Contains))
                output_.WriteLine("chaos: on loopback, partitions cut overlay links in the nodes (no namespace network to cut)");
            if (parse.GetValue(duration) is < 1 or > 7 * 24 * 3600) throw new CliException("--duration must be between 1 s and a week");
            if (parse.GetValue(producers) is < 1 or > 255) throw new CliException("--producers must be between 1 and 255");
            if (parse.GetValue(batch) is < 1 or > LabRecords.MaxRecordsPerBatch) throw new CliException($"--batch-records must be between 1 and {LabRecords.MaxRecordsPerBatch}");
            if (parse.GetValue(rate) is <= 0 or > 10_000) throw new CliException("--rate must be above 0 and at most 10000 batches/s");
            if (parse.GetValue(queries) is < 0 or > 64) throw new CliException("--queries must be between 0 and 64");
            var dead = parse.GetValue(deadAfter) ?? (classes.Any(FaultPlan.MembershipClasses.Contains) ? FaultPlan.DefaultLossDeadAfter : null);
            if (dead is not null && StreamCommands.ParseDuration(dead) < TimeSpan.FromSeconds(1)) throw new CliException("--dead-after must be at least 1s");
            var chosenSeed = parse.GetValue(seed) ?? Random.Shared.Next(1, int.MaxValue);
            var outDir = Path.GetFullPath(parse.GetValue(output)!);
            var settings = new ChaosSettings(
                parse.GetValue(topology)!, mode, classes, parse.GetValue(duration), chosenSeed, outDir,
                Path.GetFullPath(parse.GetValue(dir) ?? Path.Combine(outDir, "cluster")),
                new WorkloadSettings(parse.GetValue(producers), parse.GetValue(batch), parse.GetValue(rate), parse.GetValue(queries), parse.GetValue(restart)),
                Range(parse.GetValue(faultSeconds)!, "--fault-seconds"), Range(parse.GetValue(gapSeconds)!, "--gap-seconds"),
                parse.GetValue(partitions), parse.GetValue(replicas),
                "braid " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)) + (parse.GetValue(seed) is null ? $" (seed {chosenSeed})" : ""),
                parse.GetValue(allowDataLoss), dead?.Trim());
            var (run, _) = await new ChaosRunner(settings, output_).RunAsync(ct).ConfigureAwait(false);
            return run.Check.Ok ? 0 : 4;
        }));
        return command;
    }

    private static readonly TextWriter output_ = Console.Out;

    /// <summary><c>braid chaos report</c>: rebuilds report.md and the charts from a saved run.json.</summary>
    private static Command Report()
    {
        var run = new Option<string>("--run") { Description = "The run.json a chaos run saved", Required = true };
        var output = new Option<string?>("--out") { Description = "Folder for report.md and its charts (default: the folder of run.json)" };
        var command = new Command("report", "Rebuild report.md and its charts from a saved run.json (no cluster needed)") { run, output };
        command.SetAction((parse, _) => CommandRunner.RunAsync(() =>
        {
            var path = parse.GetValue(run)!;
            if (!File.Exists(path)) throw new CliException($"no such file: {path}");
            Braid.Lab.Report.LabRun loaded;
            try { loaded = Braid.Lab.Report.LabRunJson.Deserialize(File.ReadAllText(path)); }
            catch (System.Text.Json.JsonException e) { throw new CliException($"{path} is not a chaos run: {e.Message}"); }
            var directory = parse.GetValue(output) ?? Path.GetDirectoryName(Path.GetFullPath(path))!;
            ChaosRunner.WriteReport(loaded, directory);
            Console.WriteLine($"report written to {Path.Combine(directory, "report.md")}");
            return Task.FromResult(loaded.Check.Ok ? 0 : 4);
        }));
        return command;
    }

    private static (double, double) Range(string text, string option)
    {
        var parts = text.Split('-');
        if (parts.Length == 2 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var min)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var max) && min > 0 && max >= min)
            return (min, max);
        throw new CliException($"{option} takes MIN-MAX seconds, e.g. 3-8 (got '{text}')");
    }
}
