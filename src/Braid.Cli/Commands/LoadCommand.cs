using System.CommandLine;
using System.Globalization;
using Braid.Cli.Cluster;
using Braid.Cli.Data;
using Braid.Cli.Load;
using Braid.Client;

namespace Braid.Cli.Commands;

internal static class LoadCommand
{
    public static Command Create()
    {
        var client = new ClientOptions();
        var source = new Argument<string>("source") { Description = "Folder of day folders with hourly CSV files (as written by braid gen), or one CSV file" };
        var batch = new Option<int>("--batch-records") { Description = "Records per batch (one Raft entry)", DefaultValueFactory = _ => 1000 };
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint file, updated every second", DefaultValueFactory = _ => Path.Combine(".braid", "load-checkpoint.json") };
        var resume = new Option<bool>("--resume") { Description = "Continue a killed load from its checkpoint: nothing is stored twice" };
        var maxBuffer = new Option<int>("--max-buffer-mb")
        {
            Description = "Client memory for unacknowledged batches (MiB): while some partitions are unavailable the others keep loading until their batches fill it",
            DefaultValueFactory = _ => (int)(new BraidClientOptions { Seeds = [] }.MaxBufferedBytes / (1024 * 1024)),
        };
        var command = new Command("load", "Stream a data set into the cluster, exactly once (progress on stderr)");
        client.AddTo(command);
        command.Arguments.Add(source);
        foreach (var option in new Option[] { batch, checkpoint, resume, maxBuffer }) command.Options.Add(option);
        command.SetAction((p, ct) => CommandRunner.RunAsync(async () =>
        {
            var path = Path.GetFullPath(p.GetValue(source)!);
            if (!Directory.Exists(path) && !File.Exists(path)) throw new CliException($"{path} does not exist");
            var checkpointPath = p.GetValue(checkpoint)!;
            var state = PrepareCheckpoint(checkpointPath, path, p.GetValue(batch), p.GetValue(resume));
            if (p.GetValue(maxBuffer) is < 1 or > 1024 * 1024) throw new CliException("--max-buffer-mb must be between 1 and 1048576");
            using var braid = await client.ConnectAsync(p, ct).ConfigureAwait(false);
            var report = new LoadReport();
            var result = await LoadAsync(braid, state, checkpointPath, path, report, Console.Error, ct, p.GetValue(maxBuffer) * 1024L * 1024).ConfigureAwait(false);
            PrintSummary(result, report, Console.Out);
            return 0;
        }));
        return command;
    }

    /// <param name="maxBufferedBytes">The ingest session's memory budget; the client's default if null.</param>
    public static async Task<LoadResult> LoadAsync(BraidClient braid, LoadCheckpoint state, string? checkpointPath, string path, LoadReport report, TextWriter progress, CancellationToken ct,
        long? maxBufferedBytes = null)
    {
        try
        {
            return await new Loader(braid, state, checkpointPath, progress, maxBufferedBytes).RunAsync(AirQualityFiles.Records(path, report), ct).ConfigureAwait(false);
        }
        catch (BraidException e)
        {
            throw new CliException($"load stopped: {e.Message}" + (checkpointPath is null ? "" : $"\ncontinue with: braid load airquality {path} --resume"), 2);
        }
    }

    private static LoadCheckpoint PrepareCheckpoint(string checkpointPath, string source, int batchRecords, bool resume)
    {
        if (batchRecords is < 1 or > 20_000) throw new CliException("--batch-records must be between 1 and 20000");
        if (!resume) return NewCheckpoint(source, batchRecords);
        var saved = LoadCheckpoint.TryLoad(checkpointPath) ?? throw new CliException($"--resume: no checkpoint at {checkpointPath}");
        if (saved.Source != source) throw new CliException($"--resume: the checkpoint is for {saved.Source}, not {source}");
        return saved;
    }

    /// <summary>A fresh producer id: unique per load (milliseconds since 2020), stable across its resumes.</summary>
    private static LoadCheckpoint NewCheckpoint(string source, int batchRecords) =>
        new((ulong)(DateTimeOffset.UtcNow - new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero)).TotalMilliseconds, source, batchRecords, 0);

    public static void PrintSummary(LoadResult result, LoadReport report, TextWriter output)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"loaded {result.Records} records in {result.Elapsed.TotalSeconds:F1} s ({result.RecordsPerSecond:F0} records/s); batches {result.Batches} (skipped from checkpoint {result.SkippedBatches}); retries {result.Retries}, duplicates {result.Duplicates}, failovers {result.Failovers}"));
        if (result.PausedByStuckPartitions > TimeSpan.Zero)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"reading paused {result.PausedByStuckPartitions.TotalSeconds:F1} s: stuck partitions filled the client's buffer (--max-buffer-mb)"));
        output.WriteLine($"input: {report.Total} lines in {report.Files} files, {report.Malformed} malformed (not loaded)");
        foreach (var problem in report.Problems) output.WriteLine("  " + problem);
        if (report.Malformed > report.Problems.Count) output.WriteLine($"  ... and {report.Malformed - report.Problems.Count} more");
    }
}
