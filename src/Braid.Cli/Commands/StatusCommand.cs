using System.CommandLine;
using System.Globalization;
using Braid.Cli.Cluster;
using Braid.Cli.Json;
using Braid.Cli.Status;

namespace Braid.Cli.Commands;

/// <summary>
/// <c>braid status</c>: nodes, links, partitions (leader, term, commit, lag, replicas) and alarms
/// of any cluster, local (the cluster folder) or remote (--seeds), from every node's own answers.
/// </summary>
internal static class StatusCommand
{
    public const double DefaultWatchSeconds = 2;

    /// <summary>ANSI: cursor home, clear screen (only written to a terminal).</summary>
    private const string ClearScreen = "\u001b[H\u001b[2J";

    public static Command Create()
    {
        var seeds = new Option<string?>("--seeds")
        {
            Description = "Comma-separated addresses of one or more nodes of any cluster; the first that answers lists the others (default: the local cluster's nodes)",
        };
        var dir = Options.ClusterDirectory();
        var tls = new Security.ClientTlsOptions();
        var json = Options.Json();
        var timeout = new Option<double>("--timeout")
        {
            Description = "Seconds to wait for each node's answer; a node silent for longer is shown as unreachable",
            DefaultValueFactory = _ => 2,
        };
        var watch = new Option<double?>("--watch", "-w")
        {
            Description = $"Refresh every SECONDS (default {DefaultWatchSeconds}) until Ctrl-C; on a terminal the screen is redrawn, otherwise snapshots follow each other separated by a blank line",
            Arity = ArgumentArity.ZeroOrOne,
            HelpName = "SECONDS",
            CustomParser = ParseWatch,
        };
        var command = new Command("status", "Nodes (up or unreachable, incarnation, uptime), links (phi), partitions (leader, term, commit, lag of each replica) and alarms of a local or remote cluster")
        {
            seeds, dir, timeout, json, watch,
        };
        tls.AddTo(command);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            var directory = parse.GetValue(dir)!;
            var seedList = parse.GetValue(seeds) is { Length: > 0 } list
                ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
                : null;
            if (parse.GetValue(timeout) is not (> 0 and <= 300)) throw new CliException("--timeout must be more than 0 and at most 300 seconds");
            if (seedList is null) ClusterState.Load(directory); // "no cluster in DIR" before any complaint about its certificates
            var settings = new Settings(directory, seedList, tls.Resolve(parse, directory), TimeSpan.FromSeconds(parse.GetValue(timeout)));
            var asJson = parse.GetValue(json);
            if (parse.GetValue(watch) is { } every)
                return await WatchAsync(settings, asJson, TimeSpan.FromSeconds(every), Console.Out, !Console.IsOutputRedirected, ct).ConfigureAwait(false);
            Write(Console.Out, await SnapshotAsync(settings, ct).ConfigureAwait(false), asJson);
            return 0;
        }));
        return command;
    }

    private static double? ParseWatch(System.CommandLine.Parsing.ArgumentResult result)
    {
        if (result.Tokens.Count == 0) return DefaultWatchSeconds;
        var text = result.Tokens[0].Value;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0.1 and <= 3600) return seconds;
        result.AddError($"--watch: '{text}' is not a number of seconds from 0.1 to 3600");
        return null;
    }

    /// <param name="Seeds">Null: the local cluster in <paramref name="Directory"/>.</param>
    internal sealed record Settings(string Directory, IReadOnlyList<string>? Seeds, Braid.Client.Security.ClientTls? Tls, TimeSpan Timeout);

    /// <summary>One look at the cluster. Fresh channels each time: a channel that failed to connect
    /// backs off before it tries again, and a watched node that comes back must show at once.</summary>
    internal static async Task<ClusterStatusReport> SnapshotAsync(Settings settings, CancellationToken ct)
    {
        using var clients = new NodeClients(settings.Tls);
        var collector = new StatusCollector(clients, settings.Timeout);
        if (settings.Seeds is { } seeds)
        {
            var targets = await collector.DiscoverAsync(seeds, ct).ConfigureAwait(false);
            return await collector.CollectAsync("seeds " + string.Join(",", seeds), targets, ct).ConfigureAwait(false);
        }
        var state = ClusterState.Load(settings.Directory);
        return await collector.CollectAsync("local " + settings.Directory, StatusCollector.LocalTargets(state), ct).ConfigureAwait(false);
    }

    private static void Write(TextWriter output, ClusterStatusReport report, bool json)
    {
        if (json) output.WriteLine(CliJson.Serialize(report));
        else output.Write(StatusText.Render(report));
        output.Flush();
    }

    /// <summary>Snapshots until Ctrl-C, which ends the watch with exit code 0. A failed round
    /// (no seed answered) is reported on stderr and retried; only a failed first round ends it.</summary>
    internal static async Task<int> WatchAsync(Settings settings, bool json, TimeSpan every, TextWriter output, bool terminal, CancellationToken cancellationToken)
    {
        // Ctrl-C (SIGINT) and SIGTERM cancel the token (Program.cs): the watch then ends with 0.
        var ct = cancellationToken;
        var rounds = 0;
        var printed = 0;
        try
        {
            while (true)
            {
                ClusterStatusReport? report = null;
                try
                {
                    report = await SnapshotAsync(settings, ct).ConfigureAwait(false);
                }
                catch (CliException e) when (rounds > 0)
                {
                    await Console.Error.WriteLineAsync("braid: " + e.Message).ConfigureAwait(false);
                }
                if (report is not null)
                {
                    if (terminal) output.Write(ClearScreen + string.Create(CultureInfo.InvariantCulture, $"every {every.TotalSeconds:0.#} s, Ctrl-C to stop\n"));
                    else if (printed > 0) output.WriteLine();
                    Write(output, report, json);
                    printed++;
                }
                rounds++;
                await Task.Delay(every, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return 0;
        }
    }
}
