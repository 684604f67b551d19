using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Braid.Node.Storage;

/// <summary>
/// The two syncs .NET does not offer directly: fsync of a folder (so creates, deletes and
/// renames survive a power loss; POSIX gives no other way) and fdatasync of a file.
/// </summary>
internal static class DirectorySync
{
    private const int ReadOnly = 0; // O_RDONLY: enough to fsync a directory, same value on every Linux and macOS

    /// <summary>fsync(2) of the folder at <paramref name="path"/>; a no-op on Windows.</summary>
    public static void Sync(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        int fd = NativeMethods.open(path, ReadOnly);
        if (fd < 0)
        {
            throw new IOException($"open({path}) for fsync failed", new Win32Exception(Marshal.GetLastPInvokeError()));
        }

        try
        {
            if (NativeMethods.fsync(fd) != 0)
            {
                throw new IOException($"fsync of folder {path} failed", new Win32Exception(Marshal.GetLastPInvokeError()));
            }
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }

    /// <summary>fdatasync(2) on Linux, else a full flush to disk.</summary>
    public static void DataSync(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }

        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (NativeMethods.fdatasync((int)handle.DangerousGetHandle()) != 0)
            {
                throw new IOException("fdatasync failed", new Win32Exception(Marshal.GetLastPInvokeError()));
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static class NativeMethods
    {
#pragma warning disable SYSLIB1054 // LibraryImport would need AllowUnsafeBlocks in the host project
        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int fdatasync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);
#pragma warning restore SYSLIB1054
    }
}
