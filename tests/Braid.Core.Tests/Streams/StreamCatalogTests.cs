using Braid.Core.Streams;
using Braid.Protocol.V1;

namespace Braid.Core.Tests.Streams;

/// <summary>The catalog of streams is a fold of committed commands: the same commands in the same
/// order give the same catalog on every node, a bad command changes nothing, and the catalog
/// handed between nodes round-trips and is checked.</summary>
public sealed class StreamCatalogTests
{
    private static CatalogCommand Create(string name, int partitions = 2, StreamFormat format = StreamFormat.Raw, params string[] nodes)
    {
        var c = new CreateStreamCommand { Name = name, Format = (uint)format };
        for (var p = 0; p < partitions; p++)
        {
            var r = new PartitionReplicas();
            r.Nodes.AddRange(nodes.Length > 0 ? nodes : ["A", "B", "C"]);
            c.Placement.Add(r);
        }
        return new CatalogCommand { Create = c };
    }

    private static CatalogCommand Delete(string name) => new() { Delete = new DeleteStreamCommand { Name = name } };

    [Fact]
    public void Creates_get_ids_in_commit_order_and_a_second_create_of_a_name_changes_nothing()
    {
        var catalog = StreamCatalog.Empty.Apply(3, Create("logs"), out var r1).Apply(5, Create("files", 4), out var r2).Apply(9, Create("logs", 7), out var r3);
        Assert.Null(r1);
        Assert.Null(r2);
        Assert.Contains("exists", r3);
        Assert.Equal(9ul, catalog.Version);
        Assert.Equal(1u, catalog.Streams["logs"].Id);
        Assert.Equal(2u, catalog.Streams["files"].Id);
        Assert.Equal(2, catalog.Streams["logs"].PartitionCount);
        Assert.Equal(3ul, catalog.Streams["logs"].CreatedIndex);
        Assert.NotNull(catalog.Created("logs", 3));
        Assert.Null(catalog.Created("logs", 9));
        Assert.Equal(StreamGroups.Group(2, 3), catalog.Streams["files"].Group(3));
    }

    [Theory]
    [InlineData("", "needs a name")]
    [InlineData("-dash", "must start")]
    [InlineData("white space", "may hold only")]
    [InlineData("airquality", "default stream")]
    public void Bad_creates_are_refused_with_a_reason(string name, string reason)
    {
        StreamCatalog.Empty.Apply(1, Create(name), out var refusal);
        Assert.Contains(reason, refusal);
    }

    [Fact]
    public void Bad_placements_and_formats_are_refused()
    {
        StreamCatalog.Empty.Apply(1, Create("a", 0), out var none);
        Assert.Contains("partitions", none);
        StreamCatalog.Empty.Apply(1, Create("a", 1, StreamFormat.Raw, "A", "A"), out var twice);
        Assert.Contains("twice", twice);
        StreamCatalog.Empty.Apply(1, Create("a", 1, (StreamFormat)9), out var format);
        Assert.Contains("format", format);
        StreamCatalog.Empty.Apply(1, new CatalogCommand(), out var empty);
        Assert.Contains("unknown", empty);
        Assert.Contains(new string('x', 65).Length.ToString(), StreamGroups.ValidateName(new string('x', 65)));
    }

    [Fact]
    public void A_deleted_stream_is_gone_by_name_kept_for_cleanup_and_its_name_can_be_reused_with_a_new_id()
    {
        var catalog = StreamCatalog.Empty.Apply(1, Create("logs"), out _).Apply(2, Delete("logs"), out var deleted).Apply(3, Delete("logs"), out var again)
            .Apply(4, Create("logs"), out var recreated);
        Assert.Null(deleted);
        Assert.Contains("no stream", again);
        Assert.Null(recreated);
        Assert.Equal(2u, catalog.Streams["logs"].Id);
        var (gone, at) = Assert.Single(catalog.Deleted);
        Assert.Equal(1u, gone.Id);
        Assert.Equal(2ul, at);
    }

    [Fact]
    public void The_catalog_round_trips_between_nodes_and_a_malformed_one_is_refused()
    {
        var catalog = StreamCatalog.Empty.Apply(1, Create("logs"), out _).Apply(2, Create("files", 3), out _).Apply(3, Delete("logs"), out _);
        Assert.True(StreamCatalog.TryFrom(catalog.ToState(), out var copy, out var error), error);
        Assert.Equal(catalog.ToState(), copy.ToState());
        var state = catalog.ToState();
        state.Streams.Add(state.Streams[0].Clone()); // the same id twice
        Assert.False(StreamCatalog.TryFrom(state, out _, out error));
        Assert.Contains("malformed", error);
        var bad = catalog.ToState();
        bad.Streams[0].Placement.Clear();
        Assert.False(StreamCatalog.TryFrom(bad, out _, out _));
    }

    [Fact]
    public void A_cursor_of_another_stream_is_refused_naming_both()
    {
        var cursor = ScanCursor.Start(7, [(10, 0), (12, 0)], 3, "logs").Encode();
        Assert.True(ScanCursor.TryDecode(cursor, 7, 2, 3, "logs", out _, out var ok), ok);
        Assert.False(ScanCursor.TryDecode(cursor, 7, 2, 0, "", out _, out var error));
        Assert.Contains("belongs to stream 'logs', not 'airquality'", error);
        Assert.False(ScanCursor.TryDecode(ScanCursor.Start(7, [(1, 0), (1, 0)]).Encode(), 7, 2, 3, "logs", out _, out error));
        Assert.Contains("belongs to stream 'airquality', not 'logs'", error);
    }

    [Fact]
    public void Retention_by_time_is_part_of_a_streams_settings_and_travels_with_the_catalog()
    {
        var create = Create("logs");
        create.Create.RetainMs = 60_000;
        var catalog = StreamCatalog.Empty.Apply(1, create, out _);
        Assert.Equal(60_000, catalog.Streams["logs"].RetainMs);
        Assert.True(catalog.Streams["logs"].SameSettings(StreamFormat.Raw, 2, 3, 0, 60_000));
        Assert.False(catalog.Streams["logs"].SameSettings(StreamFormat.Raw, 2, 3, 0, 0));
        Assert.True(StreamCatalog.TryFrom(catalog.ToState(), out var copy, out _));
        Assert.Equal(60_000, copy.Streams["logs"].RetainMs);
        create.Create.RetainMs = -1;
        StreamCatalog.Empty.Apply(1, create, out var refusal);
        Assert.Contains("retain_ms", refusal);
    }
}
