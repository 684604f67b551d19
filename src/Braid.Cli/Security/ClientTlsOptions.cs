using System.CommandLine;
using Braid.Client.Security;
using Braid.Cli.Cluster;

namespace Braid.Cli.Security;

/// <summary>
/// How a client command authenticates: by default with the local cluster's admin certificate
/// (DIR/certs/client-admin.*), or the files given, or, only when asked with --insecure (or when the
/// local cluster was started with --insecure), in plaintext.
/// </summary>
internal sealed class ClientTlsOptions
{
    public Option<bool> Insecure { get; } = new("--insecure") { Description = "Plaintext, no certificate (only a cluster started with --insecure accepts it)" };
    public Option<string?> Certificate { get; } = new("--tls-cert") { Description = "Client certificate, PEM (default: the local cluster's admin certificate)" };
    public Option<string?> Key { get; } = new("--tls-key") { Description = "Private key of --tls-cert, PEM" };
    public Option<string?> Authority { get; } = new("--tls-ca") { Description = "The cluster CA certificate, PEM" };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Insecure, Certificate, Key, Authority }) command.Options.Add(o);
    }

    public ClientTls? Resolve(ParseResult parse, string clusterDirectory)
    {
        if (parse.GetValue(Insecure)) return null;
        if (parse.GetValue(Certificate) is { } certificate)
        {
            if (parse.GetValue(Key) is not { } key || parse.GetValue(Authority) is not { } authority)
                throw new CliException("--tls-cert needs --tls-key and --tls-ca");
            try { return ClientTls.Load(certificate, key, authority); }
            catch (BraidSecurityException e) { throw new CliException(e.Message); }
        }
        return ForCluster(clusterDirectory);
    }

    /// <summary>The CLI's client TLS for the local cluster in <paramref name="clusterDirectory"/>:
    /// none if it was started with --insecure, else its admin certificate.</summary>
    public static ClientTls? ForCluster(string clusterDirectory) =>
        ClusterState.TryLoad(clusterDirectory) is { Insecure: true } ? null : ClusterCertificates.OfCluster(clusterDirectory).LoadClient();
}
