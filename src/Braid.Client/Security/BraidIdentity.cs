using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Braid.Client.Security;

/// <summary>What a client may do. A certificate holds any combination (issue 11, item 1).</summary>
[Flags]
public enum BraidRoles
{
    None = 0,
    /// <summary>Append and Ingest.</summary>
    Produce = 1,
    /// <summary>Query and Aggregate.</summary>
    Consume = 2,
    /// <summary>The Admin service (status, ping; fault injection also needs the node's flag).</summary>
    Admin = 4,
}

/// <summary>
/// Who a certificate issued by a Braid cluster CA names. The encoding, fixed here and nowhere else:
/// the subject's common name (CN) is the name (a node id, or a client's name); one
/// organizational unit (OU) per role: <c>OU=node</c> marks a node certificate, <c>OU=produce</c>,
/// <c>OU=consume</c>, <c>OU=admin</c> mark client roles. Node certificates also carry their id and
/// host as DNS/IP subject alternative names, so that standard tools (grpcurl --cacert) accept them.
/// </summary>
public sealed record BraidIdentity(string Name, bool IsNode, BraidRoles Roles)
{
    public const string NodeUnit = "node";

    public static string UnitOf(BraidRoles role) => role switch
    {
        BraidRoles.Produce => "produce",
        BraidRoles.Consume => "consume",
        BraidRoles.Admin => "admin",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "one role at a time"),
    };

    /// <summary>Parses "produce,consume" (or "all").</summary>
    public static BraidRoles ParseRoles(string text)
    {
        var roles = BraidRoles.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            roles |= part.ToLowerInvariant() switch
            {
                "produce" => BraidRoles.Produce,
                "consume" => BraidRoles.Consume,
                "admin" => BraidRoles.Admin,
                "all" => BraidRoles.Produce | BraidRoles.Consume | BraidRoles.Admin,
                _ => throw new FormatException($"unknown role '{part}' (roles: produce, consume, admin)"),
            };
        return roles;
    }

    public static string Describe(BraidRoles roles) => roles == BraidRoles.None ? "none"
        : string.Join(",", new[] { BraidRoles.Produce, BraidRoles.Consume, BraidRoles.Admin }.Where(r => roles.HasFlag(r)).Select(UnitOf));

    /// <summary>Reads the identity from a certificate's subject (it does not check who issued it:
    /// see <see cref="ClusterTrust.Verify"/>).</summary>
    public static BraidIdentity Of(X509Certificate2 certificate)
    {
        string? name = null;
        var isNode = false;
        var roles = BraidRoles.None;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.HasMultipleElements) continue;
            var type = rdn.GetSingleElementType().Value;
            var value = rdn.GetSingleElementValue() ?? "";
            if (type == CommonNameOid) name = value;
            else if (type == UnitOid)
            {
                if (value == NodeUnit) isNode = true;
                else if (value is "produce" or "consume" or "admin") roles |= ParseRoles(value);
            }
        }
        return new BraidIdentity(name ?? "", isNode, roles);
    }

    private const string CommonNameOid = "2.5.4.3";
    private const string UnitOid = "2.5.4.11";

    public override string ToString() => IsNode ? $"node {Name}" : $"client {Name} (roles {Describe(Roles)})";
}

/// <summary>The cluster's certificate authority as a trust anchor: a certificate is trusted only if
/// it chains to this CA (the system's roots play no part).</summary>
public sealed class ClusterTrust(X509Certificate2 authority)
{
    public X509Certificate2 Authority { get; } = authority;

    /// <summary>Null if <paramref name="certificate"/> was issued by the cluster CA and is valid now;
    /// otherwise why not (safe to show: names no secret).</summary>
    public string? Verify(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        if (chain.Build(certificate)
            && chain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(Authority.RawDataMemory.Span))
            return null;
        var problems = chain.ChainStatus.Select(s => s.Status.ToString()).Distinct();
        return $"certificate '{certificate.Subject}' is not issued by this cluster's CA ({string.Join(", ", problems)})";
    }

    public static ClusterTrust Load(string caPath) => new(LoadCertificate(caPath));

    public static X509Certificate2 LoadCertificate(string path)
    {
        try { return X509CertificateLoader.LoadCertificateFromFile(path); }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new BraidSecurityException($"cannot read certificate {path}: {e.Message}", e);
        }
    }

    /// <summary>A certificate with its private key, from two PEM files.</summary>
    public static X509Certificate2 LoadWithKey(string certificatePath, string keyPath)
    {
        try { return X509Certificate2.CreateFromPemFile(certificatePath, keyPath); }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            // The message names the files, never their content.
            throw new BraidSecurityException($"cannot load certificate {certificatePath} with key {keyPath}: {e.Message}", e);
        }
    }
}

/// <summary>A certificate or key that cannot be used (the message names files and names, no secrets).</summary>
public sealed class BraidSecurityException(string message, Exception? inner = null) : Exception(message, inner);
