using Braid.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Braid.Cli.Cluster;

/// <summary>One gRPC channel per node address, reused for every call of a command (thread-safe).</summary>
/// <param name="tls">The client certificate and cluster CA; null speaks plaintext (an --insecure cluster).</param>
internal sealed class NodeClients(Braid.Client.Security.ClientTls? tls) : IDisposable
{
    private readonly Dictionary<string, GrpcChannel> channels = new(StringComparer.Ordinal);

    public Braid.Client.Security.ClientTls? Tls => tls;

    public Admin.AdminClient Admin(string address) => new(Channel(address));

    public GrpcChannel Channel(string address)
    {
        lock (channels)
        {
            if (!channels.TryGetValue(address, out var channel))
            {
                channel = GrpcChannel.ForAddress($"{Braid.Client.Security.ClientTls.Scheme(tls)}://{address}",
                    Braid.Client.BraidClient.ChannelOptions(Braid.Client.Security.ClientTls.Handler(tls)));
                channels[address] = channel;
            }
            return channel;
        }
    }

    /// <summary>Status of a node, or null when it does not answer within <paramref name="timeout"/>.
    /// A node that was not listening yet is dialled again within <see cref="Braid.Client.BraidClient.ReconnectBackoffMax"/>
    /// (grpc-dotnet's own backoff grows to 2 min; a CI run's `cluster up` gave up after 60 s on a
    /// node whose log shows it serving, linked and routed from its second second).</summary>
    public async Task<StatusReply?> TryStatusAsync(string address, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await Admin(address).StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken);
        }
        catch (RpcException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        List<GrpcChannel> all;
        lock (channels)
        {
            all = [.. channels.Values];
            channels.Clear();
        }
        foreach (var c in all) c.Dispose();
    }
}
