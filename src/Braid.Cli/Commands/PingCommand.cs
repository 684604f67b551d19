using System.CommandLine;
using System.Globalization;
using Braid.Cli.Cluster;
using Braid.Protocol.V1;
using Grpc.Core;

namespace Braid.Cli.Commands;

internal static class PingCommand
{
    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "Node that sends the probe", Required = true };
        var to = new Option<string>("--to") { Description = "Node the probe goes to", Required = true };
        var dir = Options.ClusterDirectory();
        var tls = new Security.ClientTlsOptions();
        var topology = new Option<string?>("--topology", "-t") { Description = "Find nodes in this topology instead of a local cluster's state" };
        var timeout = Options.TimeoutSeconds(2);
        var command = new Command("ping", "Send a record-route probe through the overlay; print the path and round-trip time (exit 1 if unreachable)")
        {
            from, to, dir, topology, timeout,
        };
        tls.AddTo(command);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            var address = NodeAddresses.Find(parse.GetValue(dir)!, parse.GetValue(topology), parse.GetValue(from)!);
            using var clients = new NodeClients(tls.Resolve(parse, parse.GetValue(dir)!));
            var seconds = parse.GetValue(timeout);
            PingReply reply;
            try
            {
                reply = await clients.Admin(address).PingAsync(
                    new PingRequest { Destination = parse.GetValue(to)!, TimeoutMs = (int)(seconds * 1000) },
                    deadline: DateTime.UtcNow.AddSeconds(seconds + 2), cancellationToken: ct).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                throw new CliException($"node {parse.GetValue(from)} at {address} does not answer ({e.StatusCode})", 2);
            }
            if (!reply.Ok) throw new CliException(reply.Error);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{string.Join(" -> ", reply.ForwardRoute)}  (back {string.Join(" -> ", reply.ReturnRoute)})  rtt {reply.RttMs:F2} ms"));
            return 0;
        }));
        return command;
    }
}

/// <summary>Where to reach a node: the local cluster's state if there is one, else a topology file.</summary>
internal static class NodeAddresses
{
    public static string Find(string clusterDirectory, string? topology, string id)
    {
        if (topology is null && ClusterState.TryLoad(clusterDirectory) is { } state) return state.Node(id).Address;
        var loaded = TopologyFiles.Load(topology ?? TopologyFiles.DefaultName);
        if (!loaded.Contains(id)) throw new CliException($"unknown node '{id}' (topology {loaded.Name} has {string.Join(", ", loaded.NodeIds)})");
        return loaded.Node(id).Address;
    }
}
