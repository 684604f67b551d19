using System.CommandLine;
using Braid.Client.Security;
using Braid.Cli.Cluster;
using Braid.Node.Security;

namespace Braid.Cli.Security;

/// <summary>`braid node`'s TLS flags: the three files, or an explicit --insecure.</summary>
internal sealed class NodeTlsOptions
{
    public Option<string?> Certificate { get; } = new("--tls-cert") { Description = "This node's certificate, PEM (braid certs makes it; CN = node id)" };
    public Option<string?> Key { get; } = new("--tls-key") { Description = "Private key of --tls-cert, PEM" };
    public Option<string?> Authority { get; } = new("--tls-ca") { Description = "The cluster CA certificate, PEM: peers and clients must present certificates it issued" };
    public Option<bool> Insecure { get; } = new("--insecure") { Description = "Serve and dial plaintext, with no authentication of nodes or clients" };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Certificate, Key, Authority, Insecure }) command.Options.Add(o);
    }

    /// <summary>The node's TLS identity, or null for an explicit --insecure.</summary>
    public NodeTls? Load(ParseResult parse, string nodeId)
    {
        var files = new[] { parse.GetValue(Certificate), parse.GetValue(Key), parse.GetValue(Authority) };
        if (parse.GetValue(Insecure))
        {
            if (files.Any(f => f is not null)) throw new CliException("--insecure cannot go with --tls-cert, --tls-key or --tls-ca");
            return null;
        }
        if (files.Any(f => f is null))
            throw new CliException("a node needs --tls-cert, --tls-key and --tls-ca (braid certs makes them), or --insecure for plaintext");
        try { return NodeTls.Load(files[0]!, files[1]!, files[2]!, nodeId); }
        catch (BraidSecurityException e) { throw new CliException(e.Message); }
    }
}
