using System.Text;

namespace Braid.Core.Log;

/// <summary>What opening a replica's storage found and did, for the host's log and status.</summary>
/// <param name="ReplicaId">The replica's identity: random, written when its storage was created.</param>
/// <param name="Quarantined">Damaged files moved aside (the replica restarts from what is valid).</param>
/// <param name="LostState">Why the replica may have lost state it had persisted (so it must not
/// vote until caught up), or null when nothing was lost.</param>
public sealed record ReplicaStorageReport(string ReplicaId, IReadOnlyList<QuarantinedFile> Quarantined, string? LostState);

/// <summary>
/// Opens everything one partition replica keeps on its device: identity, log, hard state and
/// snapshot (issue 11, item 5). Damage never stops the open: a damaged file is quarantined and
/// the replica starts from what is valid. When that may have lost persisted state (a vote, or
/// entries it may have acknowledged), or the replica's state vanished while its node says it had
/// one, the report says so and a durable <see cref="RecoveringName"/> marker keeps saying so
/// across crashes until <see cref="EndRecovery"/>: Raft then keeps the replica from voting until
/// it has caught up (see RaftNode.Recovery.cs and docs/design.md, "Amnesia").
/// </summary>
public sealed class ReplicaStorage
{
    /// <summary>The file holding the replica's identity.</summary>
    public const string IdentityName = "replica.id";

    /// <summary>Present while the replica recovers lost state; its content says why.</summary>
    public const string RecoveringName = "recovering";

    private const uint Version = 1;
    private const int IdBytes = 16;
    private static ReadOnlySpan<byte> IdentityMagic => "BRAIDRID"u8;
    private static ReadOnlySpan<byte> RecoveringMagic => "BRAIDREC"u8;

    private readonly IStorageDevice device;

    private ReplicaStorage(IStorageDevice device, SegmentedLog log, ReplicaStorageReport report)
    {
        this.device = device;
        Log = log;
        Report = report;
        HardStates = new HardStateStore(device);
        Snapshots = new SnapshotStore(device);
    }

    public SegmentedLog Log { get; }
    public HardStateStore HardStates { get; }
    public SnapshotStore Snapshots { get; }
    public ReplicaStorageReport Report { get; }

    /// <summary>
    /// Opens the replica kept on <paramref name="device"/>, quarantining damage.
    /// </summary>
    /// <param name="expectExisting">The node knows it held this replica before (its placement
    /// record predates this start): an empty device then means the state vanished.</param>
    /// <param name="random">Seeded source of a new replica's identity.</param>
    /// <param name="snapshotValidator">Checks a stored snapshot's content against its index (null: valid);
    /// one that fails is quarantined like a damaged file (its checksum can be right and its content not).</param>
    public static ReplicaStorage Open(IStorageDevice device, LogOptions? logOptions, Random random, bool expectExisting,
        Func<ulong, ReadOnlyMemory<byte>, string?>? snapshotValidator = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(random);
        var quarantined = new List<QuarantinedFile>();
        var lost = new List<string>();
        bool empty = !device.ListNames().Any(IsStateName);
        string? id = LoadIdentity(device, quarantined, lost);
        if (LoadRecovering(device, quarantined) is { } earlier) lost.Add($"a recovery was under way ({earlier})");
        if (empty && expectExisting) lost.Add("its data vanished although the node held this replica");

        bool hardStateFound = Load(device, HardStateStore.FileName, () => new HardStateStore(device).Load(), quarantined, lost, "hard state");
        bool snapshotFound = Load(device, SnapshotStore.FileName, () => Checked(new SnapshotStore(device).Load(), snapshotValidator), quarantined, lost, "snapshot");
        int before = quarantined.Count;
        SegmentedLog log = SegmentedLog.Open(device, logOptions, quarantined);
        if (snapshotFound && new SnapshotStore(device).Load() is { } stored && stored.Index + 1 < log.FirstIndex)
        {
            // The log starts after the entry the snapshot covers: what lies between is gone.
            quarantined.Add(Quarantine.MoveAside(device, SnapshotStore.FileName, $"snapshot at {stored.Index} leaves a gap before the log's first entry {log.FirstIndex}"));
            device.SyncDirectory();
            lost.Add("its snapshot and log do not meet");
            snapshotFound = false;
        }
        if (quarantined.Count > before) lost.Add("log segments were damaged");
        bool hasLog = log.LastIndex > 0;
        if (!hardStateFound && !quarantined.Any(q => q.Name == HardStateStore.FileName) && (hasLog || snapshotFound))
            lost.Add("its hard state is missing");
        if (log.FirstIndex > 1 && !device.Exists(SnapshotStore.FileName))
        {
            // The entries before the log's first one lived only in the lost snapshot: without them
            // the rest cannot be applied. Start empty and take the leader's snapshot instead.
            log.Reset(1);
            lost.Add("the log starts after a snapshot that is gone");
        }

        if (id is null)
        {
            id = Convert.ToHexString(RandomBytes(random));
            TrySave(device, IdentityName, IdentityMagic, Encoding.ASCII.GetBytes(id)); // else next start
        }

        string? lostState = lost.Count == 0 ? null : string.Join("; ", lost);
        if (lostState is not null && !TrySave(device, RecoveringName, RecoveringMagic, Encoding.UTF8.GetBytes(Truncate(lostState, 1000))))
        {
            // Durable before anything is sent, so a crash during the catch-up keeps the rule; on
            // a full disk the rule holds in memory only (a full disk must not stop the node).
            lostState += "; the recovering marker could not be saved (disk full)";
        }

        return new ReplicaStorage(device, log, new ReplicaStorageReport(id, quarantined, lostState));
    }

    /// <summary>
    /// An fsync of this replica's files failed (<see cref="StorageSyncException"/>): nothing on the
    /// device is trusted any more. Every state file is moved aside (kept for an operator) and the
    /// recovering marker written, so the replica reopens empty, votes for no one and takes its state
    /// from the leader (log or snapshot) like a replica whose data vanished. Throws when the device
    /// cannot even do that (the caller retries later: the partition stays failed meanwhile).
    /// </summary>
    public static IReadOnlyList<QuarantinedFile> Discard(IStorageDevice device, string reason)
    {
        ArgumentNullException.ThrowIfNull(device);
        var moved = device.ListNames().Where(IsStateName).Select(name => Quarantine.MoveAside(device, name, reason)).ToList();
        device.SyncDirectory();
        if (!TrySave(device, RecoveringName, RecoveringMagic, Encoding.UTF8.GetBytes(Truncate($"rebuilt from peers: {reason}", 1000))))
            throw new StorageFullException("no room for the recovering marker of a replica being rebuilt");
        return moved;
    }

    /// <summary>The replica has caught up: forget the marker (durably).</summary>
    public void EndRecovery()
    {
        device.Delete(RecoveringName);
        device.SyncDirectory();
    }

    /// <summary>Files that hold replica state (not temporaries, probes or quarantined files).</summary>
    private static bool IsStateName(string name) =>
        name is HardStateStore.FileName or SnapshotStore.FileName or IdentityName or RecoveringName
        || SegmentFormat.TryParseFileName(name, out _);

    private static string? LoadIdentity(IStorageDevice device, List<QuarantinedFile> quarantined, List<string> lost)
    {
        try
        {
            byte[]? bytes = ChecksummedFile.Load(device, IdentityName, "identity", ChecksummedFile.HeaderBytes + 4, 256);
            if (bytes is null) return null;
            return Encoding.ASCII.GetString(ChecksummedFile.Verify(bytes, IdentityMagic, Version, IdentityName, "identity"));
        }
        catch (LogException e)
        {
            quarantined.Add(Quarantine.MoveAside(device, IdentityName, e.Message));
            lost.Add("its identity file was damaged");
            return null;
        }
    }

    private static string? LoadRecovering(IStorageDevice device, List<QuarantinedFile> quarantined)
    {
        try
        {
            byte[]? bytes = ChecksummedFile.Load(device, RecoveringName, "recovering marker", ChecksummedFile.HeaderBytes + 4, 4096);
            return bytes is null ? null : Encoding.UTF8.GetString(ChecksummedFile.Verify(bytes, RecoveringMagic, Version, RecoveringName, "recovering marker"));
        }
        catch (LogException e)
        {
            // Damaged, but its presence is what counts: still recovering.
            quarantined.Add(Quarantine.MoveAside(device, RecoveringName, e.Message));
            return "marker damaged";
        }
    }

    /// <summary>Loads one small file to check it; damage is quarantined and reported as lost state.</summary>
    /// <summary>Highest index and term a snapshot may claim: Raft bounds terms at 2^63-1, and an index
    /// near 2^64 would wrap the log's next index.</summary>
    private const ulong SnapshotBoundMax = long.MaxValue;

    /// <summary>A snapshot whose checksum holds but whose claims cannot be true is damage all the same.</summary>
    private static StoredSnapshot? Checked(StoredSnapshot? snapshot, Func<ulong, ReadOnlyMemory<byte>, string?>? validator)
    {
        if (snapshot is null) return null;
        string? problem = snapshot.Index > SnapshotBoundMax || snapshot.Term > SnapshotBoundMax
            ? $"index {snapshot.Index} or term {snapshot.Term} out of bounds"
            : validator?.Invoke(snapshot.Index, snapshot.Data);
        return problem is null ? snapshot : throw new LogCorruptionException(SnapshotStore.FileName, 0, snapshot.Index, "snapshot content: " + problem);
    }

    private static bool Load(IStorageDevice device, string name, Func<object?> load, List<QuarantinedFile> quarantined, List<string> lost, string what)
    {
        try
        {
            return load() is not null && device.Exists(name);
        }
        catch (LogException e)
        {
            quarantined.Add(Quarantine.MoveAside(device, name, e.Message));
            device.SyncDirectory();
            lost.Add($"its {what} was damaged");
            return false;
        }
    }

    private static bool TrySave(IStorageDevice device, string name, ReadOnlySpan<byte> magic, byte[] body)
    {
        byte[] bytes = ChecksummedFile.Start(magic, Version, ChecksummedFile.HeaderBytes + body.Length + 4);
        body.CopyTo(bytes.AsSpan(ChecksummedFile.HeaderBytes));
        try
        {
            ChecksummedFile.Replace(device, name, name + ".tmp", bytes);
            return true;
        }
        catch (StorageFullException)
        {
            return false;
        }
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[IdBytes];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];
}
