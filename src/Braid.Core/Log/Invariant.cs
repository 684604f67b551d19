using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Braid.Core.Log;

/// <summary>
/// Assertions that stay on in production (TigerBeetle style): a broken invariant in the storage
/// layer means the process can no longer vouch for what it acknowledges, so it stops loudly
/// instead of carrying on with a state nobody reasoned about.
/// </summary>
internal static class Invariant
{
    /// <summary>Throws <see cref="InvariantViolationException"/> when <paramref name="condition"/> is false.</summary>
    public static void Check(
        [DoesNotReturnIf(false)] bool condition,
        [CallerArgumentExpression(nameof(condition))] string? expression = null)
    {
        if (!condition)
        {
            throw new InvariantViolationException(expression ?? "?");
        }
    }
}

/// <summary>
/// A broken internal invariant: a bug, never a bad input. Deliberately not a
/// <see cref="LogException"/> so that no caller handles it as an expected storage error.
/// </summary>
public sealed class InvariantViolationException(string expression)
    : Exception($"Invariant violated: {expression}");
