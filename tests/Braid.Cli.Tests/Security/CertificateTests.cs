using System.Security.Cryptography.X509Certificates;
using Braid.Cli.Cluster;
using Braid.Cli.Security;
using Braid.Client.Security;
using Braid.Node.Security;
using Grpc.Core;

namespace Braid.Cli.Tests.Security;

/// <summary>Cluster certificates (issue 11, item 1): what they name, who trusts them, and which calls each may make.</summary>
public sealed class CertificateTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly string directory = Path.Combine(Path.GetTempPath(), "braid-certs-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly X509Certificate2 authority = CertificateIssuer.CreateAuthority("test", Now);

    [Fact]
    public void A_node_certificate_names_its_node_and_host_and_chains_to_its_CA_only()
    {
        using var node = CertificateIssuer.IssueNode(authority, "B", "10.1.2.3", Now);
        Assert.Equal(new BraidIdentity("B", IsNode: true, BraidRoles.None), BraidIdentity.Of(node));
        Assert.True(node.HasPrivateKey);
        var names = node.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("B", names.EnumerateDnsNames());
        Assert.Contains(System.Net.IPAddress.Parse("10.1.2.3"), names.EnumerateIPAddresses());
        Assert.Null(new ClusterTrust(authority).Verify(node));

        using var other = CertificateIssuer.CreateAuthority("other", Now);
        var problem = new ClusterTrust(other).Verify(node);
        Assert.NotNull(problem);
        Assert.Contains("not issued by this cluster's CA", problem);
    }

    [Theory]
    [InlineData("produce", BraidRoles.Produce)]
    [InlineData("consume", BraidRoles.Consume)]
    [InlineData("produce,admin", BraidRoles.Produce | BraidRoles.Admin)]
    [InlineData("all", BraidRoles.Produce | BraidRoles.Consume | BraidRoles.Admin)]
    public void A_client_certificate_carries_its_roles_as_organizational_units(string roles, BraidRoles expected)
    {
        using var client = CertificateIssuer.IssueClient(authority, "app", BraidIdentity.ParseRoles(roles), Now);
        Assert.Equal(new BraidIdentity("app", IsNode: false, expected), BraidIdentity.Of(client));
        Assert.Contains("OU=", client.Subject);
    }

    [Fact]
    public void A_dialler_accepts_only_the_node_it_dialled()
    {
        using var b = CertificateIssuer.IssueNode(authority, "B", "127.0.0.1", Now);
        using var client = CertificateIssuer.IssueClient(authority, "app", BraidRoles.Admin, Now);
        var dialler = new ClientTls(b, new ClusterTrust(authority));
        Assert.Null(dialler.ServerProblem(b, "B"));
        Assert.Null(dialler.ServerProblem(b, null));
        Assert.Equal("dialled node C but the server's certificate names node B", dialler.ServerProblem(b, "C"));
        Assert.Contains("not a node certificate", dialler.ServerProblem(client, null));
    }

    [Theory]
    [InlineData("/braid.v1.Stream/Append", "produce", null)]
    [InlineData("/braid.v1.Stream/Ingest", "consume", StatusCode.PermissionDenied)]
    [InlineData("/braid.v1.Stream/Query", "consume", null)]
    [InlineData("/braid.v1.Stream/Aggregate", "produce", StatusCode.PermissionDenied)]
    [InlineData("/braid.v1.Stream/Describe", "produce", null)]
    [InlineData("/braid.v1.Admin/Status", "produce,consume", StatusCode.PermissionDenied)]
    [InlineData("/braid.v1.Admin/SetLinkFault", "admin", null)]
    [InlineData("/braid.v1.Peer/Link", "admin", StatusCode.PermissionDenied)]
    [InlineData("/braid.v1.Peer/Link", "node", null)]
    [InlineData("/braid.v1.Stream/Append", "node", StatusCode.PermissionDenied)]
    [InlineData("/braid.v1.Stream/Query", "", StatusCode.Unauthenticated)]
    [InlineData("/braid.v1.Peer/Link", "", StatusCode.Unauthenticated)]
    [InlineData("/grpc.health.v1.Health/Check", "", null)]
    [InlineData("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "consume", null)]
    [InlineData("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "", StatusCode.Unauthenticated)]
    public void Each_call_needs_its_role(string method, string caller, StatusCode? refusal)
    {
        var identity = caller switch
        {
            "" => null,
            "node" => new BraidIdentity("B", true, BraidRoles.None),
            _ => new BraidIdentity("app", false, BraidIdentity.ParseRoles(caller)),
        };
        var status = RoleInterceptor.Check(method, identity, "A");
        Assert.Equal(refusal, status?.StatusCode);
        if (status is { StatusCode: StatusCode.PermissionDenied } denied && method.Contains("Stream/"))
            Assert.Contains("needs role", denied.Detail);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_certificate_folder_keeps_what_exists_and_writes_keys_for_the_owner_only()
    {
        var topology = TopologyFiles.Load("mesh3");
        var files = new ClusterCertificates(directory);
        var first = files.Ensure(topology, ClusterCertificates.DefaultClients, Now);
        Assert.Contains(first, l => l.StartsWith("created CA", StringComparison.Ordinal));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files.CaKey));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files.NodeKey("A")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files.ClientKey("admin")));
        var ca = File.ReadAllText(files.CaCertificate);

        var second = files.Ensure(topology, [("reader", BraidRoles.Consume)], Now);
        Assert.Equal(ca, File.ReadAllText(files.CaCertificate));
        Assert.Contains("created client reader (roles consume): " + files.ClientCertificate("reader"), second);
        Assert.Contains("kept    node A", second);
        Assert.Throws<CliException>(() => files.Ensure(null, [("reader", BraidRoles.Produce)], Now));

        // A node loads its own certificate, and refuses another node's.
        var a = NodeTls.Load(files.NodeCertificate("A"), files.NodeKey("A"), files.CaCertificate, "A");
        Assert.Equal("A", BraidIdentity.Of(a.Certificate).Name);
        var wrong = Assert.Throws<BraidSecurityException>(() => NodeTls.Load(files.NodeCertificate("B"), files.NodeKey("B"), files.CaCertificate, "A"));
        Assert.Contains("names node B, not node A", wrong.Message);
        Assert.Equal(BraidRoles.Consume, BraidIdentity.Of(files.LoadClient("reader").Certificate).Roles);
        Assert.Throws<CliException>(() => files.LoadClient("nobody"));
    }

    [Theory]
    [InlineData("reader:consume")]
    [InlineData("ops:admin,produce")]
    public void Client_specs_parse(string spec) => Assert.NotEqual(BraidRoles.None, CertsCommand.ParseClient(spec).Roles);

    [Theory]
    [InlineData("reader")]
    [InlineData("reader:")]
    [InlineData("reader:write")]
    public void Bad_client_specs_are_refused(string spec) => Assert.Throws<CliException>(() => CertsCommand.ParseClient(spec));

    public void Dispose()
    {
        authority.Dispose();
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }
}
