using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Braid.EndToEnd.Tests;

/// <summary>The outcome of one `braid` command run by a test.</summary>
internal sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>Runs the real `braid` executable (built next to the tests) as a child process, with a timeout.</summary>
internal static class BraidProcess
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "braid.dll");

    public static Task<CommandResult> RunAsync(TimeSpan timeout, params string[] args) => ExternalProcess.RunAsync("dotnet", timeout, [Dll, .. args]);

    /// <summary>A block of consecutive free loopback ports, so tests never collide with each other or a dev cluster.</summary>
    public static int FreePortBlock(int count)
    {
        var random = new Random();
        for (var attempt = 0; attempt < 200; attempt++)
        {
            // Below Linux's ephemeral range (32768-60999): a port found free there can be taken by
            // an outgoing connection before the node binds it (a cluster up failed so, once).
            var start = random.Next(20_000, 32_700 - count);
            if (Enumerable.Range(start, count).All(IsFree)) return start;
        }
        throw new InvalidOperationException("no free port block found");
    }

    private static bool IsFree(int port)
    {
        try
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Pids of live processes whose command line mentions <paramref name="marker"/> (e.g. a test's own folder).</summary>
    public static List<int> ProcessesMentioning(string marker)
    {
        var found = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var state = stat[stat.LastIndexOf(')') + 2];
                if (cmdline.Contains(marker, StringComparison.Ordinal) && state != 'Z') found.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }
}
