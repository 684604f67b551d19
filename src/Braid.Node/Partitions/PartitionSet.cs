using Braid.Core.Streams;

namespace Braid.Node.Partitions;

/// <summary>
/// The partition replicas of one node, with containment (issue 11, item 3): an exception while
/// opening or handling one partition fails that partition only. A failed partition is closed,
/// reported (<see cref="FailureOf"/>, the callback), and reopened from disk after a backoff
/// that doubles from 1 s to 30 s (in ticks), so a replica that fails at every start costs a
/// retry now and then, not a crash loop of the whole node; the other partitions keep serving.
/// Single-threaded: the partition loop owns it.
/// </summary>
public sealed class PartitionSet : IDisposable
{
    /// <summary>Ticks before the first reopen (1 s at 50 ms); doubles per failure up to <see cref="RetryTicksMax"/>.</summary>
    public const int RetryTicksMin = 20;
    public const int RetryTicksMax = 600;

    private readonly Dictionary<uint, PartitionReplica> running = [];
    private readonly Dictionary<uint, Failure> failed = [];
    // Failures in a row and when the partition last opened: one that fails again soon after a
    // reopen keeps its long backoff; one that served for RetryTicksMax starts over.
    private readonly Dictionary<uint, (int Failures, long OpenedAtTick)> history = [];
    private readonly HashSet<uint> placed;
    private readonly Func<uint, string?, PartitionReplica> open;
    private readonly Action<uint, Exception, int, long> onFailed;
    private long ticks;

    /// <param name="Rebuild">Why the replica's files are not to be trusted (a failed fsync), or null:
    /// the reopen then discards them and rebuilds the replica from its peers.</param>
    private sealed record Failure(string Reason, int Attempts, long RetryAtTick, string? Rebuild);

    /// <param name="placed">The partitions this node holds a replica of.</param>
    /// <param name="open">Opens a partition's replica from disk; when the second argument is not
    /// null (why), it first discards the replica's files (see <see cref="Core.Log.ReplicaStorage.Discard"/>).</param>
    /// <param name="onFailed">Called with the partition, the exception, the failures in a row and
    /// the ticks until the next attempt, once the partition is closed (answer its waiting calls).</param>
    public PartitionSet(IEnumerable<uint> placed, Func<uint, string?, PartitionReplica> open, Action<uint, Exception, int, long> onFailed)
    {
        this.placed = [.. placed];
        this.open = open;
        this.onFailed = onFailed;
    }

    /// <summary>The replicas serving now (failed ones are absent).</summary>
    public IReadOnlyDictionary<uint, PartitionReplica> Running => running;

    public IReadOnlyCollection<uint> Placed => placed;

    /// <summary>Why <paramref name="partition"/> is failed, or null when it is not.</summary>
    public string? FailureOf(uint partition) => failed.TryGetValue(partition, out var f) ? f.Reason : null;

    public int FailedCount => failed.Count;

    /// <summary>Opens every placed partition; one that cannot open is failed, not fatal.</summary>
    public void OpenAll()
    {
        foreach (var p in placed.Order()) TryOpen(p, attempts: 0, rebuild: null);
    }

    /// <summary>Places a group here (a stream was created) and opens it; false when it was placed already.</summary>
    public bool Add(uint partition)
    {
        if (!placed.Add(partition)) return false;
        TryOpen(partition, attempts: 0, rebuild: null);
        return true;
    }

    /// <summary>Closes and forgets a group (its stream was deleted); false when it was not placed here.</summary>
    public bool Remove(uint partition)
    {
        if (!placed.Remove(partition)) return false;
        if (running.Remove(partition, out var replica)) replica.Dispose();
        failed.Remove(partition);
        history.Remove(partition);
        return true;
    }

    /// <summary>Runs <paramref name="action"/> on <paramref name="partition"/>'s replica; an
    /// exception fails the partition. Returns false when it is not running or failed now.</summary>
    public bool Run(uint partition, Action<PartitionReplica> action)
    {
        if (!running.TryGetValue(partition, out var replica)) return false;
        try
        {
            action(replica);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var (failures, openedAt) = history.GetValueOrDefault(partition);
            Fail(partition, replica, e, ticks - openedAt < RetryTicksMax ? failures : 0);
            return false;
        }
    }

    /// <summary>Ticks every running replica and reopens failed ones whose backoff is over.</summary>
    public void Tick()
    {
        ticks++;
        foreach (var p in running.Keys.ToList()) Run(p, r => r.Tick());
        foreach (var (p, f) in failed.Where(f => f.Value.RetryAtTick <= ticks).ToList()) TryOpen(p, f.Attempts, f.Rebuild);
    }

    /// <summary>Why <paramref name="partition"/> will be rebuilt from its peers when it reopens, or null.</summary>
    public string? RebuildOf(uint partition) => failed.TryGetValue(partition, out var f) ? f.Rebuild : null;

    private void TryOpen(uint partition, int attempts, string? rebuild)
    {
        try
        {
            running[partition] = open(partition, rebuild);
            failed.Remove(partition);
            history[partition] = (attempts, ticks);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Fail(partition, null, e, attempts, rebuild);
        }
    }

    private void Fail(uint partition, PartitionReplica? replica, Exception e, int attempts, string? rebuild = null)
    {
        // A failed fsync is never retried and the files it covered are not trusted: the replica is
        // rebuilt from its peers on reopen (issue 11, item 4). The decision sticks until a reopen
        // succeeds, whatever later attempts fail with.
        if (Core.Log.StorageSyncException.IsIn(e)) rebuild ??= $"an fsync failed ({e.Message})";
        running.Remove(partition);
        try
        {
            replica?.Dispose();
        }
        catch (Exception)
        {
            // Closing a broken replica may fail too; its files are reopened from scratch.
        }
        var count = attempts + 1;
        var wait = Math.Min((long)RetryTicksMin << Math.Min(count - 1, 16), RetryTicksMax);
        failed[partition] = new Failure($"{e.GetType().Name}: {e.Message}", count, ticks + wait, rebuild);
        onFailed(partition, e, count, wait);
    }

    public void Dispose()
    {
        foreach (var r in running.Values) r.Dispose();
        running.Clear();
    }
}
