using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Braid.Cli.Bench;
using Braid.Protocol.V1;

namespace Braid.Cli.Commands;

/// <summary>
/// The README's first command. For now it shows the overlay: a local mini2 cluster, a probe
/// across it, node B killed with SIGKILL, the same probe rerouted through E, B restarted and the
/// routes converging back, then everything stopped. It grows into the full ingest-and-query demo.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--base-port") { Description = "First port of the demo cluster", DefaultValueFactory = _ => 7101 };
        var dir = new Option<string>("--dir") { Description = "Scratch folder (deleted and recreated)", DefaultValueFactory = _ => Path.Combine(".braid", "demo") };
        var command = new Command("demo", "Start a local mini2 cluster, probe it, kill a node, watch the overlay reroute and heal, stop everything") { port, dir };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() => RunAsync(p.GetValue(dir)!, p.GetValue(port), Console.Out, ct)));
        return command;
    }

    private static async Task<int> RunAsync(string directory, int basePort, TextWriter output, CancellationToken ct)
    {
        output.WriteLine("== starting the mini2 cluster (A-F, edges AB BC BD AE EF ED), one process per node");
        await using var cluster = await BenchCluster.StartAsync("mini2", directory, basePort, output, ct).ConfigureAwait(false);
        var admin = cluster.Clients.Admin(cluster.Address("A"));
        output.WriteLine("== probes from A");
        foreach (var to in new[] { "C", "D", "F" }) await PingAsync(admin, to, output, ct).ConfigureAwait(false);
        output.WriteLine("== kill -9 B (on the path A-B-D)");
        var clock = Stopwatch.StartNew();
        cluster.Manager.Kill("B");
        await UntilAsync(admin, "D", r => r.Ok, ct).ConfigureAwait(false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   D reachable again after {clock.Elapsed.TotalMilliseconds:F0} ms"));
        foreach (var to in new[] { "D", "C" }) await PingAsync(admin, to, output, ct).ConfigureAwait(false);
        output.WriteLine("== restart B");
        await cluster.Manager.RestartAsync("B", TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        clock.Restart();
        await UntilAsync(admin, "D", r => r.Ok && r.ForwardRoute[1] == "B", ct).ConfigureAwait(false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   routes converged back {clock.Elapsed.TotalMilliseconds:F0} ms after B was ready"));
        foreach (var to in new[] { "C", "D" }) await PingAsync(admin, to, output, ct).ConfigureAwait(false);
        output.WriteLine("== stopping the cluster");
        return 0;
    }

    /// <summary>Probes every 5 ms (each probe waiting at most 100 ms) until <paramref name="accept"/> holds, for at most 10 s.</summary>
    private static async Task UntilAsync(Admin.AdminClient admin, string to, Func<PingReply, bool> accept, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (!accept(await PingAsync(admin, to, TextWriter.Null, ct, timeoutMs: 100).ConfigureAwait(false)))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10)) throw new Cluster.CliException($"A -> {to} did not reach the expected path within 10 s");
            await Task.Delay(5, ct).ConfigureAwait(false);
        }
    }

    private static async Task<PingReply> PingAsync(Admin.AdminClient admin, string to, TextWriter output, CancellationToken ct, int timeoutMs = 1000)
    {
        var reply = await admin.PingAsync(new PingRequest { Destination = to, TimeoutMs = timeoutMs }, deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: ct).ConfigureAwait(false);
        output.WriteLine(reply.Ok
            ? string.Create(CultureInfo.InvariantCulture, $"   A -> {to}: {string.Join(" -> ", reply.ForwardRoute)}  rtt {reply.RttMs:F2} ms")
            : $"   A -> {to}: {reply.Error}");
        return reply;
    }
}
