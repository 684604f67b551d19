using Braid.Protocol.V1;

namespace Braid.Node.Overlay;

/// <summary>
/// Request/response between any two nodes, carried hop by hop by the overlay (nodes connect only
/// along edges, so a query coordinator reaches a replica two hops away through its neighbours).
/// </summary>
/// <summary>Where the overlay hands what arrives for this node's own services.</summary>
internal interface INodeDispatcher
{
    /// <summary>Raft messages for this node's replicas, from the envelope's <paramref name="source"/>
    /// node; called on the overlay loop, so it must only enqueue.</summary>
    void Deliver(string source, RaftBatch batch);

    /// <summary>The nodes no route reaches from here, after every change of the routes (called on
    /// the overlay loop, so it must only enqueue): what instant failover acts on.</summary>
    void ReachabilityChanged(IReadOnlySet<string> unreachable);

    /// <summary>A node-to-node request; started on the overlay loop in arrival order, awaited elsewhere.</summary>
    Task<NodeResponse> HandleAsync(NodeRequest request, CancellationToken cancellationToken);
}

internal sealed partial class OverlayDriver
{
    private readonly Dictionary<ulong, TaskCompletionSource<NodeResponse>> calls = [];
    private ulong nextCallId = 1;


    public async Task<NodeResponse> CallAsync(string destination, NodeRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (destination == Self)
            return await (dispatcher ?? throw new InvalidOperationException("no dispatcher attached")).HandleAsync(request, cancellationToken).ConfigureAwait(false);
        var completion = new TaskCompletionSource<NodeResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sent = await AskAsync(_ =>
        {
            request.CallId = nextCallId++;
            calls[request.CallId] = completion;
            if (Node.Send(new Envelope { Destination = destination, Request = request })) return true;
            calls.Remove(request.CallId);
            return false;
        }, cancellationToken).ConfigureAwait(false);
        if (!sent) return new NodeResponse { Error = $"{destination} is unreachable from {Self}" };
        try
        {
            return await completion.Task.WaitAsync(timeout, clock, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            TryPost(_ => calls.Remove(request.CallId));
            return new NodeResponse { Error = $"no answer from {destination} within {timeout.TotalMilliseconds:F0} ms" };
        }
    }

    private void DeliverCall(Envelope envelope)
    {
        if (envelope.BodyCase == Envelope.BodyOneofCase.Response)
        {
            if (calls.Remove(envelope.Response.CallId, out var completion)) completion.TrySetResult(envelope.Response);
            return;
        }
        var handler = dispatcher;
        var request = envelope.Request;
        var source = envelope.Source;
        if (handler is null) return;
        // Started here, on the loop, so requests reach their handlers in arrival order (a stream of
        // forwarded batches must be proposed in sequence order); only the answer is awaited elsewhere.
        Task<NodeResponse> handling;
        try
        {
            handling = handler.HandleAsync(request, CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            handling = Task.FromResult(new NodeResponse { Error = e.Message });
        }
        _ = RespondAsync(handling, request.CallId, source);
    }

    private async Task RespondAsync(Task<NodeResponse> handling, ulong callId, string destination)
    {
        NodeResponse response;
        try
        {
            response = await handling.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            response = new NodeResponse { Error = e.Message };
        }
        response.CallId = callId;
        await PostAsync(_ => Node.Send(new Envelope { Destination = destination, Response = response })).ConfigureAwait(false);
    }
}
