using System.CommandLine;
using Braid.Client.Security;
using Braid.Cli.Cluster;
using Braid.Cli.Commands;

namespace Braid.Cli.Security;

/// <summary><c>braid certs</c>: the certificates of a (multi-machine) cluster, made in one folder
/// and then copied to each machine: ca.crt everywhere, node-ID.* to node ID, client-NAME.* to clients.</summary>
internal static class CertsCommand
{
    public static Command Create()
    {
        var dir = new Option<string>("--dir") { Description = "Folder for the PEM files (created; existing files are kept)", Required = true };
        var nodes = new Option<string?>("--nodes", "--topology", "-t") { Description = "Topology (file or shipped name) whose nodes get certificates" };
        var basePort = Options.BasePort();
        var clients = new Option<string[]>("--client")
        {
            Description = "A client certificate NAME:ROLES, roles comma-separated from produce, consume, admin (or all); repeatable. " +
                "Default: admin:all, producer:produce, consumer:consume",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("certs",
            "Make a cluster CA, a certificate per node (CN and DNS name = node id, plus its host) and client certificates with roles " +
            "(CN = client name, one OU per role: produce, consume, admin)")
        {
            dir, nodes, basePort, clients,
        };
        command.SetAction((parse, _) => CommandRunner.RunAsync(() =>
        {
            var topology = parse.GetValue(nodes) is { } t ? TopologyFiles.Load(t, parse.GetValue(basePort)) : null;
            var wanted = parse.GetValue(clients) is { Length: > 0 } given ? given.Select(ParseClient).ToList() : [.. ClusterCertificates.DefaultClients];
            var files = new ClusterCertificates(parse.GetValue(dir)!);
            foreach (var line in files.Ensure(topology, wanted, DateTimeOffset.UtcNow)) Console.WriteLine(line);
            Console.WriteLine($"start a node with: braid node --tls-cert {files.NodeCertificate("ID")} --tls-key {files.NodeKey("ID")} --tls-ca {files.CaCertificate} ...");
            Console.WriteLine($"keep {files.CaKey} off the nodes: whoever holds it can mint certificates");
            return Task.FromResult(0);
        }));
        return command;
    }

    internal static (string Name, BraidRoles Roles) ParseClient(string text)
    {
        var colon = text.IndexOf(':');
        if (colon <= 0) throw new CliException($"--client wants NAME:ROLES, e.g. reader:consume (got '{text}')");
        try
        {
            var roles = BraidIdentity.ParseRoles(text[(colon + 1)..]);
            if (roles == BraidRoles.None) throw new FormatException("no role given");
            return (text[..colon], roles);
        }
        catch (FormatException e)
        {
            throw new CliException($"--client {text}: {e.Message}");
        }
    }
}
