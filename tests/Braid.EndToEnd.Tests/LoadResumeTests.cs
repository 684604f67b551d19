using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// `braid gen` and `braid load` as real processes: a load killed with SIGKILL and restarted with
/// --resume stores every record exactly once; malformed CSV lines are reported with file and line
/// and skipped, never loaded and never fatal.
/// </summary>
public sealed partial class LoadResumeTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);

    [Fact(Timeout = 300_000)]
    public async Task A_load_killed_mid_way_and_resumed_stores_every_generated_record_exactly_once()
    {
        var work = NewFolder();
        try
        {
            var data = Path.Combine(work, "data");
            var checkpoint = Path.Combine(work, "checkpoint.json");
            var generated = await GenerateAsync(data, 150_000);
            Assert.Equal(150_000, generated.Values.Sum());
            await using var cluster = await LocalCluster.UpAsync("mesh3", 3);

            // Small batches make the load take several seconds, so it is killed with batches acked and batches to go.
            const int batchRecords = 5;
            const long totalBatches = 150_000 / batchRecords;
            using (var load = StartBraid("load", "airquality", data, "--dir", cluster.Directory, "--checkpoint", checkpoint, "--batch-records", batchRecords.ToString(CultureInfo.InvariantCulture), "--max-buffer-mb", "1"))
            {
                var acked = await WaitForCheckpointProgressAsync(load, checkpoint, TimeSpan.FromSeconds(90));
                load.Kill(); // SIGKILL: no chance to save a last checkpoint or finish sending
                await load.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                Assert.True(acked < totalBatches, $"the load finished ({acked} of {totalBatches} batches) before it could be killed mid-way");
                var saved = AckedBatches(checkpoint);
                Assert.True(saved is > 0 && saved < totalBatches, $"checkpoint after the kill: {saved} of {totalBatches} batches");
            }

            var resumed = await BraidProcess.RunAsync(CommandTimeout, "load", "airquality", data, "--dir", cluster.Directory, "--checkpoint", checkpoint, "--resume");
            Assert.True(resumed.ExitCode == 0, $"resumed load failed: {resumed}");
            Assert.Contains("skipped from checkpoint", resumed.Stdout);

            var count = await cluster.RunAsync("count", "airquality");
            Assert.True(count.ExitCode == 0, $"count failed: {count}");
            Assert.Equal(generated.Values.Sum().ToString(CultureInfo.InvariantCulture), count.Stdout.Trim());
            Assert.Equal(generated, await StatsAsync(cluster));
        }
        finally
        {
            DeleteFolder(work);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task Malformed_lines_are_reported_with_file_and_line_and_every_other_record_is_loaded()
    {
        var work = NewFolder();
        try
        {
            var data = Path.Combine(work, "data");
            var generated = await GenerateAsync(data, 5_000);
            // Three kinds of damage, each on line 2 of a different hour file that has at least three lines.
            var files = Directory.EnumerateFiles(data, "*.csv", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
                .Where(f => File.ReadLines(f).Take(3).Count() == 3).Take(3).ToList();
            Assert.Equal(3, files.Count);
            string[] damage = ["\"not\",\"a\",\"record\"", "", "garbage without quotes or commas"];
            damage[1] = File.ReadLines(files[1]).ElementAt(1).Replace("\"2020-", "\"20x0-", StringComparison.Ordinal);
            for (var i = 0; i < files.Count; i++)
            {
                var lines = File.ReadAllLines(files[i]);
                lines[1] = damage[i];
                File.WriteAllLines(files[i], lines);
            }
            await using var cluster = await LocalCluster.UpAsync("mesh3", 3);

            var load = await BraidProcess.RunAsync(CommandTimeout, "load", "airquality", data, "--dir", cluster.Directory, "--checkpoint", Path.Combine(work, "checkpoint.json"));
            Assert.True(load.ExitCode == 0, $"load failed: {load}");
            Assert.Contains("3 malformed", load.Stdout);
            foreach (var file in files) Assert.Contains($"{Path.GetFileName(file)}:2", load.Stdout);

            var count = await cluster.RunAsync("count", "airquality");
            Assert.True(count.ExitCode == 0, $"count failed: {count}");
            Assert.Equal((generated.Values.Sum() - 3).ToString(CultureInfo.InvariantCulture), count.Stdout.Trim());
        }
        finally
        {
            DeleteFolder(work);
        }
    }

    /// <summary>Runs `braid gen` and returns the per-parameter counts it reports.</summary>
    internal static async Task<Dictionary<string, long>> GenerateAsync(string folder, long records)
    {
        var gen = await BraidProcess.RunAsync(CommandTimeout, "gen", "airquality", "--out", folder, "--records", records.ToString(CultureInfo.InvariantCulture));
        Assert.True(gen.ExitCode == 0, $"gen failed: {gen}");
        var counts = GenLine().Matches(gen.Stdout).ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture));
        Assert.True(counts.Count == 6, $"gen did not report six parameters: {gen}");
        return counts;
    }

    /// <summary>Per-parameter counts from `braid stats` (parameters with no record are left out, as gen never reports zero).</summary>
    internal static async Task<Dictionary<string, long>> StatsAsync(LocalCluster cluster)
    {
        var stats = await cluster.RunAsync("stats", "airquality");
        Assert.True(stats.ExitCode == 0, $"stats failed: {stats}");
        return StatsRow().Matches(stats.Stdout).ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>Waits until the load's checkpoint shows some batches acknowledged; returns how many.</summary>
    internal static async Task<long> WaitForCheckpointProgressAsync(Process load, string checkpoint, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < within)
        {
            if (AckedBatches(checkpoint) is > 0 and var acked) return acked;
            if (load.HasExited) Assert.Fail($"the load exited ({load.ExitCode}) before its checkpoint showed progress");
            await Task.Delay(20);
        }
        load.Kill();
        Assert.Fail($"no progress in {checkpoint} within {within.TotalSeconds} s");
        return 0;
    }

    private static long AckedBatches(string checkpoint)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(checkpoint));
            return doc.RootElement.GetProperty("ackedBatches").GetInt64();
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException)
        {
            return 0; // not written yet
        }
    }

    /// <summary>Starts `braid` without waiting, its output discarded (drained so it never blocks).</summary>
    internal static Process StartBraid(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(BraidProcess.Dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    internal static string NewFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "braid-e2e-load-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(folder);
        return folder;
    }

    internal static void DeleteFolder(string folder)
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    [GeneratedRegex(@"^\s+(OZONE|PM2\.5|PM10|NO2|SO2|CO)\s+([\d,]+)\s*$", RegexOptions.Multiline)]
    private static partial Regex GenLine();

    [GeneratedRegex(@"^(OZONE|PM2\.5|PM10|NO2|SO2|CO)\s+(\d+)\s", RegexOptions.Multiline)]
    private static partial Regex StatsRow();
}
