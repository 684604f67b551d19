using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Braid.Client.Security;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Braid.Node.Security;

/// <summary>
/// A node's TLS identity: its certificate (which names it, see <see cref="BraidIdentity"/>) and
/// the cluster CA every peer and client certificate must chain to. The same certificate serves
/// Kestrel and authenticates the node when it dials a neighbour (mutual TLS on links).
/// </summary>
public sealed class NodeTls
{
    private NodeTls(X509Certificate2 certificate, ClusterTrust trust)
    {
        Certificate = certificate;
        Trust = trust;
        Dialer = new ClientTls(certificate, trust);
    }

    public X509Certificate2 Certificate { get; }
    public ClusterTrust Trust { get; }

    /// <summary>What this node presents and expects when it dials a neighbour.</summary>
    public ClientTls Dialer { get; }

    /// <summary>Loads and checks the files: the certificate must be a node certificate for
    /// <paramref name="nodeId"/>, issued by the CA, with its private key.</summary>
    public static NodeTls Load(string certificatePath, string keyPath, string caPath, string nodeId)
    {
        var trust = ClusterTrust.Load(caPath);
        var certificate = ClusterTrust.LoadWithKey(certificatePath, keyPath);
        if (trust.Verify(certificate) is { } problem)
            throw new BraidSecurityException($"{certificatePath}: {problem} ({caPath})");
        var identity = BraidIdentity.Of(certificate);
        if (!identity.IsNode || identity.Name != nodeId)
            throw new BraidSecurityException($"{certificatePath} names {identity}, not node {nodeId}");
        return new NodeTls(certificate, trust);
    }

    /// <summary>HTTPS on a Kestrel endpoint. Client certificates are asked for, checked against the
    /// cluster CA during the handshake (a foreign one fails it), but not required there: a call
    /// without one gets UNAUTHENTICATED naming what is missing (<see cref="RoleInterceptor"/>), which
    /// says more than a failed handshake. The health service stays open to probes.</summary>
    internal void Configure(ListenOptions listen) => listen.UseHttps(new HttpsConnectionAdapterOptions
    {
        ServerCertificate = Certificate,
        SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        ClientCertificateMode = ClientCertificateMode.AllowCertificate,
        CheckCertificateRevocation = false,
        ClientCertificateValidation = (certificate, _, _) => Trust.Verify(certificate) is null,
    });
}
