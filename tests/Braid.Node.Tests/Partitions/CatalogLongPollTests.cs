using Braid.Node.Partitions;
using Braid.Protocol.V1;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;

namespace Braid.Node.Tests.Partitions;

/// <summary>
/// The catalog long poll: a node with nothing newer parks the request until a newer catalog is
/// folded (answered at once then) or the wait is over (answered with nothing newer).
/// </summary>
public sealed class CatalogLongPollTests : IAsyncLifetime
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "braid-catalog-" + Guid.NewGuid().ToString("N"));
    private InProcessNode node = null!;

    public async Task InitializeAsync()
    {
        node = await InProcessNode.StartAsync(new NodeOptions(InProcessNode.Solo(InProcessNode.FreePort()), "A", directory, false, 1000, Partitions: 1, Replicas: 1));
        await node.LeadsAllAsync();
    }

    public async Task DisposeAsync()
    {
        await node.DisposeAsync();
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task A_parked_request_is_answered_when_a_newer_catalog_is_folded_or_when_its_wait_is_over()
    {
        var raft = node.Services.GetRequiredService<RaftDriver>();
        var known = raft.Streams.Catalog.Version;

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var idle = await raft.CatalogAsync(new CatalogRequest { KnownVersion = known, WaitMs = 400 }, CancellationToken.None).WaitAsync(InProcessNode.StepTimeout);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(350), $"answered after {clock.ElapsedMilliseconds} ms, before the wait was over");
        Assert.Equal(known, idle.Catalog.Version);
        Assert.Empty(idle.Catalog.Streams);

        var parked = raft.CatalogAsync(new CatalogRequest { KnownVersion = known, WaitMs = 15_000 }, CancellationToken.None);
        await Task.Delay(200);
        Assert.False(parked.IsCompleted);
        clock.Restart();
        var create = new Grpc.Core.Method<CreateStreamRequest, StreamDescription>(Grpc.Core.MethodType.Unary, "braid.v1.Stream", "CreateStream",
            Grpc.Core.Marshallers.Create(m => m.ToByteArray(), CreateStreamRequest.Parser.ParseFrom), Grpc.Core.Marshallers.Create(m => m.ToByteArray(), StreamDescription.Parser.ParseFrom));
        await node.Channel.CreateCallInvoker().AsyncUnaryCall(create, null, default, new CreateStreamRequest { Name = "poll", Format = "raw", Partitions = 1, Replicas = 1 })
            .ResponseAsync.WaitAsync(InProcessNode.StepTimeout);
        var answer = await parked.WaitAsync(InProcessNode.StepTimeout);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the parked request waited {clock.ElapsedMilliseconds} ms after the change");
        Assert.True(answer.Catalog.Version > known);
        Assert.Contains(answer.Catalog.Streams, s => s.Name == "poll");
    }
}
