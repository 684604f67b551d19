using System.Buffers.Binary;

namespace Braid.Core.Log;

/// <summary>
/// A Raft snapshot (Ongaro and Ousterhout 2014, section 7): the state machine's state after
/// applying every entry up to <paramref name="Index"/>, whose term was <paramref name="Term"/>.
/// The log may then drop those entries; a follower behind the log's first entry installs it.
/// </summary>
/// <param name="Data">The state machine's own encoding (for a partition: the dedup table).</param>
public sealed record StoredSnapshot(ulong Index, ulong Term, ReadOnlyMemory<byte> Data);

/// <summary>
/// Keeps the latest <see cref="StoredSnapshot"/> in one checksummed file, replaced atomically
/// (<see cref="ChecksummedFile"/>: temporary file, fsync, rename, fsync of the directory).
/// A crash leaves the old or the new snapshot; damage is reported, never silently ignored.
/// </summary>
public sealed class SnapshotStore
{
    /// <summary>Name of the snapshot file on the device.</summary>
    public const string FileName = "snapshot";

    /// <summary>Name of the temporary file a save writes before renaming it.</summary>
    public const string TemporaryName = "snapshot.tmp";

    /// <summary>Largest state a snapshot may hold (it travels in one Raft message).</summary>
    public const int DataBytesMax = 16 << 20;

    private const uint Version = 1;
    private const int FixedBytes = 8 + 4 + 4 + 8 + 8;
    private static ReadOnlySpan<byte> Magic => "BRAIDSNP"u8;

    private readonly IStorageDevice device;

    public SnapshotStore(IStorageDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        this.device = device;
    }

    /// <summary>Reads the saved snapshot, or null when none was ever saved durably.</summary>
    public StoredSnapshot? Load()
    {
        byte[]? bytes = ChecksummedFile.Load(device, FileName, "snapshot", FixedBytes + 4, FixedBytes + DataBytesMax + 4);
        return bytes is null ? null : Decode(bytes);
    }

    /// <summary>Replaces the saved snapshot durably; returns only once it would survive a crash.</summary>
    public void Save(StoredSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(snapshot.Data.Length, DataBytesMax, nameof(snapshot));
        byte[] bytes = ChecksummedFile.Start(Magic, Version, FixedBytes + snapshot.Data.Length + 4);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), snapshot.Data.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), snapshot.Index);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), snapshot.Term);
        snapshot.Data.Span.CopyTo(bytes.AsSpan(FixedBytes));
        ChecksummedFile.Replace(device, FileName, TemporaryName, bytes);
    }

    private static StoredSnapshot Decode(ReadOnlySpan<byte> bytes)
    {
        ChecksummedFile.Verify(bytes, Magic, Version, FileName, "snapshot");
        if (bytes.Length < FixedBytes + 4)
        {
            throw new LogCorruptionException(FileName, bytes.Length, 0, "snapshot file is short");
        }

        int dataLength = BinaryPrimitives.ReadInt32LittleEndian(bytes[12..]);
        if (dataLength != bytes.Length - 4 - FixedBytes)
        {
            throw new LogCorruptionException(FileName, 12, 0, $"snapshot data length {dataLength} does not match the file");
        }

        return new StoredSnapshot(
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]),
            bytes.Slice(FixedBytes, dataLength).ToArray());
    }
}
