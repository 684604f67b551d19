using System.Buffers.Binary;

namespace Braid.Cli.Fuzz;

/// <summary>
/// A small mutation engine in the spirit of AFL's havoc stage: a seed, then one to eight of bit
/// flips, interesting bytes (0, 0xFF, 0x7F, 0x80), arithmetic, range insert/delete/duplicate,
/// splices of two seeds, truncation, protobuf varint rewrites (lengths, tags, terms) and fixed
/// 32/64-bit field rewrites (the log's headers). Deterministic in its <see cref="Random"/>.
/// </summary>
internal static class Mutator
{
    private static readonly byte[] InterestingBytes = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE, 0x20, 0x40];

    private static readonly ulong[] InterestingValues =
    [
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ulong.MaxValue, ulong.MaxValue - 1,
    ];

    /// <summary>A mutated copy of a seed (seeds are never changed).</summary>
    public static byte[] Mutate(IReadOnlyList<byte[]> seeds, Random random, int bytesMax)
    {
        var data = new List<byte>(seeds[random.Next(seeds.Count)]);
        int rounds = 1 << random.Next(4); // 1, 2, 4 or 8 stacked mutations
        for (int i = 0; i < rounds; i++)
        {
            MutateOnce(data, seeds, random);
            if (data.Count > bytesMax) data.RemoveRange(bytesMax, data.Count - bytesMax);
        }
        return [.. data];
    }

    /// <summary>Uniform random bytes, of a length spread over orders of magnitude (0 to 4 KiB).</summary>
    public static byte[] RandomBytes(Random random, int bytesMax)
    {
        int length = Math.Min(bytesMax, random.Next(1 << random.Next(13)));
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static void MutateOnce(List<byte> data, IReadOnlyList<byte[]> seeds, Random random)
    {
        switch (random.Next(data.Count == 0 ? 3 : 12))
        {
            case 0: Insert(data, random); break;
            case 1: Splice(data, seeds, random); break;
            case 2: data.AddRange(seeds[random.Next(seeds.Count)]); break; // concatenation
            case 3: data[At(data, random)] ^= (byte)(1 << random.Next(8)); break;
            case 4: data[At(data, random)] = InterestingBytes[random.Next(InterestingBytes.Length)]; break;
            case 5: data[At(data, random)] += (byte)(random.Next(1, 36) * (random.Next(2) == 0 ? 1 : -1)); break;
            case 6: Delete(data, random); break;
            case 7: Duplicate(data, random); break;
            case 8: Truncate(data, random); break;
            case 9: Varint(data, random); break;
            case 10: Fixed(data, random); break;
            default: data[At(data, random)] = (byte)random.Next(256); break;
        }
    }

    private static int At(List<byte> data, Random random) => random.Next(data.Count);

    private static int RangeLength(Random random, int limit) => Math.Min(limit, 1 + random.Next(1 << random.Next(1, 9)));

    private static void Insert(List<byte> data, Random random)
    {
        var chunk = new byte[RangeLength(random, 256)];
        if (random.Next(2) == 0) random.NextBytes(chunk);
        else Array.Fill(chunk, InterestingBytes[random.Next(InterestingBytes.Length)]);
        data.InsertRange(random.Next(data.Count + 1), chunk);
    }

    private static void Delete(List<byte> data, Random random)
    {
        int at = At(data, random);
        data.RemoveRange(at, RangeLength(random, data.Count - at));
    }

    private static void Duplicate(List<byte> data, Random random)
    {
        int at = At(data, random);
        var chunk = data.GetRange(at, RangeLength(random, data.Count - at));
        data.InsertRange(random.Next(data.Count + 1), chunk);
    }

    private static void Truncate(List<byte> data, Random random)
    {
        int keep = random.Next(data.Count + 1);
        if (random.Next(4) == 0) data.RemoveRange(0, data.Count - keep); // the head lost instead of the tail
        else data.RemoveRange(keep, data.Count - keep);
    }

    /// <summary>A prefix of this input followed by a suffix of another seed.</summary>
    private static void Splice(List<byte> data, IReadOnlyList<byte[]> seeds, Random random)
    {
        var other = seeds[random.Next(seeds.Count)];
        int cut = random.Next(data.Count + 1);
        int from = random.Next(other.Length + 1);
        data.RemoveRange(cut, data.Count - cut);
        data.AddRange(other.AsSpan(from).ToArray());
    }

    /// <summary>Rewrites the (protobuf-style, LEB128) varint at a random position with another
    /// value: a length field, tag or number grown, shrunk or pushed to a limit.</summary>
    private static void Varint(List<byte> data, Random random)
    {
        int at = At(data, random);
        int end = at;
        ulong old = 0;
        for (int shift = 0; end < data.Count && shift < 64; shift += 7)
        {
            byte b = data[end++];
            old |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) break;
        }
        ulong value = random.Next(3) switch
        {
            0 => InterestingValues[random.Next(InterestingValues.Length)],
            1 => old + (ulong)random.Next(1, 17),
            _ => old - (ulong)random.Next(1, 17),
        };
        Span<byte> encoded = stackalloc byte[10];
        int length = 0;
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            encoded[length++] = value == 0 ? b : (byte)(b | 0x80);
        }
        while (value != 0);
        data.RemoveRange(at, end - at);
        data.InsertRange(at, encoded[..length].ToArray());
    }

    /// <summary>Overwrites 4 or 8 bytes (little-endian) with an interesting value or a small change.</summary>
    private static void Fixed(List<byte> data, Random random)
    {
        int width = random.Next(2) == 0 ? 4 : 8;
        if (data.Count < width) return;
        int at = random.Next(data.Count - width + 1);
        Span<byte> field = stackalloc byte[8];
        for (int i = 0; i < width; i++) field[i] = data[at + i];
        ulong old = width == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(field) : BinaryPrimitives.ReadUInt64LittleEndian(field);
        ulong value = random.Next(2) == 0 ? InterestingValues[random.Next(InterestingValues.Length)] : old + (ulong)(long)random.Next(-16, 17);
        BinaryPrimitives.WriteUInt64LittleEndian(field, value);
        for (int i = 0; i < width; i++) data[at + i] = field[i];
    }
}
