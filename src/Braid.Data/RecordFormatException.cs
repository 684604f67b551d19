namespace Braid.Data;

/// <summary>
/// A record batch's bytes are not a valid encoding. The only exception the decoder throws on
/// bad input, so a replica can turn it into one clear error instead of an IndexOutOfRange crash.
/// </summary>
public sealed class RecordFormatException(string message, int offset)
    : Exception($"malformed record batch at byte {offset}: {message}")
{
    /// <summary>Byte offset in the batch where decoding failed.</summary>
    public int Offset { get; } = offset;
}
