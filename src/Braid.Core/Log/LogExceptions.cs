namespace Braid.Core.Log;

/// <summary>
/// Base of every error the log raises about what it finds on the device (issue 3: opening
/// random bytes, truncated, empty or foreign files raises only this family). Callers catch this
/// one type to decide between "repair from a peer" and "stop".
/// </summary>
public abstract class LogException : Exception
{
    /// <summary>Creates the error with a message naming what was found where.</summary>
    protected LogException(string message) : base(message)
    {
    }
}

/// <summary>
/// Damaged content before the tail: a checksum mismatch, an out-of-order index or a missing
/// segment. Never repaired silently, because the entries involved may have been acknowledged;
/// replication repairs them from a healthy replica (issue 3, "Recovery on open").
/// </summary>
public sealed class LogCorruptionException : LogException
{
    /// <summary>Creates the error for the entry <paramref name="index"/> found at <paramref name="fileName"/>:<paramref name="offset"/>.</summary>
    public LogCorruptionException(string fileName, long offset, ulong index, string reason)
        : base($"Log corruption in {fileName} at offset {offset} (entry {index}): {reason}")
    {
        FileName = fileName;
        Offset = offset;
        Index = index;
    }

    /// <summary>The file holding the damaged bytes.</summary>
    public string FileName { get; }

    /// <summary>Byte offset of the damaged frame (or header) within <see cref="FileName"/>.</summary>
    public long Offset { get; }

    /// <summary>The entry index expected at <see cref="Offset"/> (0 for file-level damage).</summary>
    public ulong Index { get; }
}

/// <summary>
/// A file that is not a Braid log file of a supported version (wrong magic, unknown version,
/// impossible header). Kept apart from corruption so an operator sees "wrong directory" rather
/// than "disk failing".
/// </summary>
public sealed class LogFormatException : LogException
{
    /// <summary>Creates the error for <paramref name="fileName"/>.</summary>
    public LogFormatException(string fileName, string reason)
        : base($"Not a supported Braid log file: {fileName}: {reason}")
    {
        FileName = fileName;
    }

    /// <summary>The offending file.</summary>
    public string FileName { get; }
}

/// <summary>
/// The log saw a device failure during a write or sync and refuses further use: after a failed
/// fsync the page cache may have dropped the dirty pages ("fsyncgate", PostgreSQL 2018), so the
/// only safe continuation is to reopen and recover from what is really on the device.
/// </summary>
public sealed class LogFailedException : LogException
{
    /// <summary>Creates the error wrapping the device failure that poisoned the log.</summary>
    public LogFailedException(string message, Exception? inner)
        : base(inner is null ? message : $"{message}: {inner.Message}")
    {
        Failure = inner;
    }

    /// <summary>The device error that caused the failure, if any.</summary>
    public Exception? Failure { get; }
}

/// <summary>
/// The device is full (<see cref="StorageFullException"/>): the entry was not appended and the
/// log is unchanged and still usable, so the caller refuses the write, raises its NOSPACE alarm
/// and tries again after a backoff (etcd's NOSPACE alarm). Not a failure: no fsync was involved.
/// </summary>
public sealed class LogFullException : LogException
{
    /// <summary>Creates the error wrapping the device's ENOSPC.</summary>
    public LogFullException(string what, Exception inner)
        : base($"{what}: no space left on the device ({inner.Message})")
    {
    }
}
