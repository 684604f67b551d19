namespace Braid.Core.Log;

/// <summary>
/// One directory of files, as the log sees it: the seam between the pure core and a disk
/// (DESIGN.md, "storage through a small device interface"). The host implements it with real
/// files (<c>Braid.Node.Storage.FileDevice</c>), the simulator with <c>Braid.Simulation.SimulatedDevice</c>.
/// Synchronous on purpose: the log's caller decides which thread waits for the disk, and a
/// synchronous contract is what a deterministic simulator can honour exactly.
/// </summary>
/// <remarks>
/// Durability contract (POSIX, the weakest common model): data written through a handle is
/// volatile until <see cref="IStorageHandle.Sync"/>; creating, deleting and renaming a name is
/// volatile until <see cref="SyncDirectory"/>. Names are flat (no separators).
/// </remarks>
public interface IStorageDevice
{
    /// <summary>The names of the files currently in the directory, in no particular order.</summary>
    IReadOnlyList<string> ListNames();

    /// <summary>True when <paramref name="name"/> currently exists.</summary>
    bool Exists(string name);

    /// <summary>
    /// Opens <paramref name="name"/> for positional reads and writes, creating it empty when
    /// <paramref name="create"/> is true and it does not exist. A new name is durable only after
    /// <see cref="SyncDirectory"/>.
    /// </summary>
    IStorageHandle Open(string name, bool create);

    /// <summary>Removes <paramref name="name"/>; a no-op when absent. Durable after <see cref="SyncDirectory"/>.</summary>
    void Delete(string name);

    /// <summary>
    /// Atomically renames <paramref name="sourceName"/> to <paramref name="destinationName"/>,
    /// replacing it if present (rename(2)): a crash leaves either the old or the new file under
    /// <paramref name="destinationName"/>, never a mix. Durable after <see cref="SyncDirectory"/>.
    /// </summary>
    void Rename(string sourceName, string destinationName);

    /// <summary>Makes every create, delete and rename so far durable (fsync of the directory).</summary>
    void SyncDirectory();
}

/// <summary>An open file with positional I/O; not thread-safe.</summary>
public interface IStorageHandle : IDisposable
{
    /// <summary>The current length in bytes, unsynced writes included.</summary>
    long Length { get; }

    /// <summary>
    /// Reads up to <c>destination.Length</c> bytes at <paramref name="offset"/>; returns how many
    /// were read, fewer only at the end of the file. Sees unsynced writes (the page cache).
    /// </summary>
    int ReadAt(long offset, Span<byte> destination);

    /// <summary>Writes <paramref name="source"/> at <paramref name="offset"/>, extending the file as needed. Volatile until <see cref="Sync"/>.</summary>
    void WriteAt(long offset, ReadOnlySpan<byte> source);

    /// <summary>Truncates or extends (with zeros) the file to <paramref name="length"/> bytes. Volatile until <see cref="Sync"/>.</summary>
    void SetLength(long length);

    /// <summary>Makes every write and length change of this file so far durable (fsync).</summary>
    void Sync();
}

/// <summary>
/// The device has no space left (ENOSPC, or Windows' disk-full errors) for a write, a length
/// change or a new file. Unlike other device errors it leaves what was on the device before the
/// call intact (at most a cut-short write past the end, which the log cuts away), so the log can
/// refuse the write, raise a NOSPACE alarm and try again later (etcd's NOSPACE alarm). Never
/// raised by a sync: an fsync error of any kind fails the log ("fsyncgate").
/// </summary>
public sealed class StorageFullException : IOException
{
    /// <summary>Creates the error; <paramref name="inner"/> is the platform's error, if any.</summary>
    public StorageFullException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>
/// An fsync (of a file or of the directory) failed. What the device holds is then unknown: Linux
/// may drop the dirty pages it could not write and mark them clean, so a retried fsync succeeds
/// and a read returns data that is not on the disk (PostgreSQL's "fsyncgate", 2018; Rebello et
/// al., "Can Applications Recover from fsync Failures?", USENIX ATC 2020). Never retried: the
/// replica that sees it is failed and rebuilt from its peers.
/// </summary>
public sealed class StorageSyncException : IOException
{
    /// <summary>Creates the error; <paramref name="inner"/> is the platform's error, if any.</summary>
    public StorageSyncException(string message, Exception? inner = null) : base(message, inner)
    {
    }

    /// <summary>True when <paramref name="e"/> or an exception inside it is a failed sync.</summary>
    public static bool IsIn(Exception? e)
    {
        for (var depth = 0; e is not null && depth < 16; depth++, e = e.InnerException)
        {
            if (e is StorageSyncException) return true;
            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(IsIn)) return true;
            if (e is LogFailedException { Failure: { } failure } && IsIn(failure)) return true;
        }
        return false;
    }
}
