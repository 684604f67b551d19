using System.Globalization;
using Braid.Cli.Membership;
using Braid.Protocol.V1;

namespace Braid.Cli.Lab;

/// <summary>Whether a planned fault may go ahead now, and if not, why (and whether waiting can help).</summary>
/// <param name="Hold">True: do not inject it now.</param>
/// <param name="Reason">Why it is held back, e.g. "replica B of partition 7 recovering"; null when it may go.</param>
/// <param name="Permanent">Waiting cannot help (the cluster's shape rules the fault out): skip it at once.</param>
internal sealed record BudgetDecision(bool Hold, string? Reason, bool Permanent = false)
{
    public static readonly BudgetDecision Go = new(false, null);
}

/// <summary>
/// The lab's fault budget for data-destroying faults (<c>bitflip</c>, <c>truncate</c>, <c>wipe</c>, <c>loss</c>).
/// Raft with R replicas survives the loss of a minority of its replicas' disks at a time, not a
/// majority: a replica whose data was destroyed rejoins recovering (no vote until caught up), and
/// until it has caught up another lost disk in its partition is beyond the fault model. So, as
/// Jepsen's nemesis limits concurrent faults, such a fault waits while any replica in the cluster
/// is recovering (or failed, or on a node whose data the lab destroyed and that has not shown
/// itself recovered), which keeps the damaged replicas of every partition to at most one; and in a
/// partition of fewer than 3 replicas, one is no minority, so there the fault never goes ahead.
/// A <c>loss</c> (a node gone for good, its disk with it) also waits until every group is in
/// place (its leader's voters are its target, no learners, configuration committed: nothing is
/// still being re-replicated) and every node the catalog counts is up and answering: a second
/// node lost before the groups of the first have their replicas back is beyond R=3's budget.
/// Pure: the runner asks the nodes (Describe) and passes their answers in.
/// </summary>
internal static class FaultBudget
{
    /// <summary>Fault classes that destroy a replica's data.</summary>
    public static readonly IReadOnlySet<string> DataClasses = new HashSet<string>(StringComparer.Ordinal) { "bitflip", "truncate", "wipe", "loss" };

    /// <param name="fault">The fault about to be injected.</param>
    /// <param name="replies">Every node's Describe answer, null when it did not answer (down, slow: not an error).</param>
    /// <param name="damaged">Nodes whose data was destroyed (or that were seen recovering) and that have not yet
    /// shown every replica open and caught up, with what happened to them (e.g. "data folder wiped at 811.0 s").</param>
    public static BudgetDecision Decide(PlannedFault fault, IReadOnlyDictionary<string, DescribeReply?> replies, IReadOnlyDictionary<string, string> damaged)
    {
        if (!DataClasses.Contains(fault.Class)) return BudgetDecision.Go;
        var answered = replies.Where(r => r.Value is not null).OrderBy(r => r.Key, StringComparer.Ordinal).ToList();

        var small = answered.SelectMany(r => r.Value!.Partitions).Where(p => p.Replicas.Count is > 0 and < 3)
            .OrderBy(p => p.Partition).FirstOrDefault();
        if (small is not null)
            return new BudgetDecision(true, string.Create(CultureInfo.InvariantCulture,
                $"partition {small.Partition} has {small.Replicas.Count} replica{(small.Replicas.Count == 1 ? "" : "s")}: losing one disk is not a minority"), Permanent: true);

        if (fault.Class == "loss" && answered.Count > 0)
        {
            // The lost node's groups need another node to take their replica.
            var factor = answered.Max(r => (int)r.Value!.ReplicationFactor);
            var taking = MembershipView.Build(replies).Nodes.Count(n => n.State != "removed");
            if (taking > 0 && taking <= factor)
                return new BudgetDecision(true, string.Create(CultureInfo.InvariantCulture,
                    $"only {taking} nodes take replicas at {factor} replicas per group: a lost node could not be replaced"), Permanent: true);
        }

        var reasons = new List<string>();
        foreach (var (node, reply) in answered)
            foreach (var p in reply!.Partitions.Where(p => p.Replicas.Contains(node)).OrderBy(p => p.Partition))
            {
                if (p.Recovering) reasons.Add(string.Create(CultureInfo.InvariantCulture, $"replica {node} of partition {p.Partition} recovering"));
                else if (p.LocalRole == "Failed") reasons.Add(string.Create(CultureInfo.InvariantCulture, $"replica {node} of partition {p.Partition} failed (it rebuilds from its peers)"));
            }
        foreach (var (node, what) in damaged.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            if (replies.GetValueOrDefault(node) is not { } reply) reasons.Add($"{node} ({what}) not answering yet");
            else if (Unopened(node, reply) is { Count: > 0 } unopened)
                reasons.Add($"{node} ({what}) has not opened its replica{(unopened.Count == 1 ? "" : "s")} of partition{(unopened.Count == 1 ? "" : "s")} {string.Join(",", unopened)} yet");
        }
        if (fault.Class == "loss") reasons.AddRange(NotInPlace(replies));
        if (reasons.Count == 0) return BudgetDecision.Go;
        return new BudgetDecision(true, reasons.Count <= 3 ? string.Join("; ", reasons) : string.Join("; ", reasons.Take(3)) + $" (and {reasons.Count - 3} more)");
    }

    /// <summary>True when <paramref name="node"/>'s answer shows every replica it holds open, neither
    /// recovering nor failed: a node the lab damaged is then whole again.</summary>
    public static bool HasRecovered(string node, DescribeReply? reply) =>
        reply is not null && reply.Partitions.Where(p => p.Replicas.Contains(node))
            .All(p => p.LocalRole is { Length: > 0 } and not "Failed" && !p.Recovering);

    /// <summary>Nodes whose answer shows a replica recovering or failed (the runner counts them as damaged until they are whole).</summary>
    public static IEnumerable<string> Damaged(IReadOnlyDictionary<string, DescribeReply?> replies) =>
        replies.Where(r => r.Value is { } reply && !HasRecovered(r.Key, reply)
            && reply.Partitions.Any(p => p.Replicas.Contains(r.Key) && (p.Recovering || p.LocalRole == "Failed"))).Select(r => r.Key);

    /// <summary>Why a node may not be lost now: groups not in place, nodes the catalog counts that are
    /// dead or not answering. Empty when every group is where its target says.</summary>
    internal static List<string> NotInPlace(IReadOnlyDictionary<string, DescribeReply?> replies)
    {
        var reasons = new List<string>();
        var view = MembershipView.Build(replies);
        if (view.Groups.Count == 0) return ["no node answered"];
        foreach (var node in view.Nodes.Where(n => n.State != "removed").OrderBy(n => n.Id, StringComparer.Ordinal))
        {
            if (node.State != "up") reasons.Add($"{node.Id} is {node.State} (not added back yet)");
            else if (!node.Answered) reasons.Add($"{node.Id} not answering");
        }
        var moving = view.Moving.ToList();
        if (moving.Count > 0)
            reasons.Add($"{moving.Count} group{(moving.Count == 1 ? "" : "s")} not in place ({string.Join("; ", moving.Take(2))}{(moving.Count > 2 ? "; ..." : "")})");
        return reasons;
    }

    private static List<uint> Unopened(string node, DescribeReply reply) =>
        reply.Partitions.Where(p => p.Replicas.Contains(node) && p.LocalRole.Length == 0).Select(p => p.Partition).Order().ToList();
}
