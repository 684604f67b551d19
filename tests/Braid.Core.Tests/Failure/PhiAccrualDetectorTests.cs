using Braid.Core.Failure;

namespace Braid.Core.Tests.Failure;

public sealed class PhiAccrualDetectorTests
{
    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void Phi_is_zero_before_any_heartbeat() =>
        Assert.Equal(0, new PhiAccrualDetector(PhiAccrualOptions.Default).Phi(Ms(10_000)));

    [Fact]
    public void Phi_rises_monotonically_with_silence_and_crosses_the_threshold()
    {
        var detector = new PhiAccrualDetector(PhiAccrualOptions.Default);
        for (var t = 0; t <= 5000; t += 200) detector.Heartbeat(Ms(t));
        var previous = -1.0;
        for (var silence = 0; silence <= 2000; silence += 50)
        {
            var phi = detector.Phi(Ms(5000 + silence));
            Assert.True(phi >= previous, $"phi fell from {previous} to {phi} at {silence} ms of silence");
            previous = phi;
        }
        Assert.False(detector.IsSuspected(Ms(5000 + 400)));
        Assert.True(detector.IsSuspected(Ms(5000 + 1000)));
    }

    [Fact]
    public void No_false_suspicion_under_bounded_jitter()
    {
        // Heartbeats every 200 ms (the default interval) with up to +-100 ms of seeded jitter: the detector, checked
        // every millisecond between arrivals, must never suspect the peer.
        var random = new Random(42);
        var detector = new PhiAccrualDetector(PhiAccrualOptions.Default);
        var arrival = 0.0;
        detector.Heartbeat(Ms(arrival));
        for (var i = 0; i < 2000; i++)
        {
            var next = arrival + 200 + (random.NextDouble() * 200 - 100);
            for (var t = arrival; t < next; t += 1)
                Assert.False(detector.IsSuspected(Ms(t)), $"false suspicion at beat {i}, {t - arrival:F0} ms after the last heartbeat (phi {detector.Phi(Ms(t)):F2})");
            arrival = next;
            detector.Heartbeat(Ms(arrival));
        }
    }

    [Fact]
    public void Detection_time_after_a_crash_is_under_a_second()
    {
        var detector = new PhiAccrualDetector(PhiAccrualOptions.Default);
        for (var t = 0; t <= 3000; t += 200) detector.Heartbeat(Ms(t));
        var detectedAt = Enumerable.Range(1, 5000).First(ms => detector.IsSuspected(Ms(3000 + ms)));
        Assert.InRange(detectedAt, 400, 1000);
    }

    [Fact]
    public void Reset_forgets_history()
    {
        var detector = new PhiAccrualDetector(PhiAccrualOptions.Default);
        detector.Heartbeat(Ms(0));
        Assert.True(detector.IsSuspected(Ms(10_000)));
        detector.Reset();
        Assert.Null(detector.LastHeartbeat);
        Assert.False(detector.IsSuspected(Ms(10_000)));
    }
}
