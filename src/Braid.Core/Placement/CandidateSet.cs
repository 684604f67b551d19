namespace Braid.Core.Placement;

/// <summary>
/// One possible replica set with the scores that do not depend on what was placed before it:
/// how many single-node and single-site failures it survives with a connected majority, how
/// its members spread over sites, and how close they sit in the overlay.
/// </summary>
internal sealed class CandidateSet
{
    private CandidateSet(int[] members, int order, OverlayAnalysis overlay, int quorum)
    {
        Members = members;
        Order = order;
        NodeFailuresSurvived = Enumerable.Range(0, overlay.NodeCount)
            .Count(f => OverlayAnalysis.HasConnectedQuorum(members, overlay.ComponentsAfterNodeFailure(f), quorum));
        SiteFailuresSurvived = overlay.SiteNames.Length < 2 ? 0 : overlay.ComponentsAfterSiteFailure
            .Count(components => OverlayAnalysis.HasConnectedQuorum(members, components, quorum));
        SiteSplitsSurvived = overlay.ComponentsAfterSiteSplit.Count(components => OverlayAnalysis.HasConnectedQuorum(members, components, quorum));
        MostOnOneSite = members.GroupBy(m => overlay.SiteOf[m]).Max(g => g.Count());
        OnOneSite = overlay.SiteNames.Length > 1 && members.Length > 1 && MostOnOneSite == members.Length;
        HopSum = members.Sum(a => members.Sum(b => overlay.Hops(a, b))) / 2;
    }

    /// <summary>Node indexes in ascending order.</summary>
    public int[] Members { get; }

    /// <summary>Position in lexicographic enumeration: the final, stable tie-break.</summary>
    public int Order { get; }

    public int NodeFailuresSurvived { get; }

    /// <summary>A site is a computer: losing it loses all its nodes at once, so a set that survives
    /// site failures is stronger than one that merely touches several sites.</summary>
    public int SiteFailuresSurvived { get; }

    /// <summary>Splits of the network between sites (both sides up, no link between them) after
    /// which one side still holds a majority of the replicas that can reach each other inside it.</summary>
    public int SiteSplitsSurvived { get; }

    public int MostOnOneSite { get; }

    /// <summary>All replicas on one site although the topology has several: one computer's crash loses the partition.</summary>
    public bool OnOneSite { get; }

    /// <summary>Sum of pairwise hop distances: fewer hops, cheaper replication round trips.</summary>
    public int HopSum { get; }

    /// <summary>Every R-subset of the nodes, in lexicographic order of node index.</summary>
    public static IReadOnlyList<CandidateSet> Enumerate(OverlayAnalysis overlay, int replicas, int quorum)
    {
        var result = new List<CandidateSet>();
        var pick = Enumerable.Range(0, replicas).ToArray();
        while (true)
        {
            result.Add(new CandidateSet((int[])pick.Clone(), result.Count, overlay, quorum));
            if (!Advance(pick, overlay.NodeCount)) return result;
        }
    }

    /// <summary>Steps <paramref name="pick"/> to the next combination; false after the last one.</summary>
    private static bool Advance(int[] pick, int n)
    {
        var r = pick.Length;
        var i = r - 1;
        while (i >= 0 && pick[i] == n - r + i) i--;
        if (i < 0) return false;
        pick[i]++;
        for (var j = i + 1; j < r; j++) pick[j] = pick[j - 1] + 1;
        return true;
    }
}
