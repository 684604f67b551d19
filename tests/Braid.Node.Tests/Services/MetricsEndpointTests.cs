using Braid.Data;
using Braid.Node.Partitions;
using Braid.Node.Services;
using Braid.Protocol.V1;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace Braid.Node.Tests.Services;

/// <summary>Issue 14, item 1: the Prometheus endpoint of a node in this process.</summary>
public sealed class MetricsEndpointTests : IAsyncLifetime
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "braid-metrics-" + Guid.NewGuid().ToString("N"));
    private readonly HttpClient http = new() { Timeout = InProcessNode.StepTimeout };
    private InProcessNode node = null!;
    private int metricsPort;

    public async Task InitializeAsync()
    {
        metricsPort = InProcessNode.FreePort();
        node = await InProcessNode.StartAsync(new NodeOptions(InProcessNode.Solo(InProcessNode.FreePort()), "A", directory, false, 1000, Partitions: 2, Replicas: 1)
        {
            MetricsPort = metricsPort,
        });
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await node.DisposeAsync();
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Metrics_are_served_in_Prometheus_text_format_on_their_own_port_only()
    {
        await node.LeadsAllAsync();
        var payload = ByteString.CopyFrom(RecordBatchCodec.Encode([]));
        var reply = await node.Services.GetRequiredService<RaftDriver>()
            .AppendAsync(new AppendRequest { Partition = 1, Producer = 3, Sequence = 1, Payload = payload }, CancellationToken.None).WaitAsync(InProcessNode.StepTimeout);
        Assert.Equal(AppendStatus.AppendOk, reply.Status);

        var deadline = DateTime.UtcNow + InProcessNode.StepTimeout;
        string text;
        // Gauges are sampled once a tick (50 ms): wait for the one that saw the append.
        while (!(text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"))).Contains("braid_raft_append_duration_seconds_count", StringComparison.Ordinal)
            || !text.Contains("braid_raft_commit_index{otel_scope_name=\"Braid.Raft\",partition=\"1\"} 2", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, text);
            await Task.Delay(50);
        }
        Assert.Contains("# TYPE braid_storage_fsync_duration_seconds histogram", text);
        Assert.Contains("braid_raft_leader{otel_scope_name=\"Braid.Raft\",partition=\"0\"} 1", text);
        Assert.Contains("braid_raft_leader_changes_total{otel_scope_name=\"Braid.Raft\",partition=\"0\"} 1", text);
        Assert.Contains("braid_overlay_links_up{otel_scope_name=\"Braid.Overlay\"} 0", text);
        Assert.Contains("service_instance_id=\"A\"", text);

        using var other = await http.GetAsync(new Uri($"http://127.0.0.1:{metricsPort}/braid.v1.Stream/Describe"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, other.StatusCode);
    }
}
