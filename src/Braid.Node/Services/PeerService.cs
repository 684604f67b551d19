using Braid.Node.Overlay;
using Braid.Protocol.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Braid.Node.Services;

/// <summary>The accepting side of overlay links.</summary>
internal sealed class PeerService(OverlayDriver driver, ILogger<PeerService> logger) : Peer.PeerBase
{
    public override async Task Link(IAsyncStreamReader<LinkFrame> requestStream, IServerStreamWriter<LinkFrame> responseStream, ServerCallContext context)
    {
        var token = context.CancellationToken;
        if (!await requestStream.MoveNext(token).ConfigureAwait(false)) return;
        var hello = requestStream.Current.Hello;
        var refusal = hello switch
        {
            null => "the first frame must carry a hello",
            _ when !driver.Topology.AreNeighbours(driver.Self, hello.NodeId) => $"'{hello.NodeId}' is not an overlay neighbour of {driver.Self}",
            _ when hello.TopologyHash != driver.Topology.Hash => $"topology mismatch: {hello.NodeId} runs {hello.TopologyHash}, {driver.Self} runs {driver.Topology.Hash}",
            _ => null,
        };
        if (refusal is not null)
        {
            Log.LinkRefused(logger, hello?.NodeId ?? "?", refusal);
            throw new RpcException(new Status(StatusCode.FailedPrecondition, refusal));
        }
        await responseStream.WriteAsync(new LinkFrame { Hello = driver.HelloMessage }, token).ConfigureAwait(false);
        var connection = new LinkConnection(hello!.NodeId, dialled: false, token);
        await driver.LinkUpAsync(connection).ConfigureAwait(false);
        var writer = connection.WriteLoopAsync(responseStream);
        try
        {
            await foreach (var frame in requestStream.ReadAllAsync(connection.Token).ConfigureAwait(false))
                await driver.FrameAsync(connection, frame, connection.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or RpcException)
        {
            // The peer went away; reported below as link down.
        }
        finally
        {
            connection.Close();
            await writer.ConfigureAwait(false);
            await driver.LinkDownAsync(connection).ConfigureAwait(false);
        }
    }
}
