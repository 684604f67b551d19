using Braid.Protocol.V1;

namespace Braid.Node.Overlay;

/// <summary>
/// Whether two processes may link (issue 11): same graph, same partitions and replicas (else their
/// Raft groups would silently split), and the peer is the neighbour it should be. A refusal names
/// both sides' values except the topology hash, which would tell a stranger what to claim.
/// </summary>
internal static class HelloRules
{
    /// <summary>Earlier graphs a hello may name (the graph grows by a node at a time; a handful is plenty).</summary>
    public const int EarlierHashesMax = 64;

    /// <param name="expected">The id the peer must have (dialling side), or null to accept any neighbour.</param>
    public static string? Refusal(OverlayDriver driver, Hello? hello, string? expected)
    {
        if (hello is null) return "the first frame must carry a hello";
        if (hello.EarlierTopologyHashes.Count > EarlierHashesMax) return $"a hello with {hello.EarlierTopologyHashes.Count} earlier topologies (at most {EarlierHashesMax})";
        var self = driver.Self;
        var mine = driver.HelloMessage;
        if (expected is not null && hello.NodeId != expected) return $"expected {expected}, the peer says it is '{Short(hello.NodeId)}'";
        if (!driver.Topology.Contains(hello.NodeId) || !driver.Topology.AreNeighbours(self, hello.NodeId))
            return $"'{Short(hello.NodeId)}' is not an overlay neighbour of {self}";
        if (!SameHistory(hello, mine))
            return $"topologies differ: {hello.NodeId} and {self} were started from different graphs ({self} runs '{driver.Topology.Name}')";
        if (hello.Partitions != mine.Partitions || hello.Replicas != mine.Replicas)
            return $"placement differs: {hello.NodeId} runs {hello.Partitions} partitions x {hello.Replicas} replicas, "
                + $"{self} runs {mine.Partitions} x {mine.Replicas} (start every node with the same --partitions and --replicas)";
        return null;
    }

    /// <summary>Same graph, or one is the other's earlier self (the cluster grew, issue 12).</summary>
    private static bool SameHistory(Hello theirs, Hello mine) =>
        theirs.TopologyHash == mine.TopologyHash || mine.EarlierTopologyHashes.Contains(theirs.TopologyHash) || theirs.EarlierTopologyHashes.Contains(mine.TopologyHash);

    private static string Short(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
