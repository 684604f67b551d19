using Braid.Protocol.V1;

namespace Braid.Client;

/// <summary>Cluster membership (issue 12): add, remove, replace nodes and rebalance, then follow the groups as they move.</summary>
public sealed partial class BraidClient
{
    /// <summary>Commits a membership change in the metadata group (any node plans and commits it);
    /// the groups then move in the background: follow them with <see cref="DescribeClusterAsync"/>.</summary>
    /// <exception cref="BraidException">refused (unknown node, bad address or edges, nowhere to move replicas) or no node could do it.</exception>
    public Task<MembershipChangeReply> ChangeMembershipAsync(MembershipChangeRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return AnyNodeAsync((s, deadline) => s.ChangeMembershipAsync(request, deadline: deadline, cancellationToken: ct).ResponseAsync,
            $"{request.Action.ToString().ToLowerInvariant()} {request.Node}", ct);
    }

    /// <summary>The cluster as one node sees it: nodes with their states, every group's target
    /// replicas, and what that node's own replicas know (leader, term, configuration).</summary>
    public Task<DescribeReply> DescribeClusterAsync(CancellationToken ct = default) =>
        AnyNodeAsync((s, deadline) => s.DescribeAsync(new DescribeRequest(), deadline: deadline, cancellationToken: ct).ResponseAsync, "describe", ct);
}
