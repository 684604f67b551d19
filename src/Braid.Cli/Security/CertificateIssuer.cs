using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Braid.Client.Security;

namespace Braid.Cli.Security;

/// <summary>
/// Makes a cluster's certificates with the platform's X.509 stack (CertificateRequest): a CA, node
/// certificates and client certificates, ECDSA P-256 (fast handshakes, small keys). Names and
/// roles are encoded as <see cref="BraidIdentity"/> describes (CN = name, one OU per role, OU=node
/// for nodes).
/// </summary>
internal static class CertificateIssuer
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";
    private static readonly TimeSpan Skew = TimeSpan.FromHours(1);
    private const int ValidYears = 10;

    public static X509Certificate2 CreateAuthority(string clusterName, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName("Braid");
        subject.AddCommonName($"Braid cluster CA {clusterName}");
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now - Skew, now.AddYears(ValidYears));
    }

    /// <summary>A node's certificate: it serves (Kestrel) and dials (links) with it.</summary>
    public static X509Certificate2 IssueNode(X509Certificate2 authority, string nodeId, string host, DateTimeOffset now)
    {
        var names = new SubjectAlternativeNameBuilder();
        if (Uri.CheckHostName(nodeId) == UriHostNameType.Dns) names.AddDnsName(nodeId);
        if (IPAddress.TryParse(host, out var ip)) names.AddIpAddress(ip);
        else if (Uri.CheckHostName(host) == UriHostNameType.Dns && host != nodeId) names.AddDnsName(host);
        return Issue(authority, nodeId, [BraidIdentity.NodeUnit], [ServerAuth, ClientAuth], names, now);
    }

    public static X509Certificate2 IssueClient(X509Certificate2 authority, string name, BraidRoles roles, DateTimeOffset now)
    {
        if (roles == BraidRoles.None) throw new ArgumentException("a client certificate needs at least one role", nameof(roles));
        var units = new[] { BraidRoles.Produce, BraidRoles.Consume, BraidRoles.Admin }.Where(r => roles.HasFlag(r)).Select(BraidIdentity.UnitOf);
        return Issue(authority, name, [.. units], [ClientAuth], null, now);
    }

    private static X509Certificate2 Issue(X509Certificate2 authority, string name, string[] units, string[] usages,
        SubjectAlternativeNameBuilder? names, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName("Braid");
        foreach (var unit in units) subject.AddOrganizationalUnitName(unit);
        subject.AddCommonName(name);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var oids = new OidCollection();
        foreach (var usage in usages) oids.Add(new Oid(usage));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        if (names is not null) request.CertificateExtensions.Add(names.Build());
        var notAfter = now.AddYears(ValidYears);
        if (notAfter > authority.NotAfter) notAfter = authority.NotAfter;
        using var issued = request.Create(authority, now - Skew, notAfter, RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }
}
