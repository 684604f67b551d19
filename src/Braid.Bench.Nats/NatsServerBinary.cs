using System.Diagnostics;

namespace Braid.Bench.Nats;

/// <summary>Finds nats-server, installing Debian's package through the project's own script when it is missing.</summary>
public static class NatsServerBinary
{
    public const string InstallScript = "scripts/install-nats.sh";

    // Debian installs it in /usr/sbin, which is not on an ordinary user's PATH.
    private static readonly string[] ExtraFolders = ["/usr/sbin", "/usr/local/sbin", "/usr/local/bin", "/usr/bin"];

    /// <summary>The path of nats-server, or null.</summary>
    public static string? Find()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var folder in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Concat(ExtraFolders))
        {
            var candidate = Path.Combine(folder, "nats-server");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>The path of nats-server; when it is missing, runs <see cref="InstallScript"/> (found
    /// above the current folder or the program's) if <paramref name="install"/>, else explains how.</summary>
    public static async Task<string> FindOrInstallAsync(bool install, TextWriter progress, CancellationToken ct)
    {
        if (Find() is { } found) return found;
        var script = FindScript();
        var how = script is null
            ? "install it as root: apt-get update && apt-get install -y nats-server"
            : $"run {script} as root (it does apt-get update && apt-get install -y nats-server)";
        if (!install) throw new NatsBenchException($"nats-server is not installed: {how}, or drop --no-install");
        if (script is null) throw new NatsBenchException($"nats-server is not installed and {InstallScript} was not found: {how}");
        progress.WriteLine($"nats-server is missing: running {script}");
        var start = new ProcessStartInfo("bash", [script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start) ?? throw new NatsBenchException($"could not start {script}");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct).ConfigureAwait(false);
        var error = (await stderr.ConfigureAwait(false)).Trim();
        await stdout.ConfigureAwait(false);
        if (process.ExitCode != 0)
            throw new NatsBenchException($"{script} failed (exit {process.ExitCode}): {LastLines(error, 5)}");
        return Find() ?? throw new NatsBenchException($"{script} ran, but nats-server is still not found: {how}");
    }

    /// <summary>From the first line of <c>nats-server --version</c>: "nats-server v2.9.10".</summary>
    public static async Task<string> VersionAsync(string binary, CancellationToken ct)
    {
        var start = new ProcessStartInfo(binary, ["--version"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start) ?? throw new NatsBenchException($"could not start {binary}");
        var text = await process.StandardOutput.ReadToEndAsync(ct).ConfigureAwait(false);
        await process.WaitForExitAsync(ct).ConfigureAwait(false);
        var first = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        return first is null ? "nats-server (version unknown)" : first.Replace("nats-server:", "nats-server", StringComparison.Ordinal);
    }

    private static string? FindScript()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            {
                var candidate = Path.Combine(folder.FullName, InstallScript);
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }

    internal static string LastLines(string text, int count) =>
        string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(count));
}
