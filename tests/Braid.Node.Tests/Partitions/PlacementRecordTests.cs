using Braid.Core.Placement;
using Braid.Core.Topology;
using Braid.Node.Partitions;

namespace Braid.Node.Tests.Partitions;

/// <summary>A node refuses to start on data written under another placement (which could give a
/// partition a majority of new, empty voters that overwrite acknowledged records).</summary>
public sealed class PlacementRecordTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "braid-placement-" + Guid.NewGuid().ToString("N"));

    private static ClusterTopology Mesh3() => TopologyLoader.Parse("""
        { "name": "mesh3", "nodes": [
            { "id": "A", "host": "127.0.0.1", "port": 1, "site": "s1" },
            { "id": "B", "host": "127.0.0.1", "port": 2, "site": "s2" },
            { "id": "C", "host": "127.0.0.1", "port": 3, "site": "s3" } ],
          "edges": [ ["A", "B"], ["B", "C"], ["A", "C"] ] }
        """);

    [Fact]
    public void TheFirstStartRecordsThePlacementAndTheSamePlacementStartsAgain()
    {
        var placement = PlacementPlanner.Plan(Mesh3(), 4, 3);
        PlacementRecord.CheckOrSave(directory, placement);
        Assert.Contains("p3 ", File.ReadAllText(Path.Combine(directory, PlacementRecord.FileName)));
        PlacementRecord.CheckOrSave(directory, PlacementPlanner.Plan(Mesh3(), 4, 3));
    }

    [Fact]
    public void OtherPartitionsOrReplicasAreRefusedWithTheDifference()
    {
        PlacementRecord.CheckOrSave(directory, PlacementPlanner.Plan(Mesh3(), 4, 3));
        var e = Assert.Throws<PlacementChangedException>(() => PlacementRecord.CheckOrSave(directory, PlacementPlanner.Plan(Mesh3(), 6, 3)));
        Assert.Contains("partitions 4", e.Message);
        Assert.Contains("partitions 6", e.Message);
        Assert.Throws<PlacementChangedException>(() => PlacementRecord.CheckOrSave(directory, PlacementPlanner.Plan(Mesh3(), 4, 1)));
    }

    [Fact]
    public void PartitionDataWithoutARecordedPlacementIsRefused()
    {
        Directory.CreateDirectory(Path.Combine(directory, "partitions", "000"));
        var e = Assert.Throws<PlacementChangedException>(() => PlacementRecord.CheckOrSave(directory, PlacementPlanner.Plan(Mesh3(), 4, 3)));
        Assert.Contains("no placement.txt", e.Message);
    }

    public void Dispose()
    {
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }
}
