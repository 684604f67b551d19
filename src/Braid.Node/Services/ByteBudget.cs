namespace Braid.Node.Services;

/// <summary>
/// Bytes a node lets requests hold while they wait for their commit: a caller takes its batch's
/// size before proposing and gives it back when answered, and waits while the budget is used up.
/// A batch larger than the whole budget is still let through when nothing else is held, so one
/// legal batch can never wedge a stream. FIFO is not promised (waiters retry as bytes return).
/// </summary>
internal sealed class ByteBudget(long capacity)
{
    private readonly object gate = new();
    private long held;
    private TaskCompletionSource? freed; // set only while a taker waits: an uncontended Give allocates nothing

    public long Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    public long Held
    {
        get { lock (gate) return held; }
    }

    /// <summary>Takes <paramref name="bytes"/> if they fit now (or nothing is held); never waits.</summary>
    public bool TryTake(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (gate)
        {
            if (!Fits(bytes)) return false;
            held += bytes;
            return true;
        }
    }

    /// <summary>Whether <paramref name="bytes"/> may be taken now (under the gate).</summary>
    private bool Fits(long bytes) => held == 0 || held + bytes <= Capacity;

    public async ValueTask TakeAsync(long bytes, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        while (true)
        {
            Task wait;
            lock (gate)
            {
                if (Fits(bytes))
                {
                    held += bytes;
                    return;
                }
                freed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = freed.Task;
            }
            await wait.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    public void Give(long bytes)
    {
        TaskCompletionSource? wake;
        lock (gate)
        {
            held -= bytes;
            if (held < 0) throw new InvalidOperationException("more bytes given back than taken");
            wake = freed;
            freed = null;
        }
        wake?.TrySetResult();
    }
}
