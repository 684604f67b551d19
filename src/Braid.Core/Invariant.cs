namespace Braid.Core;

/// <summary>
/// Assertions that stay on in production (TigerBeetle style): a broken invariant stops the
/// component loudly instead of letting it corrupt state quietly.
/// </summary>
public static class Invariant
{
    public static void Check(bool condition, string message)
    {
        if (!condition) throw new InvariantViolationException(message);
    }
}

public sealed class InvariantViolationException(string message) : Exception("invariant violated: " + message);
