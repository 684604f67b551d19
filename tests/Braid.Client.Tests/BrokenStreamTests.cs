using Grpc.Core;

namespace Braid.Client.Tests;

/// <summary>Which failures of an ingest stream's write the sender rides over (reopen, resend) and
/// which end the session.</summary>
public sealed class BrokenStreamTests
{
    [Fact]
    public void A_write_aborted_by_a_node_shutting_down_is_a_broken_stream_not_a_failed_session()
    {
        // What grpc-dotnet threw from WriteAsync when a node of `braid bench rolling` closed its
        // connection (HTTP/2 GOAWAY, NO_ERROR) under the write: it failed the whole load.
        var aborted = new HttpRequestException("The request was aborted.",
            new HttpProtocolException(0, "The HTTP/2 server closed the connection. HTTP/2 error code 'NO_ERROR' (0x0).", null));
        Assert.True(PartitionSender.IsBrokenStream(aborted));
        Assert.True(PartitionSender.IsBrokenStream(new RpcException(new Status(StatusCode.Unavailable, "gone"))));
        Assert.True(PartitionSender.IsBrokenStream(new IOException("reset")));
        // A bug of the caller's or of this library is not hidden as a network failure.
        Assert.False(PartitionSender.IsBrokenStream(new ArgumentException("bad")));
        Assert.False(PartitionSender.IsBrokenStream(new NullReferenceException()));
    }
}
