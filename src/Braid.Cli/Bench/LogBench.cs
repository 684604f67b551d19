using System.Diagnostics;
using System.Globalization;
using Braid.Core.Log;
using Braid.Node.Storage;

namespace Braid.Cli.Bench;

/// <summary>
/// <c>braid bench log</c> (issue 3): throughput of the durable log with group commit against a
/// plain FileStream write+fsync loop of the same bytes, in the same run and folder. Three runs:
/// the plain loop (one fsync per batch), the log with one appender syncing after each batch, and
/// the log with many concurrent appenders sharing fsyncs through <see cref="GroupCommitLog"/>.
/// The first two run interleaved in slices; the third runs after them.
/// </summary>
internal static class LogBench
{
    private const int WarmupBatches = 50;
    private const int Slices = 8;

    private const double TargetSingleAppenderRatio = 0.80;
    private const double TargetGroupCommitRatio = 5;

    /// <summary>Runs the three measurements under <paramref name="directory"/> (deleted and recreated), prints a table and returns the figures.</summary>
    public static async Task<Json.LogBenchReport> RunAsync(string directory, int batchBytes, int totalMiB, int appenders, TextWriter output, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalMiB, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(appenders, 1);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        var batch = new byte[batchBytes];
        new Random(1).NextBytes(batch);
        int batches = (int)Math.Max(1, totalMiB * 1048576L / batchBytes);
        output.WriteLine(Invariant($"log bench: {batches} batches of {batchBytes} B ({totalMiB} MiB) per run, in {Path.GetFullPath(directory)}"));

        Warmup(directory, batch, ct);
        (Result plain, Result single) = PlainAndSingleAppender(directory, batch, batches, ct);
        Result group = await GroupCommitAsync(Path.Combine(directory, $"log-{appenders}"), batch, batches, appenders, ct).ConfigureAwait(false);
        Result[] results = [plain, single, group];
        PrintTable(output, plain, results);
        return new Json.LogBenchReport(batchBytes, batches, (long)batches * batchBytes, appenders,
            results.Select(r => new Json.LogRunReport(r.Key, r.Name, r.Bytes, r.Fsyncs, Math.Round(r.Elapsed.TotalSeconds, 4), Math.Round(r.MegabytesPerSecond, 2),
                Math.Round(r.FsyncsPerSecond, 1), Math.Round(r.BatchesPerFsync(plain), 2), Math.Round(r.MegabytesPerSecond / plain.MegabytesPerSecond, 3))).ToList(),
            TargetSingleAppenderRatio, TargetGroupCommitRatio);
    }

    private readonly record struct Result(string Key, string Name, long Bytes, long Fsyncs, TimeSpan Elapsed)
    {
        /// <summary>Batches made durable per fsync, counted in the plain loop's batches (one per fsync).</summary>
        public double BatchesPerFsync(Result plain) => (double)Bytes / plain.Bytes * plain.Fsyncs / Math.Max(1, Fsyncs);

        public double MegabytesPerSecond => Bytes / 1e6 / Elapsed.TotalSeconds;

        public double FsyncsPerSecond => Fsyncs / Elapsed.TotalSeconds;
    }

    /// <summary>JIT and first-file costs out of the way, so the first measured run is not penalised.</summary>
    private static void Warmup(string directory, byte[] batch, CancellationToken ct)
    {
        string warm = Path.Combine(directory, "warmup");
        PlainAndSingleAppender(warm, batch, WarmupBatches, ct);
        Directory.Delete(warm, recursive: true);
    }

    /// <summary>
    /// The plain loop and the one-appender log, interleaved in slices so that drift in the
    /// disk's speed during the run (other work, write-back) weighs on both alike.
    /// </summary>
    private static (Result Plain, Result Single) PlainAndSingleAppender(string directory, byte[] batch, int batches, CancellationToken ct)
    {
        string plainDirectory = Path.Combine(directory, "plain");
        Directory.CreateDirectory(plainDirectory);
        using var stream = new FileStream(Path.Combine(plainDirectory, "plain.dat"), FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        var device = new FileDevice(Path.Combine(directory, "log-1"));
        using SegmentedLog log = SegmentedLog.Open(device);
        long syncsBefore = device.SyncCount;
        TimeSpan plainElapsed = TimeSpan.Zero, logElapsed = TimeSpan.Zero;
        for (int slice = 0; slice < Slices; slice++)
        {
            int count = (batches / Slices) + (slice < batches % Slices ? 1 : 0);
            plainElapsed += Time(() => PlainSlice(stream, batch, count, ct));
            logElapsed += Time(() => LogSlice(log, batch, count, ct));
        }

        long bytes = (long)batches * batch.Length;
        return (new Result("plain", "plain FileStream write+fsync", bytes, batches, plainElapsed),
                new Result("single_appender", "log, 1 appender, sync each", bytes, device.SyncCount - syncsBefore, logElapsed));
    }

    private static TimeSpan Time(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start);
    }

    private static void PlainSlice(FileStream stream, byte[] batch, int count, CancellationToken ct)
    {
        for (int i = 0; i < count; i++)
        {
            ct.ThrowIfCancellationRequested();
            stream.Write(batch);
            stream.Flush(flushToDisk: true);
        }
    }

    private static void LogSlice(SegmentedLog log, byte[] batch, int count, CancellationToken ct)
    {
        for (int i = 0; i < count; i++)
        {
            ct.ThrowIfCancellationRequested();
            log.Append(1, batch);
            log.Sync();
        }
    }

    private static async Task<Result> GroupCommitAsync(string directory, byte[] batch, int batches, int appenders, CancellationToken ct)
    {
        var device = new FileDevice(directory);
        SegmentedLog log = SegmentedLog.Open(device);
        long syncsBefore = device.SyncCount;
        int remaining = batches;
        var clock = Stopwatch.StartNew();
        await using (var group = new GroupCommitLog(log))
        {
            async Task AppenderAsync()
            {
                while (Interlocked.Decrement(ref remaining) >= 0)
                {
                    await group.AppendAsync(1, batch, ct).ConfigureAwait(false);
                }
            }

            await Task.WhenAll(Enumerable.Range(0, appenders).Select(_ => Task.Run(AppenderAsync, ct))).ConfigureAwait(false);
        }

        TimeSpan elapsed = clock.Elapsed;
        log.Dispose();
        return new Result("group_commit", $"log, {appenders} appenders, group commit", (long)batches * batch.Length, device.SyncCount - syncsBefore, elapsed);
    }

    private static void PrintTable(TextWriter output, Result plain, Result[] results)
    {
        output.WriteLine($"{"run",-36} {"MB/s",9} {"fsyncs/s",9} {"batches/fsync",14} {"x plain",8}");
        foreach (Result r in results)
        {
            double perFsync = r.BatchesPerFsync(plain);
            output.WriteLine(Invariant(
                $"{r.Name,-36} {r.MegabytesPerSecond,9:F1} {r.FsyncsPerSecond,9:F0} {perFsync,14:F1} {r.MegabytesPerSecond / plain.MegabytesPerSecond,8:F2}"));
        }

        output.WriteLine(Invariant($"targets: log with 1 appender >= {TargetSingleAppenderRatio:F2} x plain; many appenders sharing fsyncs >= {TargetGroupCommitRatio:F0} x plain"));
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
