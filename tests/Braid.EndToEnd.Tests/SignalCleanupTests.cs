using System.Diagnostics;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// A user who stops a long command (Ctrl-C, or SIGTERM from a supervisor) must not be left with
/// orphan node processes: the command's token is cancelled, it takes down the cluster it started
/// and exits 130. Before, the CLI died at once and the demo's six nodes ran on.
/// </summary>
public sealed class SignalCleanupTests
{
    [Fact(Timeout = 180_000)]
    public async Task SIGTERM_to_a_running_demo_stops_its_cluster_and_exits_130()
    {
        var dir = Path.Combine(Path.GetTempPath(), "braid-signal-" + Guid.NewGuid().ToString("N"));
        var port = BraidProcess.FreePortBlock(8);
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { BraidProcess.Dll, "demo", "--records", "1000000", "--dir", dir, "--base-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            info.ArgumentList.Add(a);
        using var demo = Process.Start(info)!;
        var stdout = new System.Text.StringBuilder();
        var loading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        demo.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            if (e.Data.Contains("== loading", StringComparison.Ordinal)) loading.TrySetResult();
        };
        demo.BeginOutputReadLine();
        var stderr = demo.StandardError.ReadToEndAsync();
        try
        {
            await loading.Task.WaitAsync(TimeSpan.FromSeconds(90));
            Assert.NotEmpty(BraidProcess.ProcessesMentioning(dir)); // the demo's nodes run

            Braid.Cli.Cluster.ProcessControl.Signal(demo.Id, Braid.Cli.Cluster.ProcessControl.SigTerm);
            await demo.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(130, demo.ExitCode);
            Assert.Contains("cancelled", await stderr);
            Assert.Empty(BraidProcess.ProcessesMentioning(dir)); // no orphan node
        }
        finally
        {
            if (!demo.HasExited) demo.Kill(entireProcessTree: true);
            foreach (var pid in BraidProcess.ProcessesMentioning(dir)) try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { }
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
