using System.Text;
using Braid.Core.Streams;
using Braid.Core.Topology;
using Braid.Data;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Cli.Fuzz;

/// <summary>Valid records and batches from the data set generator, shared by the data targets.</summary>
internal static class FuzzSamples
{
    private static readonly Lazy<AirQualityRecord[]> records = new(() =>
        AirQualityGenerator.Generate(seed: 7, recordLimit: 400).SelectMany(f => f.Records).ToArray());

    public static AirQualityRecord[] Records => records.Value;

    /// <summary>
    /// Lines as the real files write them, coordinates with their own digits ("28.7456"), every
    /// seventh with a "+" no decimals reproduce: records with text forms and whole lines (issue 13).
    /// </summary>
    public static IReadOnlyList<string> RealStyleLines { get; } = [.. Records.Skip(300).Take(40).Select((r, i) =>
    {
        var line = AirQualityCsv.Format(in r);
        int rest = line.IndexOf("\",\"", line.IndexOf("\",\"", StringComparison.Ordinal) + 3, StringComparison.Ordinal);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"\"{(i % 7 == 0 ? "+" : "")}{r.Latitude:R}\",\"{r.Longitude:R}") + line[rest..];
    })];

    /// <summary>Batches of 1, 3, 17 and 60 records (and an empty one), as clients send them, and one of real-style lines.</summary>
    public static IReadOnlyList<byte[]> Batches { get; } =
    [
        RecordBatchCodec.Encode([]), .. new[] { 1, 3, 17, 60 }.Select((n, i) => RecordBatchCodec.Encode(Records.AsSpan(i * 61, n))),
        RecordBatchCodec.Encode([.. RealStyleLines.Select(line => AirQualityCsv.TryParse(line, out var r, out var error) ? r : throw new InvalidOperationException(error))]),
    ];
}

/// <summary>Ingest: an AppendRequest as it arrives on the stream, checked as StreamService.Validate
/// checks it (fields, size, typed readings converted and encoded, then every record decoded), then
/// decoded and scanned as a query would.</summary>
internal sealed class AppendRequestFuzzTarget : FuzzTarget
{
    private const uint Partitions = 3;
    private const int PayloadBytesMax = 4 * 1024 * 1024;
    private static readonly RecordFilter Narrow = RecordFilter.Create(aqiMin: 20, aqiMax: 80, parameters: [AirParameter.Pm25, AirParameter.Ozone]);

    public override string Name => "append";
    public override string Description => "AppendRequest bytes: fields, typed readings, then the record batch (RecordBatchCodec count, decode, scan)";

    public override IReadOnlyList<byte[]> Seeds { get; } =
    [
        .. FuzzSamples.Batches.Select((b, i) =>
            new AppendRequest { Partition = (uint)i % Partitions, Producer = 42, Sequence = (ulong)i + 1, Payload = ByteString.CopyFrom(b) }.ToByteArray()),
        new AppendRequest { Producer = 42, Sequence = 9, Readings = { FuzzSamples.Records.Take(5).Select(r => AirQualityReadings.ToReading(in r)) } }.ToByteArray(),
    ];

    public override string? Run(byte[] input)
    {
        AppendRequest request;
        try
        {
            request = AppendRequest.Parser.ParseFrom(input);
        }
        catch (InvalidProtocolBufferException)
        {
            return "InvalidProtocolBufferException";
        }
        if (request.Partition >= Partitions) return "NotFound: partition";
        if (request.Producer == 0 || request.Sequence == 0) return "InvalidArgument: producer/sequence";
        if (request.Payload.Length > PayloadBytesMax) return "ResourceExhausted: payload size";
        var payload = request.Payload.Span;
        if (request.Readings.Count > 0)
        {
            if (!request.Payload.IsEmpty) return "InvalidArgument: readings and payload";
            if (Readings(request.Readings) is not { } encoded) return "InvalidArgument: reading";
            payload = encoded;
        }
        int count;
        try
        {
            count = RecordBatchCodec.CountMatches(payload, RecordFilter.All);
        }
        catch (RecordFormatException)
        {
            return "RecordFormatException";
        }
        // Accepted: it will be replicated and scanned by every query, so every reader must agree.
        var decoded = RecordBatchCodec.Decode(payload);
        FuzzInvariantException.Check(decoded.Length == count && RecordBatchCodec.Count(payload) == count,
            $"an accepted batch: {count} records counted, {decoded.Length} decoded, header says {RecordBatchCodec.Count(payload)}");
        var matches = new List<AirQualityRecord>();
        var scan = RecordBatchCodec.Scan(payload, Narrow, 0, int.MaxValue, matches);
        FuzzInvariantException.Check(scan.Completed && matches.Count == decoded.Count(r => Narrow.Matches(r)),
            "scan and decode disagree about the matches of an accepted batch");
        var aggregate = new AirQualityAggregate();
        RecordBatchCodec.Aggregate(payload, Narrow, aggregate);
        var again = RecordBatchCodec.Decode(RecordBatchCodec.Encode(decoded));
        FuzzInvariantException.Check(again.AsSpan().SequenceEqual(decoded), "an accepted batch does not survive re-encoding");
        return null;
    }

    /// <summary>Readings converted and encoded as the node does; null if one is refused. Accepted ones
    /// must come back from the codec as the same records, and as readings that convert back to them.</summary>
    private static byte[]? Readings(IReadOnlyList<AirQualityReading> readings)
    {
        var records = new AirQualityRecord[readings.Count];
        for (var i = 0; i < records.Length; i++)
            if (!AirQualityReadings.TryToRecord(readings[i], out records[i], out _)) return null;
        byte[] encoded;
        try
        {
            encoded = RecordBatchCodec.Encode(records);
        }
        catch (ArgumentException)
        {
            return null;
        }
        var decoded = RecordBatchCodec.Decode(encoded);
        FuzzInvariantException.Check(decoded.AsSpan().SequenceEqual(records), "accepted readings do not come back from the codec");
        foreach (var record in decoded)
        {
            var wire = AirQualityReading.Parser.ParseFrom(AirQualityReadings.ToReading(in record).ToByteArray());
            FuzzInvariantException.Check(AirQualityReadings.TryToRecord(wire, out var back, out var error)
                && AirQualityCsv.Format(in back) == AirQualityCsv.Format(in record), $"a stored record read out as a reading does not convert back: {error}");
        }
        return encoded;
    }
}

/// <summary>Raw record batches (issue 13) as a replica checks them before accepting one
/// (RawBatchCodec.Verify, RecordFormatException its only refusal); accepted ones are decoded whole
/// and from the middle, every reader must agree and the records must survive re-encoding.</summary>
internal sealed class RawBatchFuzzTarget : FuzzTarget
{
    private static readonly string[] HeaderNames = ["trace-id", "content-type", "é-名前", "x"];

    public override string Name => "raw";
    public override string Description => "raw record batch bytes (RawBatchCodec verify, count, decode whole and from the middle); accepted ones re-encode";

    public override IReadOnlyList<byte[]> Seeds { get; } = new[] { 0, 1, 3, 17, 40 }.Select(n => RawBatchCodec.Encode(Records(n))).ToArray();

    public override int InputBytesMax => 256 * 1024;

    /// <summary>Records with empty and random keys, values and headers, repeated header names and
    /// timestamps around the epoch and at both ends of the range.</summary>
    private static RawRecord[] Records(int count)
    {
        var random = new Random(count + 5);
        ByteString Bytes(int max) => random.Next(4) == 0 ? ByteString.Empty : ByteString.CopyFrom(RandomBytes(random, random.Next(1, max)));
        return Enumerable.Range(0, count).Select(i => new RawRecord
        {
            Key = Bytes(24),
            Value = Bytes(i % 5 == 0 ? 2048 : 64),
            TimestampMs = (i % 6) switch { 0 => 0, 1 => long.MinValue, 2 => long.MaxValue, 3 => -random.Next(), _ => 1_700_000_000_000 + random.Next(100_000) },
            Headers = { Enumerable.Range(0, random.Next(5)).Select(_ => new RecordHeader { Key = HeaderNames[random.Next(HeaderNames.Length)], Value = Bytes(16) }) },
        }).ToArray();
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    public override string? Run(byte[] input)
    {
        int count;
        try
        {
            count = RawBatchCodec.Verify(input);
        }
        catch (RecordFormatException)
        {
            var partial = new List<RawRecord>();
            try
            {
                RawBatchCodec.Decode(input, 0, int.MaxValue, partial);
            }
            catch (RecordFormatException)
            {
                FuzzInvariantException.Check(partial.Count == 0, "a refused decode left records in the list");
                return "RecordFormatException";
            }
            throw new FuzzInvariantException("Verify refused a batch that Decode accepted");
        }
        // Accepted: it will be replicated and read by every consumer, so every reader must agree.
        var decoded = RawBatchCodec.Decode(input);
        FuzzInvariantException.Check(decoded.Length == count && RawBatchCodec.Count(input) == count,
            $"an accepted batch: {count} records verified, {decoded.Length} decoded, header says {RawBatchCodec.Count(input)}");
        for (int i = 0; i < decoded.Length; i++)
            FuzzInvariantException.Check(RawBatchCodec.Validate(decoded[i], i) is null, $"an accepted batch holds a record beyond a limit: {RawBatchCodec.Validate(decoded[i], i)}");
        var rest = new List<RawRecord>();
        var result = RawBatchCodec.Decode(input, count / 2, int.MaxValue, rest);
        FuzzInvariantException.Check(result == new ScanResult(count - count / 2, count, count) && rest.SequenceEqual(decoded.Skip(count / 2)),
            "a decode from the middle does not yield exactly the rest");
        FuzzInvariantException.Check(RawBatchCodec.Decode(RawBatchCodec.Encode(decoded)).SequenceEqual(decoded), "an accepted batch does not survive re-encoding");
        return null;
    }
}

/// <summary>Query cursors a client hands back (ScanCursor.TryDecode: a message for every way it is wrong).</summary>
internal sealed class CursorFuzzTarget : FuzzTarget
{
    private const ulong FilterHash = 0x5EED_F11E_0000_0001;
    private const int Partitions = 3;

    public override string Name => "cursor";
    public override string Description => "query cursor bytes (ScanCursor.TryDecode with 3 partitions), accepted ones re-encoded and advanced";

    public override IReadOnlyList<byte[]> Seeds { get; } = BuildSeeds();

    private static byte[][] BuildSeeds()
    {
        var start = ScanCursor.Start(FilterHash, [(100, 0), (5, 2), (0, 0)]);
        var moved = start.Advance(start.Positions[0] with { NextIndex = 50, Skip = 7 });
        var done = moved.Advance(moved.Positions[1].Finished());
        return [start.Encode(), moved.Encode(), done.Encode(), ScanCursor.Start(FilterHash, [(ulong.MaxValue - 1, 3), (1, 1), (9, 4)]).Encode()];
    }

    public override string? Run(byte[] input)
    {
        if (!ScanCursor.TryDecode(input, FilterHash, Partitions, out var cursor, out var error))
        {
            FuzzInvariantException.Check(!string.IsNullOrWhiteSpace(error), "a cursor refused without a message");
            return error.StartsWith("the cursor is not", StringComparison.Ordinal) ? "not a cursor (protobuf)" : "refused: " + Category(error);
        }
        FuzzInvariantException.Check(cursor.Positions.Count == Partitions && cursor.Positions.All(p => p.IsValid), "an accepted cursor holds an invalid position");
        FuzzInvariantException.Check(ScanCursor.TryDecode(cursor.Encode(), FilterHash, Partitions, out var again, out _) && again.Positions.SequenceEqual(cursor.Positions),
            "an accepted cursor does not survive re-encoding");
        foreach (var p in cursor.Positions.Where(p => !p.Done)) cursor = cursor.Advance(p.Finished());
        FuzzInvariantException.Check(cursor.Done, "a cursor advanced to the end of every partition is not done");
        return null;
    }

    private static string Category(string error) =>
        error.Contains("version", StringComparison.Ordinal) ? "version"
        : error.Contains("filter", StringComparison.Ordinal) ? "other query"
        : error.Contains("partitions", StringComparison.Ordinal) ? "partition count"
        : "malformed position";
}

/// <summary>Query filters: the proto QueryFilter (as the Scan and Query calls convert it) and the
/// command line's text form (RecordFilterParser.TryParse). Byte 0 picks the form.</summary>
internal sealed class FilterFuzzTarget : FuzzTarget
{
    public override string Name => "filter";
    public override string Description => "QueryFilter proto (byte 0 even) or the six text fields of RecordFilterParser.TryParse (odd); accepted filters scan a batch";

    public override IReadOnlyList<byte[]> Seeds { get; } =
    [
        Proto(new QueryFilter()),
        Proto(new QueryFilter { From = "2020-08-20", To = "2020-09-01T05", AqiMin = 50, AqiMax = 150, Parameters = { "PM2.5", "ozone" } }),
        Proto(new QueryFilter { Site = "Fresno", Bbox = new Protocol.V1.BoundingBox { MinLatitude = 30, MinLongitude = -125, MaxLatitude = 45, MaxLongitude = -110 } }),
        Text("2020-08-20", "2020-09-01T05:00", "PM2.5,O3", "100..500", "30,-125,45,-110", ""),
        Text("", "", "PM25", "..50", "", "Sacramento"),
    ];

    private static byte[] Proto(QueryFilter filter) => [0, .. filter.ToByteArray()];

    private static byte[] Text(params string[] fields) => [1, .. Encoding.UTF8.GetBytes(string.Join('\n', fields))];

    public override string? Run(byte[] input)
    {
        if (input.Length == 0) return "empty";
        RecordFilter? filter;
        string? error;
        if (input[0] % 2 == 0)
        {
            QueryFilter wire;
            try
            {
                wire = QueryFilter.Parser.ParseFrom(input.AsSpan(1));
            }
            catch (InvalidProtocolBufferException)
            {
                return "InvalidProtocolBufferException";
            }
            // As QueryFilters.TryConvert (Braid.Node) converts a request's filter.
            var box = wire.Bbox is { } b ? (b.MinLatitude, b.MinLongitude, b.MaxLatitude, b.MaxLongitude) : ((double, double, double, double)?)null;
            RecordFilterParser.TryCreate(wire.From, wire.To, wire.Parameters, wire.HasAqiMin ? wire.AqiMin : null, wire.HasAqiMax ? wire.AqiMax : null,
                box, wire.Site, out filter, out error);
        }
        else
        {
            var fields = Encoding.UTF8.GetString(input.AsSpan(1)).Split('\n');
            string? Field(int i) => i < fields.Length ? fields[i] : null;
            RecordFilterParser.TryParse(Field(0), Field(1), Field(2), Field(3), Field(4), Field(5), out filter, out error);
        }
        if (error is not null)
        {
            FuzzInvariantException.Check(error.Length > 0, "a filter refused without a message");
            return input[0] % 2 == 0 ? "invalid filter (proto)" : "invalid filter (text)";
        }
        _ = filter!.ToString();
        foreach (var batch in FuzzSamples.Batches)
        {
            int matches = RecordBatchCodec.CountMatches(batch, filter);
            FuzzInvariantException.Check(matches == RecordBatchCodec.Decode(batch).Count(r => filter.Matches(r)), "scan and Matches disagree");
        }
        return null;
    }
}

/// <summary>The CSV reader: lines as AirQualityFiles.Read reads them from an hour file
/// (UTF-8, any line ending), each through AirQualityCsv.TryParse; a parsed record must format back to
/// its line byte for byte (issue 13), also after the batch codec.</summary>
internal sealed class CsvFuzzTarget : FuzzTarget
{
    public override string Name => "csv";
    public override string Description => "an hour file's bytes, line by line through AirQualityCsv.TryParse; accepted lines format back byte for byte, also through the batch codec";

    public override IReadOnlyList<byte[]> Seeds { get; } =
    [
        .. Enumerable.Range(0, 6).Select(i => Encoding.UTF8.GetBytes(string.Join(i % 2 == 0 ? "\n" : "\r\n",
            FuzzSamples.Records.Skip(i * 13).Take(1 + i * 2).Select(r => AirQualityCsv.Format(in r))) + "\n")),
        Encoding.UTF8.GetBytes(string.Join("\n", FuzzSamples.RealStyleLines.Take(15)) + "\n"),
    ];

    public override int InputBytesMax => 64 * 1024;

    public override string? Run(byte[] input)
    {
        using var reader = new StreamReader(new MemoryStream(input), Encoding.UTF8);
        var records = new List<AirQualityRecord>();
        var lines = new List<string>();
        int bad = 0;
        while (reader.ReadLine() is { } line)
        {
            if (AirQualityCsv.TryParse(line, out var record, out var error))
            {
                records.Add(record);
                lines.Add(line);
                var formatted = AirQualityCsv.Format(in record);
                FuzzInvariantException.Check(formatted == line, $"a parsed line does not format back byte for byte: '{Short(line)}' -> '{Short(formatted)}'");
            }
            else
            {
                FuzzInvariantException.Check(!string.IsNullOrWhiteSpace(error), "a line refused without a message");
                bad++;
            }
        }
        if (records.Count > 0)
        {
            var batch = RecordBatchCodec.Encode(records.ToArray());
            var decoded = RecordBatchCodec.Decode(batch);
            FuzzInvariantException.Check(decoded.AsSpan().SequenceEqual(records.ToArray()), "parsed records do not survive the batch codec");
            FuzzInvariantException.Check(decoded.Select(r => AirQualityCsv.Format(in r)).SequenceEqual(lines), "decoded records do not format back to their lines");
        }
        return bad == 0 ? null : records.Count > 0 ? "some lines malformed" : "every line malformed";
    }

    private static string Short(string s) => s.Length <= 120 ? s : s[..120] + "…";
}

/// <summary>Topology JSON (TopologyLoader.Parse: TopologyException is the only refusal).</summary>
internal sealed class TopologyFuzzTarget : FuzzTarget
{
    public override string Name => "topology";
    public override string Description => "topology JSON through TopologyLoader.Parse (TopologyException only); accepted ones are re-checked";

    public override IReadOnlyList<byte[]> Seeds { get; } = new[] { "mini2", "mini2-9", "mesh3", "grid3x3" }.Select(n => File.ReadAllBytes(TopologyFiles.Resolve(n))).ToArray();

    public override int InputBytesMax => 64 * 1024;

    public override string? Run(byte[] input)
    {
        ClusterTopology topology;
        try
        {
            topology = TopologyLoader.Parse(Encoding.UTF8.GetString(input), "fuzz");
        }
        catch (TopologyException)
        {
            return "TopologyException";
        }
        foreach (var id in topology.NodeIds)
            foreach (var n in topology.NeighboursOf(id))
                FuzzInvariantException.Check(topology.Contains(n) && topology.AreNeighbours(n, id) && n != id, $"edge {id}-{n} is not symmetric or leaves the graph");
        return null;
    }
}
