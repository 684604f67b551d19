using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Braid.Cli.Cluster;

/// <summary>Signals and process identity on Linux (via /proc), used to control only our own nodes.</summary>
internal static partial class ProcessControl
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    public static bool Signal(int pid, int signal) => SysKill(pid, signal) == 0;

    /// <summary>The process start time in clock ticks since boot (field 22 of /proc/PID/stat),
    /// which with the pid identifies one process life: pids are reused, start times are not.</summary>
    public static long? StartTime(int pid)
    {
        var stat = ReadStat(pid);
        if (stat is null) return null;
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.TryParse(fields[19], out var ticks) ? ticks : null;
    }

    /// <summary>R/S/D = running, T = stopped (paused), Z = zombie, null = gone.</summary>
    public static char? State(int pid)
    {
        var stat = ReadStat(pid);
        return stat is null ? null : stat[stat.LastIndexOf(')') + 2];
    }

    public static bool IsAlive(int pid, long startTime) =>
        StartTime(pid) == startTime && State(pid) is not (null or 'Z' or 'X');

    /// <summary>Resident set size in bytes (VmRSS), or null when the process is gone.</summary>
    public static long? RssBytes(int pid) => ReadKilobytes($"/proc/{pid}/status", "VmRSS:");

    /// <summary>Proportional set size in bytes (Pss in smaps_rollup): shared pages such as the .NET
    /// framework's files are divided among the processes that map them.</summary>
    public static long? PssBytes(int pid) => ReadKilobytes($"/proc/{pid}/smaps_rollup", "Pss:");

    /// <summary>The "Key: N kB" line of a /proc file, in bytes.</summary>
    private static long? ReadKilobytes(string file, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
                if (line.StartsWith(key, StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>User + system CPU time consumed so far, in clock ticks (usually 100 per second).</summary>
    public static long? CpuTicks(int pid)
    {
        var stat = ReadStat(pid);
        if (stat is null) return null;
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11]) + long.Parse(fields[12]);
    }

    /// <summary>Waits until the process is gone (reaping it if it is our child).</summary>
    public static bool WaitForExit(int pid, long startTime, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (!IsAlive(pid, startTime)) return true;
            Thread.Sleep(20);
        }
        return !IsAlive(pid, startTime);
    }

    private static string? ReadStat(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
