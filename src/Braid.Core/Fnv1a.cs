namespace Braid.Core;

/// <summary>
/// 64-bit FNV-1a: a fast, stable (unlike <see cref="string.GetHashCode()"/>, which is randomised
/// per process) fingerprint for seeds, query cursors and simulator traces. Not cryptographic.
/// </summary>
public static class Fnv1a
{
    public const ulong Offset = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    public static ulong Append(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes) hash = (hash ^ b) * Prime;
        return hash;
    }

    public static ulong Append(ulong hash, ReadOnlySpan<char> text)
    {
        foreach (var c in text) hash = (hash ^ c) * Prime;
        return hash;
    }

    public static ulong Hash(ReadOnlySpan<byte> bytes) => Append(Offset, bytes);

    public static ulong Hash(ReadOnlySpan<char> text) => Append(Offset, text);
}
