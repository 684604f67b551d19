using System.Text;
using Braid.Core.Placement;
using Braid.Node.Storage;

namespace Braid.Node.Partitions;

/// <summary>
/// The placement a node's data was written under, kept in its data directory
/// (<c>placement.txt</c>): every partition's replicas, in order. Placement is computed from the
/// topology, P and R at every start, so a different topology file, other --partitions or
/// --replicas, or a build that places differently would silently give a partition other voters,
/// and a majority of new, empty replicas could elect a leader and overwrite acknowledged records.
/// A node refuses to start instead, and says why.
/// </summary>
public static class PlacementRecord
{
    public const string FileName = "placement.txt";
    private const string Header = "braid placement v1";

    /// <summary>Saves the placement on a new data directory; on an existing one, checks that it is
    /// the same. Returns true when the record was there already (the node held its replicas before).</summary>
    /// <exception cref="PlacementChangedException">the data was written under another placement, or under none recorded.</exception>
    public static bool CheckOrSave(string dataDirectory, PlacementTable placement)
    {
        var path = Path.Combine(dataDirectory, FileName);
        var expected = Render(placement);
        if (File.Exists(path))
        {
            var saved = File.ReadAllText(path);
            if (saved == expected) return true;
            throw new PlacementChangedException(
                $"the data in {dataDirectory} was written with another placement of partitions ({Difference(saved, expected)}); " +
                "starting would give partitions new voters and could lose acknowledged records. Start with the topology, --partitions " +
                $"and --replicas it was written with, or with an empty data directory (the placement in use is in {path})");
        }
        var partitions = Path.Combine(dataDirectory, "partitions");
        if (Directory.Exists(partitions) && Directory.EnumerateDirectories(partitions).Any())
        {
            throw new PlacementChangedException(
                $"{dataDirectory} holds partition data but no {FileName}: it was written by an earlier Braid that did not record its " +
                "placement, and this one may place partitions differently, which could lose acknowledged records. Start with an empty data directory");
        }
        Directory.CreateDirectory(dataDirectory);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            file.Write(Encoding.UTF8.GetBytes(expected));
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        DirectorySync.Sync(dataDirectory);
        return false;
    }

    internal static string Render(PlacementTable placement)
    {
        var text = new StringBuilder();
        text.Append(Header).Append('\n');
        text.Append($"topology {placement.Topology.Name} partitions {placement.Partitions.Count} replicas {placement.ReplicaCount}\n");
        foreach (var p in placement.Partitions) text.Append($"p{p.Partition} {string.Join(' ', p.Replicas)}\n");
        return text.ToString();
    }

    private static string Difference(string saved, string expected)
    {
        var a = saved.Split('\n');
        var b = expected.Split('\n');
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var was = i < a.Length ? a[i] : "(nothing)";
            var now = i < b.Length ? b[i] : "(nothing)";
            if (was != now) return $"recorded '{was}', now '{now}'";
        }
        return "they differ";
    }
}

/// <summary>A node's data directory was written under another placement than the one computed now.</summary>
public sealed class PlacementChangedException(string message) : Exception(message);
