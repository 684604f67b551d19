using System.Globalization;
using System.Text;

namespace Braid.Cli.Status;

/// <summary>The human-readable form of a <see cref="ClusterStatusReport"/>: a summary line, the nodes, the partitions, the alarms.</summary>
internal static class StatusText
{
    public static string Render(ClusterStatusReport report)
    {
        var text = new StringBuilder();
        var up = report.Nodes.Count(n => n.State == NodeReport.Up);
        var led = report.Partitions.Count(p => p.Leader is not null);
        var verdict = report.Healthy ? "healthy" : Invariant($"{report.Alarms.Count} alarm{(report.Alarms.Count == 1 ? "" : "s")}");
        text.AppendLine(Invariant($"cluster ({report.Source}) at {report.TakenAt:yyyy-MM-dd HH:mm:ss}Z: {up}/{report.Nodes.Count} nodes up, {led}/{report.Partitions.Count} partitions with a leader, {verdict}"));
        text.AppendLine();
        Nodes(text, report.Nodes);
        text.AppendLine();
        Partitions(text, report.Partitions);
        text.AppendLine();
        if (report.Alarms.Count == 0) text.AppendLine("alarms: none");
        else
        {
            text.AppendLine("alarms:");
            foreach (var a in report.Alarms)
            {
                var where = (a.Partition, a.Node) switch
                {
                    ({ } p, { } n) => $"p{p} on {n}",
                    ({ } p, null) => $"p{p}",
                    (null, { } n) => $"node {n}",
                    _ => "cluster",
                };
                text.AppendLine(Invariant($"  {a.Kind,-12} {where}: {a.Detail}"));
            }
        }
        return text.ToString();
    }

    private static void Nodes(StringBuilder text, IReadOnlyList<NodeReport> nodes)
    {
        var idWidth = Math.Max(4, nodes.Select(n => n.Id.Length).DefaultIfEmpty(0).Max());
        var addressWidth = Math.Max(7, nodes.Select(n => n.Address.Length).DefaultIfEmpty(0).Max());
        var siteWidth = Math.Max(4, nodes.Select(n => n.Site?.Length ?? 1).DefaultIfEmpty(0).Max());
        var incarnationWidth = Math.Max(11, nodes.Select(n => n.Incarnation?.ToString(CultureInfo.InvariantCulture).Length ?? 1).DefaultIfEmpty(0).Max());
        var local = nodes.Any(n => n.Process is not null);
        text.AppendLine(Invariant($"{"node".PadRight(idWidth)}  {"address".PadRight(addressWidth)}  {"site".PadRight(siteWidth)}  {"state",-11}  {(local ? $"{"process",-7}  " : "")}{"incarnation".PadLeft(incarnationWidth)}  {"uptime",7}  links (phi)"));
        foreach (var n in nodes)
        {
            var links = n.State == NodeReport.Up && n.Links.Count > 0
                ? string.Join("  ", n.Links.Select(Link)) + (n.Unreachable.Count > 0 ? "; no route to " + string.Join(",", n.Unreachable) : "")
                : n.Error ?? "-";
            text.AppendLine(Invariant(
                $"{n.Id.PadRight(idWidth)}  {n.Address.PadRight(addressWidth)}  {(n.Site ?? "-").PadRight(siteWidth)}  {n.State,-11}  {(local ? $"{n.Process ?? "-",-7}  " : "")}{(n.Incarnation?.ToString(CultureInfo.InvariantCulture) ?? "-").PadLeft(incarnationWidth)}  {Uptime(n.UptimeMs),7}  {links}"));
        }
    }

    private static string Link(LinkReport l)
    {
        var state = !l.Alive ? "dead" : l.Phi is { } phi ? phi.ToString("0.0", CultureInfo.InvariantCulture) : "?";
        return $"{l.Neighbour} {state}{(l.Fault is { } f ? $" [{f}]" : "")}";
    }

    private static void Partitions(StringBuilder text, IReadOnlyList<PartitionReport> partitions)
    {
        text.AppendLine(Invariant($"{"part",-5} {"leader",-7} {"term",5} {"commit",9} {"lag",6}  replicas (node:role:applied, -lag)"));
        foreach (var p in partitions)
        {
            var leader = p.Leader is null ? "-" : p.Leader + (p.LeaderAnswered ? "" : "?");
            var replicas = string.Join("  ", p.Replicas.Select(Replica));
            text.AppendLine(Invariant($"{"p" + p.Partition,-5} {leader,-7} {p.Term,5} {p.CommitIndex,9} {(p.MaxLag is { } lag ? lag.ToString(CultureInfo.InvariantCulture) : "-"),6}  {replicas}"));
        }
        text.AppendLine("role: L leader, F follower, P pre-candidate, C candidate, X failed, ? no answer; leader? = named by a follower, did not answer itself");
    }

    private static string Replica(ReplicaReport r)
    {
        if (!r.Answered) return r.Node + ":?";
        var role = r.Role switch
        {
            "Leader" => "L",
            "Follower" => "F",
            "PreCandidate" => "P",
            "Candidate" => "C",
            StatusBuilder.FailedRole => "X",
            _ => "-",
        };
        var cell = r.AppliedIndex is { } applied ? Invariant($"{r.Node}:{role}:{applied}") : $"{r.Node}:{role}";
        if (r.Lag is > 0) cell += Invariant($"(-{r.Lag})");
        if (r.NoSpaceAlarm is not null) cell += "!NOSPACE";
        if (r.Recovering) cell += "!recovering";
        return cell;
    }

    internal static string Uptime(long? milliseconds)
    {
        if (milliseconds is not { } ms) return "-";
        var t = TimeSpan.FromMilliseconds(ms);
        return t.TotalDays >= 1 ? Invariant($"{(int)t.TotalDays}d{t.Hours:00}h")
            : t.TotalHours >= 1 ? Invariant($"{(int)t.TotalHours}h{t.Minutes:00}m")
            : t.TotalMinutes >= 1 ? Invariant($"{(int)t.TotalMinutes}m{t.Seconds:00}s")
            : Invariant($"{t.TotalSeconds:0.0}s");
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
