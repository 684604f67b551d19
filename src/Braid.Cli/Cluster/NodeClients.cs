using Braid.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Braid.Cli.Cluster;

/// <summary>One gRPC channel per node address, reused for every call of a command.</summary>
internal sealed class NodeClients : IDisposable
{
    private readonly Dictionary<string, GrpcChannel> channels = new(StringComparer.Ordinal);

    public Admin.AdminClient Admin(string address) => new(Channel(address));

    public GrpcChannel Channel(string address)
    {
        if (!channels.TryGetValue(address, out var channel))
        {
            channel = GrpcChannel.ForAddress($"http://{address}", new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1), EnableMultipleHttp2Connections = true },
            });
            channels[address] = channel;
        }
        return channel;
    }

    /// <summary>Status of a node, or null when it does not answer within <paramref name="timeout"/>.</summary>
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
        foreach (var c in channels.Values) c.Dispose();
        channels.Clear();
    }
}
