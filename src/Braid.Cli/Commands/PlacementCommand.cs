using System.CommandLine;
using System.Text;
using Braid.Cli.Cluster;
using Braid.Core.Placement;

namespace Braid.Cli.Commands;

/// <summary>
/// <c>braid placement</c>: prints the deterministic placement table for a topology and, for each
/// single-node failure, which partitions keep a connected majority (issue 4, item 3). Offline:
/// it reads only the topology file, so an operator can check a layout before starting nodes.
/// </summary>
internal static class PlacementCommand
{
    public static Command Create()
    {
        var topology = Options.Topology();
        var partitions = new Option<int>("--partitions", "-p") { Description = "Number of partitions", DefaultValueFactory = _ => 12 };
        var replicas = new Option<int>("--replicas", "-r") { Description = "Replicas per partition", DefaultValueFactory = _ => 3 };
        var json = Options.Json();
        var command = new Command("placement", "Print where each partition's replicas go and which partitions stay writable after each single-node failure")
        {
            topology, partitions, replicas, json,
        };
        command.SetAction((parse, _) => CommandRunner.RunAsync(() =>
        {
            var loaded = TopologyFiles.Load(parse.GetValue(topology)!);
            PlacementTable table;
            try
            {
                table = PlacementPlanner.Plan(loaded, parse.GetValue(partitions), parse.GetValue(replicas));
            }
            catch (ArgumentException e)
            {
                throw new CliException(e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal));
            }
            if (parse.GetValue(json)) Json.CliJson.Print(Report(table));
            else Console.Write(Render(table));
            return Task.FromResult(0);
        }));
        return command;
    }

    /// <summary>The whole report as text (separate from printing so that it reads top to bottom).</summary>
    internal static string Render(PlacementTable table)
    {
        var text = new StringBuilder();
        var nodes = table.Topology.NodeIds.Order(StringComparer.Ordinal).ToArray();
        text.AppendLine($"topology {table.Topology.Name}: {nodes.Length} nodes, {table.Partitions.Count} partitions x {table.ReplicaCount} replicas (quorum {table.Quorum})");
        text.AppendLine();
        text.AppendLine("partition  replicas         leader  sites");
        foreach (var p in table.Partitions)
        {
            text.AppendLine($"{p.Partition,9}  {string.Join(" ", p.Replicas),-15}  {p.PreferredLeader,-6}  {string.Join(" ", table.SitesOf(p.Partition))}");
        }
        text.AppendLine();
        text.AppendLine("replicas per node:  " + string.Join("  ", nodes.Select(n => $"{n} {table.ReplicasOn(n)}")));
        text.AppendLine("leaders per node:   " + string.Join("  ", nodes.Select(n => $"{n} {table.PreferredLeadersOn(n)}")));
        text.AppendLine();
        foreach (var failed in nodes) text.AppendLine(FailureLine(table, failed));
        for (var split = 0; split < table.SiteSplits.Count; split++) text.AppendLine(SplitLine(table, split));
        return text.ToString();
    }

    /// <summary>The same report as data, for --json.</summary>
    internal static Json.PlacementReport Report(PlacementTable table)
    {
        var all = table.Partitions.Select(p => p.Partition).ToList();
        var partitions = table.Partitions.Select(p => new Json.PlacementPartitionReport(p.Partition, p.Replicas, p.PreferredLeader, table.SitesOf(p.Partition))).ToList();
        var nodes = table.Topology.NodeIds.Order(StringComparer.Ordinal).Select(n =>
        {
            var writable = table.WritableAfterFailure(n);
            return new Json.PlacementNodeReport(n, table.Topology.Node(n).Site, table.ReplicasOn(n), table.PreferredLeadersOn(n), writable.Count, all.Except(writable).ToList());
        }).ToList();
        var splits = table.SiteSplits.Select((split, i) =>
        {
            var writable = table.WritableAfterSiteSplit(i);
            return new Json.SiteSplitReport(split.One, split.Other, writable.Count, all.Except(writable).ToList());
        }).ToList();
        return new Json.PlacementReport(table.Topology.Name, table.ReplicaCount, table.Quorum, partitions, nodes, splits);
    }

    private static string SplitLine(PlacementTable table, int split)
    {
        var (one, other) = table.SiteSplits[split];
        var writable = table.WritableAfterSiteSplit(split);
        var line = $"{string.Join("+", one)} | {string.Join("+", other)} split: writable {writable.Count}/{table.Partitions.Count}";
        if (writable.Count == table.Partitions.Count) return line;
        var lost = table.Partitions.Select(p => p.Partition).Except(writable);
        return line + "  (no connected majority on either side: " + string.Join(", ", lost.Select(p => $"p{p}")) + ")";
    }

    private static string FailureLine(PlacementTable table, string failed)
    {
        var writable = table.WritableAfterFailure(failed);
        var line = $"{failed} down: writable {writable.Count}/{table.Partitions.Count}";
        if (writable.Count == table.Partitions.Count) return line;
        var lost = table.Partitions.Select(p => p.Partition).Except(writable);
        return line + "  (no connected majority: " + string.Join(", ", lost.Select(p => $"p{p}")) + ")";
    }
}
