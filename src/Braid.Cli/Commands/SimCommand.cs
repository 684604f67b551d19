using System.CommandLine;
using System.Globalization;
using Braid.Cli.Cluster;
using Braid.Simulation;

namespace Braid.Cli.Commands;

internal static class SimCommand
{
    public static Command Create()
    {
        var topology = Options.Topology();
        var seeds = new Option<string>("--seeds") { Description = "A seed or a range FIRST-LAST", DefaultValueFactory = _ => "1-100" };
        var groups = new Option<int>("--partitions") { Description = "Raft groups simulated", DefaultValueFactory = _ => 3 };
        var trace = new Option<bool>("--trace") { Description = "Print the readable trace of each seed (use with one seed)" };
        var noFaults = new Option<bool>("--no-faults") { Description = "Run without injected faults" };
        var noQueries = new Option<bool>("--no-queries") { Description = "Run without the query workload (queries paged across faults, resumed at other replicas)" };
        var retain = new Option<long>("--retain-bytes")
        {
            Description = "Log bytes each replica keeps before compacting into a snapshot (0: never compact; small, so followers need snapshots)",
            DefaultValueFactory = _ => new SimOptions().RetainBytes,
        };
        var membership = new Option<bool>("--membership")
        {
            Description = "Also change memberships under the faults: replicas replaced, added and removed, and every replica of a node down over 2 s moved (issue 12)",
        };
        var diskFaults = new Option<bool>("--disk-faults") { Description = "Also fill and free disks, and flip bits at rest on one stopped node" };
        var json = Options.Json();
        var command = new Command("sim", "Run the deterministic cluster simulator over a range of seeds and check every invariant")
        {
            topology, seeds, groups, trace, noFaults, noQueries, retain, membership, diskFaults, json,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() =>
        {
            var (first, last) = ParseSeeds(p.GetValue(seeds)!);
            var loaded = TopologyFiles.Load(p.GetValue(topology)!);
            if (p.GetValue(retain) < 0) throw new CliException("--retain-bytes must be 0 or more");
            var options = new SimOptions { Groups = Math.Max(1, p.GetValue(groups)), Trace = p.GetValue(trace), Faults = !p.GetValue(noFaults), Queries = !p.GetValue(noQueries), RetainBytes = p.GetValue(retain),
                Membership = p.GetValue(membership), DiskFaults = p.GetValue(diskFaults) };
            // With --json, stdout carries only the document: traces and failures go to stderr.
            var asJson = p.GetValue(json);
            var text = asJson ? Console.Error : Console.Out;
            string Replay(int seed) =>
                $"braid sim --topology {p.GetValue(topology)} --partitions {options.Groups} --retain-bytes {options.RetainBytes}{(options.Faults ? "" : " --no-faults")}{(options.Queries ? "" : " --no-queries")}{(options.Membership ? " --membership" : "")}{(options.DiskFaults ? " --disk-faults" : "")} --seeds {seed} --trace";
            var summary = SimRunner.RunMany(loaded, first, last, options, result =>
            {
                if (options.Trace) text.Write(result.Trace);
                if (!result.Ok)
                {
                    text.WriteLine($"seed {result.Seed} FAILED:");
                    foreach (var v in result.Violations) text.WriteLine("  " + v);
                    text.WriteLine("  replay: " + Replay(result.Seed));
                }
                ct.ThrowIfCancellationRequested();
            });
            if (asJson)
            {
                Json.CliJson.Print(Report(loaded.Name, first, last, options, summary, Replay));
                return Task.FromResult(summary.Failures.Count == 0 ? 0 : 1);
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{summary.Seeds} seeds on {loaded.Name}, {options.Groups} partitions x {options.Replicas} replicas: {summary.Failures.Count} failed; " +
                $"acked {summary.Acked}, retries {summary.Retries}, messages {summary.Messages}, compactions {summary.Compactions}, snapshots installed {summary.SnapshotsInstalled}; " +
                $"queries {summary.Queries.Completed} checked ({summary.Queries.Pages} pages), {summary.Queries.Trimmed} overtaken by retention; " +
                $"{MembershipText(options, summary)}" +
                $"{summary.SimulatedSeconds:F0} simulated s in {summary.Wall.TotalSeconds:F1} wall s ({summary.SimulatedSecondsPerWallSecond:F0}x real time)"));
            return Task.FromResult(summary.Failures.Count == 0 ? 0 : 1);
        }));
        return command;
    }

    private static string MembershipText(SimOptions options, SimSummary summary) => !options.Membership ? "" : string.Create(CultureInfo.InvariantCulture,
        $"membership steps {summary.Membership.Steps}, configurations committed {summary.Membership.ConfigurationsCommitted}, nodes declared dead {summary.Membership.NodesDeclaredDead}; ");

    internal static Json.SimReport Report(string topology, int first, int last, SimOptions options, SimSummary summary, Func<int, string> replay) => new(
        topology, first, last, summary.Seeds, options.Groups, options.Replicas, options.Faults, options.Queries, options.RetainBytes,
        summary.Failures.Count, summary.Failures.Select(f => new Json.SimFailureReport(f.Seed, f.Violations, replay(f.Seed))).ToList(),
        summary.Acked, summary.Retries, summary.Messages, summary.Compactions, summary.SnapshotsInstalled,
        summary.Queries.Completed, summary.Queries.Pages, summary.Queries.Trimmed,
        Math.Round(summary.SimulatedSeconds, 3), Math.Round(summary.Wall.TotalSeconds, 3), Math.Round(summary.SimulatedSecondsPerWallSecond, 1),
        options.Membership, options.DiskFaults, summary.Membership.Steps, summary.Membership.ConfigurationsCommitted, summary.Membership.NodesDeclaredDead);

    private static (int First, int Last) ParseSeeds(string text)
    {
        var parts = text.Split('-', 2);
        if (!int.TryParse(parts[0], CultureInfo.InvariantCulture, out var first) || first < 0)
            throw new CliException($"--seeds: '{text}' is not a seed or a range like 1-1000");
        var last = first;
        if (parts.Length == 2 && (!int.TryParse(parts[1], CultureInfo.InvariantCulture, out last) || last < first))
            throw new CliException($"--seeds: '{text}' is not a seed or a range like 1-1000");
        return (first, last);
    }
}
