using System.Net;
using System.Net.Sockets;
using Braid.Core.Topology;
using Braid.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Braid.Node.Tests.Overlay;

/// <summary>
/// Issue 11, on a real node in this process: a test plays a stranger that opens the Link stream
/// and claims to be neighbour B of node A (mesh3; B and C are not running).
/// </summary>
public sealed class HostilePeerTests : IAsyncLifetime
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(10);
    private readonly string directory = Path.Combine(Path.GetTempPath(), "braid-hostile-" + Guid.NewGuid().ToString("N"));
    private readonly CancellationTokenSource stop = new();
    private ClusterTopology topology = null!;
    private Task node = null!;
    private GrpcChannel channel = null!;

    public async Task InitializeAsync()
    {
        var port = FreePort();
        topology = TopologyLoader.Parse($$"""
            { "name": "mesh3", "nodes": [
                { "id": "A", "host": "127.0.0.1", "port": {{port}}, "site": "s1" },
                { "id": "B", "host": "127.0.0.1", "port": {{FreePort()}}, "site": "s2" },
                { "id": "C", "host": "127.0.0.1", "port": {{FreePort()}}, "site": "s3" } ],
              "edges": [ ["A", "B"], ["B", "C"], ["A", "C"] ] }
            """);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        node = NodeHost.RunAsync(Options(), _ => started.TrySetResult(), stop.Token);
        await Task.WhenAny(started.Task, node).WaitAsync(StepTimeout);
        Assert.False(node.IsCompleted, "node A did not start");
        channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
    }

    public async Task DisposeAsync()
    {
        channel.Dispose();
        await stop.CancelAsync();
        try { await node.WaitAsync(StepTimeout); } catch (OperationCanceledException) { }
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }

    private NodeOptions Options() => new(topology, "A", directory, AllowFaultInjection: false, Incarnation: 1000, Partitions: 2, Replicas: 3);

    private Hello HelloAsB() => new() { NodeId = "B", Incarnation = 1, TopologyHash = topology.Hash, Partitions = 2, Replicas = 3 };

    private async Task<AsyncDuplexStreamingCall<LinkFrame, LinkFrame>> LinkAsync(Hello hello)
    {
        var call = new Peer.PeerClient(channel).Link();
        await call.RequestStream.WriteAsync(new LinkFrame { Hello = hello }).WaitAsync(StepTimeout);
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(StepTimeout));
        Assert.Equal("A", call.ResponseStream.Current.Hello.NodeId);
        return call;
    }

    private static async Task<RpcException> RefusedAsync(Func<Task> link) =>
        await Assert.ThrowsAsync<RpcException>(() => link().WaitAsync(StepTimeout));

    [Fact]
    public async Task A_probe_reply_with_an_empty_route_does_not_stop_the_node()
    {
        using var call = await LinkAsync(HelloAsB());
        var frame = new LinkFrame { Heartbeat = new Heartbeat() };
        frame.Envelopes.Add(new Envelope { Source = "B", Destination = "A", Ttl = 16, ProbeReply = new ProbeReply { ProbeId = 1 } });
        await call.RequestStream.WriteAsync(frame).WaitAsync(StepTimeout);
        await Task.Delay(TimeSpan.FromSeconds(4), CancellationToken.None); // longer than the host's 3 s shutdown
        Assert.False(node.IsCompleted, "node A stopped");
        // And it still speaks on the link.
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(StepTimeout));
    }

    [Fact]
    public async Task A_hello_from_another_topology_is_refused_without_disclosing_the_hash()
    {
        var e = await RefusedAsync(() => LinkAsync(new Hello(HelloAsB()) { TopologyHash = "0123456789ab" }));
        Assert.Contains("topologies differ", e.Status.Detail);
        Assert.DoesNotContain(topology.Hash, e.Status.Detail);
    }

    [Fact]
    public async Task A_hello_with_other_partitions_or_replicas_is_refused_naming_both_sides()
    {
        var e = await RefusedAsync(() => LinkAsync(new Hello(HelloAsB()) { Partitions = 12 }));
        Assert.Contains("B runs 12 partitions x 3 replicas, A runs 2 x 3", e.Status.Detail);
        e = await RefusedAsync(() => LinkAsync(new Hello(HelloAsB()) { Replicas = 1 }));
        Assert.Contains("B runs 2 partitions x 1 replicas, A runs 2 x 3", e.Status.Detail);
    }

    [Fact]
    public async Task A_second_stream_claiming_B_does_not_evict_the_live_link()
    {
        using var real = await LinkAsync(HelloAsB());
        await real.RequestStream.WriteAsync(new LinkFrame { Heartbeat = new Heartbeat() }).WaitAsync(StepTimeout);
        var e = await RefusedAsync(async () => { using var impostor = await LinkAsync(HelloAsB()); });
        Assert.Equal(StatusCode.AlreadyExists, e.StatusCode);
        await real.RequestStream.WriteAsync(new LinkFrame { Heartbeat = new Heartbeat() }).WaitAsync(StepTimeout);
        Assert.True(await real.ResponseStream.MoveNext().WaitAsync(StepTimeout));
    }

    [Fact]
    public async Task A_host_that_stops_without_a_signal_makes_RunAsync_fail()
    {
        // A second node (C's slot) whose host is stopped from inside, as a failed background loop does.
        var options = Options() with { NodeId = "C", DataDirectory = Path.Combine(directory, "c") };
        var run = NodeHost.RunAsync(options, services => services.GetRequiredService<IHostApplicationLifetime>().StopApplication(),
            CancellationToken.None);
        var e = await Assert.ThrowsAsync<NodeStoppedException>(() => run.WaitAsync(StepTimeout));
        Assert.Contains("node C stopped", e.Message);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
