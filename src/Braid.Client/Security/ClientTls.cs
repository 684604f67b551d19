using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Braid.Client.Security;

/// <summary>
/// How a client (or a node dialling a neighbour) speaks TLS to nodes: it presents
/// <see cref="Certificate"/> and accepts a server only if that server's certificate is a node
/// certificate issued by the cluster CA. Host names are not what identifies a node (addresses
/// change under netns and NAT): the CA and the node name in the certificate are.
/// </summary>
public sealed class ClientTls(X509Certificate2 certificate, ClusterTrust trust)
{
    public X509Certificate2 Certificate { get; } = certificate;
    public ClusterTrust Trust { get; } = trust;

    public static ClientTls Load(string certificatePath, string keyPath, string caPath) =>
        new(ClusterTrust.LoadWithKey(certificatePath, keyPath), ClusterTrust.Load(caPath));

    /// <summary>TLS options for one connection.</summary>
    /// <param name="expectedNode">When set, the server must be this node (links pin their neighbour).</param>
    /// <param name="rejected">Told why a server was refused (the handshake error itself only says "rejected").</param>
    public SslClientAuthenticationOptions SslOptions(string? expectedNode = null, Action<string>? rejected = null) => new()
    {
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        LocalCertificateSelectionCallback = (_, _, _, _, _) => Certificate,
        RemoteCertificateValidationCallback = (_, remote, _, _) =>
        {
            var problem = remote is X509Certificate2 server ? ServerProblem(server, expectedNode) : "the server presented no certificate";
            if (problem is not null) rejected?.Invoke(problem);
            return problem is null;
        },
    };

    /// <summary>Null if <paramref name="server"/> is acceptable; else why not.</summary>
    public string? ServerProblem(X509Certificate2 server, string? expectedNode)
    {
        if (Trust.Verify(server) is { } problem) return problem;
        var identity = BraidIdentity.Of(server);
        if (!identity.IsNode) return $"the server presented {identity}, not a node certificate";
        if (expectedNode is not null && identity.Name != expectedNode)
            return $"dialled node {expectedNode} but the server's certificate names node {identity.Name}";
        return null;
    }

    /// <summary>A handler for gRPC channels to nodes.</summary>
    public static SocketsHttpHandler Handler(ClientTls? tls, string? expectedNode = null, Action<string>? rejected = null)
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1), EnableMultipleHttp2Connections = true };
        if (tls is not null) handler.SslOptions = tls.SslOptions(expectedNode, rejected);
        return handler;
    }

    public static string Scheme(ClientTls? tls) => tls is null ? "http" : "https";
}
