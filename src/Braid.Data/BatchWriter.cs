using System.Buffers.Binary;
using System.Text;

namespace Braid.Data;

/// <summary>A growable little-endian writer for <see cref="RecordBatchCodec.Encode"/> and
/// <see cref="RawBatchCodec.Encode"/>.</summary>
internal sealed class BatchWriter(int capacity)
{
    private byte[] buffer = new byte[Math.Max(capacity, 64)];
    private int length;

    public void WriteByte(byte value)
    {
        Ensure(1);
        buffer[length++] = value;
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(buffer.AsSpan(length));
        length += bytes.Length;
    }

    public void WriteVarUInt64(ulong value)
    {
        Ensure(10);
        while (value >= 0x80)
        {
            buffer[length++] = (byte)(value | 0x80);
            value >>= 7;
        }
        buffer[length++] = (byte)value;
    }

    public void WriteVarInt64(long value) => WriteVarUInt64((ulong)((value << 1) ^ (value >> 63)));

    public void WriteDouble(double value)
    {
        Ensure(8);
        BinaryPrimitives.WriteDoubleLittleEndian(buffer.AsSpan(length), value);
        length += 8;
    }

    /// <summary>
    /// Concentrations and coordinates are nearly always a few decimals: store exact multiples of
    /// 1/<paramref name="scale"/> as a zig-zag varint (tag bit 0), else the raw 8 bytes (tag 1) so any double still round-trips exactly.
    /// </summary>
    public void WriteValue(double value, double scale)
    {
        if (Math.Abs(value) < 1e12)
        {
            long scaled = (long)Math.Round(value * scale);
            if (scaled / scale == value && !(value == 0 && double.IsNegative(value)))
            {
                WriteVarUInt64((ulong)((scaled << 1) ^ (scaled >> 63)) << 1);
                return;
            }
        }
        WriteVarUInt64(1);
        WriteDouble(value);
    }

    public void WriteString(string value)
    {
        int bytes = Encoding.UTF8.GetByteCount(value);
        WriteVarUInt64((ulong)bytes);
        Ensure(bytes);
        length += Encoding.UTF8.GetBytes(value, buffer.AsSpan(length));
    }

    /// <summary>The bytes written; the buffer itself when it is exactly full (a writer sized in
    /// advance), so a large batch is not copied. The writer is not used afterwards.</summary>
    public byte[] ToArray() => length == buffer.Length ? buffer : buffer.AsSpan(0, length).ToArray();

    private void Ensure(int more)
    {
        if (length + more <= buffer.Length) return;
        Array.Resize(ref buffer, Math.Max(buffer.Length * 2, length + more));
    }
}
