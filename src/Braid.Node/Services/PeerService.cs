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
        if (hello is not null && Security.LinkAuthentication.Refusal(context, hello.NodeId) is { } denied)
        {
            Log.LinkRefused(logger, hello.NodeId.Length <= 64 ? hello.NodeId : hello.NodeId[..64], denied);
            throw new RpcException(new Status(StatusCode.PermissionDenied, denied));
        }
        var refusal = HelloRules.Refusal(driver, hello, expected: null);
        if (refusal is not null)
        {
            Log.LinkRefused(logger, hello is null ? "?" : hello.NodeId.Length <= 64 ? hello.NodeId : hello.NodeId[..64], refusal);
            throw new RpcException(new Status(StatusCode.FailedPrecondition, refusal));
        }
        var connection = new LinkConnection(hello!.NodeId, dialled: false, token);
        // Claim the link before answering, so a second stream claiming a live neighbour's id gets
        // no hello and cannot take the link over.
        if (!await driver.LinkUpAsync(connection).ConfigureAwait(false))
            throw new RpcException(new Status(StatusCode.AlreadyExists, $"{driver.Self} already has a live link to {hello.NodeId}"));
        Task? writer = null;
        try
        {
            await responseStream.WriteAsync(new LinkFrame { Hello = driver.HelloMessage }, token).ConfigureAwait(false);
            writer = connection.WriteLoopAsync(responseStream);
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
            if (writer is not null) await writer.ConfigureAwait(false);
            await driver.LinkDownAsync(connection).ConfigureAwait(false);
        }
    }
}
