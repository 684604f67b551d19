using System.Net.Security;
using Braid.Client;
using Braid.Client.Security;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// Issue 11, item 1, on real processes: a cluster started by `braid cluster up` (mutual TLS by
/// default) refuses a plaintext dialer, a client without a certificate, a node certificate that
/// claims another node's id on a link, and a produce call from a consume-only client.
/// </summary>
public sealed class TlsTests
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 180_000)]
    public async Task A_TLS_cluster_refuses_plaintext_anonymous_impostor_and_unauthorised_callers()
    {
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3);
        var a = cluster.Addresses()[0];
        var certificates = cluster.Certificates;
        var hash = Braid.Cli.TopologyFiles.Load("mesh3", cluster.BasePort).Hash;

        // 1. A plaintext dialer (h2c) cannot even start a link.
        using (var plain = GrpcChannel.ForAddress($"http://{a}"))
        {
            await AssertConnectionRefusedAsync(() => OpenLinkAsync(plain, "B", hash));
        }

        // 2. TLS without a client certificate: the handshake completes (the server is checked), the call is refused.
        var trust = ClusterTrust.Load(certificates.CaCertificate);
        using (var anonymous = Channel(a, new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, c, _, _) => c is System.Security.Cryptography.X509Certificates.X509Certificate2 s && trust.Verify(s) is null,
        }))
        {
            var describe = await Assert.ThrowsAsync<RpcException>(() => new Protocol.V1.Stream.StreamClient(anonymous)
                .DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow + CallTimeout).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, describe.StatusCode);
            Assert.Contains("client certificate", describe.Status.Detail);
            var link = await Assert.ThrowsAsync<RpcException>(() => OpenLinkAsync(anonymous, "B", hash));
            Assert.Equal(StatusCode.Unauthenticated, link.StatusCode);
        }

        // 3. B's own certificate, but the hello claims to be C: refused, naming both ids and nothing else.
        var asB = ClientTls.Load(certificates.NodeCertificate("B"), certificates.NodeKey("B"), certificates.CaCertificate);
        using (var impostor = Channel(a, asB.SslOptions(expectedNode: "A")))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => OpenLinkAsync(impostor, "C", hash));
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.Contains("claims node 'C'", refused.Status.Detail);
            Assert.Contains("names node 'B'", refused.Status.Detail);
            Assert.DoesNotContain(hash, refused.Status.Detail);
        }
        // A client certificate (even admin) cannot open a link.
        using (var admin = Channel(a, cluster.Tls!.SslOptions()))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => OpenLinkAsync(admin, "B", hash));
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.Contains("nodes only", refused.Status.Detail);
        }
        // A dialer that expects C refuses A's certificate (the server side of the same check).
        using (var pinned = Channel(a, asB.SslOptions(expectedNode: "C")))
            await AssertConnectionRefusedAsync(() => OpenLinkAsync(pinned, "B", hash));

        // 4. A consume-only client reads but cannot produce.
        var consumer = certificates.LoadClient("consumer");
        using (var reader = Channel(a, consumer.SslOptions()))
        {
            var stream = new Protocol.V1.Stream.StreamClient(reader);
            await stream.DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow + CallTimeout);
            var append = await Assert.ThrowsAsync<RpcException>(() => stream.AppendAsync(new AppendRequest
            {
                Partition = 0, Producer = 9, Sequence = 1, Payload = ByteString.CopyFrom(1, 2, 3),
            }, deadline: DateTime.UtcNow + CallTimeout).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, append.StatusCode);
            Assert.Contains("needs role 'produce'", append.Status.Detail);
            var admin = await Assert.ThrowsAsync<RpcException>(() => new Admin.AdminClient(reader)
                .StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow + CallTimeout).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, admin.StatusCode);
        }
        // Through the client library the session fails at once with the reason (no retry loop).
        using var client = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = cluster.Addresses(), Tls = consumer, StallTimeout = TimeSpan.FromSeconds(20) });
        Assert.Equal(0UL, (await client.AggregateAsync(new QueryFilter())).Records);
        var failed = await Assert.ThrowsAsync<BraidException>(async () =>
        {
            await using var session = new IngestSession(client, producer: 5);
            var payload = Braid.Data.RecordBatchCodec.Encode(StreamingTests.Records(5).ToArray());
            await session.SendAsync(0, payload, 5);
            await session.CompleteAsync();
        });
        Assert.Contains("produce", failed.Message);

        // The refusals left the real links alone: the cluster still routes everywhere.
        var status = await cluster.RunAsync("cluster", "status");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("B>B C>C", status.Stdout);
    }

    [Fact(Timeout = 120_000)]
    public async Task An_insecure_cluster_is_an_explicit_choice_and_a_TLS_client_cannot_talk_to_it()
    {
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3, false, "--insecure");
        Assert.Null(cluster.Tls);
        Assert.False(System.IO.Directory.Exists(cluster.Certificates.Directory));
        var count = await cluster.RunAsync("count", "airquality");
        Assert.True(count.ExitCode == 0, count.ToString());

        // A node started by hand needs certificates or --insecure.
        var node = await BraidProcess.RunAsync(CallTimeout, "node", "--topology", "mesh3", "--id", "A", "--data", Path.Combine(cluster.Directory, "x"));
        Assert.NotEqual(0, node.ExitCode);
        Assert.Contains("--tls-cert, --tls-key and --tls-ca", node.Stderr);
    }

    /// <summary>The connection itself fails (no HTTP/2 over TLS, or a certificate refused in the
    /// handshake); depending on timing gRPC reports it as UNAVAILABLE or the write fails first.</summary>
    private static async Task AssertConnectionRefusedAsync(Func<Task> open)
    {
        var failure = await Record.ExceptionAsync(open);
        Assert.True(failure is RpcException { StatusCode: StatusCode.Unavailable or StatusCode.Internal } or IOException or HttpRequestException,
            $"expected the connection to be refused, got: {failure}");
    }

    private static GrpcChannel Channel(string address, SslClientAuthenticationOptions ssl) =>
        GrpcChannel.ForAddress($"https://{address}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { SslOptions = ssl, ConnectTimeout = TimeSpan.FromSeconds(2) },
        });

    /// <summary>Opens a link as <paramref name="claimed"/> and reads the first answer (the acceptor's hello, or the refusal).</summary>
    private static async Task OpenLinkAsync(GrpcChannel channel, string claimed, string topologyHash)
    {
        using var call = new Peer.PeerClient(channel).Link(deadline: DateTime.UtcNow + CallTimeout);
        try
        {
            await call.RequestStream.WriteAsync(new LinkFrame { Hello = new Hello { NodeId = claimed, Incarnation = 1, TopologyHash = topologyHash } });
        }
        catch (RpcException)
        {
            // The server may end the call (refusing it) before the hello is written: its status comes below.
        }
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None), "the link answered nothing");
        Assert.Fail($"the link was accepted: {call.ResponseStream.Current}");
    }
}
