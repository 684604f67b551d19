using System.Buffers.Binary;
using System.Globalization;

namespace Braid.Core.Log;

/// <summary>
/// The on-device layout of a segment, all little-endian.
/// <code>
/// segment header (32 bytes): magic "BRAIDLOG" | version u32 | reserved u32 | base index u64 | crc u32 | reserved u32
/// frame (24 + n bytes):      crc u32 | payload length n u32 | term u64 | index u64 | payload[n]
/// </code>
/// The frame CRC-32C covers everything after the crc field (length, term, index, payload), so a
/// damaged length or index is caught as surely as a damaged payload. The magic and version make
/// a foreign file a format error rather than "corruption".
/// </summary>
internal static class SegmentFormat
{
    public const int HeaderBytes = 32;
    public const int FrameHeaderBytes = 24;
    public const uint Version = 1;
    public const string Extension = ".seg";
    public static ReadOnlySpan<byte> Magic => "BRAIDLOG"u8;

    private const int BaseIndexDigits = 20;

    /// <summary>Zero-padded base index, so names sort like indices and a listing reads in log order.</summary>
    public static string FileName(ulong baseIndex) =>
        baseIndex.ToString("D20", CultureInfo.InvariantCulture) + Extension;

    /// <summary>Parses a segment name; other files in the directory are not the log's business.</summary>
    public static bool TryParseFileName(string name, out ulong baseIndex)
    {
        baseIndex = 0;
        return name.Length == BaseIndexDigits + Extension.Length
            && name.EndsWith(Extension, StringComparison.Ordinal)
            && name.AsSpan(0, BaseIndexDigits).IndexOfAnyExceptInRange('0', '9') < 0
            && ulong.TryParse(name.AsSpan(0, BaseIndexDigits), NumberStyles.None, CultureInfo.InvariantCulture, out baseIndex);
    }

    public static void WriteHeader(Span<byte> destination, ulong baseIndex)
    {
        destination[..HeaderBytes].Clear();
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], Version);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], baseIndex);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], Crc32C.Compute(destination[..24]));
    }

    /// <summary>Checks a full header and returns its base index; a bad one raises a <see cref="LogException"/>.</summary>
    public static ulong ReadHeader(ReadOnlySpan<byte> header, string fileName)
    {
        if (!header[..8].SequenceEqual(Magic))
        {
            throw new LogFormatException(fileName, "bad magic number");
        }

        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != Version)
        {
            throw new LogFormatException(fileName, $"unsupported format version {version} (this build reads {Version})");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(header[24..]) != Crc32C.Compute(header[..24]))
        {
            throw new LogCorruptionException(fileName, 0, 0, "segment header checksum mismatch");
        }

        return BinaryPrimitives.ReadUInt64LittleEndian(header[16..]);
    }

    /// <summary>Encodes one frame into <paramref name="destination"/> (exactly 24 + payload bytes).</summary>
    public static void WriteFrame(Span<byte> destination, ulong index, ulong term, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], (uint)payload.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], term);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], index);
        payload.CopyTo(destination[FrameHeaderBytes..]);
        uint crc = Crc32C.Compute(destination[4..(FrameHeaderBytes + payload.Length)]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination, crc);
    }

    /// <summary>The fields of a frame header, before its checksum has been verified.</summary>
    public readonly record struct FrameHeader(uint Crc, int PayloadBytes, ulong Term, ulong Index)
    {
        public long FrameBytes => FrameHeaderBytes + (long)PayloadBytes;
    }

    /// <summary>Decodes a frame header; a length past <paramref name="entryBytesMax"/> yields -1 so callers treat it as damage.</summary>
    public static FrameHeader ReadFrameHeader(ReadOnlySpan<byte> header, int entryBytesMax)
    {
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        int payloadBytes = length > (uint)entryBytesMax ? -1 : (int)length;
        return new FrameHeader(
            BinaryPrimitives.ReadUInt32LittleEndian(header),
            payloadBytes,
            BinaryPrimitives.ReadUInt64LittleEndian(header[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[16..]));
    }

    /// <summary>The checksum over a frame's header fields after the crc; extend it with the payload.</summary>
    public static uint StartFrameCrc(ReadOnlySpan<byte> header) => Crc32C.Compute(header[4..FrameHeaderBytes]);
}
