using System.Buffers.Binary;

namespace Braid.Core.Log;

/// <summary>
/// A Raft snapshot (Ongaro and Ousterhout 2014, section 7): the state machine's state after
/// applying every entry up to <paramref name="Index"/>, whose term was <paramref name="Term"/>.
/// The log may then drop those entries; a follower behind the log's first entry installs it.
/// </summary>
/// <param name="Data">The state machine's own encoding (for a partition: the dedup table).</param>
/// <param name="Config">The Raft group's membership at <paramref name="Index"/> (an encoded
/// RaftConfig); empty in snapshots written before membership changes existed (version 1).</param>
public sealed record StoredSnapshot(ulong Index, ulong Term, ReadOnlyMemory<byte> Data, ReadOnlyMemory<byte> Config = default);

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

    /// <summary>Version 2 adds the configuration after the data (a 4-byte length, then its bytes);
    /// version 1 files still read, with no configuration.</summary>
    private const uint Version = 2;

    /// <summary>Largest encoded configuration a snapshot may hold.</summary>
    public const int ConfigBytesMax = 64 << 10;
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
        byte[]? bytes = ChecksummedFile.Load(device, FileName, "snapshot", FixedBytes + 4, FixedBytes + DataBytesMax + 4 + ConfigBytesMax + 4);
        return bytes is null ? null : Decode(bytes);
    }

    /// <summary>Replaces the saved snapshot durably; returns only once it would survive a crash.</summary>
    public void Save(StoredSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(snapshot.Data.Length, DataBytesMax, nameof(snapshot));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(snapshot.Config.Length, ConfigBytesMax, nameof(snapshot));
        byte[] bytes = ChecksummedFile.Start(Magic, Version, FixedBytes + snapshot.Data.Length + 4 + snapshot.Config.Length + 4);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), snapshot.Data.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), snapshot.Index);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), snapshot.Term);
        snapshot.Data.Span.CopyTo(bytes.AsSpan(FixedBytes));
        int configAt = FixedBytes + snapshot.Data.Length;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(configAt), snapshot.Config.Length);
        snapshot.Config.Span.CopyTo(bytes.AsSpan(configAt + 4));
        ChecksummedFile.Replace(device, FileName, TemporaryName, bytes);
    }

    private static StoredSnapshot Decode(ReadOnlySpan<byte> bytes)
    {
        uint version = bytes.Length >= 12 ? BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]) : Version;
        ChecksummedFile.Verify(bytes, Magic, version == 1 ? 1 : Version, FileName, "snapshot");
        if (bytes.Length < FixedBytes + 4)
        {
            throw new LogCorruptionException(FileName, bytes.Length, 0, "snapshot file is short");
        }

        int dataLength = BinaryPrimitives.ReadInt32LittleEndian(bytes[12..]);
        long afterData = (long)FixedBytes + dataLength;
        byte[] config = [];
        if (version == 1)
        {
            if (dataLength != bytes.Length - 4 - FixedBytes)
            {
                throw new LogCorruptionException(FileName, 12, 0, $"snapshot data length {dataLength} does not match the file");
            }
        }
        else
        {
            if (dataLength < 0 || afterData + 4 > bytes.Length - 4)
            {
                throw new LogCorruptionException(FileName, 12, 0, $"snapshot data length {dataLength} does not match the file");
            }

            int configLength = BinaryPrimitives.ReadInt32LittleEndian(bytes[(int)afterData..]);
            if (configLength < 0 || afterData + 4 + configLength != bytes.Length - 4)
            {
                throw new LogCorruptionException(FileName, afterData, 0, $"snapshot configuration length {configLength} does not match the file");
            }

            config = bytes.Slice((int)afterData + 4, configLength).ToArray();
            if (config.Length > 0 && Raft.RaftConfiguration.TryDecode(config, out var why) is null)
            {
                throw new LogCorruptionException(FileName, afterData + 4, 0, $"snapshot configuration unreadable: {why}");
            }
        }

        return new StoredSnapshot(
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]),
            bytes.Slice(FixedBytes, dataLength).ToArray(),
            config);
    }
}
