using System.CommandLine;
using Braid.Cli.Cluster;
using Braid.Protocol.V1;

namespace Braid.Cli.Commands;

internal static class FaultCommand
{
    public static Command Create()
    {
        var node = new Option<string>("--node") { Description = "Node whose link is faulted", Required = true };
        var link = new Option<string>("--link") { Description = "The neighbour at the other end of the link", Required = true };
        var drop = new Option<bool>("--drop") { Description = "Drop every frame on the link, both ways, at this node" };
        var delay = new Option<int>("--delay-ms") { Description = "Delay every outgoing frame on the link by this many ms" };
        var jitter = new Option<int>("--jitter-ms") { Description = "With --delay-ms: up to this many ms more, uniform, per frame" };
        var loss = new Option<double>("--loss-percent") { Description = "With --delay-ms: drop this percentage of outgoing frames" };
        var clear = new Option<bool>("--clear") { Description = "Remove the fault" };
        var dir = Options.ClusterDirectory();
        var tls = new Security.ClientTlsOptions();
        var command = new Command("fault", "Inject a fault on one overlay link (the node must run with --allow-fault-injection)")
        {
            node, link, drop, delay, jitter, loss, clear, dir,
        };
        tls.AddTo(command);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            var chosen = (parse.GetValue(drop) ? 1 : 0) + (parse.GetValue(delay) > 0 ? 1 : 0) + (parse.GetValue(clear) ? 1 : 0);
            if (chosen != 1) throw new CliException("give exactly one of --drop, --delay-ms N or --clear");
            var kind = parse.GetValue(drop) ? SetLinkFaultRequest.Types.Kind.Drop
                : parse.GetValue(clear) ? SetLinkFaultRequest.Types.Kind.None : SetLinkFaultRequest.Types.Kind.Delay;
            var address = NodeAddresses.Find(parse.GetValue(dir)!, null, parse.GetValue(node)!);
            using var clients = new NodeClients(tls.Resolve(parse, parse.GetValue(dir)!));
            await clients.Admin(address).SetLinkFaultAsync(
                new SetLinkFaultRequest { Neighbour = parse.GetValue(link)!, Kind = kind, DelayMs = parse.GetValue(delay), JitterMs = parse.GetValue(jitter), LossPercent = parse.GetValue(loss) },
                deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: ct).ConfigureAwait(false);
            Console.WriteLine($"link {parse.GetValue(node)}-{parse.GetValue(link)}: {kind.ToString().ToLowerInvariant()}");
            return 0;
        }));
        return command;
    }
}
