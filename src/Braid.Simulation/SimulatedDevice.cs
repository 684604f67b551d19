using Braid.Core.Log;

namespace Braid.Simulation;

/// <summary>What survives a <see cref="SimulatedDevice.Crash"/> of the writes made since the last fsync.</summary>
public enum SimulatedCrash
{
    /// <summary>Every unsynced write and name change is lost.</summary>
    LoseUnsynced,

    /// <summary>
    /// Per file, a seeded-random prefix of the unsynced writes survives, the last of them
    /// possibly torn; likewise a random prefix of unsynced name changes. The realistic default.
    /// </summary>
    KeepRandomPrefix,

    /// <summary>All unsynced writes survive except each file's last one, which is torn.</summary>
    TearLastWrite,
}

/// <summary>
/// An in-memory, seeded <see cref="IStorageDevice"/> that models a page cache, for tests and
/// the cluster simulator (DESIGN.md: TigerBeetle's VOPR and FoundationDB's simulation). Writes
/// are volatile until their file is synced; creates, deletes and renames until the directory is
/// synced. <see cref="Crash"/> drops what was volatile (or keeps a random prefix and tears the
/// last write); <see cref="FlipBit"/> injects media corruption. Same seed, same outcome.
/// </summary>
/// <remarks>Single-threaded, like the simulator that drives it.</remarks>
public sealed partial class SimulatedDevice : IStorageDevice
{
    private readonly Random random;
    private readonly List<DirectoryChange> pendingChanges = [];
    private Dictionary<string, Inode> names = new(StringComparer.Ordinal);
    private Dictionary<string, Inode> durableNames = new(StringComparer.Ordinal);
    private int generation;
    private int nextInodeId;
    private int failingSyncs;

    /// <summary>Creates an empty device whose crash outcomes are drawn from <paramref name="seed"/>.</summary>
    public SimulatedDevice(int seed)
    {
        random = new Random(seed);
    }

    /// <summary>Number of file fsyncs so far (group commit is visible here).</summary>
    public long SyncCount { get; private set; }

    /// <summary>Number of directory fsyncs so far.</summary>
    public long DirectorySyncCount { get; private set; }

    /// <summary>Number of crashes so far.</summary>
    public int CrashCount { get; private set; }

    /// <inheritdoc />
    public IReadOnlyList<string> ListNames()
    {
        var list = names.Keys.ToList();
        list.Sort(StringComparer.Ordinal);
        return list;
    }

    /// <inheritdoc />
    public bool Exists(string name) => names.ContainsKey(name);

    /// <inheritdoc />
    public IStorageHandle Open(string name, bool create)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!names.TryGetValue(name, out Inode? inode))
        {
            if (!create)
            {
                throw new FileNotFoundException($"simulated file {name} does not exist", name);
            }

            inode = new Inode(nextInodeId++);
            Change(new DirectoryChange(DirectoryChangeKind.Create, name, null, inode));
        }

        return new Handle(this, inode, generation);
    }

    /// <inheritdoc />
    public void Delete(string name)
    {
        if (names.ContainsKey(name))
        {
            Change(new DirectoryChange(DirectoryChangeKind.Delete, name, null, null));
        }
    }

    /// <inheritdoc />
    public void Rename(string sourceName, string destinationName)
    {
        if (!names.ContainsKey(sourceName))
        {
            throw new FileNotFoundException($"simulated file {sourceName} does not exist", sourceName);
        }

        Change(new DirectoryChange(DirectoryChangeKind.Rename, sourceName, destinationName, null));
    }

    /// <inheritdoc />
    public void SyncDirectory()
    {
        DirectorySyncCount++;
        CommitNames();
    }

    private void CommitNames()
    {
        durableNames = new Dictionary<string, Inode>(names, StringComparer.Ordinal);
        pendingChanges.Clear();
    }

    /// <summary>
    /// Simulates a power loss: every open handle becomes unusable, and each file and the
    /// directory fall back to their durable state plus whatever <paramref name="mode"/> keeps of
    /// the unsynced changes.
    /// </summary>
    public void Crash(SimulatedCrash mode = SimulatedCrash.KeepRandomPrefix)
    {
        CrashCount++;
        generation++;
        foreach (Inode inode in ReachableInodes())
        {
            inode.Crash(random, mode);
        }

        int kept = mode switch
        {
            SimulatedCrash.LoseUnsynced => 0,
            SimulatedCrash.KeepRandomPrefix => random.Next(pendingChanges.Count + 1),
            _ => pendingChanges.Count,
        };
        names = new Dictionary<string, Inode>(durableNames, StringComparer.Ordinal);
        foreach (DirectoryChange change in pendingChanges.Take(kept))
        {
            change.ApplyTo(names);
        }

        CommitNames();
    }

    /// <summary>Flips one bit of a file, durably: media corruption that no fsync prevents.</summary>
    public void FlipBit(string name, long offset, int bit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bit, 7);
        names[name].FlipBit(offset, (byte)(1 << bit));
    }

    /// <summary>The current bytes of a file (unsynced writes included), for tests.</summary>
    public byte[] ContentsOf(string name) => names[name].Current.ToArray();

    /// <summary>Creates or replaces a file with <paramref name="contents"/>, durably (name included): plants test files.</summary>
    public void WriteDurably(string name, ReadOnlySpan<byte> contents)
    {
        using (IStorageHandle handle = Open(name, create: true))
        {
            handle.SetLength(0);
            handle.WriteAt(0, contents);
            handle.Sync();
        }

        SyncDirectory();
    }

    /// <summary>Makes the next <paramref name="count"/> file syncs throw, as a failing disk would.</summary>
    public void FailNextSyncs(int count) => failingSyncs = count;

    /// <summary>
    /// Bytes the files may still grow by (null: unlimited). A write or length change that would
    /// grow them further raises <see cref="StorageFullException"/> (ENOSPC); a write keeps the
    /// prefix that fits, as a real short write does. Truncation gives space back, deletion does
    /// not (set this again to free space). Syncs never fail for space.
    /// </summary>
    public long? FreeBytes { get; set; }

    /// <summary>How many bytes of a write growing a file by <paramref name="growth"/> fit; charges them.</summary>
    private long Allocate(long growth)
    {
        if (FreeBytes is not { } free || growth <= 0)
        {
            return growth;
        }

        long granted = Math.Min(free, growth);
        FreeBytes = free - granted;
        return granted;
    }

    private void Release(long bytes)
    {
        if (FreeBytes is { } free && bytes > 0)
        {
            FreeBytes = free + bytes;
        }
    }

    private void Change(DirectoryChange change)
    {
        change.ApplyTo(names);
        pendingChanges.Add(change);
    }

    /// <summary>Every inode a crash can leave behind, in creation order so the seeded draws repeat.</summary>
    private IEnumerable<Inode> ReachableInodes()
    {
        var all = new Dictionary<int, Inode>();
        foreach (Inode inode in names.Values.Concat(durableNames.Values))
        {
            all[inode.Id] = inode;
        }

        foreach (DirectoryChange change in pendingChanges)
        {
            if (change.Created is not null)
            {
                all[change.Created.Id] = change.Created;
            }
        }

        return all.OrderBy(pair => pair.Key).Select(pair => pair.Value).ToList();
    }

    private void OnSync(int handleGeneration)
    {
        CheckGeneration(handleGeneration);
        if (failingSyncs > 0)
        {
            failingSyncs--;
            throw new StorageSyncException("simulated fsync failure");
        }

        SyncCount++;
    }

    private void CheckGeneration(int handleGeneration)
    {
        if (handleGeneration != generation)
        {
            throw new IOException("simulated handle opened before a crash");
        }
    }

    private enum DirectoryChangeKind
    {
        Create,
        Delete,
        Rename,
    }

    private sealed record DirectoryChange(DirectoryChangeKind Kind, string Name, string? Target, Inode? Created)
    {
        public void ApplyTo(Dictionary<string, Inode> directory)
        {
            switch (Kind)
            {
                case DirectoryChangeKind.Create:
                    directory[Name] = Created!;
                    break;
                case DirectoryChangeKind.Delete:
                    directory.Remove(Name);
                    break;
                case DirectoryChangeKind.Rename when directory.Remove(Name, out Inode? moved):
                    directory[Target!] = moved;
                    break;
            }
        }
    }
}
