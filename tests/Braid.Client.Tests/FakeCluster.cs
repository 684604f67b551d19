using System.Net;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Braid.Client.Tests;

/// <summary>
/// A stand-in for a Braid cluster inside the test process: one node (Kestrel, HTTP/2 on a free
/// loopback port) that leads every partition and stores Ingest batches with the cluster's
/// exactly-once rule (a sequence at or below the producer's last on that partition is answered Ok
/// and duplicate, the next one is stored). A partition made unavailable takes batches and never
/// answers them, as a leader cut off from its majority does; <see cref="Heal"/> makes it answer
/// again (on the streams the client opens after that).
/// </summary>
internal sealed class FakeCluster : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly object gate = new();
    private readonly HashSet<uint> unavailable;
    private readonly Dictionary<uint, List<ulong>> stored = [];
    private readonly Dictionary<uint, int> acked = [];
    private int duplicates;

    private FakeCluster(int partitions, IEnumerable<uint> unavailable)
    {
        Partitions = partitions;
        this.unavailable = [.. unavailable];
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(this);
        app = builder.Build();
        app.MapGrpcService<FakeStreamService>();
    }

    public int Partitions { get; }

    /// <summary>host:port of the node.</summary>
    public string Address { get; private set; } = "";

    public static async Task<FakeCluster> StartAsync(int partitions, params uint[] unavailable)
    {
        var cluster = new FakeCluster(partitions, unavailable);
        await cluster.app.StartAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var url = cluster.app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        cluster.Address = new Uri(url).Authority;
        return cluster;
    }

    public void Heal(uint partition)
    {
        lock (gate) unavailable.Remove(partition);
    }

    /// <summary>Batches of <paramref name="partition"/> answered Ok (stored or duplicate).</summary>
    public int Acked(uint partition)
    {
        lock (gate) return acked.GetValueOrDefault(partition);
    }

    /// <summary>The sequences stored in <paramref name="partition"/>, in the order they were stored.</summary>
    public List<ulong> Stored(uint partition)
    {
        lock (gate) return [.. stored.GetValueOrDefault(partition) ?? []];
    }

    public int Duplicates
    {
        get { lock (gate) return duplicates; }
    }

    /// <summary>The answer to one batch, or null when its partition is unavailable (no answer ever).</summary>
    internal AppendReply? Append(AppendRequest request)
    {
        lock (gate)
        {
            if (unavailable.Contains(request.Partition)) return null;
            var log = stored.TryGetValue(request.Partition, out var l) ? l : stored[request.Partition] = [];
            var last = log.Count == 0 ? 0 : log[^1];
            if (request.Sequence > last + 1)
                return new AppendReply { Status = AppendStatus.OutOfOrder, ExpectedSequence = last + 1, Error = $"expected {last + 1}" };
            var duplicate = request.Sequence <= last;
            if (duplicate) duplicates++;
            else log.Add(request.Sequence);
            acked[request.Partition] = acked.GetValueOrDefault(request.Partition) + 1;
            return new AppendReply { Status = AppendStatus.AppendOk, Duplicate = duplicate, Index = (ulong)log.Count };
        }
    }

    internal DescribeReply Describe()
    {
        var reply = new DescribeReply { NodeId = "n1", ReplicationFactor = 1 };
        reply.Nodes.Add(new NodeDescription { Id = "n1", Address = Address, Site = "s1" });
        for (var p = 0u; p < Partitions; p++) reply.Partitions.Add(new PartitionDescription { Partition = p, Leader = "n1", Replicas = { "n1" } });
        return reply;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await app.DisposeAsync();
    }
}

/// <summary>
/// braid.v1.Stream's Describe and Ingest, bound by hand (the test project compiles no protobuf
/// code: the messages come from Braid.Client). grpc-dotnet finds each handler by the method's
/// name on the bound type, so the handlers are public virtual methods of that type.
/// </summary>
[BindServiceMethod(typeof(FakeStreamService), nameof(BindService))]
internal class FakeStreamService(FakeCluster cluster)
{
    private const string Service = "braid.v1.Stream";

    private static readonly Method<DescribeRequest, DescribeReply> DescribeMethod =
        new(MethodType.Unary, Service, "Describe", Marshal(DescribeRequest.Parser), Marshal(DescribeReply.Parser));

    private static readonly Method<AppendRequest, IngestAck> IngestMethod =
        new(MethodType.DuplexStreaming, Service, "Ingest", Marshal(AppendRequest.Parser), Marshal(IngestAck.Parser));

    private static Marshaller<T> Marshal<T>(MessageParser<T> parser) where T : IMessage<T> =>
        Marshallers.Create(m => m.ToByteArray(), parser.ParseFrom);

    public static void BindService(ServiceBinderBase binder, FakeStreamService? service)
    {
        binder.AddMethod(DescribeMethod, service is null ? null : service.Describe);
        binder.AddMethod(IngestMethod, service is null ? null : service.Ingest);
    }

    public virtual Task<DescribeReply> Describe(DescribeRequest request, ServerCallContext context) => Task.FromResult(cluster.Describe());

    public virtual async Task Ingest(IAsyncStreamReader<AppendRequest> requests, IServerStreamWriter<IngestAck> responses, ServerCallContext context)
    {
        await foreach (var request in requests.ReadAllAsync(context.CancellationToken))
        {
            if (cluster.Append(request) is not { } reply) continue;
            await responses.WriteAsync(new IngestAck { Partition = request.Partition, Producer = request.Producer, Sequence = request.Sequence, Reply = reply });
        }
    }
}
