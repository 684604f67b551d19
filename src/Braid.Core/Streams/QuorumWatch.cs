namespace Braid.Core.Streams;

/// <summary>What a query coordinator does after one round of asking a partition's replicas.</summary>
public enum QuorumVerdict
{
    /// <summary>A replica did what was asked (named itself leader, served the page).</summary>
    Served,

    /// <summary>Not yet: ask again after a pause.</summary>
    Retry,

    /// <summary>Give up on the partition: it has no quorum the coordinator can reach (see <see cref="QuorumWatch.Reason"/>).</summary>
    Unavailable,
}

/// <summary>
/// The fail-fast rule of degraded reads (issue 12): when a query stops waiting for one partition
/// and calls it unavailable, instead of retrying until its deadline. Fed one round at a time
/// (how many of the partition's replicas answered at all, and whether one served), with the time
/// as a value. A partition is unavailable when no majority of its replicas has answered for
/// <see cref="NoMajorityAfter"/> (they are down or cut off: no leader can be elected), or when
/// nothing served it for <c>giveUpAfter</c> although a majority answers (an election that does
/// not end, replicas that never catch up).
/// </summary>
/// <param name="replicas">The partition's replicas.</param>
/// <param name="started">When the coordinator began asking.</param>
/// <param name="giveUpAfter">The longest wait while a majority answers.</param>
public sealed class QuorumWatch(int replicas, TimeSpan started, TimeSpan giveUpAfter)
{
    private readonly TimeSpan started = started;
    /// <summary>How long a coordinator waits without a majority of answers: longer than a failure
    /// detector needs to route around a dead node, far shorter than a client's deadline.</summary>
    public static readonly TimeSpan NoMajorityAfter = TimeSpan.FromSeconds(2);

    /// <summary>How long a coordinator waits for a leader while a majority answers: an election
    /// timeout is 1 to 2 s, PreVote and a first commit of the new term add a few round trips.</summary>
    public static readonly TimeSpan NoLeaderAfter = TimeSpan.FromSeconds(5);

    private TimeSpan lastMajority = started;
    private int lastAnswered;

    /// <summary>A majority of <paramref name="replicas"/>.</summary>
    public static int Majority(int replicas) => replicas / 2 + 1;

    /// <summary>One round: <paramref name="answered"/> replicas answered (whatever they said),
    /// <paramref name="served"/> when one of them did what was asked.</summary>
    public QuorumVerdict Round(int answered, bool served, TimeSpan now)
    {
        Invariant.Check(answered >= 0 && answered <= replicas, $"{answered} answers from {replicas} replicas");
        lastAnswered = answered;
        if (served) return QuorumVerdict.Served;
        if (answered >= Majority(replicas)) lastMajority = now;
        if (now - lastMajority >= NoMajorityAfter) return QuorumVerdict.Unavailable;
        return now - started >= giveUpAfter ? QuorumVerdict.Unavailable : QuorumVerdict.Retry;
    }

    /// <summary>Why the partition is unavailable, after <see cref="Round"/> said so.</summary>
    public string Reason => lastAnswered < Majority(replicas)
        ? $"only {lastAnswered} of its {replicas} replicas answer{(lastAnswered == 1 ? "s" : "")} (no quorum: a majority is {Majority(replicas)})"
        : $"{lastAnswered} of its {replicas} replicas answer but none could serve it within {giveUpAfter.TotalSeconds:F0} s";
}
