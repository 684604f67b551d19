using Braid.Core.Topology;
using Braid.Data;
using Braid.Node.Partitions;
using Braid.Node.Services;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace Braid.Node.Tests.Services;

/// <summary>Issue 14, item 2, on real nodes in this process: health that reflects replay, join and writability.</summary>
public sealed class HealthTests : IAsyncLifetime
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "braid-health-" + Guid.NewGuid().ToString("N"));

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    private NodeOptions Solo(int port) =>
        new(InProcessNode.Solo(port), "A", directory, AllowFaultInjection: false, Incarnation: 1000, Partitions: 2, Replicas: 1);

    [Fact]
    public async Task A_node_is_NOT_SERVING_while_its_logs_replay_and_SERVING_once_they_have()
    {
        var port = InProcessNode.FreePort();
        var committed = new Dictionary<uint, ulong>();
        const int batches = 200;
        await using (var first = await InProcessNode.StartAsync(Solo(port)))
        {
            await first.HealthBecomesAsync(NodeHealth.Stream, ServingStatus.Serving);
            await first.LeadsAllAsync();
            var raft = first.Services.GetRequiredService<RaftDriver>();
            var payload = ByteString.CopyFrom(RecordBatchCodec.Encode(Records(20)));
            for (var i = 0; i < batches; i++)
            {
                var request = new AppendRequest { Partition = (uint)(i % 2), Producer = 5, Sequence = (ulong)(i / 2 + 1), Payload = payload };
                var reply = await raft.AppendAsync(request, CancellationToken.None).WaitAsync(InProcessNode.StepTimeout);
                Assert.Equal(AppendStatus.AppendOk, reply.Status);
            }
            foreach (var p in (await raft.DescribeAsync(CancellationToken.None)).Partitions) committed[p.Partition] = p.CommitIndex;
        }
        Assert.All(committed.Values, c => Assert.True(c > batches / 2));

        // Restarted on the same folder, with replay held after the logs opened and before their
        // committed entries are applied.
        var inReplay = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var resume = new ManualResetEventSlim();
        var options = Solo(port) with { Incarnation = 2000, ReplayHook = () => { inReplay.TrySetResult(); resume.Wait(InProcessNode.StepTimeout); } };
        await using var node = await InProcessNode.StartAsync(options);
        try
        {
            await inReplay.Task.WaitAsync(InProcessNode.StepTimeout);
            Assert.Equal(ServingStatus.NotServing, await node.HealthAsync(NodeHealth.Node));
            Assert.Equal(ServingStatus.NotServing, await node.HealthAsync(NodeHealth.Stream));
            Assert.Equal(ServingStatus.Serving, await node.HealthAsync(NodeHealth.Peer)); // neighbours may link meanwhile
            Assert.False(node.Services.GetRequiredService<NodeHealth>().Replayed);
        }
        finally
        {
            resume.Set();
        }
        await node.HealthBecomesAsync(NodeHealth.Node, ServingStatus.Serving);
        await node.HealthBecomesAsync(NodeHealth.Stream, ServingStatus.Serving);
        // SERVING came after the replay, which applied everything committed before the restart.
        var described = await node.Services.GetRequiredService<RaftDriver>().DescribeAsync(CancellationToken.None).WaitAsync(InProcessNode.StepTimeout);
        foreach (var p in described.Partitions)
        {
            Assert.True(p.AppliedIndex >= committed[p.Partition], $"partition {p.Partition}: applied {p.AppliedIndex} < {committed[p.Partition]}");
            Assert.Equal((ulong)(batches / 2), p.RecordCount);
        }
    }

    [Fact]
    public async Task A_node_joins_when_a_neighbour_links_and_takes_writes_only_with_a_leader()
    {
        // mesh3 with only A running: a test plays neighbour B on the link (and never votes).
        var port = InProcessNode.FreePort();
        var topology = TopologyLoader.Parse($$"""
            { "name": "mesh3", "nodes": [
                { "id": "A", "host": "127.0.0.1", "port": {{port}}, "site": "s1" },
                { "id": "B", "host": "127.0.0.1", "port": {{InProcessNode.FreePort()}}, "site": "s2" },
                { "id": "C", "host": "127.0.0.1", "port": {{InProcessNode.FreePort()}}, "site": "s3" } ],
              "edges": [ ["A", "B"], ["B", "C"], ["A", "C"] ] }
            """);
        await using var node = await InProcessNode.StartAsync(new NodeOptions(topology, "A", directory, false, 1000, Partitions: 2, Replicas: 3));
        var health = node.Services.GetRequiredService<NodeHealth>();
        var deadline = DateTime.UtcNow + InProcessNode.StepTimeout;
        while (!health.Replayed)
        {
            Assert.True(DateTime.UtcNow < deadline, "replay did not end");
            await Task.Delay(20);
        }
        Assert.Equal(ServingStatus.NotServing, await node.HealthAsync(NodeHealth.Node));

        using var call = new Peer.PeerClient(node.Channel).Link();
        await call.RequestStream.WriteAsync(new LinkFrame { Hello = new Hello { NodeId = "B", Incarnation = 1, TopologyHash = topology.Hash, Partitions = 2, Replicas = 3 } })
            .WaitAsync(InProcessNode.StepTimeout);
        using var pumping = new CancellationTokenSource();
        var pump = Task.Run(async () =>
        {
            // A live neighbour heartbeats, and reads what A sends it.
            var reading = Task.Run(async () => { while (await call.ResponseStream.MoveNext(pumping.Token)) { } });
            while (!pumping.IsCancellationRequested)
            {
                await call.RequestStream.WriteAsync(new LinkFrame { Heartbeat = new Heartbeat() });
                await Task.Delay(50, CancellationToken.None);
            }
            try { await reading; } catch (RpcException) { } catch (OperationCanceledException) { }
        });
        try
        {
            await node.HealthBecomesAsync(NodeHealth.Node, ServingStatus.Serving);
            // Joined, but no partition can elect a leader with B silent: no writes here.
            Assert.Equal(ServingStatus.NotServing, await node.HealthAsync(NodeHealth.Stream));
        }
        finally
        {
            await pumping.CancelAsync();
            await pump.WaitAsync(InProcessNode.StepTimeout);
        }
    }

    private static AirQualityRecord[] Records(int count)
    {
        var start = new DateTime(2020, 8, 10, 0, 0, 0, DateTimeKind.Utc);
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var parameter = AirParameters.All[i % 6];
            return new AirQualityRecord(30 + i % 17, -120 + i % 29, start.AddHours(i), parameter, i, parameter.Unit(), i, i % 300,
                1, $"Site {i}", "Test Agency", i.ToString("D9", System.Globalization.CultureInfo.InvariantCulture), "840" + i.ToString("D9", System.Globalization.CultureInfo.InvariantCulture));
        })];
    }
}
