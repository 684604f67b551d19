using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// A full disk, as etcd's NOSPACE alarm (issue 11): with a ballast file filling every node's data
/// disk mid-load, the nodes stay up, the load stalls with a clear message and completes by
/// itself, exactly once, when the ballast is removed. Needs root (each node's data on its own
/// size-limited tmpfs); CI runs as root.
/// </summary>
public sealed class FullDiskTests
{
    [Fact(Timeout = 420_000)]
    public async Task A_load_stalls_on_full_disks_and_completes_exactly_once_when_space_returns()
    {
        Assert.True(Environment.UserName == "root", "needs root for the tmpfs data folders; CI runs as root");
        var work = LoadResumeTests.NewFolder();
        try
        {
            var data = Path.Combine(work, "data");
            var generated = await LoadResumeTests.GenerateAsync(data, 200_000);
            await using var cluster = await LocalCluster.UpAsync("mesh3", 3, false, "--data-tmpfs-mb", "64");
            var checkpoint = Path.Combine(work, "checkpoint.json");
            var output = new StringBuilder();
            using var load = Start(output, "load", "airquality", data, "--dir", cluster.Directory, "--checkpoint", checkpoint, "--batch-records", "10", "--max-buffer-mb", "1");
            await LoadResumeTests.WaitForCheckpointProgressAsync(load, checkpoint, TimeSpan.FromSeconds(90));
            Assert.False(load.HasExited, "the load finished before the disks could fill");

            var ballasts = new[] { "A", "B", "C" }.Select(n => Path.Combine(cluster.Directory, n, "ballast")).ToList();
            foreach (var ballast in ballasts) Fill(ballast);
            var clock = Stopwatch.StartNew();
            while (!Text(output).Contains("NOSPACE alarm", StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(60) && !load.HasExited)
                await Task.Delay(250);
            Assert.Contains("NOSPACE alarm", Text(output)); // the load says why it stalls
            Assert.False(load.HasExited, $"the load gave up on full disks:\n{Text(output)}");
            var status = await cluster.RunAsync("cluster", "status");
            Assert.True(status.ExitCode == 0, $"a node went down on a full disk:\n{status}");

            foreach (var ballast in ballasts) File.Delete(ballast);
            await load.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
            Assert.True(load.ExitCode == 0, $"load failed:\n{Text(output)}");
            var count = await cluster.RunAsync("count", "airquality");
            Assert.True(count.ExitCode == 0, count.ToString());
            Assert.Equal(generated.Values.Sum().ToString(CultureInfo.InvariantCulture), count.Stdout.Trim());
            Assert.Equal(generated, await LoadResumeTests.StatsAsync(cluster));
        }
        finally
        {
            LoadResumeTests.DeleteFolder(work);
        }
    }

    /// <summary>Writes until the file system is full.</summary>
    private static void Fill(string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var block = new byte[1 << 20];
        try
        {
            while (true) stream.Write(block);
        }
        catch (IOException)
        {
        }
        try { stream.Flush(); } catch (IOException) { }
    }

    private static string Text(StringBuilder output)
    {
        lock (output) return output.ToString();
    }

    private static Process Start(StringBuilder output, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(BraidProcess.Dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
