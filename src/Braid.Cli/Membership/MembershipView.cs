using Braid.Protocol.V1;

namespace Braid.Cli.Membership;

/// <summary>A node as the membership view shows it.</summary>
public sealed record MemberNode(string Id, string Address, string Site, string State, int Replicas, bool Answered);

/// <summary>One Raft group: where it should be (<paramref name="Target"/>) and where its leader's
/// log says it is. <paramref name="InPlace"/>: the leader's voters are the target, no learners are
/// left and the configuration is committed.</summary>
public sealed record MemberGroup(string Group, IReadOnlyList<string> Target, IReadOnlyList<string> Voters, IReadOnlyList<string> Learners,
    string? Leader, ulong Term, bool Committed, bool InPlace);

/// <summary>What <c>braid cluster members</c> (and the progress of add, remove, replace and
/// rebalance) shows: every node and every group, from every node's Describe answer.</summary>
public sealed record MembershipReport(ulong CatalogVersion, IReadOnlyList<MemberNode> Nodes, IReadOnlyList<MemberGroup> Groups)
{
    public int GroupsInPlace => Groups.Count(g => g.InPlace);

    /// <summary>Groups not where their target says, described briefly ("s1/0: voters A,B,D learners E, target A,B,E").</summary>
    public IEnumerable<string> Moving => Groups.Where(g => !g.InPlace).Select(g =>
        $"{g.Group}: {(g.Leader is null ? "no leader" : $"voters {string.Join(",", g.Voters)}{(g.Learners.Count > 0 ? $" learners {string.Join(",", g.Learners)}" : "")}")}, target {string.Join(",", g.Target)}");
}

/// <summary>Builds the <see cref="MembershipReport"/> from the nodes' Describe answers (pure).</summary>
public static class MembershipView
{
    /// <param name="answers">Each node's answer (null: it did not answer).</param>
    public static MembershipReport Build(IReadOnlyDictionary<string, DescribeReply?> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        var replies = answers.Values.OfType<DescribeReply>().ToList();
        var newest = replies.MaxBy(r => r.CatalogVersion);
        if (newest is null) return new MembershipReport(0, [], []);
        var groups = new List<MemberGroup>();
        groups.Add(Group("meta", newest.Metadata, replies.Select(r => r.Metadata)));
        foreach (var stream in newest.Streams)
        {
            foreach (var partition in stream.Partitions)
            {
                var name = stream.Id == 0 ? $"{partition.Partition}" : $"s{stream.Id}/{partition.Partition}";
                var views = replies.Select(r => r.Streams.FirstOrDefault(s => s.Id == stream.Id)?.Partitions.FirstOrDefault(p => p.Partition == partition.Partition));
                groups.Add(Group(name, partition, views));
            }
        }
        var nodes = newest.Nodes.Select(n => new MemberNode(n.Id, n.Address, n.Site, n.State.Length > 0 ? n.State : "up",
            groups.Count(g => g.Target.Contains(n.Id)), answers.TryGetValue(n.Id, out var a) && a is not null)).ToList();
        return new MembershipReport(newest.CatalogVersion, nodes, groups);
    }

    private static MemberGroup Group(string name, PartitionDescription? target, IEnumerable<PartitionDescription?> views)
    {
        var leader = views.OfType<PartitionDescription>().Where(v => v.LocalRole == "Leader").MaxBy(v => v.Term);
        var wanted = target?.Replicas.ToList() ?? [];
        if (leader is null) return new MemberGroup(name, wanted, [], [], null, 0, false, false);
        var inPlace = leader.Voters.Order(StringComparer.Ordinal).SequenceEqual(wanted.Order(StringComparer.Ordinal)) && leader.Learners.Count == 0 && leader.ConfigurationCommitted;
        return new MemberGroup(name, wanted, [.. leader.Voters], [.. leader.Learners], leader.Leader, leader.Term, leader.ConfigurationCommitted, inPlace);
    }

}
