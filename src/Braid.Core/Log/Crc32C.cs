using System.Buffers.Binary;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Braid.Core.Log;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 and
/// etcd's WAL. Chosen over CRC-32 because its Hamming distance is better for the frame sizes a
/// log writes and CPUs compute it in hardware. Software path: slicing-by-8 (Intel, Kounavis and
/// Berry 2005); the hardware path (SSE4.2 / ARMv8 CRC) is used where present and both are
/// checked against each other in the tests.
/// </summary>
public static class Crc32C
{
    private const uint Polynomial = 0x82F63B78u;
    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>
    /// Extends a CRC computed over earlier bytes with <paramref name="data"/>, so a frame can be
    /// checksummed in pieces (bounded read buffers) with the same result as in one go.
    /// </summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        uint state = ~crc;
        state = HardwareAvailable ? UpdateHardware(state, data) : UpdateSoftware(state, data);
        return ~state;
    }

    /// <summary>True when the CPU computes CRC-32C in hardware.</summary>
    public static bool HardwareAvailable => Sse42.X64.IsSupported || Crc32.Arm64.IsSupported;

    /// <summary>The portable slicing-by-8 path, exposed so tests can compare it with hardware.</summary>
    internal static uint ComputeSoftware(ReadOnlySpan<byte> data) => ~UpdateSoftware(~0u, data);

    private static uint UpdateHardware(uint state, ReadOnlySpan<byte> data)
    {
        ulong wide = state;
        while (data.Length >= 8)
        {
            ulong word = BinaryPrimitives.ReadUInt64LittleEndian(data);
            wide = Sse42.X64.IsSupported ? Sse42.X64.Crc32(wide, word) : Crc32.Arm64.ComputeCrc32C((uint)wide, word);
            data = data[8..];
        }

        state = (uint)wide;
        foreach (byte b in data)
        {
            state = Sse42.IsSupported ? Sse42.Crc32(state, b) : Crc32.ComputeCrc32C(state, b);
        }

        return state;
    }

    private static uint UpdateSoftware(uint state, ReadOnlySpan<byte> data)
    {
        uint[] t = Table;
        while (data.Length >= 8)
        {
            uint low = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ state;
            uint high = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            state = t[(7 * 256) + (low & 0xFF)] ^ t[(6 * 256) + ((low >> 8) & 0xFF)]
                  ^ t[(5 * 256) + ((low >> 16) & 0xFF)] ^ t[(4 * 256) + (low >> 24)]
                  ^ t[(3 * 256) + (high & 0xFF)] ^ t[(2 * 256) + ((high >> 8) & 0xFF)]
                  ^ t[256 + ((high >> 16) & 0xFF)] ^ t[high >> 24];
            data = data[8..];
        }

        foreach (byte b in data)
        {
            state = t[(state ^ b) & 0xFF] ^ (state >> 8);
        }

        return state;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            uint crc = i;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ Polynomial : crc >> 1;
            }

            table[i] = crc;
        }

        for (int slice = 1; slice < 8; slice++)
        {
            for (int i = 0; i < 256; i++)
            {
                uint previous = table[((slice - 1) * 256) + i];
                table[(slice * 256) + i] = (previous >> 8) ^ table[previous & 0xFF];
            }
        }

        return table;
    }
}
