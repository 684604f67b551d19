using System.Text.Json;

namespace Braid.EndToEnd.Tests;

/// <summary>A `braid cluster` in a private folder and port block; disposing it runs `cluster down`
/// and then kills, by pid, any process of this folder that is somehow left.</summary>
internal sealed class LocalCluster : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);

    private LocalCluster(string topology, int nodes, bool metrics = false)
    {
        Topology = topology;
        Directory = Path.Combine(Path.GetTempPath(), "braid-e2e-" + Guid.NewGuid().ToString("N")[..10]);
        // With metrics, one block holds both: node ports first, then the metrics ports.
        // Without metrics, four spare ports follow the nodes' for nodes a test adds (cluster add
        // gives a new node the port after the highest in use).
        BasePort = BraidProcess.FreePortBlock(metrics ? 2 * nodes : nodes + 4);
        MetricsBasePort = metrics ? BasePort + nodes : null;
    }

    public string Topology { get; }
    public string Directory { get; }
    public int BasePort { get; }

    /// <summary>The first node's metrics port (the others follow in topology order); null without metrics.</summary>
    public int? MetricsBasePort { get; }

    public static Task<LocalCluster> UpAsync(string topology, int nodes, bool faults = false, params string[] extraArgs) =>
        UpAsync(new LocalCluster(topology, nodes), faults, extraArgs);

    /// <summary>A cluster whose nodes serve Prometheus metrics (`cluster up --metrics-base-port`).</summary>
    public static Task<LocalCluster> UpWithMetricsAsync(string topology, int nodes, params string[] extraArgs) =>
        UpAsync(new LocalCluster(topology, nodes, metrics: true), false, extraArgs);

    private static async Task<LocalCluster> UpAsync(LocalCluster cluster, bool faults, string[] extraArgs)
    {
        var args = new List<string> { "cluster", "up", "--topology", cluster.Topology, "--dir", cluster.Directory, "--base-port", cluster.BasePort.ToString() };
        if (cluster.MetricsBasePort is { } metrics) args.AddRange(["--metrics-base-port", metrics.ToString()]);
        if (faults) args.Add("--allow-fault-injection");
        args.AddRange(extraArgs);
        var up = await BraidProcess.RunAsync(CommandTimeout, [.. args]);
        Assert.True(up.ExitCode == 0, $"cluster up failed: {up}");
        return cluster;
    }

    /// <summary>The CLI's (admin) client certificate for this cluster; null when it runs --insecure.</summary>
    public Braid.Client.Security.ClientTls? Tls => Braid.Cli.Security.ClientTlsOptions.ForCluster(Directory);

    public Braid.Cli.Security.ClusterCertificates Certificates => Braid.Cli.Security.ClusterCertificates.OfCluster(Directory);

    /// <summary>A channel to a node as the CLI makes it (TLS with the admin certificate unless --insecure).</summary>
    public Grpc.Net.Client.GrpcChannel Channel(string address) =>
        Grpc.Net.Client.GrpcChannel.ForAddress($"{Braid.Client.Security.ClientTls.Scheme(Tls)}://{address}",
            new Grpc.Net.Client.GrpcChannelOptions { HttpHandler = Braid.Client.Security.ClientTls.Handler(Tls) });

    public Task<CommandResult> RunAsync(params string[] args) => BraidProcess.RunAsync(CommandTimeout, [.. args, "--dir", Directory]);

    /// <summary>Runs a command until <paramref name="accept"/> holds, or fails the test with the last result.</summary>
    public async Task<CommandResult> EventuallyAsync(Func<CommandResult, bool> accept, TimeSpan within, params string[] args)
    {
        var deadline = DateTime.UtcNow + within;
        CommandResult last;
        do
        {
            last = await RunAsync(args);
            if (accept(last)) return last;
            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Fail($"braid {string.Join(' ', args)} did not reach the expected result within {within.TotalSeconds} s; last: {last}");
        return last;
    }

    /// <summary>The nodes' addresses, in topology order.</summary>
    public List<string> Addresses()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "cluster.json")));
        return doc.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("address").GetString()!).ToList();
    }

    /// <summary>Position of a node in the cluster's state file (the order of the topology).</summary>
    public int NodeIndex(string id)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "cluster.json")));
        return doc.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("id").GetString()).ToList().IndexOf(id);
    }

    public IReadOnlyList<int> RecordedPids()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "cluster.json")));
        return doc.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("pid").GetInt32()).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync("cluster", "down");
        }
        finally
        {
            foreach (var pid in BraidProcess.ProcessesMentioning(Directory))
            {
                try { System.Diagnostics.Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
            }
            try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
        }
    }
}
