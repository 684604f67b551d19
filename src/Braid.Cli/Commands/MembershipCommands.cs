using System.CommandLine;
using Braid.Cli.Cluster;
using Braid.Cli.Membership;
using Braid.Client;
using Braid.Protocol.V1;
using Grpc.Core;

namespace Braid.Cli.Commands;

/// <summary>
/// <c>braid cluster add|remove|replace|rebalance|members</c> (issue 12): membership changes go
/// through the metadata group as one committed command each; the command then follows the groups
/// as their leaders move them one server at a time, printing progress, until every group is where
/// its target says (or --timeout). Each is idempotent: run again, it reports that nothing changed
/// and waits for the groups still moving. Works on the local cluster (--dir) or any cluster (--seeds).
/// </summary>
internal static class MembershipCommands
{
    /// <summary>Exit code when the change committed but groups were still moving at --timeout.</summary>
    public const int ExitStillMoving = 4;

    public static IEnumerable<Command> Create()
    {
        yield return Change("add", "Add a node (new, or back as new after it was declared dead or removed) and rebalance replicas onto it",
            MembershipChangeRequest.Types.Action.Add, nodeArgument: true, newNodeOptions: true);
        yield return Change("remove", "Remove a node: each group holding it gets a replacement first, then lets it go",
            MembershipChangeRequest.Types.Action.Remove, nodeArgument: true, newNodeOptions: false);
        yield return Change("replace", "Replace a node by another (added if new, with --host, --port, --site, --edges): each group holding it gets the other instead",
            MembershipChangeRequest.Types.Action.Replace, nodeArgument: true, newNodeOptions: true);
        yield return Change("rebalance", "Move replicas so that every node that takes them holds about as many",
            MembershipChangeRequest.Types.Action.Rebalance, nodeArgument: false, newNodeOptions: false);
        yield return Members();
    }

    private sealed class Common
    {
        public Option<string?> Seeds { get; } = new("--seeds") { Description = "Comma-separated node addresses of any cluster (default: the local cluster's nodes)" };
        public Option<string> Dir { get; } = Options.ClusterDirectory();
        public Security.ClientTlsOptions Tls { get; } = new();
        public Option<bool> Json { get; } = Options.Json();

        public void AddTo(Command command)
        {
            command.Options.Add(Seeds);
            command.Options.Add(Dir);
            command.Options.Add(Json);
            Tls.AddTo(command);
        }

        public IReadOnlyList<string> SeedList(ParseResult p) => p.GetValue(Seeds) is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : ClusterState.Load(p.GetValue(Dir)!).Nodes.Select(n => n.Address).ToList();

        public Braid.Client.Security.ClientTls? ResolveTls(ParseResult p) => Tls.Resolve(p, p.GetValue(Dir)!);
    }

    private static Command Change(string name, string description, MembershipChangeRequest.Types.Action action, bool nodeArgument, bool newNodeOptions)
    {
        var common = new Common();
        var node = new Argument<string>("node") { Description = action == MembershipChangeRequest.Types.Action.Replace ? "The node to replace" : "The node's id" };
        var with = new Option<string>("--with") { Description = "The node that takes its place", Required = true };
        var host = new Option<string?>("--host") { Description = "A new node's host (IP address or name)" };
        var port = new Option<int>("--port") { Description = "A new node's gRPC port" };
        var site = new Option<string?>("--site") { Description = "A new node's site (the computer it runs on; placement spreads replicas over sites)" };
        var edges = new Option<string?>("--edges") { Description = "A new node's overlay neighbours, comma-separated ids of nodes of the cluster" };
        var force = new Option<bool>("--force") { Description = "Remove even when some groups are left with fewer replicas (no other node can take them)" };
        var noRebalance = new Option<bool>("--no-rebalance") { Description = "Only add the node; move no replica onto it (braid cluster rebalance does later)" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to follow the groups until all are in place (exit 4 if some are still moving then)", DefaultValueFactory = _ => 600 };
        var noWait = new Option<bool>("--no-wait") { Description = "Return once the change is committed, without following the groups" };
        var command = new Command(name, description + $". Exit 0 once every group is in place, {ExitStillMoving} if groups still move at --timeout.") { timeout, noWait };
        if (nodeArgument) command.Arguments.Add(node);
        if (action == MembershipChangeRequest.Types.Action.Replace) command.Options.Add(with);
        if (newNodeOptions)
        {
            command.Options.Add(host);
            command.Options.Add(port);
            command.Options.Add(site);
            command.Options.Add(edges);
        }
        if (action == MembershipChangeRequest.Types.Action.Add) command.Options.Add(noRebalance);
        if (action == MembershipChangeRequest.Types.Action.Remove) command.Options.Add(force);
        common.AddTo(command);
        command.SetAction((p, ct) => CommandRunner.RunAsync(async () =>
        {
            if (p.GetValue(timeout) is < 1 or > 86_400) throw new CliException("--timeout must be 1 to 86400 seconds");
            var request = new MembershipChangeRequest
            {
                Action = action,
                Rebalance = action == MembershipChangeRequest.Types.Action.Add && !p.GetValue(noRebalance),
                Force = action == MembershipChangeRequest.Types.Action.Remove && p.GetValue(force),
            };
            if (nodeArgument) request.Node = p.GetValue(node)!;
            if (action == MembershipChangeRequest.Types.Action.Replace) request.With = p.GetValue(with)!;
            if (newNodeOptions)
            {
                request.Host = p.GetValue(host) ?? "";
                request.Port = p.GetValue(port);
                request.Site = p.GetValue(site) ?? "";
                if (p.GetValue(edges) is { Length: > 0 } list) request.Edges.AddRange(list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
            var asJson = p.GetValue(common.Json);
            var progress = asJson ? Console.Error : Console.Out;
            // On the local cluster (no --seeds) this command also runs the node it brings in:
            // address defaults (127.0.0.1, the next free port), certificate, process.
            var local = p.GetValue(common.Seeds) is not { Length: > 0 } && action is MembershipChangeRequest.Types.Action.Add or MembershipChangeRequest.Types.Action.Replace;
            using var manager = local ? new ClusterManager(p.GetValue(common.Dir)!, progress) : null;
            var incoming = action == MembershipChangeRequest.Types.Action.Replace ? request.With : request.Node;
            AddedNode? added = null;
            if (manager is not null)
            {
                added = manager.PlanAdded(incoming, p.GetValue(host), p.GetValue(port), p.GetValue(site), [.. request.Edges]);
                if (added is not null)
                {
                    request.Host = added.Host;
                    request.Port = added.Port;
                    request.Site = added.Site;
                }
            }
            using var braid = await ClientOptions.ConnectAsync(common.SeedList(p), common.ResolveTls(p), ct).ConfigureAwait(false);
            MembershipChangeReply reply;
            try
            {
                reply = await braid.ChangeMembershipAsync(request, ct).ConfigureAwait(false);
            }
            catch (BraidException e) when (e.InnerException is RpcException { StatusCode: StatusCode.InvalidArgument } rpc)
            {
                throw new CliException($"{name} refused: {rpc.Status.Detail}");
            }
            progress.WriteLine(reply.Changed
                ? $"committed at metadata index {reply.CatalogVersion}: {reply.Summary}{(reply.MovedGroups.Count > 0 ? $" ({string.Join(" ", reply.MovedGroups)})" : "")}"
                : $"unchanged: {reply.Summary}");
            if (manager is not null) await manager.StartMemberAsync(incoming, added, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
            if (p.GetValue(noWait))
            {
                if (asJson) Json.CliJson.Print(await CollectAsync(common, p, ct).ConfigureAwait(false));
                return 0;
            }
            var report = await FollowAsync(common, p, TimeSpan.FromSeconds(p.GetValue(timeout)), progress, ct).ConfigureAwait(false);
            var done = report.GroupsInPlace == report.Groups.Count;
            // On the local cluster, a removed node's process stops once nothing needs it any more.
            if (done && action == MembershipChangeRequest.Types.Action.Remove && p.GetValue(common.Seeds) is not { Length: > 0 }
                && report.Groups.All(g => !g.Voters.Contains(request.Node) && !g.Learners.Contains(request.Node)))
            {
                using var stopper = new ClusterManager(p.GetValue(common.Dir)!, progress);
                stopper.Stop(request.Node);
            }
            if (asJson) Json.CliJson.Print(report);
            return done ? 0 : ExitStillMoving;
        }));
        return command;
    }

    private static Command Members()
    {
        var common = new Common();
        var command = new Command("members", "Every node (state, replicas it should hold) and every Raft group (target replicas against the leader's voters and learners)");
        common.AddTo(command);
        command.SetAction((p, ct) => CommandRunner.RunAsync(async () =>
        {
            var report = await CollectAsync(common, p, ct).ConfigureAwait(false);
            if (p.GetValue(common.Json)) Json.CliJson.Print(report);
            else Write(Console.Out, report);
            return 0;
        }));
        return command;
    }

    /// <summary>Polls every node once a second until every group is in place or the time is up;
    /// prints a line whenever the count of groups in place changes.</summary>
    private static async Task<MembershipReport> FollowAsync(Common common, ParseResult p, TimeSpan timeout, TextWriter progress, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var last = -1;
        while (true)
        {
            var report = await CollectAsync(common, p, ct).ConfigureAwait(false);
            var inPlace = report.GroupsInPlace;
            if (inPlace != last)
            {
                last = inPlace;
                progress.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1}s {inPlace}/{report.Groups.Count} groups in place" +
                    (inPlace < report.Groups.Count ? "; moving: " + string.Join("; ", report.Moving.Take(4)) + (report.Groups.Count - inPlace > 4 ? "; ..." : "") : ""));
            }
            if (report.Groups.Count > 0 && inPlace == report.Groups.Count) return report;
            if (clock.Elapsed > timeout)
            {
                progress.WriteLine($"still moving after {timeout.TotalSeconds:F0} s: " + string.Join("; ", report.Moving));
                return report;
            }
            await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
        }
    }

    /// <summary>Asks every node (discovered from the seeds) for Describe, each under 3 s.</summary>
    private static async Task<MembershipReport> CollectAsync(Common common, ParseResult p, CancellationToken ct)
    {
        using var clients = new NodeClients(common.ResolveTls(p));
        var seeds = common.SeedList(p);
        var first = await AskAsync(clients, seeds, ct).ConfigureAwait(false);
        var addresses = first.Values.OfType<DescribeReply>().SelectMany(r => r.Nodes).GroupBy(n => n.Id).ToDictionary(g => g.Key, g => g.First().Address);
        var answers = await Task.WhenAll(addresses.Select(async a => (a.Key, Reply: await DescribeAsync(clients, a.Value, ct).ConfigureAwait(false)))).ConfigureAwait(false);
        return MembershipView.Build(answers.ToDictionary(a => a.Key, a => a.Reply));
    }

    private static async Task<Dictionary<string, DescribeReply?>> AskAsync(NodeClients clients, IReadOnlyList<string> seeds, CancellationToken ct)
    {
        foreach (var seed in seeds)
        {
            if (await DescribeAsync(clients, seed, ct).ConfigureAwait(false) is { } reply) return new() { [reply.NodeId] = reply };
        }
        throw new CliException($"no node answered ({string.Join(", ", seeds)})", 2);
    }

    private static async Task<DescribeReply?> DescribeAsync(NodeClients clients, string address, CancellationToken ct)
    {
        try
        {
            return await new Protocol.V1.Stream.StreamClient(clients.Channel(address))
                .DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException)
        {
            return null;
        }
    }

    internal static void Write(TextWriter output, MembershipReport report)
    {
        output.WriteLine($"catalog version {report.CatalogVersion}; {report.GroupsInPlace}/{report.Groups.Count} groups in place");
        output.WriteLine("node  state    replicas  address");
        foreach (var n in report.Nodes)
            output.WriteLine($"{n.Id,-5} {n.State,-8} {n.Replicas,8}  {n.Address}{(n.Answered ? "" : "  (no answer)")}");
        output.WriteLine("group   target        voters        learners  leader  in place");
        foreach (var g in report.Groups)
            output.WriteLine($"{g.Group,-7} {string.Join(",", g.Target),-13} {string.Join(",", g.Voters),-13} {string.Join(",", g.Learners),-9} {g.Leader ?? "-",-7} {(g.InPlace ? "yes" : "no")}");
    }
}
