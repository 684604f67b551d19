namespace Braid.Client;

/// <summary>Capped exponential backoff with jitter (AWS architecture blog, "Exponential Backoff
/// And Jitter", 2015), drawn from an injected seeded random source.</summary>
internal sealed class Backoff(TimeSpan min, TimeSpan max, Random random)
{
    private TimeSpan? next;

    public TimeSpan Next()
    {
        var current = next ?? min;
        next = TimeSpan.FromTicks(Math.Min(max.Ticks, current.Ticks * 2));
        return TimeSpan.FromTicks((long)(current.Ticks * (0.5 + random.NextDouble() * 0.5)));
    }

    public void Reset() => next = null;
}
