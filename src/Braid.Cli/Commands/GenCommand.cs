using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Braid.Cli.Cluster;
using Braid.Cli.Data;
using Braid.Data;

namespace Braid.Cli.Commands;

/// <summary><c>braid gen airquality --out DIR [--records N] [--seed S]</c>: writes the synthetic AirNow data set.</summary>
internal static class GenCommand
{
    public static Command Create() => new("gen", "Generate synthetic data sets") { AirQuality() };

    private static Command AirQuality()
    {
        var output = new Option<string>("--out", "-o") { Description = "Folder to write the day folders into", Required = true };
        var records = new Option<long?>("--records", "-n")
        {
            Description = $"Write only N records, same mix and layout (default: the full {AirQualityGenerator.FullRecordCount:N0})",
        };
        var seed = new Option<int>("--seed", "-s") { Description = "Seed: the same seed writes the same bytes", DefaultValueFactory = _ => 1 };
        var command = new Command("airquality",
            "Write a faithful synthetic copy of the 2020 AirNow fire data set: 43 day folders of 24 hourly CSV files")
        {
            output, records, seed,
        };
        command.SetAction((parse, ct) => CommandRunner.RunAsync(() => Task.FromResult(Run(parse.GetValue(output)!, parse.GetValue(records), parse.GetValue(seed)))));
        return command;
    }

    private static int Run(string outDir, long? limit, int seed)
    {
        if (limit is < 0 or > AirQualityGenerator.FullRecordCount)
            throw new CliException($"--records must be between 0 and {AirQualityGenerator.FullRecordCount:N0}");
        var expected = AirQualityGenerator.ExpectedCounts(limit);
        var clock = Stopwatch.StartNew();
        WriteSummary summary;
        try
        {
            summary = AirQualityFiles.Write(outDir, AirQualityGenerator.Generate(seed, limit));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot write to '{outDir}': {e.Message}");
        }
        var elapsed = clock.Elapsed;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {summary.Records:N0} records in {summary.Files:N0} files ({summary.Bytes / 1e6:F0} MB) under {outDir} in {elapsed.TotalSeconds:F1} s (seed {seed})"));
        foreach (var p in AirParameters.All)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {p.Name(),-6} {summary.Counts[p],9:N0}"));
        }
        var mismatch = AirParameters.All.Where(p => summary.Counts[p] != expected[p]).ToList();
        if (mismatch.Count > 0) throw new CliException("written counts differ from the generator's plan for " + string.Join(", ", mismatch.Select(p => p.Name())));
        return 0;
    }
}
