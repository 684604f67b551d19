using System.Buffers.Binary;
using System.Text;

namespace Braid.Core.Log;

/// <summary>
/// Raft's persistent state besides the log (Ongaro and Ousterhout 2014, Figure 2): the current
/// term, the vote cast in it, and the commit index (kept so a restart can re-apply without
/// waiting for the leader).
/// </summary>
/// <param name="Term">Latest term this replica has seen.</param>
/// <param name="VotedFor">Node id voted for in <paramref name="Term"/>, or null.</param>
/// <param name="CommitIndex">Highest log index known committed.</param>
public sealed record HardState(ulong Term, string? VotedFor, ulong CommitIndex)
{
    /// <summary>The state of a replica that never persisted anything.</summary>
    public static HardState Initial { get; } = new(0, null, 0);
}

/// <summary>
/// Keeps a <see cref="HardState"/> in one small checksummed file, replaced atomically
/// (<see cref="ChecksummedFile"/>: temporary file, fsync, rename, fsync of the directory). A crash
/// at any point leaves the old or the new state, never a mix; a damaged file is detected by its
/// CRC-32C and reported, since voting from a corrupt term could break election safety.
/// </summary>
public sealed class HardStateStore
{
    /// <summary>Name of the hard state file on the device.</summary>
    public const string FileName = "hardstate";

    /// <summary>Name of the temporary file a save writes before renaming it.</summary>
    public const string TemporaryName = "hardstate.tmp";

    private const uint Version = 1;
    private const int FixedBytes = 8 + 4 + 4 + 8 + 8;
    private const int VoteBytesMax = 255;
    private static ReadOnlySpan<byte> Magic => "BRAIDHST"u8;

    private readonly IStorageDevice device;

    /// <summary>Creates a store on <paramref name="device"/>; nothing is read until <see cref="Load"/>.</summary>
    public HardStateStore(IStorageDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        this.device = device;
    }

    /// <summary>Reads the saved state, or <see cref="HardState.Initial"/> when none was ever saved durably.</summary>
    public HardState Load()
    {
        byte[]? bytes = ChecksummedFile.Load(device, FileName, "hard state", FixedBytes + 4, FixedBytes + VoteBytesMax + 4);
        return bytes is null ? HardState.Initial : Decode(bytes);
    }

    /// <summary>Replaces the saved state durably; returns only once the new state would survive a crash.</summary>
    public void Save(HardState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        byte[] vote = state.VotedFor is null ? [] : Encoding.UTF8.GetBytes(state.VotedFor);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vote.Length, VoteBytesMax, nameof(state));
        byte[] bytes = ChecksummedFile.Start(Magic, Version, FixedBytes + vote.Length + 4);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), state.VotedFor is null ? -1 : vote.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), state.Term);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), state.CommitIndex);
        vote.CopyTo(bytes.AsSpan(FixedBytes));
        ChecksummedFile.Replace(device, FileName, TemporaryName, bytes);
    }

    private static HardState Decode(ReadOnlySpan<byte> bytes)
    {
        ReadOnlySpan<byte> body = ChecksummedFile.Verify(bytes, Magic, Version, FileName, "hard state");
        if (body.Length < FixedBytes - ChecksummedFile.HeaderBytes)
        {
            throw new LogCorruptionException(FileName, bytes.Length, 0, "hard state file is short");
        }

        int voteLength = BinaryPrimitives.ReadInt32LittleEndian(bytes[12..]);
        int voteBytesInFile = bytes.Length - 4 - FixedBytes;
        bool consistent = voteLength == -1 ? voteBytesInFile == 0 : voteLength == voteBytesInFile;
        if (!consistent)
        {
            throw new LogCorruptionException(FileName, 12, 0, $"vote length {voteLength} does not match the file");
        }

        string? vote = voteLength < 0 ? null : DecodeVote(bytes.Slice(FixedBytes, voteLength));
        return new HardState(
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]),
            vote,
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]));
    }

    private static string DecodeVote(ReadOnlySpan<byte> vote)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(vote);
        }
        catch (DecoderFallbackException)
        {
            throw new LogCorruptionException(FileName, FixedBytes, 0, "vote is not valid UTF-8");
        }
    }
}
