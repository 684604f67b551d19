namespace Braid.Core.Failure;

/// <summary>Tuning of <see cref="PhiAccrualDetector"/>.</summary>
/// <param name="Threshold">Phi above which the peer is suspected. 8 means a 1e-8 chance that a
/// heartbeat this late comes from a live peer under the learned distribution.</param>
/// <param name="ExpectedInterval">The heartbeat interval the sender aims at; seeds the window.</param>
/// <param name="MinStdDeviation">Floor of the standard deviation, so a very regular sender
/// (loopback) is not suspected after a single scheduling hiccup.</param>
/// <param name="AcceptablePause">Extra silence tolerated before phi starts to rise (GC pauses).</param>
/// <param name="WindowSize">How many inter-arrival samples are kept (bounded memory).</param>
public sealed record PhiAccrualOptions(
    double Threshold,
    TimeSpan ExpectedInterval,
    TimeSpan MinStdDeviation,
    TimeSpan AcceptablePause,
    int WindowSize)
{
    public static PhiAccrualOptions Default { get; } = new(
        Threshold: 8.0,
        ExpectedInterval: TimeSpan.FromMilliseconds(200),
        MinStdDeviation: TimeSpan.FromMilliseconds(50),
        AcceptablePause: TimeSpan.FromMilliseconds(200),
        WindowSize: 200);
}

/// <summary>
/// The phi-accrual failure detector of Hayashibara et al. (SRDS 2004), as adapted by Akka and
/// Cassandra: instead of a yes/no timeout it outputs a suspicion level phi = -log10(P(a heartbeat
/// arrives later than now)), under a normal distribution fitted to recent inter-arrival times.
/// Pure: the caller supplies every timestamp.
/// </summary>
public sealed class PhiAccrualDetector
{
    private readonly PhiAccrualOptions options;
    private readonly double[] intervalsMs;
    private int count;
    private int next;
    private double sumMs;
    private double sumSquaresMs;
    private TimeSpan? lastHeartbeat;

    public PhiAccrualDetector(PhiAccrualOptions options)
    {
        Invariant.Check(options.WindowSize >= 2, "phi window needs at least two samples");
        this.options = options;
        intervalsMs = new double[options.WindowSize];
    }

    public PhiAccrualOptions Options => options;

    public TimeSpan? LastHeartbeat => lastHeartbeat;

    /// <summary>Records a heartbeat that arrived at <paramref name="now"/>.</summary>
    public void Heartbeat(TimeSpan now)
    {
        if (lastHeartbeat is { } last)
        {
            var interval = (now - last).TotalMilliseconds;
            if (interval >= 0) AddSample(interval);
        }
        else
        {
            // Bootstrap as Akka does: two samples around the expected interval give a usable
            // mean and deviation before real samples arrive.
            var mean = options.ExpectedInterval.TotalMilliseconds;
            AddSample(mean - mean / 4);
            AddSample(mean + mean / 4);
        }
        lastHeartbeat = now;
    }

    /// <summary>Forgets the history (a new connection to a possibly restarted peer).</summary>
    public void Reset()
    {
        count = next = 0;
        sumMs = sumSquaresMs = 0;
        lastHeartbeat = null;
    }

    /// <summary>The suspicion level at <paramref name="now"/>; 0 before any heartbeat.</summary>
    public double Phi(TimeSpan now)
    {
        if (lastHeartbeat is not { } last) return 0;
        var elapsedMs = (now - last).TotalMilliseconds;
        var mean = sumMs / count + options.AcceptablePause.TotalMilliseconds;
        var variance = Math.Max(0, sumSquaresMs / count - (sumMs / count) * (sumMs / count));
        var std = Math.Max(Math.Sqrt(variance), options.MinStdDeviation.TotalMilliseconds);
        return PhiOf(elapsedMs, mean, std);
    }

    public bool IsSuspected(TimeSpan now) => Phi(now) > options.Threshold;

    /// <summary>
    /// -log10 of the upper tail of N(mean, std) at <paramref name="elapsedMs"/>, with the logistic
    /// approximation of the normal CDF used by Akka (error under 0.02%), stable far into the tail.
    /// </summary>
    internal static double PhiOf(double elapsedMs, double mean, double std)
    {
        var y = (elapsedMs - mean) / std;
        var e = Math.Exp(-y * (1.5976 + 0.070566 * y * y));
        return elapsedMs > mean
            ? -Math.Log10(e / (1.0 + e))
            : -Math.Log10(1.0 - 1.0 / (1.0 + e));
    }

    private void AddSample(double intervalMs)
    {
        if (count == intervalsMs.Length)
        {
            var old = intervalsMs[next];
            sumMs -= old;
            sumSquaresMs -= old * old;
        }
        else
        {
            count++;
        }
        intervalsMs[next] = intervalMs;
        next = (next + 1) % intervalsMs.Length;
        sumMs += intervalMs;
        sumSquaresMs += intervalMs * intervalMs;
    }
}
