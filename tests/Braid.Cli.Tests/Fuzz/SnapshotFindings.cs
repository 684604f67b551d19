using System.Buffers.Binary;
using Braid.Cli.Fuzz;
using Braid.Core.Log;

namespace Braid.Cli.Tests.Fuzz;

/// <summary>
/// What `braid bench fuzz --target snapshot` found (issue 11, item 7): a snapshot file whose
/// checksum is valid but whose content disagrees with itself or the log stops the replica's open
/// with an InvariantViolationException ("partition snapshot says index N, Raft says 40", "gap
/// between snapshot 32 and the log starting at 41", "57 bytes for -50331647 producers") instead
/// of a LogCorruptionException that repair from a peer can act on. Only a forged or very unlucky
/// file gets past the CRC-32C, and PartitionSet contains the failure, but the partition then
/// crash-loops. Fixed: the replica's storage checks a stored snapshot's bounds, its content
/// (PartitionState.ValidateSnapshot) and that it meets the log, and quarantines one that fails
/// like any damaged file; the replica opens and catches up from its leader. Before the fix each of
/// these opens threw an InvariantViolationException.
/// </summary>
public sealed class SnapshotFindings
{

    private static string? OpenWithSnapshotField(int offset, ulong value)
    {
        var target = new SmallFileFuzzTarget("snapshot", SnapshotStore.FileName);
        byte[] input = [1, .. target.Seeds[0].AsSpan(1)]; // byte 0 odd: the checksum is made valid
        BinaryPrimitives.WriteUInt64LittleEndian(input.AsSpan(1 + offset), value);
        return target.Run(input);
    }

    [Fact]
    public void ASnapshotClaimingALaterIndexThanItsStateIsQuarantinedAndTheReplicaOpens() =>
        Assert.Null(OpenWithSnapshotField(16, 5_497_558_138_920));

    [Fact]
    public void ASnapshotLeavingAGapBeforeTheLogIsQuarantinedAndTheReplicaOpens() =>
        Assert.Null(OpenWithSnapshotField(16, 3));

    [Fact]
    public void TheUnchangedSnapshotOpens() =>
        Assert.Null(new SmallFileFuzzTarget("snapshot", SnapshotStore.FileName).Run([1, .. new SmallFileFuzzTarget("snapshot", SnapshotStore.FileName).Seeds[0].AsSpan(1)]));
}
