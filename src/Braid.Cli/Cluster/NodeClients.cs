using Braid.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Braid.Cli.Cluster;

/// <summary>One gRPC channel per node address, reused for every call of a command.</summary>
/// <param name="tls">The client certificate and cluster CA; null speaks plaintext (an --insecure cluster).</param>
internal sealed class NodeClients(Braid.Client.Security.ClientTls? tls) : IDisposable
{
    private readonly Dictionary<string, GrpcChannel> channels = new(StringComparer.Ordinal);

    public Braid.Client.Security.ClientTls? Tls => tls;

    public Admin.AdminClient Admin(string address) => new(Channel(address));

    public GrpcChannel Channel(string address)
    {
        if (!channels.TryGetValue(address, out var channel))
        {
            channel = GrpcChannel.ForAddress($"{Braid.Client.Security.ClientTls.Scheme(tls)}://{address}", new GrpcChannelOptions
            {
                HttpHandler = Braid.Client.Security.ClientTls.Handler(tls),
            });
            channels[address] = channel;
        }
        return channel;
    }

    /// <summary>Status of a node, or null when it does not answer within <paramref name="timeout"/>.
    /// A failed call drops the address's channel, so the next one dials afresh: a channel whose
    /// connection failed (a node not listening yet, or restarting) waits out a growing reconnect
    /// backoff (grpc-dotnet's, up to 2 min) before it dials again. A CI run's `cluster up` gave up
    /// after 60 s on a node whose log shows it serving, linked and routed from its second second.</summary>
    public async Task<StatusReply?> TryStatusAsync(string address, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await Admin(address).StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken);
        }
        catch (RpcException)
        {
            Forget(address);
            return null;
        }
    }

    /// <summary>Drops the channel to <paramref name="address"/>; the next call opens a new one.</summary>
    public void Forget(string address)
    {
        if (channels.Remove(address, out var channel)) channel.Dispose();
    }

    public void Dispose()
    {
        foreach (var c in channels.Values) c.Dispose();
        channels.Clear();
    }
}
