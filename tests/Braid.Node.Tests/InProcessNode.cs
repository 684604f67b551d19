using System.Net;
using System.Net.Sockets;
using Braid.Core.Topology;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Braid.Node.Tests;

/// <summary>A real node (plaintext) run by <see cref="NodeHost"/> in this process; disposing stops it.</summary>
internal sealed class InProcessNode : IAsyncDisposable
{
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(20);
    private readonly CancellationTokenSource stop = new();

    private InProcessNode(NodeOptions options) => Options = options;

    public NodeOptions Options { get; }
    public IServiceProvider Services { get; private set; } = null!;
    public Task Run { get; private set; } = null!;
    public GrpcChannel Channel { get; private set; } = null!;

    public static async Task<InProcessNode> StartAsync(NodeOptions options)
    {
        var node = new InProcessNode(options);
        var started = new TaskCompletionSource<IServiceProvider>(TaskCreationOptions.RunContinuationsAsynchronously);
        node.Run = NodeHost.RunAsync(options, services => started.TrySetResult(services), node.stop.Token);
        await Task.WhenAny(started.Task, node.Run).WaitAsync(StepTimeout);
        if (node.Run.IsCompleted) await node.Run; // its own error
        node.Services = await started.Task;
        node.Channel = GrpcChannel.ForAddress($"http://{options.Topology.Node(options.NodeId).Address}");
        return node;
    }

    public async Task<HealthCheckResponse.Types.ServingStatus> HealthAsync(string service) =>
        (await new Health.HealthClient(Channel).CheckAsync(new HealthCheckRequest { Service = service }).ResponseAsync.WaitAsync(StepTimeout)).Status;

    /// <summary>Polls the health of <paramref name="service"/> until it is <paramref name="expected"/>; fails after <see cref="StepTimeout"/>.</summary>
    public async Task HealthBecomesAsync(string service, HealthCheckResponse.Types.ServingStatus expected)
    {
        var deadline = DateTime.UtcNow + StepTimeout;
        HealthCheckResponse.Types.ServingStatus last;
        while ((last = await HealthAsync(service)) != expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"health of '{service}' stayed {last}, expected {expected}");
            await Task.Delay(20);
        }
    }

    /// <summary>Waits until this node leads every partition (a node alone, R=1, elects itself in each).</summary>
    public async Task LeadsAllAsync()
    {
        var raft = Services.GetService(typeof(Braid.Node.Partitions.RaftDriver)) as Braid.Node.Partitions.RaftDriver ?? throw new InvalidOperationException("no partition loop");
        var deadline = DateTime.UtcNow + StepTimeout;
        while ((await raft.DescribeAsync(CancellationToken.None).WaitAsync(StepTimeout)).Partitions.Any(p => p.LocalRole != "Leader"))
        {
            Assert.True(DateTime.UtcNow < deadline, "the node does not lead every partition");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Channel?.Dispose();
        await stop.CancelAsync();
        try { await Run.WaitAsync(StepTimeout); } catch (OperationCanceledException) { }
        stop.Dispose();
    }

    /// <summary>One node, no edges: it is alone, so it joins as soon as it has replayed.</summary>
    public static ClusterTopology Solo(int port) => TopologyLoader.Parse($$"""
        { "name": "solo", "nodes": [ { "id": "A", "host": "127.0.0.1", "port": {{port}}, "site": "s1" } ], "edges": [] }
        """);

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
