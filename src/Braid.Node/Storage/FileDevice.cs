using Braid.Core.Log;
using Microsoft.Win32.SafeHandles;

namespace Braid.Node.Storage;

/// <summary>
/// The real-file <see cref="IStorageDevice"/>: one folder per partition replica, positional I/O
/// through <see cref="RandomAccess"/> (no FileStream buffering, so a write reaches the page cache
/// at once and a sync has nothing of ours left to flush), fsync per file and of the folder.
/// </summary>
/// <remarks>
/// File sync uses fdatasync on Linux (what etcd's WAL uses: it persists the data and the size,
/// skipping only timestamps) and <see cref="RandomAccess.FlushToDisk"/> (fsync / FlushFileBuffers)
/// elsewhere. Folder sync: .NET refuses to open a directory as a file handle on Unix, so
/// <see cref="DirectorySync"/> calls open/fsync/close from libc; on Windows it is a no-op because
/// NTFS journals name changes and offers no portable folder flush.
/// </remarks>
public sealed class FileDevice : IStorageDevice
{
    /// <summary>Opens (creating it if needed) the folder <paramref name="directory"/>.</summary>
    /// <param name="synced">Told how long each successful file or folder sync took (the fsync latency metric).</param>
    public FileDevice(string directory, Action<TimeSpan>? synced = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        DirectoryPath = Path.GetFullPath(directory);
        Directory.CreateDirectory(DirectoryPath);
        this.synced = synced;
    }

    private readonly Action<TimeSpan>? synced;

    /// <summary>The absolute path of the folder.</summary>
    public string DirectoryPath { get; }

    /// <summary>Number of file syncs so far (benchmarks report fsyncs per second from it).</summary>
    public long SyncCount => Interlocked.Read(ref syncCount);

    private long syncCount;

    /// <inheritdoc />
    public IReadOnlyList<string> ListNames() =>
        Directory.EnumerateFiles(DirectoryPath).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToList();

    /// <inheritdoc />
    public bool Exists(string name) => File.Exists(PathOf(name));

    /// <inheritdoc />
    public IStorageHandle Open(string name, bool create)
    {
        SafeFileHandle handle = WhenFull(() => File.OpenHandle(
            PathOf(name),
            create ? FileMode.OpenOrCreate : FileMode.Open,
            FileAccess.ReadWrite,
            FileShare.Read));
        return new Handle(this, handle);
    }

    /// <summary>
    /// True for "no space left" from the platform: errno ENOSPC (28) or EDQUOT (122, a quota is
    /// a full disk to this process) on Unix, where .NET puts the errno in HResult; ERROR_DISK_FULL
    /// or ERROR_HANDLE_DISK_FULL on Windows.
    /// </summary>
    public static bool IsFull(IOException e) =>
        e is StorageFullException
        || (OperatingSystem.IsWindows() ? (e.HResult & 0xFFFF) is 112 or 39 : e.HResult is 28 or 122);

    /// <summary>Runs <paramref name="io"/>, turning "no space left" into <see cref="StorageFullException"/>
    /// so the log can tell it from a failing disk.</summary>
    private static T WhenFull<T>(Func<T> io)
    {
        try
        {
            return io();
        }
        catch (IOException e) when (IsFull(e) && e is not StorageFullException)
        {
            throw new StorageFullException(e.Message, e);
        }
    }

    /// <inheritdoc />
    public void Delete(string name) => File.Delete(PathOf(name));

    /// <inheritdoc />
    public void Rename(string sourceName, string destinationName) =>
        WhenFull(() => { File.Move(PathOf(sourceName), PathOf(destinationName), overwrite: true); return 0; }); // a directory can need a new block

    /// <summary>Runs one sync and times it; any failure becomes a <see cref="StorageSyncException"/>
    /// (never retried: see there).</summary>
    private static TimeSpan Timed(Action sync, string what)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            sync();
        }
        catch (IOException e) when (e is not StorageSyncException)
        {
            throw new StorageSyncException($"{what} failed: {e.Message}", e);
        }
        return System.Diagnostics.Stopwatch.GetElapsedTime(started);
    }

    /// <inheritdoc />
    public void SyncDirectory()
    {
        var elapsed = Timed(() => DirectorySync.Sync(DirectoryPath), $"fsync of {DirectoryPath}");
        synced?.Invoke(elapsed);
    }

    private string PathOf(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.IndexOfAny(['/', '\\']) >= 0 || name is "." or "..")
        {
            throw new ArgumentException($"'{name}' is not a plain file name", nameof(name));
        }

        return Path.Combine(DirectoryPath, name);
    }

    private sealed class Handle(FileDevice owner, SafeFileHandle handle) : IStorageHandle
    {
        public long Length => RandomAccess.GetLength(handle);

        public int ReadAt(long offset, Span<byte> destination) => RandomAccess.Read(handle, destination, offset);

        public void WriteAt(long offset, ReadOnlySpan<byte> source)
        {
            try
            {
                RandomAccess.Write(handle, source, offset);
            }
            catch (IOException e) when (IsFull(e))
            {
                throw new StorageFullException(e.Message, e);
            }
        }

        public void SetLength(long length) => WhenFull(() => { RandomAccess.SetLength(handle, length); return 0; });

        public void Sync()
        {
            var elapsed = Timed(() => DirectorySync.DataSync(handle), "fsync");
            Interlocked.Increment(ref owner.syncCount);
            owner.synced?.Invoke(elapsed);
        }

        public void Dispose() => handle.Dispose();
    }
}
