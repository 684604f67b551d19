using Braid.Data;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Braid.Node.Tests.Services;

/// <summary>
/// Issue 13, item 6, on a real node in this process: air-quality records appended as protobuf
/// readings (the language-neutral form) read back as the same readings from a typed query and a
/// typed subscription, and as the same records from the compact codec; the refusals are clear.
/// </summary>
public sealed class TypedReadingsTests : IAsyncLifetime
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "braid-typed-" + Guid.NewGuid().ToString("N"));
    private InProcessNode node = null!;
    private StreamCalls client = null!;

    public async Task InitializeAsync()
    {
        node = await InProcessNode.StartAsync(new NodeOptions(InProcessNode.Solo(InProcessNode.FreePort()), "A", directory, false, 1000, Partitions: 2, Replicas: 1));
        await node.LeadsAllAsync();
        client = new StreamCalls(node.Channel.CreateCallInvoker());
    }

    public async Task DisposeAsync()
    {
        await node.DisposeAsync();
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }

    /// <summary>Generated readings, a few with lines of their own (decimals as written, a "+" sign, a -0.0).</summary>
    private static List<AirQualityReading> Readings(int count)
    {
        var readings = AirQualityGenerator.Generate(13, 1032).SelectMany(f => f.Records).Take(count)
            .Select(r => AirQualityReadings.ToReading(in r)).ToList();
        string[] lines =
        [
            "\"28.7456\",\"-122.1697\",\"2020-08-10T01:00\",\"PM2.5\",\"18.0\",\"UG/M3\",\"17.6\",\"64\",\"2\",\"Portland, OR\",\"Oregon DEQ\",\"410510080\",\"840410510080\"",
            "\"+28.7456\",\"-122.1697\",\"2020-08-10T02:00\",\"pm2.5\",\"18.00\",\"UG/M3\",\"-0.0\",\"064\",\"2\",\"SE \"\"Lafayette\"\"\",\"Oregon DEQ\",\"410510080\",\"840410510080\"",
        ];
        foreach (var line in lines)
        {
            Assert.True(AirQualityCsv.TryParse(line, out var record, out var error), error);
            var reading = AirQualityReadings.ToReading(in record);
            Assert.Equal(line, reading.SourceLine);
            readings.Insert(readings.Count / 2, reading);
        }
        return readings;
    }

    private async Task<AppendReply> AppendAsync(uint partition, ulong sequence, IEnumerable<AirQualityReading> readings, ByteString? payload = null)
    {
        var request = new AppendRequest { Partition = partition, Producer = 9, Sequence = sequence, Payload = payload ?? ByteString.Empty };
        request.Readings.AddRange(readings);
        return await client.AppendAsync(request);
    }

    [Fact]
    public async Task Readings_appended_come_back_equal_from_a_typed_query_a_typed_subscription_and_the_codec()
    {
        var readings = Readings(300);
        var halves = new[] { readings[..150], readings[150..] };
        for (var p = 0; p < 2; p++) Assert.Equal(AppendStatus.AppendOk, (await AppendAsync((uint)p, 1, halves[p])).Status);
        // A retry of the same (producer, sequence) is a duplicate, not a second copy.
        Assert.True((await AppendAsync(0, 1, halves[0])).Duplicate);

        var typed = new List<AirQualityReading>();
        var chunks = 0;
        using (var query = client.Query(new QueryRequest { Typed = true, ChunkRecords = 100 }))
            await foreach (var chunk in query.ResponseStream.ReadAllAsync().WithCancellation(CancellationToken.None))
            {
                Assert.True(chunk.Records.IsEmpty);
                Assert.Equal((uint)chunk.Readings.Count, chunk.RecordCount);
                typed.AddRange(chunk.Readings);
                chunks++;
            }
        Assert.True(chunks > 2);
        Assert.Equal(Sorted(readings), Sorted(typed));

        // The codec path sees the same records, each formatting as its line.
        var decoded = new List<AirQualityRecord>();
        using (var query = client.Query(new QueryRequest()))
            await foreach (var chunk in query.ResponseStream.ReadAllAsync())
            {
                Assert.Empty(chunk.Readings);
                decoded.AddRange(RecordBatchCodec.Decode(chunk.Records.Span));
            }
        Assert.Equal(readings.Select(Line).Order(StringComparer.Ordinal), decoded.Select(r => AirQualityCsv.Format(in r)).Order(StringComparer.Ordinal));

        // A filtered typed query narrows like the codec one.
        using (var query = client.Query(new QueryRequest { Typed = true, Filter = new QueryFilter { Parameters = { "PM2.5" } } }))
        {
            var pm = new List<AirQualityReading>();
            await foreach (var chunk in query.ResponseStream.ReadAllAsync()) pm.AddRange(chunk.Readings);
            Assert.Equal(Sorted(readings.Where(r => r.Parameter == "PM2.5")), Sorted(pm));
        }

        using var stop = new CancellationTokenSource(InProcessNode.StepTimeout);
        var followed = new List<AirQualityReading>();
        using var subscription = client.Subscribe(new SubscribeRequest { Typed = true }, cancellationToken: stop.Token);
        await foreach (var chunk in subscription.ResponseStream.ReadAllAsync(stop.Token))
        {
            Assert.True(chunk.Records.IsEmpty);
            followed.AddRange(chunk.Readings);
            if (followed.Count >= readings.Count) break;
        }
        Assert.Equal(Sorted(readings), Sorted(followed));
    }

    [Fact]
    public async Task Bad_readings_and_mixed_forms_are_refused_with_a_clear_reason_and_nothing_is_stored()
    {
        var good = Readings(3);
        var bad = good.Select(r => r.Clone()).ToList();
        bad[2].Parameter = "PM1";
        var e = await Assert.ThrowsAsync<RpcException>(() => AppendAsync(0, 1, bad));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("batch (9,1) for airquality/0: reading 2: unknown parameter 'PM1' (expected OZONE, PM2.5, PM10, NO2, SO2 or CO)", e.Status.Detail);

        bad = good.Select(r => r.Clone()).ToList();
        bad[0].Time = "2020-08-10T01:00:30";
        e = await Assert.ThrowsAsync<RpcException>(() => AppendAsync(0, 1, bad));
        Assert.Contains("reading 0: time '2020-08-10T01:00:30' is not a UTC time like 2020-08-10T01:00", e.Status.Detail, StringComparison.Ordinal);

        var payload = ByteString.CopyFrom(RecordBatchCodec.Encode([DataSamplesLike.Oakland]));
        e = await Assert.ThrowsAsync<RpcException>(() => AppendAsync(0, 1, good, payload));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.EndsWith("send readings or an encoded payload, not both", e.Status.Detail, StringComparison.Ordinal);

        var raw = new AppendRequest { Partition = 0, Producer = 9, Sequence = 1, Records = { new RawRecord { Value = ByteString.CopyFromUtf8("x") } } };
        e = await Assert.ThrowsAsync<RpcException>(() => client.AppendAsync(raw));
        Assert.Contains("send them as readings", e.Status.Detail, StringComparison.Ordinal);

        await client.CreateStreamAsync(new CreateStreamRequest { Name = "logs", Format = "raw", Partitions = 1, Replicas = 1 });
        var onRaw = new AppendRequest { Stream = "logs", Partition = 0, Producer = 9, Sequence = 1, Readings = { good } };
        e = await Assert.ThrowsAsync<RpcException>(() => client.AppendAsync(onRaw));
        Assert.Equal("batch (9,1) for logs/0: stream 'logs' is raw: send records (key, value, headers), not air-quality readings", e.Status.Detail);

        using var query = client.Query(new QueryRequest { Typed = true });
        var stored = 0;
        await foreach (var chunk in query.ResponseStream.ReadAllAsync()) stored += chunk.Readings.Count;
        Assert.Equal(0, stored);
    }

    private static string Line(AirQualityReading r)
    {
        Assert.True(AirQualityReadings.TryToRecord(r, out var record, out var error), error);
        return AirQualityCsv.Format(in record);
    }

    /// <summary>Readings in a stable order (partitions interleave in a query), compared as their wire bytes.</summary>
    private static List<string> Sorted(IEnumerable<AirQualityReading> readings) =>
        [.. readings.Select(r => Convert.ToBase64String(r.ToByteArray())).Order(StringComparer.Ordinal)];

    /// <summary>The Stream service's calls used here (Braid.Client's generated stub is internal to it).</summary>
    private sealed class StreamCalls(CallInvoker invoker)
    {
        private static readonly Method<AppendRequest, AppendReply> Append = Unary<AppendRequest, AppendReply>("Append");
        private static readonly Method<CreateStreamRequest, StreamDescription> CreateStream = Unary<CreateStreamRequest, StreamDescription>("CreateStream");
        private static readonly Method<QueryRequest, QueryChunk> QueryMethod = Streaming<QueryRequest, QueryChunk>("Query");
        private static readonly Method<SubscribeRequest, SubscribeChunk> SubscribeMethod = Streaming<SubscribeRequest, SubscribeChunk>("Subscribe");

        public Task<AppendReply> AppendAsync(AppendRequest request) =>
            invoker.AsyncUnaryCall(Append, null, default, request).ResponseAsync.WaitAsync(InProcessNode.StepTimeout);

        public Task<StreamDescription> CreateStreamAsync(CreateStreamRequest request) =>
            invoker.AsyncUnaryCall(CreateStream, null, default, request).ResponseAsync.WaitAsync(InProcessNode.StepTimeout);

        public AsyncServerStreamingCall<QueryChunk> Query(QueryRequest request) =>
            invoker.AsyncServerStreamingCall(QueryMethod, null, new CallOptions(deadline: DateTime.UtcNow + InProcessNode.StepTimeout), request);

        public AsyncServerStreamingCall<SubscribeChunk> Subscribe(SubscribeRequest request, CancellationToken cancellationToken) =>
            invoker.AsyncServerStreamingCall(SubscribeMethod, null, new CallOptions(cancellationToken: cancellationToken), request);

        private static Method<TRequest, TReply> Unary<TRequest, TReply>(string name)
            where TRequest : IMessage<TRequest>, new() where TReply : IMessage<TReply>, new() => Make<TRequest, TReply>(MethodType.Unary, name);

        private static Method<TRequest, TReply> Streaming<TRequest, TReply>(string name)
            where TRequest : IMessage<TRequest>, new() where TReply : IMessage<TReply>, new() => Make<TRequest, TReply>(MethodType.ServerStreaming, name);

        private static Method<TRequest, TReply> Make<TRequest, TReply>(MethodType type, string name)
            where TRequest : IMessage<TRequest>, new() where TReply : IMessage<TReply>, new() =>
            new(type, "braid.v1.Stream", name, Marshaller<TRequest>(), Marshaller<TReply>());

        private static Marshaller<T> Marshaller<T>() where T : IMessage<T>, new() =>
            Marshallers.Create(m => m.ToByteArray(), bytes => new MessageParser<T>(() => new T()).ParseFrom(bytes));
    }

    private static class DataSamplesLike
    {
        public static AirQualityRecord Oakland => new(37.7425, -122.1697, new DateTime(2020, 8, 10, 1, 0, 0, DateTimeKind.Utc),
            AirParameter.Pm25, 9.0, "UG/M3", 8.7, 38, 1, "Oakland", "San Francisco Bay Area AQMD", "060010009", "840060010009");
    }
}
