using System.Text.Json;
using Braid.Cli.Cluster;

namespace Braid.Cli.Load;

/// <summary>
/// Where a load stands: the producer id and how many batches (of a fixed size, numbered from 0
/// in input order) are acknowledged without a gap. Written atomically (temporary file, rename)
/// as the load goes; a load restarted with --resume skips those batches and resends the rest
/// under the same (producer, sequence) keys, so nothing is stored twice.
/// </summary>
internal sealed record LoadCheckpoint(ulong Producer, string Source, int BatchRecords, long AckedBatches)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static LoadCheckpoint? TryLoad(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<LoadCheckpoint>(File.ReadAllText(path), Json) ?? throw new CliException($"{path} is empty");
        }
        catch (JsonException e)
        {
            throw new CliException($"{path} is not a load checkpoint: {e.Message}");
        }
    }

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            JsonSerializer.Serialize(stream, this, Json);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}
