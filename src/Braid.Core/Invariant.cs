using System.Runtime.CompilerServices;

namespace Braid.Core;

/// <summary>
/// Assertions that stay on in production (TigerBeetle style): a broken invariant stops the
/// component loudly instead of letting it corrupt state quietly. An interpolated message is
/// formatted only when the check fails (<see cref="MessageHandler"/>), so checks on hot paths cost
/// a comparison, not a string.
/// </summary>
public static class Invariant
{
    public static void Check(bool condition, string message)
    {
        if (!condition) throw new InvariantViolationException(message);
    }

    public static void Check(bool condition, [InterpolatedStringHandlerArgument(nameof(condition))] ref MessageHandler message)
    {
        if (!condition) throw new InvariantViolationException(message.ToStringAndClear());
    }

    /// <summary>Builds the message of a failed check only; a passing check appends nothing.</summary>
    [InterpolatedStringHandler]
    public ref struct MessageHandler
    {
        private DefaultInterpolatedStringHandler inner;
        private readonly bool active;

        public MessageHandler(int literalLength, int formattedCount, bool condition, out bool shouldAppend)
        {
            active = shouldAppend = !condition;
            inner = active ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
        }

        public void AppendLiteral(string value) => inner.AppendLiteral(value);
        public void AppendFormatted<T>(T value) => inner.AppendFormatted(value);
        public void AppendFormatted<T>(T value, string? format) => inner.AppendFormatted(value, format);
        public void AppendFormatted(ReadOnlySpan<char> value) => inner.AppendFormatted(value);
        public void AppendFormatted(string? value) => inner.AppendFormatted(value);

        public string ToStringAndClear() => active ? inner.ToStringAndClear() : "";
    }
}

public sealed class InvariantViolationException(string message) : Exception("invariant violated: " + message);
