using Braid.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Braid.Client;

/// <summary>
/// A client of a Braid cluster: knows the nodes (from seeds), finds partition leaders, and
/// offers exactly-once ingest (<see cref="IngestSession"/>) and resumable queries
/// (<see cref="QueryAsync"/>), both failing over between nodes transparently.
/// </summary>
public sealed partial class BraidClient : IDisposable
{
    private readonly Dictionary<string, GrpcChannel> channels = new(StringComparer.Ordinal);
    private readonly object gate = new();
    private readonly Random random;
    private int rotation;

    private BraidClient(BraidClientOptions options, DescribeReply cluster)
    {
        Options = options;
        random = new Random(options.JitterSeed);
        Nodes = cluster.Nodes.Select(n => n.Address).ToList();
        Partitions = cluster.Partitions.Count;
        foreach (var p in cluster.Partitions)
            if (p.Leader.Length > 0) Leaders[p.Partition] = cluster.Nodes.First(n => n.Id == p.Leader).Address;
        NodeIds = cluster.Nodes.ToDictionary(n => n.Id, n => n.Address, StringComparer.Ordinal);
    }

    public BraidClientOptions Options { get; }
    public IReadOnlyList<string> Nodes { get; }
    public int Partitions { get; }
    public ClientStats Stats { get; } = new();
    internal Dictionary<string, string> NodeIds { get; }
    internal Dictionary<uint, string> Leaders { get; } = [];

    /// <summary>Connects through the first seed that answers and learns the cluster.</summary>
    public static async Task<BraidClient> ConnectAsync(BraidClientOptions options, CancellationToken ct = default)
    {
        if (options.Seeds.Count == 0) throw new ArgumentException("at least one seed address is needed", nameof(options));
        var problems = new List<string>();
        foreach (var seed in options.Seeds)
        {
            using var channel = CreateChannel(seed, options.Tls);
            try
            {
                var reply = await new Protocol.V1.Stream.StreamClient(channel).DescribeAsync(new DescribeRequest(),
                    deadline: options.Clock.GetUtcNow().UtcDateTime + options.CallTimeout, cancellationToken: ct).ConfigureAwait(false);
                return new BraidClient(options, reply);
            }
            catch (RpcException e)
            {
                problems.Add($"{seed}: {e.Status.StatusCode} {e.Status.Detail}");
            }
        }
        throw new BraidException($"no seed answered: {string.Join("; ", problems)}");
    }

    internal Protocol.V1.Stream.StreamClient Stream(string address) => new(Channel(address));

    internal GrpcChannel Channel(string address)
    {
        lock (gate)
        {
            if (!channels.TryGetValue(address, out var channel)) channels[address] = channel = CreateChannel(address, Options.Tls);
            return channel;
        }
    }

    /// <summary>The address to try next for <paramref name="partition"/>: its known leader, else the next node in turn.</summary>
    internal string AddressFor(uint partition)
    {
        lock (gate)
        {
            if (Leaders.TryGetValue(partition, out var leader)) return leader;
            return Nodes[rotation++ % Nodes.Count];
        }
    }

    internal bool IsKnownLeader(uint partition, string address)
    {
        lock (gate) return Leaders.TryGetValue(partition, out var leader) && leader == address;
    }

    internal void SetLeader(uint partition, string? address)
    {
        lock (gate)
        {
            if (address is null or "") Leaders.Remove(partition);
            else Leaders[partition] = address;
        }
    }

    internal string NextNode(string? after)
    {
        lock (gate)
        {
            var at = after is null ? -1 : Nodes.ToList().IndexOf(after);
            return Nodes[(at + 1 + (at < 0 ? rotation++ : 0)) % Nodes.Count];
        }
    }

    internal Backoff NewBackoff()
    {
        lock (gate) return new Backoff(Options.BackoffMin, Options.BackoffMax, new Random(random.Next()));
    }

    private static GrpcChannel CreateChannel(string address, Security.ClientTls? tls)
    {
        var handler = Security.ClientTls.Handler(tls);
        // A frozen or cut-off node keeps its TCP connection open; HTTP/2 pings notice it
        // within about two seconds, failing its streams so the client moves on.
        handler.KeepAlivePingDelay = TimeSpan.FromSeconds(1);
        handler.KeepAlivePingTimeout = TimeSpan.FromSeconds(1);
        handler.KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests;
        return GrpcChannel.ForAddress($"{Security.ClientTls.Scheme(tls)}://{address}", ChannelOptions(handler));
    }

    /// <summary>First wait before a channel dials a node again after a failed connection.</summary>
    public static readonly TimeSpan ReconnectBackoffInitial = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Longest wait before a channel dials a node again after failed connections. gRPC's
    /// connection backoff (1 s, times 1.6 per failure, up to 2 min; grpc-dotnet follows it) is
    /// made for clients of far-away services; a Braid node restarts in seconds and may lead
    /// again at once, and a channel still backing off from its downtime fails every call to it
    /// at once (Unavailable) until the wait ends.
    /// </summary>
    public static readonly TimeSpan ReconnectBackoffMax = TimeSpan.FromSeconds(1);

    /// <summary>The options of every channel to a node (the client's and the CLI's).</summary>
    public static GrpcChannelOptions ChannelOptions(HttpMessageHandler handler) => new()
    {
        MaxReceiveMessageSize = 64 * 1024 * 1024,
        HttpHandler = handler,
        InitialReconnectBackoff = ReconnectBackoffInitial,
        MaxReconnectBackoff = ReconnectBackoffMax,
    };

    /// <summary>Flushes the producers of <see cref="ProduceAsync"/> (up to the stall timeout), then closes the channels.</summary>
    public void Dispose()
    {
        List<Task<BraidProducer>> made;
        lock (producers) made = [.. producers.Values];
        foreach (var p in made.Where(p => p.IsCompletedSuccessfully)) p.Result.DisposeAsync().AsTask().Wait(Options.StallTimeout);
        lock (gate)
        {
            foreach (var c in channels.Values) c.Dispose();
            channels.Clear();
        }
    }
}

/// <summary>An operation could not complete (the message says why).</summary>
/// <remarks>Subclasses name the kind of failure: <see cref="BraidNotFoundException"/>,
/// <see cref="BraidUnavailableException"/>, <see cref="BraidRefusedException"/>,
/// <see cref="BraidOutOfRangeException"/>, <see cref="BraidUnauthenticatedException"/>.</remarks>
public class BraidException(string message, Exception? inner = null) : Exception(message, inner);
