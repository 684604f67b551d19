using System.CommandLine;
using Braid.Cli.Bench;

namespace Braid.Cli.Commands;

internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks that report figures (each starts and stops what it needs)");
        bench.Subcommands.Add(Reroute());
        bench.Subcommands.Add(Idle());
        bench.Subcommands.Add(LogCommand());
        bench.Subcommands.Add(Failover());
        bench.Subcommands.Add(Rolling());
        bench.Subcommands.Add(Ingest());
        bench.Subcommands.Add(Query());
        bench.Subcommands.Add(CatchUp());
        bench.Subcommands.Add(Fuzz());
        bench.Subcommands.Add(Compare());
        bench.Subcommands.Add(Produce());
        bench.Subcommands.Add(Subscribe());
        bench.Subcommands.Add(Files());
        bench.Subcommands.Add(Rereplicate());
        return bench;
    }

    private static Command Produce()
    {
        var records = new Option<int>("--records") { Description = "Records to produce (after 2,000 of warm-up)", DefaultValueFactory = _ => 100_000 };
        var bytes = new Option<int>("--value-bytes") { Description = "Bytes per value", DefaultValueFactory = _ => 150 };
        var inflight = new Option<int>("--inflight") { Description = "ProduceAsync calls in flight at once (the producer batches them)", DefaultValueFactory = _ => 1000 };
        var port = Port(7660);
        var dir = Dir("bench-produce");
        var json = Options.Json();
        var command = new Command("produce", "Records produced one at a time through ProduceAsync on mesh3 at R=3: records/s and ack latency p50/p99") { records, bytes, inflight, port, dir, json };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() => ReportAsync(p.GetValue(json), output =>
            StreamBench.ProduceAsync(Math.Max(1, p.GetValue(records)), Math.Max(0, p.GetValue(bytes)), Math.Max(1, p.GetValue(inflight)), p.GetValue(dir)!, p.GetValue(port), output, ct), _ => 0)));
        return command;
    }

    private static Command Subscribe()
    {
        var rate = new Option<int>("--rate") { Description = "Records per second produced", DefaultValueFactory = _ => 10_000 };
        var seconds = new Option<int>("--seconds") { Description = "Seconds of producing", DefaultValueFactory = _ => 10 };
        var port = Port(7670);
        var dir = Dir("bench-subscribe");
        var json = Options.Json();
        var command = new Command("subscribe", "A subscriber's delivery latency (from the producer's ack to the subscriber) at a steady rate on mesh3 at R=3") { rate, seconds, port, dir, json };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() => ReportAsync(p.GetValue(json), output =>
            StreamBench.SubscribeAsync(Math.Max(100, p.GetValue(rate)), Math.Max(1, p.GetValue(seconds)), p.GetValue(dir)!, p.GetValue(port), output, ct), _ => 0)));
        return command;
    }

    /// <summary>Runs a benchmark that returns its figures: with --json its progress lines go to
    /// stderr and the figures to stdout as one JSON document at the end.</summary>
    private static async Task<int> ReportAsync<T>(bool json, Func<TextWriter, Task<T>> run, Func<T, int> exitCode)
    {
        var report = await run(json ? Console.Error : Console.Out).ConfigureAwait(false);
        if (json) Json.CliJson.Print(report);
        return exitCode(report);
    }

    private static Option<int> Port(int port) => new("--base-port") { Description = "First port of the benchmark cluster", DefaultValueFactory = _ => port };

    private static Option<string> Dir(string name) => new("--dir") { Description = "Scratch folder (deleted and recreated)", DefaultValueFactory = _ => Path.Combine(".braid", name) };

    private static Command Reroute()
    {
        var trials = new Option<int>("--trials") { Description = "Number of trials", DefaultValueFactory = _ => 20 };
        var pause = new Option<bool>("--pause") { Description = "Freeze B with SIGSTOP instead of killing it (detection by phi instead of a broken stream)" };
        var port = Port(7610);
        var dir = Dir("bench-reroute");
        var json = Options.Json();
        var command = new Command("reroute", "Time from losing node B on the path A-B-D of mini2 until probes from A reach D through E")
        {
            trials, pause, port, dir, json,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() => ReportAsync(p.GetValue(json), output =>
            RerouteBench.RunAsync(Math.Max(1, p.GetValue(trials)), p.GetValue(pause), p.GetValue(dir)!, p.GetValue(port), output, ct), _ => 0)));
        return command;
    }

    private static Command Idle()
    {
        var topology = Options.Topology();
        var seconds = new Option<int>("--seconds") { Description = "Sampling period", DefaultValueFactory = _ => 20 };
        var warmup = new Option<int>("--warmup") { Description = "Seconds to wait after start-up before sampling", DefaultValueFactory = _ => 15 };
        var port = Port(7630);
        var dir = Dir("bench-idle");
        var json = Options.Json();
        var command = new Command("idle", "CPU (share of one core) and resident memory of each node of an idle cluster")
        {
            topology, seconds, warmup, port, dir, json,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() => ReportAsync(p.GetValue(json), output =>
            IdleBench.RunAsync(p.GetValue(topology)!, Math.Max(1, p.GetValue(seconds)), Math.Max(0, p.GetValue(warmup)), p.GetValue(dir)!, p.GetValue(port), output, ct), _ => 0)));
        return command;
    }

    private static Command LogCommand()
    {
        var batch = new Option<int>("--batch-bytes") { Description = "Bytes per appended batch", DefaultValueFactory = _ => 10_240 };
        var total = new Option<int>("--total-mib") { Description = "MiB written per run", DefaultValueFactory = _ => 64 };
        var appenders = new Option<int>("--appenders") { Description = "Concurrent appenders sharing one fsync in the group-commit run", DefaultValueFactory = _ => 64 };
        var dir = Dir("bench-log");
        var json = Options.Json();
        var command = new Command("log", "Partition log appends with group commit against a plain FileStream write+fsync loop of the same bytes")
        {
            batch, total, appenders, dir, json,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() => ReportAsync(p.GetValue(json), output =>
            LogBench.RunAsync(p.GetValue(dir)!, Math.Max(16, p.GetValue(batch)), Math.Max(1, p.GetValue(total)), Math.Max(1, p.GetValue(appenders)), output, ct), _ => 0)));
        return command;
    }

    private static Command Failover()
    {
        var topology = Options.Topology();
        var trials = new Option<int>("--trials") { Description = "Number of trials", DefaultValueFactory = _ => 20 };
        var port = Port(7650);
        var dir = Dir("bench-failover");
        var pause = new Option<bool>("--pause") { Description = "Freeze the leader with SIGSTOP instead of killing it (its links stay open: detection by phi, not by a broken stream)" };
        var json = Options.Json();
        var command = new Command("failover", "Time from kill -9 (or SIGSTOP) of a partition leader to the next committed write, under a steady write load")
        {
            topology, trials, pause, port, dir, json,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() => ReportAsync(p.GetValue(json), output =>
            FailoverBench.RunAsync(p.GetValue(topology)!, Math.Max(1, p.GetValue(trials)), p.GetValue(dir)!, p.GetValue(port), output, ct, p.GetValue(pause)), _ => 0)));
        return command;
    }

    private static Command Rolling()
    {
        var topology = Options.Topology();
        var batch = new Option<int>("--batch-records") { Description = "Records per batch", DefaultValueFactory = _ => 100 };
        var rate = new Option<int>("--batches-per-second") { Description = "Pace of the load", DefaultValueFactory = _ => 200 };
        var port = Port(7710);
        var dir = Dir("bench-rolling");
        var json = Options.Json();
        var command = new Command("rolling", "Rolling restart of every node under a paced exactly-once load: the longest time without an acknowledgement, and the exact count")
        {
            topology, batch, rate, port, dir, json,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() => ReportAsync(p.GetValue(json), output =>
            RollingBench.RunAsync(p.GetValue(topology)!, Math.Clamp(p.GetValue(batch), 1, 20_000), Math.Clamp(p.GetValue(rate), 1, 10_000), p.GetValue(dir)!, p.GetValue(port), output, ct),
            report => report.ExactlyOnce ? 0 : 1)));
        return command;
    }

    private static Command CatchUp()
    {
        var topology = Options.Topology();
        topology.DefaultValueFactory = _ => "mesh3";
        var mib = new Option<int>("--mib") { Description = "MiB written to the partition while the follower is down", DefaultValueFactory = _ => 256 };
        var retain = new Option<int>("--retain-mib") { Description = "Log kept per replica in the snapshot run", DefaultValueFactory = _ => 16 };
        var port = Port(7690);
        var dir = Dir("bench-catchup");
        var json = Options.Json();
        var command = new Command("catchup", "Time for a follower that was down during N MiB of writes to catch up: from the leader's log, then (retention on) through a snapshot")
        {
            topology, mib, retain, port, dir, json,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() => ReportAsync(p.GetValue(json), output =>
            CatchUpBench.RunAsync(p.GetValue(topology)!, Math.Max(1, p.GetValue(mib)), Math.Max(1, p.GetValue(retain)), p.GetValue(dir)!, p.GetValue(port), output, ct), _ => 0)));
        return command;
    }

    private static Command Fuzz()
    {
        var target = new Option<string>("--target") { Description = "Target: all, " + string.Join(", ", Braid.Cli.Fuzz.FuzzBench.TargetNames), DefaultValueFactory = _ => "all" };
        var cases = new Option<long>("--cases") { Description = "Cases per target", DefaultValueFactory = _ => 1_000_000 };
        var seed = new Option<int>("--seed") { Description = "Seed: case i of a target is reproduced by (seed, i)", DefaultValueFactory = _ => 1 };
        var mode = new Option<Braid.Cli.Fuzz.FuzzMode>("--mode") { Description = "mutate (valid seeds mutated), random (uniform bytes) or both (3 mutated to 1 random)", DefaultValueFactory = _ => Braid.Cli.Fuzz.FuzzMode.Both };
        var only = new Option<long?>("--case") { Description = "Replay one case (stateful targets replay from their last reset)" };
        var outDir = new Option<string>("--out") { Description = "Folder for the reproducers (hex dumps) of failures", DefaultValueFactory = _ => Path.Combine(".braid", "fuzz") };
        var limit = new Option<int>("--target-seconds") { Description = "Time limit per target (it stops early, reported)", DefaultValueFactory = _ => 3600 };
        var json = Options.Json();
        var command = new Command("fuzz", "Random and mutated inputs into every boundary of a node (overlay, Raft, requests, CSV, files, topology): cases/s, accepted, refusals by type, failures")
        {
            target, cases, seed, mode, only, outDir, limit, json,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() =>
        {
            var settings = Braid.Cli.Fuzz.FuzzSettings.Default(Math.Max(1, p.GetValue(cases)), p.GetValue(seed), p.GetValue(mode)) with
            {
                OutDirectory = p.GetValue(outDir), OnlyCase = p.GetValue(only), TargetTimeLimit = TimeSpan.FromSeconds(Math.Max(1, p.GetValue(limit))),
            };
            return ReportAsync(p.GetValue(json), output => Task.FromResult(Braid.Cli.Fuzz.FuzzBench.Run(p.GetValue(target)!, settings, output)), report => report.Failures == 0 ? 0 : 1);
        }));
        return command;
    }

    private static Command Ingest()
    {
        var topology = Options.Topology();
        var batch = new Option<int>("--batch-records") { Description = "Records per batch (one Raft entry)", DefaultValueFactory = _ => 1000 };
        var window = new Option<int>("--inflight") { Description = "Unacknowledged batches per partition (client window)", DefaultValueFactory = _ => new Braid.Client.BraidClientOptions { Seeds = [] }.InflightBatchesPerPartition };
        var records = new Option<long?>("--records") { Description = "Records to generate (default: the full 1,167,525)" };
        var seed = new Option<int>("--seed") { Description = "Generator seed", DefaultValueFactory = _ => 1 };
        var port = Port(7670);
        var dir = Dir("bench-ingest");
        var hosts = Options.Hosts();
        var insecure = new Option<bool>("--insecure") { Description = "Run the cluster and client in plaintext (to compare with the default mutual TLS)" };
        var warmup = new Option<int>("--warmup-batches") { Description = "Send and acknowledge this many batches before the clock starts (JIT warm-up of the fresh processes); all are still ingested and counted" };
        var passes = new Option<int>("--passes") { Description = "Send the data set this many times (one producer, continuing sequence numbers; the count check expects that many copies): a longer run measures the steady state", DefaultValueFactory = _ => 1 };
        var compare = new Option<int>("--compare-tls") { Description = "Rounds of a side-by-side comparison in this one run: each round ingests into a fresh mutual-TLS cluster and a fresh plaintext one (alternating which goes first); prints both medians and their ratio" };
        var json = Options.Json();
        var command = new Command("ingest", "Ingest of the generated data set (pre-encoded in memory) at R=3, acked after majority fsync: records/s, MB/s, peak RSS per node, count check")
        {
            topology, batch, window, records, seed, port, dir, hosts, insecure, warmup, compare, passes, json,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() => ReportAsync(p.GetValue(json), output => IngestBench.RunAsync(
            new IngestBench.Settings(p.GetValue(topology)!, Math.Clamp(p.GetValue(batch), 1, 20_000), Math.Max(1, p.GetValue(window)), p.GetValue(records), p.GetValue(seed), p.GetValue(dir)!, p.GetValue(port),
                Hosts.NetworkLayout.ParseMode(p.GetValue(hosts)!), p.GetValue(insecure), p.GetValue(warmup), Math.Max(0, p.GetValue(compare)), Math.Clamp(p.GetValue(passes), 1, 100)),
            output, ct), report => report.Ok ? 0 : 1)));
        return command;
    }

    private static Command Query()
    {
        var topology = Options.Topology();
        var chunk = new Option<uint>("--chunk-records") { Description = "Records per result chunk (0: the server's default)", DefaultValueFactory = _ => 20_000 };
        var records = new Option<long?>("--records") { Description = "Records to generate and load first (default: the full 1,167,525)" };
        var seed = new Option<int>("--seed") { Description = "Generator seed", DefaultValueFactory = _ => 1 };
        var port = Port(7690);
        var dir = Dir("bench-query");
        var repeat = new Option<int>("--repeat") { Description = "Runs of each query after the first (JIT warm-up) one; the median is reported, with the range", DefaultValueFactory = _ => 5 };
        var json = Options.Json();
        var command = new Command("query", "On a cluster loaded with the generated data set: filtered full scans (records scanned/s), a match-all query (records/s), the aggregate, peak RSS per node")
        {
            topology, chunk, records, seed, port, dir, repeat, json,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() =>
        {
            if (p.GetValue(repeat) is < 1 or > 100) throw new Cluster.CliException("--repeat must be from 1 to 100");
            return ReportAsync(p.GetValue(json), output => QueryBench.RunAsync(
                new QueryBench.Settings(p.GetValue(topology)!, Math.Min(20_000u, p.GetValue(chunk)), p.GetValue(records), p.GetValue(seed), p.GetValue(dir)!, p.GetValue(port), p.GetValue(repeat)),
                output, ct), report => report.CountsOk ? 0 : 1);
        }));
        return command;
    }

    private static Command Files()
    {
        var topology = Options.Topology();
        topology.DefaultValueFactory = _ => "mesh3";
        var size = new Option<int>("--size-mb") { Description = "Size of the file in MB (2^20 bytes); it is written to the scratch folder, as is the copy got back", DefaultValueFactory = _ => 256 };
        var port = Port(7730);
        var dir = Dir("bench-files");
        var json = Options.Json();
        var command = new Command("files", "A file of random bytes put into a raw stream (braid put: hash, then chunks and a manifest at R=3) and got back (braid get, SHA-256 checked): MB/s each way")
        {
            topology, size, port, dir, json,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() => ReportAsync(p.GetValue(json), output =>
            FilesBench.RunAsync(p.GetValue(topology)!, Math.Clamp(p.GetValue(size), 1, 1 << 20), p.GetValue(dir)!, p.GetValue(port), output, ct), report => report.Verified ? 0 : 1)));
        return command;
    }

    private static Command Rereplicate()
    {
        var topology = Options.Topology();
        var records = new Option<string>("--records") { Description = "Data sizes, comma-separated: records loaded before the kill, a fresh cluster each", DefaultValueFactory = _ => "100000,300000,1000000" };
        var deadAfter = new Option<string>("--dead-after") { Description = "Each node's --dead-after (how long without a route before the node is declared dead)", DefaultValueFactory = _ => "5s" };
        var node = new Option<string>("--node") { Description = "The node killed (SIGKILL) and whose data is deleted", DefaultValueFactory = _ => "D" };
        var batch = new Option<int>("--batch-records") { Description = "Records per batch", DefaultValueFactory = _ => 1000 };
        var ingestRecords = new Option<long?>("--ingest-records") { Description = "Records loaded before the steady-ingest run (default: the largest size; 0: no such run)" };
        var ingestSeconds = new Option<int>("--ingest-seconds") { Description = "Seconds of steady ingest (a second producer) before the kill: the baseline", DefaultValueFactory = _ => 10 };
        var ingestRate = new Option<int>("--ingest-rate") { Description = "Records/s of the steady ingest (0: as fast as the client's window allows)", DefaultValueFactory = _ => 0 };
        var timeout = new Option<int>("--timeout") { Description = "Seconds from the kill for every group to be back in place (the run fails after)", DefaultValueFactory = _ => 300 };
        var port = Port(9400);
        var dir = Dir("bench-rereplicate");
        var json = Options.Json();
        var command = new Command("rereplicate", "A node lost for good (kill -9, data deleted) after loading each data size: time to declared dead and to every group back at 3 replicas, data moved and MB/s; ingest records/s before and while it moves; exact counts")
        {
            topology, records, deadAfter, node, batch, ingestRecords, ingestSeconds, ingestRate, timeout, port, dir, json,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() =>
        {
            var sizes = new List<long>();
            foreach (var part in p.GetValue(records)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                sizes.Add(long.TryParse(part.Replace("_", "", StringComparison.Ordinal), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
                    ? n : throw new Cluster.CliException($"--records: '{part}' is not a positive number of records"));
            if (StreamCommands.ParseDuration(p.GetValue(deadAfter)!) < TimeSpan.FromSeconds(1)) throw new Cluster.CliException("--dead-after must be at least 1s");
            var settings = new RereplicateBench.Settings(p.GetValue(topology)!, sizes, p.GetValue(deadAfter)!, p.GetValue(node)!, Math.Clamp(p.GetValue(batch), 1, 20_000),
                Math.Max(0, p.GetValue(ingestRecords) ?? (sizes.Count > 0 ? sizes.Max() : 0)), Math.Clamp(p.GetValue(ingestSeconds), 1, 3600), Math.Max(0, p.GetValue(ingestRate)),
                TimeSpan.FromSeconds(Math.Clamp(p.GetValue(timeout), 10, 86_400)), p.GetValue(dir)!, p.GetValue(port));
            return ReportAsync(p.GetValue(json), output => RereplicateBench.RunAsync(settings, output, ct), report => report.Ok ? 0 : 1);
        }));
        return command;
    }

    private static Command Compare()
    {
        var rounds = new Option<int>("--rounds") { Description = "Runs of every row on each system (alternating which goes first); medians are compared", DefaultValueFactory = _ => 3 };
        var records = new Option<long?>("--records") { Description = "Records of the data set rows (default: the full 1,167,525)" };
        var seed = new Option<int>("--seed") { Description = "Generator seed", DefaultValueFactory = _ => 1 };
        var rows = new Option<string>("--rows")
        {
            Description = "Rows, comma-separated: a number of records per batch (data set rows), 'single' (records one at a time through each system's producer API) "
                + "or 'unbatched' (one record per Braid batch through an IngestSession, against one NATS message each)",
            DefaultValueFactory = _ => "1000,64,single",
        };
        var single = new Option<int>("--single-records") { Description = "Records sent one at a time in the 'single' row", DefaultValueFactory = _ => 100_000 };
        var bytes = new Option<int>("--record-bytes") { Description = "Size of each message of the 'single' row (one encoded reading, padded)", DefaultValueFactory = _ => 150 };
        var partitions = new Option<int>("--partitions") { Description = "Partitions of the Braid cluster", DefaultValueFactory = _ => 12 };
        var window = new Option<int>("--inflight") { Description = "Braid: unacknowledged batches per partition (client window)", DefaultValueFactory = _ => new Braid.Client.BraidClientOptions { Seeds = [] }.InflightBatchesPerPartition };
        var natsWindow = new Option<int?>("--nats-inflight") { Description = "NATS: unacknowledged publishes in flight in the batch rows (default: partitions x --inflight, Braid's total window)" };
        var producerWindow = new Option<int>("--producer-inflight")
        {
            Description = "The 'single' row: records produced and not yet acknowledged at a time, on each system alike",
            DefaultValueFactory = _ => CompareBench.DefaultProducerInflight,
        };
        var producerPartitions = new Option<int>("--producer-partitions")
        {
            Description = "The 'single' row: partitions of the raw stream Braid's producer writes (NATS writes one stream)",
            DefaultValueFactory = _ => CompareBench.DefaultProducerPartitions,
        };
        var tls = new Option<bool>("--tls") { Description = "Run Braid with mutual TLS (NATS runs plaintext either way; the default compares plaintext with plaintext)" };
        var comparePasses = new Option<int>("--passes") { Description = "Send each row's messages this many times (the steady state rather than fresh processes' warm-up)", DefaultValueFactory = _ => 1 };
        var warmupPasses = new Option<int>("--warmup-passes")
        {
            Description = "Untimed passes of each row's messages before the timed pass, on both systems (the steady state: Braid's JIT compiles hot code during "
                + "the first seconds of a fresh process, nats-server is compiled ahead); 0 times fresh processes from their first message but the 5% warm-up",
            DefaultValueFactory = _ => 1,
        };
        var compareWarmup = new Option<int?>("--warmup-messages") { Description = "Messages sent and acknowledged before the clock starts, on both systems (instead of --warmup-passes; with --warmup-passes 0 the default is 5% of the row, at most 2,000)" };
        var noInstall = new Option<bool>("--no-install") { Description = "Do not run scripts/install-nats.sh when nats-server is missing (fail with instructions instead)" };
        var port = Port(7750);
        var dir = Dir("bench-compare");
        var json = Options.Json();
        var command = new Command("compare", "Side by side with NATS JetStream R3 (nats-server, file storage): the data set at 1,000 and 64 records per batch and 150-byte records one at a time; ratio Braid/NATS per row")
        {
            rounds, records, seed, rows, single, bytes, partitions, window, natsWindow, producerWindow, producerPartitions, tls, noInstall, comparePasses, warmupPasses, compareWarmup, port, dir, json,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() =>
        {
            var rowNames = p.GetValue(rows)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (rowNames.Length == 0) throw new Cluster.CliException("--rows names no row");
            var settings = new CompareBench.Settings(p.GetValue(dir)!, p.GetValue(port), Math.Clamp(p.GetValue(rounds), 1, 50), p.GetValue(records), p.GetValue(seed), rowNames,
                Math.Clamp(p.GetValue(single), 2, 1_000_000), Math.Clamp(p.GetValue(bytes), 64, 4096), Math.Clamp(p.GetValue(partitions), 1, 64), Math.Max(1, p.GetValue(window)),
                p.GetValue(natsWindow) is { } n ? Math.Max(1, n) : null, p.GetValue(tls), !p.GetValue(noInstall), Math.Clamp(p.GetValue(comparePasses), 1, 100), p.GetValue(compareWarmup),
                Math.Clamp(p.GetValue(producerWindow), 1, 100_000), Math.Clamp(p.GetValue(producerPartitions), 1, 64),
                Math.Clamp(p.GetValue(warmupPasses), 0, 10));
            return ReportAsync(p.GetValue(json), output => CompareBench.RunAsync(settings, output, ct), report => report.Ok ? 0 : 1);
        }));
        return command;
    }
}
