using Braid.Protocol.V1;

namespace Braid.Node.Overlay;

/// <summary>
/// Whether two processes may link (issue 11): same graph, same partitions and replicas (else their
/// Raft groups would silently split), and the peer is the neighbour it should be. A refusal names
/// both sides' values except the topology hash, which would tell a stranger what to claim.
/// </summary>
internal static class HelloRules
{

    /// <param name="expected">The id the peer must have (dialling side), or null to accept any neighbour.</param>
    public static string? Refusal(OverlayDriver driver, Hello? hello, string? expected)
    {
        if (hello is null) return "the first frame must carry a hello";
        var self = driver.Self;
        var mine = driver.HelloMessage;
        if (expected is not null && hello.NodeId != expected) return $"expected {expected}, the peer says it is '{Short(hello.NodeId)}'";
        if (!driver.Topology.Contains(hello.NodeId) || !driver.Topology.AreNeighbours(self, hello.NodeId))
            return $"'{Short(hello.NodeId)}' is not an overlay neighbour of {self}";
        if (hello.TopologyHash != mine.TopologyHash)
            return $"topologies differ: {hello.NodeId} and {self} were started from different graphs ({self} runs '{driver.Topology.Name}')";
        if (hello.Partitions != mine.Partitions || hello.Replicas != mine.Replicas)
            return $"placement differs: {hello.NodeId} runs {hello.Partitions} partitions x {hello.Replicas} replicas, "
                + $"{self} runs {mine.Partitions} x {mine.Replicas} (start every node with the same --partitions and --replicas)";
        return null;
    }

    private static string Short(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
