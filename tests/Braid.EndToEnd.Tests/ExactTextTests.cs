using System.Globalization;
using Braid.Data;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// Issue 13: a payload system hands back exactly what it was given. `braid load` of lines as the
/// real AirNow files write them, then `braid query --format csv`, gives back the very lines, byte
/// for byte, through ingest, Raft, the stored batches and a query's re-encoded pages.
/// </summary>
public sealed class ExactTextTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);

    private static readonly string[] OddLines =
    [
        "\"28.7456\",\"-122.1697\",\"2020-08-10T01:00\",\"PM2.5\",\"18.0\",\"UG/M3\",\"17.6\",\"64\",\"2\",\"Portland, OR\",\"Oregon DEQ\",\"410510080\",\"840410510080\"",
        "\"49.2839\",\"-123.1127\",\"2020-08-10T01:00\",\"OZONE\",\"0.023\",\"PPM\",\"0.0230\",\"20\",\"1\",\"Robson \"\"Square\"\"\",\"Metro Vancouver\",\"CC0040302\",\"124CC0040302\"",
        "\"19.4827\",\"-99.1283\",\"2020-08-10T01:00\",\"NO2\",\"-999\",\"PPB\",\"-999\",\"-999\",\"0\",\"Camarones\",\"SEDEMA\",\"MM0010001\",\"484MM0010001\"",
        "\"31.7592\",\"-106.4853\",\"2020-08-10T01:00\",\"SO2\",\"1\",\"PPB\",\"1\",\"1\",\"1\",\"Ciudad Juárez, Chih.\",\"TCEQ\",\"80CA2020001\",\"80CA2020001\"",
        "\"+38.5\",\"-121\",\"2020-08-10T01:00\",\"co\",\"1.8e1\",\"PPM\",\".25\",\"03\",\"1\",\"Sacramento\",\"SMAQMD\",\"060670010\",\"840060670010\"",
    ];

    [Fact(Timeout = 300_000)]
    public async Task A_query_gives_back_the_loaded_lines_byte_for_byte()
    {
        var work = LoadResumeTests.NewFolder();
        try
        {
            string[] lines = [.. OddLines, .. RealStyleLines(2_000)];
            var file = Path.Combine(work, "20200810-01.csv");
            await File.WriteAllLinesAsync(file, lines);
            await using var cluster = await LocalCluster.UpAsync("mesh3", 3);

            var load = await BraidProcess.RunAsync(CommandTimeout, "load", "airquality", file, "--dir", cluster.Directory,
                "--checkpoint", Path.Combine(work, "checkpoint.json"), "--batch-records", "100");
            Assert.True(load.ExitCode == 0, $"load failed: {load}");

            var csv = await cluster.RunAsync("query", "airquality", "--format", "csv");
            Assert.True(csv.ExitCode == 0, $"query failed: {csv}");
            var returned = csv.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(lines.Order(StringComparer.Ordinal), returned.Order(StringComparer.Ordinal));

            var jsonl = await cluster.RunAsync("query", "airquality", "--format", "jsonl", "--site", "Portland, OR");
            Assert.True(jsonl.ExitCode == 0, $"query failed: {jsonl}");
            Assert.Contains("\"latitude\":28.7456,\"longitude\":-122.1697,", jsonl.Stdout, StringComparison.Ordinal);
            Assert.Contains("\"concentration\":18.0,", jsonl.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            LoadResumeTests.DeleteFolder(work);
        }
    }

    /// <summary>Generated readings written as the real files write coordinates: with their own digits.</summary>
    private static IEnumerable<string> RealStyleLines(int count) =>
        AirQualityGenerator.Generate(3, 20_000).SelectMany(f => f.Records).Take(count).Select(r =>
        {
            var line = AirQualityCsv.Format(in r);
            int rest = line.IndexOf("\",\"", line.IndexOf("\",\"", StringComparison.Ordinal) + 3, StringComparison.Ordinal);
            return string.Create(CultureInfo.InvariantCulture, $"\"{r.Latitude:R}\",\"{r.Longitude:R}") + line[rest..];
        });
}
