using System.Diagnostics;
using Braid.Cli.Cluster;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Braid.Cli.Bench;

/// <summary>
/// A minimal retrying writer for benchmarks and tests: sends each batch to the partition's
/// leader (learned from NOT_LEADER answers), moves on to other nodes when one does not answer,
/// and retries the same (producer, sequence) until it is acknowledged, which exactly-once
/// ingest makes safe.
/// </summary>
/// <param name="attemptTimeout">Deadline of one attempt (default 1 s). A frozen (SIGSTOP) leader
/// holds a call until it: the failover benchmark uses a shorter one so that it measures the
/// cluster, not this wait; on a loaded machine a short one turns slow answers into retries.</param>
internal sealed class PartitionWriter(NodeClients clients, IReadOnlyList<string> addresses, TimeSpan? attemptTimeout = null)
{
    private readonly TimeSpan attempt = attemptTimeout ?? TimeSpan.FromSeconds(1);

    private readonly Dictionary<uint, string> leaders = [];
    private int rotation;

    public long Retries { get; private set; }

    /// <summary>First wait before trying again after a failed or leaderless attempt.</summary>
    private static readonly TimeSpan RetryBackoffMin = TimeSpan.FromMilliseconds(5);

    /// <summary>Longest wait between attempts. A NOT_LEADER answer during an election names no
    /// leader yet; the failover benchmark measures until the next commit, so waits of up to
    /// 100 ms here (before) put up to that much of this writer's own pause into the figure.</summary>
    private static readonly TimeSpan RetryBackoffMax = TimeSpan.FromMilliseconds(20);

    /// <summary>Writes one batch; returns when it is committed (or throws after <paramref name="timeout"/>).</summary>
    public async Task<AppendReply> WriteAsync(uint partition, ulong producer, ulong sequence, ByteString payload, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var backoff = RetryBackoffMin;
        while (clock.Elapsed < timeout)
        {
            var address = leaders.GetValueOrDefault(partition) ?? addresses[rotation % addresses.Count];
            try
            {
                var client = new Protocol.V1.Stream.StreamClient(clients.Channel(address));
                var reply = await client.AppendAsync(new AppendRequest { Partition = partition, Producer = producer, Sequence = sequence, Payload = payload },
                    deadline: DateTime.UtcNow.Add(attempt), cancellationToken: ct).ConfigureAwait(false);
                switch (reply.Status)
                {
                    case AppendStatus.AppendOk:
                        leaders[partition] = address;
                        return reply;
                    case AppendStatus.NotLeader when reply.LeaderAddress.Length > 0 && reply.LeaderAddress != address:
                        leaders[partition] = reply.LeaderAddress;
                        continue;
                    case AppendStatus.OutOfOrder:
                        throw new CliException($"partition {partition}: {reply.Error} (expected {reply.ExpectedSequence})");
                }
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled && !ct.IsCancellationRequested)
            {
            }
            Retries++;
            leaders.Remove(partition);
            rotation++;
            await Task.Delay(backoff, ct).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(RetryBackoffMax.Ticks, backoff.Ticks * 2));
        }
        throw new CliException($"partition {partition}: batch ({producer},{sequence}) not acknowledged within {timeout.TotalSeconds} s");
    }

    /// <summary>The leader of <paramref name="partition"/>, looking again for up to 10 s: at a given
    /// instant none may answer (leadership moving back to a preferred leader after a restart).</summary>
    public async Task<string> WaitForLeaderAsync(uint partition, CancellationToken ct)
    {
        for (var look = 0; look < 50; look++)
        {
            if (await FindLeaderAsync(partition, ct).ConfigureAwait(false) is { } leader) return leader;
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
        throw new CliException($"partition {partition} has had no leader for 10 s");
    }

    /// <summary>The node that currently answers as leader of <paramref name="partition"/>, by asking every node.</summary>
    public async Task<string?> FindLeaderAsync(uint partition, CancellationToken ct)
    {
        foreach (var address in addresses)
        {
            try
            {
                var reply = await new Protocol.V1.Stream.StreamClient(clients.Channel(address)).DescribeAsync(new DescribeRequest(),
                    deadline: DateTime.UtcNow.Add(attempt), cancellationToken: ct).ConfigureAwait(false);
                var p = reply.Partitions[(int)partition];
                if (p.LocalRole == "Leader") return reply.NodeId;
            }
            catch (RpcException)
            {
            }
        }
        return null;
    }
}
