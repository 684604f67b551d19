using Braid.Client;
using Grpc.Core;

namespace Braid.Client.Tests;

/// <summary>The trailer by which a node names the partitions a query could not read, and the
/// exception the client turns it into (a failure to fail fast on, not to retry elsewhere).</summary>
public sealed class UnavailablePartitionsTests
{
    [Fact]
    public void The_trailer_round_trips_sorted_and_each_partition_once()
    {
        var error = new RpcException(new Status(StatusCode.Unavailable, "partitions 4, 1 ..."), UnavailablePartitions.Trailers([4, 1, 4]));
        Assert.Equal("1,4", error.Trailers.GetValue(UnavailablePartitions.TrailerKey));
        Assert.Equal([1u, 4u], UnavailablePartitions.Of(error));
        Assert.Equal("1, 4", UnavailablePartitions.Describe([4, 1]));
    }

    [Fact]
    public void Only_an_unavailable_status_with_a_well_formed_trailer_names_partitions()
    {
        Assert.Null(UnavailablePartitions.Of(new RpcException(new Status(StatusCode.Unavailable, "node down"))));
        Assert.Null(UnavailablePartitions.Of(new RpcException(new Status(StatusCode.Internal, "x"), UnavailablePartitions.Trailers([1]))));
        Assert.Null(UnavailablePartitions.Of(new RpcException(new Status(StatusCode.Unavailable, "x"), new Metadata { { UnavailablePartitions.TrailerKey, "1,x" } })));
    }

    [Fact]
    public void The_error_becomes_an_unavailable_exception_that_names_the_partitions()
    {
        var error = new RpcException(new Status(StatusCode.Unavailable, "partitions 2, 5 of stream 'airquality' are unavailable"), UnavailablePartitions.Trailers([2, 5]));
        var e = Assert.IsType<BraidPartitionsUnavailableException>(Errors.From(error, "query at A"));
        Assert.IsAssignableFrom<BraidUnavailableException>(e);
        Assert.Equal([2u, 5u], e.Partitions);
        Assert.Contains("partitions 2, 5", e.Message);
        Assert.IsType<BraidUnavailableException>(Errors.From(new RpcException(new Status(StatusCode.Unavailable, "node down")), "query at A"));
    }

    [Fact]
    public void A_verdict_ends_a_read_at_once_unless_its_node_is_isolated_then_after_every_node_was_tried()
    {
        var verdict = new RpcException(new Status(StatusCode.Unavailable, "partition 1 ..."), UnavailablePartitions.Trailers([1]));
        var isolated = new RpcException(new Status(StatusCode.Unavailable, "partition 1 ...; A reaches only 1 of 3 nodes"), UnavailablePartitions.Trailers([1], isolated: true));
        var down = new RpcException(new Status(StatusCode.Unavailable, "connection refused"));
        Assert.True(UnavailablePartitions.IsIsolated(isolated));
        Assert.False(UnavailablePartitions.IsIsolated(verdict));

        var verdicts = new UnavailableVerdicts(nodes: 3);
        Assert.Null(verdicts.Failed(down)); // an ordinary failure: try another node
        Assert.Same(verdict, verdicts.Failed(verdict));

        // mesh3 with two nodes dead: the survivor is isolated; the two others refuse; then the verdict holds.
        verdicts = new UnavailableVerdicts(nodes: 3);
        Assert.Null(verdicts.Failed(isolated));
        Assert.Null(verdicts.Failed(down));
        Assert.Same(isolated, verdicts.Failed(down));

        // Progress in between makes an earlier isolated verdict stale.
        verdicts = new UnavailableVerdicts(nodes: 3);
        Assert.Null(verdicts.Failed(isolated));
        verdicts.Progress();
        Assert.Null(verdicts.Failed(down));
        Assert.Null(verdicts.Failed(down));
        Assert.Null(verdicts.Failed(down));
    }
}
