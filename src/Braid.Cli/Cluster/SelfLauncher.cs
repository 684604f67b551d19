using System.Diagnostics;
using System.Reflection;

namespace Braid.Cli.Cluster;

/// <summary>Starts `braid` subcommands as new processes, the same way this process was started
/// (the apphost directly, or <c>dotnet braid.dll</c>).</summary>
internal static class SelfLauncher
{
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var assembly = Assembly.GetEntryAssembly()?.Location ?? throw new CliException("cannot locate the braid assembly");
        var info = new ProcessStartInfo { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            info.FileName = host;
            info.ArgumentList.Add(assembly);
        }
        else
        {
            info.FileName = host;
        }
        foreach (var a in arguments) info.ArgumentList.Add(a);
        TuneRuntime(info);
        return info;
    }

    /// <summary>The runtime knob every braid process should start with, unless the user set it.</summary>
    public const string CallCountingDelay = "DOTNET_TC_CallCountingDelayMs";

    /// <summary>
    /// Tiered compilation waits until no method has been compiled for 100 ms before it starts
    /// counting calls towards optimized code; a node under load keeps compiling new methods for
    /// seconds, so its hot paths (the ingest stream, batch validation, the partition loop) ran
    /// unoptimized for most of a short run: <c>perf</c> showed them still "QuickJitted" 10 s in.
    /// With no delay they are optimized after 30 calls; measured with `braid bench compare` in one
    /// sitting, the 64-records-per-batch row went from 246-299k to 455-570k records/s (docs/results.md).
    /// The runtime reads this knob from the environment only, so the launcher sets it for the
    /// processes it starts (and the `braid` script for itself).
    /// </summary>
    private static void TuneRuntime(ProcessStartInfo info)
    {
        if (Environment.GetEnvironmentVariable(CallCountingDelay) is null) info.Environment[CallCountingDelay] = "0";
    }

    /// <summary>
    /// A detached node process: its own session (so a terminal's Ctrl+C reaches only the command
    /// that owns it), output appended to <paramref name="logFile"/>, no stdin. `setsid` execs in
    /// place (the shell is not a group leader), so the pid we get is the node's own.
    /// </summary>
    /// <param name="networkNamespace">Run inside this network namespace (`ip netns exec` also execs in place).</param>
    public static Process StartDetached(IEnumerable<string> arguments, string logFile, string? networkNamespace = null)
    {
        var inner = StartInfo(arguments);
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(networkNamespace is null
            ? "exec setsid \"$0\" \"$@\" >>\"$BRAID_NODE_LOG\" 2>&1 </dev/null"
            : "exec ip netns exec \"$BRAID_NETNS\" setsid \"$0\" \"$@\" >>\"$BRAID_NODE_LOG\" 2>&1 </dev/null");
        if (networkNamespace is not null) info.Environment["BRAID_NETNS"] = networkNamespace;
        info.ArgumentList.Add(inner.FileName);
        foreach (var a in inner.ArgumentList) info.ArgumentList.Add(a);
        info.Environment["BRAID_NODE_LOG"] = logFile;
        info.Environment["DOTNET_gcServer"] = "0";
        TuneRuntime(info);
        return Process.Start(info) ?? throw new CliException($"could not start {inner.FileName}");
    }
}
