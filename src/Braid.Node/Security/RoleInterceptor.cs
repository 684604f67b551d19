using Braid.Client.Security;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Braid.Node.Security;

/// <summary>
/// Enforces roles on every call of a TLS node (issue 11, item 1): the caller's identity is its
/// client certificate, already checked against the cluster CA in the TLS handshake.
/// <list type="bullet">
/// <item>braid.v1.Peer (links): node certificates only; the hello must name the same node
/// (<see cref="LinkAuthentication"/>).</item>
/// <item>braid.v1.Stream: Append and Ingest need produce; Query, Aggregate and Subscribe need consume;
/// CreateStream and DeleteStream need admin; Describe and ListStreams (how any client finds the
/// cluster) need any role.</item>
/// <item>braid.v1.Admin: admin (fault injection also needs the node's --allow-fault-injection).</item>
/// <item>grpc.health.v1.Health: open, so that load balancers and probes need no certificate.</item>
/// <item>anything else (reflection): any certificate of the cluster.</item>
/// </list>
/// No certificate gives UNAUTHENTICATED, a missing role PERMISSION_DENIED, each naming what is missing.
/// </summary>
public sealed class RoleInterceptor(NodeOptions options) : Interceptor
{
    private enum Need { Open, AnyIdentity, Node, AnyRole, Role }

    private static (Need Need, BraidRoles Role) Required(string method)
    {
        var slash = method.IndexOf('/', 1);
        var service = slash > 0 ? method[1..slash] : method.TrimStart('/');
        var name = slash > 0 ? method[(slash + 1)..] : "";
        return service switch
        {
            "braid.v1.Peer" => (Need.Node, BraidRoles.None),
            "braid.v1.Stream" => name switch
            {
                "Append" or "Ingest" => (Need.Role, BraidRoles.Produce),
                "Query" or "Aggregate" or "Subscribe" or "CommitPosition" => (Need.Role, BraidRoles.Consume),
                "CreateStream" or "DeleteStream" => (Need.Role, BraidRoles.Admin),
                _ => (Need.AnyRole, BraidRoles.None),
            },
            "braid.v1.Admin" => (Need.Role, BraidRoles.Admin),
            "grpc.health.v1.Health" => (Need.Open, BraidRoles.None),
            _ => (Need.AnyIdentity, BraidRoles.None),
        };
    }

    /// <summary>Null if <paramref name="caller"/> may call <paramref name="method"/>; else the refusal.</summary>
    public static Status? Check(string method, BraidIdentity? caller, string nodeId)
    {
        var (need, role) = Required(method);
        if (need == Need.Open) return null;
        if (caller is null)
            return new Status(StatusCode.Unauthenticated,
                $"{method} on {nodeId} needs a client certificate issued by the cluster CA (none was presented)");
        return need switch
        {
            Need.Node when !caller.IsNode => Denied($"{method} is for nodes only; {caller} is not a node"),
            Need.Role when caller.IsNode || !caller.Roles.HasFlag(role) =>
                Denied($"{method} on {nodeId} needs role '{BraidIdentity.UnitOf(role)}'; {caller} lacks it"),
            Need.AnyRole when caller.IsNode || caller.Roles == BraidRoles.None =>
                Denied($"{method} on {nodeId} needs a client role (produce, consume or admin); {caller} has none"),
            _ => null,
        };

        static Status Denied(string detail) => new(StatusCode.PermissionDenied, detail);
    }

    internal static BraidIdentity? Caller(ServerCallContext context) =>
        context.GetHttpContext().Connection.ClientCertificate is { } certificate ? BraidIdentity.Of(certificate) : null;

    private void Authorize(ServerCallContext context)
    {
        if (Check(context.Method, Caller(context), options.NodeId) is { } refusal) throw new RpcException(refusal);
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(requestStream, responseStream, context);
    }
}

/// <summary>The acceptor's half of link authentication: the hello's node id must be the node the
/// TLS client certificate names (a node's identity is its certificate, not what it says).</summary>
internal static class LinkAuthentication
{
    /// <summary>Null when the link may proceed (or the node runs without TLS); else why not.</summary>
    public static string? Refusal(ServerCallContext context, string claimedNodeId)
    {
        if (!context.GetHttpContext().Request.IsHttps) return null;
        var caller = RoleInterceptor.Caller(context);
        if (caller is null) return "a link needs the dialling node's certificate (none was presented)";
        if (!caller.IsNode) return $"a link needs a node certificate; {caller} is not a node";
        return caller.Name == claimedNodeId ? null
            : $"the hello claims node '{claimedNodeId}' but the TLS certificate names node '{caller.Name}'";
    }
}
