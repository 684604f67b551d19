using Braid.Core.Topology;

namespace Braid.Core.Tests;

internal static class TestTopologies
{
    public static ClusterTopology Load(string name) =>
        TopologyLoader.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "topologies", name + ".json")), name + ".json");
}
