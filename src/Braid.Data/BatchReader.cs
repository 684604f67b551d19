using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Braid.Data;

/// <summary>
/// Bounds-checked little-endian reader over a batch: every read that would leave the span or
/// overflow throws <see cref="RecordFormatException"/> with the offset.
/// </summary>
internal ref struct BatchReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> data = data;

    public int Position { get; private set; }

    public readonly int Remaining => data.Length - Position;

    public readonly ReadOnlySpan<byte> Data => data;

    public byte ReadByte()
    {
        if (Position >= data.Length) Throw("unexpected end of data");
        return data[Position++];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadVarUInt64()
    {
        if (Position < data.Length && data[Position] < 0x80) return data[Position++];
        return ReadVarUInt64Slow();
    }

    private ulong ReadVarUInt64Slow()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = ReadByte();
            if (shift == 63 && b > 1) Throw("varint overflows 64 bits");
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        Throw("varint longer than 10 bytes");
        return 0;
    }

    public long ReadVarInt64()
    {
        ulong v = ReadVarUInt64();
        return (long)(v >> 1) ^ -(long)(v & 1);
    }

    /// <summary>An unsigned varint that must be below <paramref name="limit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadIndex(int limit, string what)
    {
        ulong v = ReadVarUInt64();
        if (v >= (ulong)limit) Throw($"{what} {v} out of range (limit {limit})");
        return (int)v;
    }

    public int ReadInt32(string what)
    {
        long v = ReadVarInt64();
        if (v is < int.MinValue or > int.MaxValue) Throw($"{what} {v} does not fit 32 bits");
        return (int)v;
    }

    public double ReadDouble()
    {
        if (Remaining < 8) Throw("unexpected end of data in a number");
        double v = BinaryPrimitives.ReadDoubleLittleEndian(data[Position..]);
        Position += 8;
        return v;
    }

    /// <summary>A value written by <see cref="BatchWriter.WriteValue"/>: a scaled varint, or tagged raw bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double ReadValue(double scale)
    {
        ulong v = ReadVarUInt64();
        if ((v & 1) == 0)
        {
            ulong z = v >> 1;
            return ((long)(z >> 1) ^ -(long)(z & 1)) / scale;
        }
        if (v != 1) Throw("bad number tag");
        return ReadDouble();
    }

    /// <summary>Skips a length-prefixed UTF-8 string and returns where it lies.</summary>
    public (int Start, int Length) ReadStringRange(int maxBytes)
    {
        ulong length = ReadVarUInt64();
        if (length > (ulong)maxBytes) Throw($"string of {length} bytes exceeds {maxBytes}");
        if (length > (ulong)Remaining) Throw("string runs past the end of data");
        int start = Position;
        Position += (int)length;
        return (start, (int)length);
    }

    /// <summary>Skips a length-prefixed run of bytes of at most <paramref name="maxBytes"/> and
    /// returns where it lies; <paramref name="what"/> names it (and its limit) in the error.</summary>
    public (int Start, int Length) ReadRange(int maxBytes, string what)
    {
        ulong length = ReadVarUInt64();
        if (length > (ulong)maxBytes) Throw($"{what} of {length} bytes exceeds its limit of {maxBytes}");
        if (length > (ulong)Remaining) Throw($"{what} of {length} bytes runs past the end of data");
        int start = Position;
        Position += (int)length;
        return (start, (int)length);
    }

    public readonly void Throw(string message) => throw new RecordFormatException(message, Position);
}
