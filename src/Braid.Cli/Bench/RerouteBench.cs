using System.Diagnostics;
using System.Globalization;
using Braid.Cli.Cluster;
using Braid.Protocol.V1;
using Grpc.Core;

namespace Braid.Cli.Bench;

/// <summary>
/// Reroute time on mini2: A pings D through B; B is killed with SIGKILL (or frozen with SIGSTOP);
/// the time until a probe from A reaches D again (through E) is one sample.
/// </summary>
internal static class RerouteBench
{
    private const double TargetMedianMs = 1000;

    public static async Task<Json.RerouteBenchReport> RunAsync(int trials, bool pause, string directory, int basePort, TextWriter output, CancellationToken ct)
    {
        await using var cluster = await BenchCluster.StartAsync("mini2", directory, basePort, TextWriter.Null, ct).ConfigureAwait(false);
        var admin = cluster.Clients.Admin(cluster.Address("A"));
        var samples = new List<double>();
        var inOrder = new List<double>();
        output.WriteLine($"reroute after {(pause ? "SIGSTOP" : "SIGKILL")} of B on the path A-B-D, {trials} trials");
        for (var trial = 1; trial <= trials; trial++)
        {
            await WaitForPathAsync(admin, ["A", "B", "D"], TimeSpan.FromSeconds(20), ct).ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            if (pause) cluster.Manager.Pause("B"); else cluster.Manager.Kill("B");
            await WaitForPathAsync(admin, ["A", "E", "D"], TimeSpan.FromSeconds(20), ct).ConfigureAwait(false);
            var ms = clock.Elapsed.TotalMilliseconds;
            samples.Add(ms);
            inOrder.Add(Math.Round(ms, 1));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  trial {trial,2}: {ms,7:F1} ms"));
            if (pause) cluster.Manager.Resume("B");
            else await cluster.Manager.RestartAsync("B", TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        }
        samples.Sort();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"reroute ms: median {Percentile(samples, 0.5):F1}  p90 {Percentile(samples, 0.9):F1}  min {samples[0]:F1}  max {samples[^1]:F1}  (target: median <= {TargetMedianMs:F0})"));
        return new Json.RerouteBenchReport(pause ? "pause" : "kill", inOrder, Math.Round(Percentile(samples, 0.5), 1), Math.Round(Percentile(samples, 0.9), 1),
            Math.Round(samples[0], 1), Math.Round(samples[^1], 1), TargetMedianMs);
    }

    /// <summary>Probes every 5 ms until a probe from A takes exactly <paramref name="path"/>.</summary>
    private static async Task WaitForPathAsync(Admin.AdminClient admin, string[] path, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            try
            {
                var reply = await admin.PingAsync(new PingRequest { Destination = path[^1], TimeoutMs = 50 },
                    deadline: DateTime.UtcNow.AddSeconds(1), cancellationToken: ct).ConfigureAwait(false);
                if (reply.Ok && reply.ForwardRoute.SequenceEqual(path)) return;
            }
            catch (RpcException)
            {
            }
            await Task.Delay(5, ct).ConfigureAwait(false);
        }
        throw new CliException($"no probe took {string.Join("-", path)} within {timeout.TotalSeconds} s");
    }

    internal static double Percentile(IReadOnlyList<double> sorted, double q) =>
        sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];
}
