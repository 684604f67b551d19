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
    public async Task A_neighbour_cannot_speak_for_another_node_in_Raft()
    {
        // Issue 11: Raft accepted any `from` that is a voter, so B could forge C's messages (an
        // APPEND_RESPONSE from C could commit an entry only one disk holds). One frame from B: a
        // vote request claiming to come from C at term 9, then B's own at term 7. Processed in
        // order: if C's were accepted, A's term would be 9 and B's request too old to count.
        using var call = await LinkAsync(HelloAsB());
        var frame = new LinkFrame { Heartbeat = new Heartbeat() };
        // B's advert (A routes to B only once B says it sees A), then the two requests.
        frame.Envelopes.Add(new Envelope { Source = "B", Destination = "A", Ttl = 1, LinkState = new LinkStateAdvert { Origin = "B", Incarnation = 1, Sequence = 1, LiveNeighbours = { "A" } } });
        foreach (var (from, voteTerm) in new[] { ("C", 9ul), ("B", 7ul) })
        {
            var batch = new RaftBatch();
            batch.Messages.Add(new RaftMessage { Type = RaftMessageType.Vote, From = from, To = "A", Group = 0, Term = voteTerm });
            frame.Envelopes.Add(new Envelope { Source = "B", Destination = "A", Ttl = 16, Raft = batch });
        }
        await call.RequestStream.WriteAsync(frame).WaitAsync(StepTimeout);
        using var pumping = new CancellationTokenSource();
        var pump = Task.Run(async () =>
        {
            // A live neighbour heartbeats: without them A suspects B and routes nothing to it.
            while (!pumping.IsCancellationRequested)
            {
                await Task.Delay(100, CancellationToken.None);
                await call.RequestStream.WriteAsync(new LinkFrame { Heartbeat = new Heartbeat() });
            }
        });

        // A answers B's request (granted, at term 7); had it taken C's, it would be at term 9
        // and send B nothing (a vote request from an older term gets no answer).
        RaftMessage? answer = null;
        var deadline = DateTime.UtcNow + StepTimeout;
        var seen = new List<string>();
        while (answer is null && DateTime.UtcNow < deadline && await call.ResponseStream.MoveNext().WaitAsync(StepTimeout))
        {
            seen.AddRange(call.ResponseStream.Current.Envelopes.Select(e => e.BodyCase + (e.Raft is null ? "" : ":" + string.Join("/", e.Raft.Messages.Select(m => $"{m.Type}-{m.Group}-{m.To}-{m.Term}")))));
            answer = call.ResponseStream.Current.Envelopes.Where(e => e.Raft is not null).SelectMany(e => e.Raft.Messages)
                .FirstOrDefault(m => m.Type == RaftMessageType.VoteResponse && m.Group == 0);
        }
        await pumping.CancelAsync();
        await pump.WaitAsync(StepTimeout);
        Assert.True(answer is not null, string.Join(",", seen));
        Assert.Equal(("B", 7ul, false), (answer.To, answer.Term, answer.Reject));
    }

    [Fact]
    public async Task PartitionRecords_is_refused_unless_the_node_allows_fault_injection()
    {
        // Issue 11: it read a whole partition and listed producer ids to anyone, enough to hijack
        // a producer's sequence. Now a verification API, off unless the node is started with it.
        var e = await Assert.ThrowsAsync<RpcException>(() => new Admin.AdminClient(channel)
            .PartitionRecordsAsync(new PartitionRecordsRequest { Partition = 0 }).ResponseAsync.WaitAsync(StepTimeout));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("--allow-fault-injection", e.Status.Detail);
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
