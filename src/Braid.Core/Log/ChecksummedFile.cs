using System.Buffers.Binary;

namespace Braid.Core.Log;

/// <summary>
/// The small files beside the log (hard state, snapshot): magic, version, body, CRC-32C at the
/// end, replaced atomically (temporary file, fsync, rename, fsync of the directory), so a crash
/// leaves the old or the new content and damage is detected and reported, never ignored.
/// </summary>
internal static class ChecksummedFile
{
    /// <summary>Bytes of magic (8) and version (4) at the start.</summary>
    public const int HeaderBytes = 12;

    /// <summary>A buffer of <paramref name="length"/> bytes with magic and version written.</summary>
    public static byte[] Start(ReadOnlySpan<byte> magic, uint version, int length)
    {
        var bytes = new byte[length];
        magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), version);
        return bytes;
    }

    /// <summary>Writes the CRC-32C of everything before the last 4 bytes into them, then
    /// replaces <paramref name="name"/> durably; returns once the new content would survive a crash.</summary>
    public static void Replace(IStorageDevice device, string name, string temporaryName, byte[] bytes)
    {
        int crcAt = bytes.Length - 4;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(crcAt), Crc32C.Compute(bytes.AsSpan(0, crcAt)));
        using (IStorageHandle handle = device.Open(temporaryName, create: true))
        {
            handle.SetLength(0);
            handle.WriteAt(0, bytes);
            handle.Sync();
        }

        device.Rename(temporaryName, name);
        device.SyncDirectory();
    }

    /// <summary>The file's bytes, or null when it does not exist; a length outside
    /// [<paramref name="minBytes"/>, <paramref name="maxBytes"/>] is corruption.</summary>
    public static byte[]? Load(IStorageDevice device, string name, string what, long minBytes, long maxBytes)
    {
        if (!device.Exists(name))
        {
            return null;
        }

        using IStorageHandle handle = device.Open(name, create: false);
        long length = handle.Length;
        if (length < minBytes || length > maxBytes)
        {
            throw new LogCorruptionException(name, 0, 0, $"{what} file has {length} bytes");
        }

        var bytes = new byte[length];
        int total = 0;
        while (total < bytes.Length)
        {
            int read = handle.ReadAt(total, bytes.AsSpan(total));
            if (read <= 0)
            {
                break;
            }

            total += read;
        }

        return bytes[..total];
    }

    /// <summary>Checks length, magic, checksum and version, in that order; returns the body
    /// between the header and the checksum.</summary>
    public static ReadOnlySpan<byte> Verify(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> magic, uint version, string name, string what)
    {
        if (bytes.Length < HeaderBytes + 4)
        {
            throw new LogCorruptionException(name, bytes.Length, 0, $"{what} file is short");
        }

        if (!bytes[..8].SequenceEqual(magic))
        {
            throw new LogFormatException(name, "bad magic number");
        }

        int crcAt = bytes.Length - 4;
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes[crcAt..]) != Crc32C.Compute(bytes[..crcAt]))
        {
            throw new LogCorruptionException(name, crcAt, 0, $"{what} checksum mismatch (torn or damaged)");
        }

        uint found = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        if (found != version)
        {
            throw new LogFormatException(name, $"unsupported {what} version {found}");
        }

        return bytes[HeaderBytes..crcAt];
    }
}
