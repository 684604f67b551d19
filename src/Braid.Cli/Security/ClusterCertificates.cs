using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Braid.Client.Security;
using Braid.Cli.Cluster;
using Braid.Core.Topology;

namespace Braid.Cli.Security;

/// <summary>
/// A folder of PEM files for one cluster: <c>ca.crt</c>/<c>ca.key</c>, <c>node-ID.crt</c>/<c>.key</c>
/// per node, <c>client-NAME.crt</c>/<c>.key</c> per client. Keys are written 0600. What exists
/// is kept (a folder can be extended with more nodes or clients later); what is missing is issued
/// by the folder's CA.
/// </summary>
internal sealed class ClusterCertificates(string directory)
{
    /// <summary>The clients `braid cluster up` and `braid certs` make unless told otherwise; the CLI uses "admin".</summary>
    public static readonly IReadOnlyList<(string Name, BraidRoles Roles)> DefaultClients =
    [
        ("admin", BraidRoles.Produce | BraidRoles.Consume | BraidRoles.Admin),
        ("producer", BraidRoles.Produce),
        ("consumer", BraidRoles.Consume),
    ];

    public const string CliClient = "admin";

    public string Directory { get; } = directory;
    public string CaCertificate => Path.Combine(Directory, "ca.crt");
    public string CaKey => Path.Combine(Directory, "ca.key");
    public string NodeCertificate(string id) => Path.Combine(Directory, $"node-{id}.crt");
    public string NodeKey(string id) => Path.Combine(Directory, $"node-{id}.key");
    public string ClientCertificate(string name) => Path.Combine(Directory, $"client-{name}.crt");
    public string ClientKey(string name) => Path.Combine(Directory, $"client-{name}.key");

    /// <summary>The certificates folder of a local cluster.</summary>
    public static ClusterCertificates OfCluster(string clusterDirectory) => new(Path.Combine(clusterDirectory, "certs"));

    /// <summary>Creates what is missing; returns one line per file set, saying whether it was made or kept.</summary>
    public List<string> Ensure(ClusterTopology? topology, IEnumerable<(string Name, BraidRoles Roles)> clients, DateTimeOffset now)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var report = new List<string>();
        using var authority = EnsureAuthority(topology?.Name ?? "braid", now, report);
        foreach (var node in topology?.Nodes ?? [])
        {
            CheckName(node.Id);
            if (File.Exists(NodeCertificate(node.Id)) && File.Exists(NodeKey(node.Id))) { report.Add($"kept    node {node.Id}"); continue; }
            using var issued = CertificateIssuer.IssueNode(authority, node.Id, node.Host, now);
            Write(issued, NodeCertificate(node.Id), NodeKey(node.Id));
            report.Add($"created node {node.Id} ({node.Host}): {NodeCertificate(node.Id)}");
        }
        foreach (var (name, roles) in clients)
        {
            CheckName(name);
            if (File.Exists(ClientCertificate(name)) && File.Exists(ClientKey(name)))
            {
                var have = BraidIdentity.Of(ClusterTrust.LoadCertificate(ClientCertificate(name))).Roles;
                if (have != roles) throw new CliException($"{ClientCertificate(name)} exists with roles {BraidIdentity.Describe(have)}, not {BraidIdentity.Describe(roles)}; remove it or pick another name");
                report.Add($"kept    client {name} (roles {BraidIdentity.Describe(roles)})");
                continue;
            }
            using var issued = CertificateIssuer.IssueClient(authority, name, roles, now);
            Write(issued, ClientCertificate(name), ClientKey(name));
            report.Add($"created client {name} (roles {BraidIdentity.Describe(roles)}): {ClientCertificate(name)}");
        }
        return report;
    }

    private X509Certificate2 EnsureAuthority(string clusterName, DateTimeOffset now, List<string> report)
    {
        if (File.Exists(CaCertificate) && File.Exists(CaKey))
        {
            report.Add($"kept    CA {CaCertificate}");
            try { return X509Certificate2.CreateFromPemFile(CaCertificate, CaKey); }
            catch (CryptographicException e) { throw new CliException($"cannot load the CA {CaCertificate} with {CaKey}: {e.Message}"); }
        }
        if (File.Exists(CaCertificate) || File.Exists(CaKey))
            throw new CliException($"{Directory} holds half a CA (ca.crt or ca.key missing); restore it or use a new folder");
        var authority = CertificateIssuer.CreateAuthority(clusterName, now);
        Write(authority, CaCertificate, CaKey);
        report.Add($"created CA {CaCertificate}");
        return authority;
    }

    /// <summary>Names become file names: letters, digits, '-', '_', '.'.</summary>
    private static void CheckName(string name)
    {
        if (name.Length is 0 or > 64 || name.StartsWith('.') || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw new CliException($"'{name}' cannot name a certificate (use letters, digits, '-', '_', '.')");
    }

    private static void Write(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("issued certificate without its key");
        WriteFile(keyPath, key.ExportPkcs8PrivateKeyPem(), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        WriteFile(certificatePath, certificate.ExportCertificatePem(),
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    /// <summary>Written to a temporary file created with its final mode (a key is never readable by others, not even for a moment), then renamed.</summary>
    private static void WriteFile(string path, string text, UnixFileMode mode)
    {
        var temp = path + ".tmp";
        File.Delete(temp);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = mode;
        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
            writer.Write(text + "\n");
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The TLS settings of a client named <paramref name="name"/>.</summary>
    public ClientTls LoadClient(string name = CliClient)
    {
        if (!File.Exists(ClientCertificate(name)) || !File.Exists(ClientKey(name)) || !File.Exists(CaCertificate))
            throw new CliException($"no client certificate '{name}' in {Path.GetFullPath(Directory)} (make one with: braid certs --dir {Directory} --client {name}:ROLES, or pass --insecure for a plaintext cluster)");
        try { return ClientTls.Load(ClientCertificate(name), ClientKey(name), CaCertificate); }
        catch (BraidSecurityException e) { throw new CliException(e.Message); }
    }
}
