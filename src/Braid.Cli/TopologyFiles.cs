using Braid.Cli.Cluster;
using Braid.Core.Topology;

namespace Braid.Cli;

/// <summary>Finds and loads topology files: a path, or the name of a shipped topology (mini2, mesh3 ...).</summary>
internal static class TopologyFiles
{
    public const string DefaultName = "mini2";

    public static string Resolve(string nameOrPath)
    {
        if (File.Exists(nameOrPath)) return Path.GetFullPath(nameOrPath);
        var file = nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? Path.GetFileName(nameOrPath) : nameOrPath + ".json";
        foreach (var folder in new[] { Path.Combine(AppContext.BaseDirectory, "topologies"), "topologies" })
        {
            var candidate = Path.Combine(folder, file);
            if (File.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        throw new CliException($"topology '{nameOrPath}' not found (give a path, or one of: {string.Join(", ", Shipped())})");
    }

    public static ClusterTopology Load(string nameOrPath, int? basePort = null)
    {
        var path = Resolve(nameOrPath);
        try
        {
            var topology = TopologyLoader.Parse(File.ReadAllText(path), Path.GetFileName(path));
            return basePort is { } port ? topology.WithBasePort(port) : topology;
        }
        catch (TopologyException e)
        {
            throw new CliException(e.Message);
        }
    }

    private static IEnumerable<string> Shipped()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "topologies");
        return System.IO.Directory.Exists(folder)
            ? System.IO.Directory.GetFiles(folder, "*.json").Select(Path.GetFileNameWithoutExtension).Order()!
            : [];
    }
}
