using System.Text;
using Braid.Data;

namespace Braid.Cli.Data;

/// <summary>One malformed line: where it is and what is wrong with it.</summary>
internal sealed record LoadProblem(string Path, long Line, string Error)
{
    public override string ToString() => $"{Path}:{Line}: {Error}";
}

/// <summary>
/// What a read saw. Every line is accounted for: <see cref="Total"/> = <see cref="Records"/> +
/// <see cref="Malformed"/>, so nothing is dropped silently; the first problems are kept verbatim.
/// Updated as the read proceeds (read it after enumerating).
/// </summary>
internal sealed class LoadReport
{
    public const int ProblemsKept = 20;
    private readonly List<LoadProblem> problems = [];

    /// <summary>Lines read.</summary>
    public long Total { get; private set; }
    /// <summary>Lines that parsed into records.</summary>
    public long Records => Total - Malformed;
    /// <summary>Lines that did not parse (each counted, the first <see cref="ProblemsKept"/> kept).</summary>
    public long Malformed { get; private set; }
    /// <summary>Hour files read.</summary>
    public int Files { get; internal set; }
    /// <summary>Entries of the folder that are not part of the layout and were not read.</summary>
    public List<string> Ignored { get; } = [];
    /// <summary>The first malformed lines, with file and line number.</summary>
    public IReadOnlyList<LoadProblem> Problems => problems;

    internal void Good() => Total++;

    internal void Bad(string path, long line, string error)
    {
        Total++;
        Malformed++;
        if (problems.Count < ProblemsKept) problems.Add(new LoadProblem(path, line, error));
    }
}

/// <summary>What <see cref="AirQualityFiles.Write"/> wrote.</summary>
internal sealed record WriteSummary(int Files, long Bytes, IReadOnlyDictionary<AirParameter, long> Counts)
{
    public long Records => Counts.Values.Sum();
}

/// <summary>
/// The data set on disk in the AirNow layout (<see cref="AirQualityLayout"/>): writes generated
/// files and reads real or generated ones back, day folder by day folder, hour by hour.
/// </summary>
internal static class AirQualityFiles
{
    private static readonly UTF8Encoding Utf8NoBom = new(false);

    /// <summary>Writes each file under <paramref name="outDir"/> (created if needed), one at a time.</summary>
    public static WriteSummary Write(string outDir, IEnumerable<GeneratedFile> files)
    {
        var counts = AirParameters.All.ToDictionary(p => p, _ => 0L);
        int written = 0;
        long bytes = 0;
        foreach (var file in files)
        {
            var path = Path.Combine(outDir, file.RelativePath.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (var writer = new StreamWriter(path, false, Utf8NoBom, 1 << 16) { NewLine = "\n" })
            {
                foreach (var line in file.Lines) writer.WriteLine(line);
            }
            foreach (var r in file.Records) counts[r.Parameter]++;
            bytes += new FileInfo(path).Length;
            written++;
        }
        return new WriteSummary(written, bytes, counts);
    }

    /// <summary>
    /// Reads every record under <paramref name="path"/> in order, in batches of up to
    /// <paramref name="batchRecords"/>. A malformed line is counted in <paramref name="report"/> with its
    /// file and line number and skipped; it never stops the read. <paramref name="path"/> may be the
    /// data set's root (day folders), a folder of hour files, or one file.
    /// </summary>
    public static IEnumerable<List<AirQualityRecord>> Read(string path, LoadReport report, int batchRecords = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchRecords, 1);
        var batch = new List<AirQualityRecord>(batchRecords);
        foreach (var file in HourFiles(path, report))
        {
            report.Files++;
            long lineNumber = 0;
            foreach (var line in File.ReadLines(file))
            {
                lineNumber++;
                if (!AirQualityCsv.TryParse(line, out var record, out var error))
                {
                    report.Bad(file, lineNumber, error!);
                    continue;
                }
                report.Good();
                batch.Add(record);
                if (batch.Count < batchRecords) continue;
                yield return batch;
                batch = new List<AirQualityRecord>(batchRecords);
            }
        }
        if (batch.Count > 0) yield return batch;
    }

    /// <summary>The records of <see cref="Read"/> one by one.</summary>
    public static IEnumerable<AirQualityRecord> Records(string path, LoadReport report) => Read(path, report).SelectMany(b => b);

    /// <summary>
    /// The files to read, in time order: day folders (yyyyMMdd) then hour files (yyyyMMdd-HH.csv)
    /// inside them; a folder without day folders is read as a folder of .csv files. Anything else
    /// is listed in <see cref="LoadReport.Ignored"/>. Throws <see cref="DirectoryNotFoundException"/> if nothing is there.
    /// </summary>
    public static IReadOnlyList<string> HourFiles(string path, LoadReport report)
    {
        if (File.Exists(path)) return [path];
        if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"no data folder or file at '{path}'");
        var days = new List<(DateOnly Day, string Path)>();
        foreach (var dir in Directory.EnumerateDirectories(path))
        {
            if (AirQualityLayout.TryParseDayFolder(Path.GetFileName(dir), out var day)) days.Add((day, dir));
            else report.Ignored.Add(dir);
        }
        if (days.Count == 0) return CsvFiles(path, report);
        var files = new List<string>();
        foreach (var (_, dir) in days.OrderBy(d => d.Day)) files.AddRange(CsvFiles(dir, report));
        foreach (var file in Directory.EnumerateFiles(path)) report.Ignored.Add(file);
        return files;
    }

    private static List<string> CsvFiles(string dir, LoadReport report)
    {
        var hours = new List<(string Key, string Path)>();
        foreach (var file in Directory.EnumerateFiles(dir))
        {
            var name = Path.GetFileName(file);
            if (AirQualityLayout.TryParseHourFile(name, out var day, out var hour)) hours.Add((AirQualityLayout.RelativePath(day, hour), file));
            else if (name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) hours.Add(("~" + name, file)); // other CSVs after, by name
            else report.Ignored.Add(file);
        }
        return hours.OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => h.Path).ToList();
    }
}
