using Braid.Cli.Cluster;

namespace Braid.Cli.Bench;

/// <summary>A cluster started for one benchmark and always stopped afterwards, in its own folder.</summary>
internal sealed class BenchCluster : IAsyncDisposable
{
    private BenchCluster(ClusterManager manager, ClusterState state)
    {
        Manager = manager;
        State = state;
        Clients = new NodeClients(Security.ClientTlsOptions.ForCluster(manager.Directory));
    }

    public ClusterManager Manager { get; }
    public ClusterState State { get; }
    public NodeClients Clients { get; }

    /// <summary>The CLI's client certificate for this cluster (null when it runs --insecure).</summary>
    public Braid.Client.Security.ClientTls? Tls => Clients.Tls;

    public static async Task<BenchCluster> StartAsync(string topology, string directory, int basePort, TextWriter log, CancellationToken cancellationToken, int partitions = 12,
        long retainBytes = 0, long segmentBytes = Braid.Node.NodeOptions.DefaultSegmentBytes, Hosts.HostMode hosts = Hosts.HostMode.Loopback, bool insecure = false, string? deadAfter = null)
    {
        // A run killed before it could clean up: take its cluster and network down first.
        if (ClusterState.TryLoad(directory) is not null) new ClusterManager(directory, TextWriter.Null).Down();
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        var manager = new ClusterManager(directory, log);
        try
        {
            var state = await manager.UpAsync(topology, basePort, allowFaultInjection: true, TimeSpan.FromSeconds(60), cancellationToken, partitions, 3, retainBytes, segmentBytes, hosts, insecure: insecure, deadAfter: deadAfter).ConfigureAwait(false);
            return new BenchCluster(manager, state);
        }
        catch
        {
            manager.Dispose();
            throw;
        }
    }

    public string Address(string id) => State.Node(id).Address;

    public ValueTask DisposeAsync()
    {
        Clients.Dispose();
        Manager.Down();
        Manager.Dispose();
        return ValueTask.CompletedTask;
    }
}
