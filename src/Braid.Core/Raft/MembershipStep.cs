namespace Braid.Core.Raft;

/// <summary>What a group's leader does next to bring its membership to the target.</summary>
public enum MembershipAction
{
    /// <summary>Add a target node as a learner: it catches up by appends or a snapshot without voting.</summary>
    AddLearner,

    /// <summary>Make a caught-up learner a voter.</summary>
    Promote,

    /// <summary>Hand leadership to a target voter: this leader is the one to be removed.</summary>
    TransferLeadership,

    /// <summary>Remove a voter the target no longer names.</summary>
    RemoveVoter,

    /// <summary>Remove a learner the target no longer names.</summary>
    RemoveLearner,
}

/// <summary>One step towards a group's target membership; <paramref name="Next"/> is the
/// configuration to propose (null for a leadership transfer).</summary>
public sealed record MembershipStep(MembershipAction Action, string Node, RaftConfiguration? Next)
{
    /// <summary>How far behind the leader's last index a learner may be and still be promoted.
    /// Promoting a learner far behind would make it a voter that cannot yet acknowledge, which
    /// costs availability (thesis 4.2.1); a few entries behind it catches up within a round trip.</summary>
    public const ulong PromoteLagMax = 64;

    /// <summary>
    /// The next step from <paramref name="current"/> towards <paramref name="target"/> (node ids,
    /// any order), or null when there is nothing to do now (already there, or a learner still
    /// catching up). Order: add every missing node as a learner; promote caught-up learners; only
    /// when every target node votes, remove the voters the target drops (after handing leadership
    /// away if this leader, <paramref name="self"/>, is one of them) and then stray learners. Adding
    /// before removing keeps the group at full strength throughout; each step changes one voter.
    /// </summary>
    /// <param name="matchOf">The leader's match index of a member.</param>
    /// <param name="configurationIndex">Index of the entry that set <paramref name="current"/>: a
    /// learner is promoted only once it holds it (it has acknowledged everything up to the change
    /// that made it a learner, so it is really there), and is within <see cref="PromoteLagMax"/>
    /// entries of the leader's last.</param>
    public static MembershipStep? Plan(RaftConfiguration current, IReadOnlyList<string> target, string self, Func<string, ulong> matchOf, ulong lastIndex, ulong configurationIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(matchOf);
        if (target.Count == 0) return null;
        foreach (var node in target)
        {
            if (!current.Contains(node))
                return new(MembershipAction.AddLearner, node, new RaftConfiguration(current.Voters, [.. current.Learners, node]));
        }
        foreach (var learner in current.Learners.Where(target.Contains))
        {
            var match = matchOf(learner);
            if (match > 0 && match >= configurationIndex && match + PromoteLagMax >= lastIndex)
                return new(MembershipAction.Promote, learner, new RaftConfiguration([.. current.Voters, learner], current.Learners.Where(l => l != learner)));
        }
        if (current.Learners.Any(target.Contains)) return null; // a learner is still catching up
        foreach (var voter in current.Voters.Where(v => !target.Contains(v)))
        {
            if (voter == self)
            {
                var heir = target.Where(current.IsVoter).OrderByDescending(matchOf).ThenBy(t => t, StringComparer.Ordinal).FirstOrDefault();
                return heir is null ? null : new(MembershipAction.TransferLeadership, heir, null);
            }
            return new(MembershipAction.RemoveVoter, voter, new RaftConfiguration(current.Voters.Where(v => v != voter), current.Learners));
        }
        foreach (var learner in current.Learners.Where(l => !target.Contains(l)))
            return new(MembershipAction.RemoveLearner, learner, new RaftConfiguration(current.Voters, current.Learners.Where(l => l != learner)));
        return null;
    }
}
