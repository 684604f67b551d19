using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Braid.Bench.Nats;

/// <summary>
/// Three nats-server processes started as a JetStream cluster on loopback, in a scratch folder,
/// and killed (by their process ids, and only those) when disposed, when the program exits, or at
/// the next start if this program was itself killed before it could clean up (their ids are kept in
/// a file beside their configuration).
/// </summary>
public sealed class NatsCluster : IAsyncDisposable
{
    private const string PidFile = "pids";
    private readonly List<Process> processes = [];
    private readonly string directory;
    private int disposed;

    private NatsCluster(string directory, IReadOnlyList<NatsServerPorts> servers)
    {
        this.directory = directory;
        Servers = servers;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    public IReadOnlyList<NatsServerPorts> Servers { get; }

    /// <summary>Starts <paramref name="count"/> servers in <paramref name="directory"/> (deleted and recreated)
    /// and waits until JetStream answers (its meta group has a leader).</summary>
    public static async Task<NatsCluster> StartAsync(string binary, string directory, CancellationToken ct, int count = 3)
    {
        directory = Path.GetFullPath(directory);
        KillLeftovers(directory);
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        Directory.CreateDirectory(directory);
        var ports = FreePorts(count * 2);
        var servers = Enumerable.Range(0, count).Select(i => new NatsServerPorts(ports[2 * i], ports[2 * i + 1])).ToList();
        var cluster = new NatsCluster(directory, servers);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var config = Path.Combine(directory, NatsClusterConfig.ServerName(i) + ".conf");
                await File.WriteAllTextAsync(config, NatsClusterConfig.Render(i, servers, directory), ct).ConfigureAwait(false);
                cluster.Start(binary, config);
            }
            await cluster.WaitForJetStreamAsync(TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A URL listing every server (a client picks one and fails over to the others).</summary>
    public string AllUrls => string.Join(",", Servers.Select(NatsClusterConfig.ClientUrl));

    /// <summary>Creates a file-backed stream of <paramref name="replicas"/> replicas over <paramref name="subject"/>,
    /// waits until every replica is current, and returns the client URL of its leader's server.</summary>
    public async Task<string> CreateStreamAsync(string name, string subject, int replicas, CancellationToken ct)
    {
        await using var connection = Connect(AllUrls);
        var js = new NatsJSContext(connection);
        var config = new StreamConfig(name, [subject]) { Storage = StreamConfigStorage.File, NumReplicas = replicas };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            ThrowIfAnyExited();
            try
            {
                var stream = await js.CreateStreamAsync(config, ct).ConfigureAwait(false);
                var info = stream.Info;
                var cluster = info.Cluster;
                if (cluster?.Leader is { Length: > 0 } leader && (cluster.Replicas?.Count ?? 0) == replicas - 1 && cluster.Replicas!.All(r => r.Current))
                    return LeaderUrl(leader);
                // Created but not settled yet: look again (CreateStreamAsync returns the existing stream).
            }
            catch (Exception e) when (e is NatsJSApiException or NatsJSException or NatsException or TimeoutException && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(30)) throw new NatsBenchException($"stream {name} had no leader with {replicas - 1} current replicas after 30 s; logs in {directory}");
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Messages and bytes stored in stream <paramref name="name"/>, as its leader reports them.</summary>
    public async Task<(ulong Messages, ulong Bytes)> StreamStateAsync(string name, CancellationToken ct)
    {
        await using var connection = Connect(AllUrls);
        var js = new NatsJSContext(connection);
        var stream = await js.GetStreamAsync(name, cancellationToken: ct).ConfigureAwait(false);
        return ((ulong)stream.Info.State.Messages, (ulong)stream.Info.State.Bytes);
    }

    /// <summary>A connection to <paramref name="url"/> (one server, or several separated by commas).</summary>
    public static NatsConnection Connect(string url) => new(new NatsOpts { Url = url, Name = "braid-bench-compare" });

    private string LeaderUrl(string serverName)
    {
        for (var i = 0; i < Servers.Count; i++)
            if (NatsClusterConfig.ServerName(i) == serverName) return NatsClusterConfig.ClientUrl(Servers[i]);
        throw new NatsBenchException($"the stream's leader {serverName} is not one of this cluster's servers");
    }

    private void Start(string binary, string config)
    {
        var start = new ProcessStartInfo(binary, ["-c", config]) { UseShellExecute = false, WorkingDirectory = directory };
        var process = Process.Start(start) ?? throw new NatsBenchException($"could not start {binary}");
        processes.Add(process);
        File.AppendAllText(Path.Combine(directory, PidFile), process.Id.ToString(CultureInfo.InvariantCulture) + "\n");
    }

    private async Task WaitForJetStreamAsync(TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        string? problem = null;
        while (clock.Elapsed < timeout)
        {
            ThrowIfAnyExited();
            try
            {
                await using var connection = Connect(AllUrls);
                var js = new NatsJSContext(connection);
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
                attempt.CancelAfter(TimeSpan.FromSeconds(2));
                await js.GetAccountInfoAsync(attempt.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is NatsJSApiException or NatsJSException or NatsException or TimeoutException
                                      || e is OperationCanceledException && !ct.IsCancellationRequested)
            {
                problem = e.Message;
            }
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
        throw new NatsBenchException($"JetStream did not answer within {timeout.TotalSeconds:F0} s ({problem}); logs in {directory}");
    }

    private void ThrowIfAnyExited()
    {
        for (var i = 0; i < processes.Count; i++)
        {
            if (!processes[i].HasExited) continue;
            var log = Path.Combine(directory, NatsClusterConfig.ServerName(i) + ".log");
            var tail = File.Exists(log) ? NatsServerBinary.LastLines(File.ReadAllText(log), 3) : "no log";
            throw new NatsBenchException($"nats-server {NatsClusterConfig.ServerName(i)} exited with code {processes[i].ExitCode}: {tail}");
        }
    }

    /// <summary>Ports free on loopback now (the servers bind them a moment later).</summary>
    private static List<int> FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            foreach (var l in listeners) l.Start();
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToList();
        }
        finally
        {
            foreach (var l in listeners) l.Stop();
        }
    }

    /// <summary>Kills the servers a previous run in <paramref name="directory"/> left behind: only
    /// processes whose ids it recorded and whose command line still names nats-server and that folder.</summary>
    private static void KillLeftovers(string directory)
    {
        var file = Path.Combine(directory, PidFile);
        if (!File.Exists(file)) return;
        foreach (var line in File.ReadAllLines(file))
        {
            if (!int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            string commandLine;
            try { commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (!commandLine.Contains("nats-server", StringComparison.Ordinal) || !commandLine.Contains(directory, StringComparison.Ordinal)) continue;
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
                process.WaitForExit(5000);
            }
            catch (ArgumentException) { }
            catch (InvalidOperationException) { }
        }
    }

    private void OnProcessExit(object? sender, EventArgs e) => KillAll();

    private void KillAll()
    {
        foreach (var process in processes)
        {
            try
            {
                if (!process.HasExited) process.Kill();
                process.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1) return ValueTask.CompletedTask;
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        KillAll();
        foreach (var process in processes) process.Dispose();
        var pids = Path.Combine(directory, PidFile);
        if (File.Exists(pids)) File.Delete(pids);
        return ValueTask.CompletedTask;
    }
}
