using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Braid.Cli.Cluster;
using Braid.Client;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Cli.Commands;

/// <summary>braid stream create/list/describe/delete, braid produce and braid tail (issue 13).</summary>
internal static class StreamCommands
{
    public static Command Stream()
    {
        var command = new Command("stream", "Create, list, describe and delete streams (kept in the cluster's metadata group)");
        command.Subcommands.Add(Create());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Describe());
        command.Subcommands.Add(Delete());
        return command;
    }

    private static Command Create()
    {
        var client = new ClientOptions();
        var partitions = new Option<uint>("--partitions", "-p") { Description = "Partitions (1-256)", DefaultValueFactory = _ => 3 };
        var replicas = new Option<uint>("--replicas", "-r") { Description = "Replicas per partition (default 3, or fewer on a smaller cluster)" };
        var retain = new Option<long>("--retain-bytes") { Description = "Log bytes kept per partition replica (0 keeps everything)" };
        var retainTime = new Option<string?>("--retain-time") { Description = "Records applied at least this long ago may be removed: 90s, 30m, 12h, 7d (default: kept by time)" };
        var format = new Option<string>("--format") { Description = "raw (opaque key, value, headers) or airquality (typed, with filters)", DefaultValueFactory = _ => "raw" };
        var json = Options.Json();
        var command = new Command("create", "Create a stream; safe to repeat (an existing stream with the same settings is left as it is)") { partitions, replicas, retain, retainTime, format, json };
        client.AddTo(command);
        command.SetAction((p, ct) => CommandRunner.RunAsync(async () =>
        {
            using var braid = await client.ConnectAnyAsync(p, ct).ConfigureAwait(false);
            var name = p.GetValue(client.StreamName)!;
            var keepFor = p.GetValue(retainTime) is { } text ? ParseDuration(text) : TimeSpan.Zero;
            var created = await braid.CreateStreamAsync(name, p.GetValue(format)!, p.GetValue(partitions), p.GetValue(replicas), p.GetValue(retain), ct, keepFor).ConfigureAwait(false);
            if (!p.GetValue(json)) await Console.Error.WriteLineAsync($"stream '{name}' committed; waiting for its partitions to elect leaders").ConfigureAwait(false);
            var ready = await WaitForLeadersAsync(braid, name, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false) ?? created;
            Print(ready, p.GetValue(json));
            return 0;
        }));
        return command;
    }

    /// <summary>"500ms", "90s", "30m", "12h", "7d" as a duration; anything else is a clear error.</summary>
    internal static TimeSpan ParseDuration(string text)
    {
        var match = System.Text.RegularExpressions.Regex.Match(text.Trim(), "^([0-9]+)(ms|s|m|h|d)$");
        if (!match.Success || !long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0 || n > 100_000_000)
            throw new CliException($"'{text}' is not a duration: a positive whole number and a unit, e.g. 500ms, 90s, 30m, 12h, 7d");
        return match.Groups[2].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(n),
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            _ => TimeSpan.FromDays(n),
        };
    }

    /// <summary>Polls until every partition of the stream has a leader (progress on stderr), or the time is up.</summary>
    internal static async Task<StreamDescription?> WaitForLeadersAsync(BraidClient braid, string name, TimeSpan timeout, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        StreamDescription? last = null;
        var reported = -1;
        while (clock.Elapsed < timeout)
        {
            last = await LeadersAsync(braid, name, ct).ConfigureAwait(false);
            if (last is null) return null;
            var led = last.Partitions.Count(p => p.Leader.Length > 0);
            if (led != reported)
            {
                await Console.Error.WriteLineAsync($"  {led}/{last.Partitions.Count} partitions have a leader").ConfigureAwait(false);
                reported = led;
            }
            if (led == last.Partitions.Count) return last;
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
        return last;
    }

    /// <summary>The stream with each partition's leader as its replicas report it (asks each node).</summary>
    private static async Task<StreamDescription?> LeadersAsync(BraidClient braid, string name, CancellationToken ct)
    {
        StreamDescription? merged = null;
        foreach (var node in braid.Nodes)
        {
            try
            {
                var reply = await braid.Stream(node).ListStreamsAsync(new ListStreamsRequest(), deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: ct).ConfigureAwait(false);
                if (reply.Streams.FirstOrDefault(s => s.Name == name) is not { } s) continue;
                merged ??= s.Clone();
                foreach (var p in s.Partitions.Where(p => p.LocalRole == "Leader"))
                {
                    var m = merged.Partitions[(int)p.Partition];
                    if (p.Term >= m.Term) { m.Leader = p.Leader; m.Term = p.Term; m.CommitIndex = p.CommitIndex; m.RecordCount = p.RecordCount; }
                }
            }
            catch (Grpc.Core.RpcException)
            {
                // An unreachable node: the others may still know.
            }
        }
        return merged;
    }

    private static Command List()
    {
        var client = new ClientOptions();
        var json = Options.Json();
        var command = new Command("list", "List the streams") { json };
        command.Options.Add(client.Seeds);
        command.Options.Add(client.ClusterDirectory);
        client.Tls.AddTo(command);
        command.SetAction((p, ct) => CommandRunner.RunAsync(async () =>
        {
            using var braid = await ConnectAsync(client, p, ct).ConfigureAwait(false);
            var reply = await braid.ListStreamsAsync(ct).ConfigureAwait(false);
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonFormatter.Default.Format(reply));
                return 0;
            }
            Console.WriteLine($"{"stream",-24} {"format",-10} {"partitions",10} {"replicas",8} {"retain bytes",14}");
            foreach (var s in reply.Streams)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{s.Name,-24} {s.Format,-10} {s.Partitions.Count,10} {s.ReplicationFactor,8} {s.RetainBytes,14}"));
            return 0;
        }));
        return command;
    }

    private static Task<BraidClient> ConnectAsync(ClientOptions client, ParseResult p, CancellationToken ct)
    {
        var seeds = p.GetValue(client.Seeds) is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : ClusterState.Load(p.GetValue(client.ClusterDirectory)!).Nodes.Select(n => n.Address).ToList();
        return ClientOptions.ConnectAsync(seeds, client.Tls.Resolve(p, p.GetValue(client.ClusterDirectory)!), ct);
    }

    private static Command Describe()
    {
        var client = new ClientOptions();
        var json = Options.Json();
        var command = new Command("describe", "A stream's partitions: replicas, leader, term, commit index, records") { json };
        client.AddTo(command);
        command.SetAction((p, ct) => CommandRunner.RunAsync(async () =>
        {
            using var braid = await client.ConnectAnyAsync(p, ct).ConfigureAwait(false);
            var name = p.GetValue(client.StreamName)!;
            var stream = await LeadersAsync(braid, name, ct).ConfigureAwait(false) ?? throw new CliException($"no stream named '{name}'");
            Print(stream, p.GetValue(json));
            return 0;
        }));
        return command;
    }

    private static void Print(StreamDescription s, bool json)
    {
        if (json)
        {
            Console.WriteLine(JsonFormatter.Default.Format(s));
            return;
        }
        var retention = s.RetainBytes == 0 && s.RetainMs == 0 ? "everything"
            : string.Join(" or ", new[] { s.RetainBytes > 0 ? $"{s.RetainBytes} bytes" : null, s.RetainMs > 0 ? $"{TimeSpan.FromMilliseconds(s.RetainMs)}" : null }.Where(x => x is not null));
        Console.WriteLine($"stream {s.Name} (id {s.Id}): {s.Format}, {s.Partitions.Count} partitions, {s.ReplicationFactor} replicas, retain {retention}");
        Console.WriteLine($"{"partition",9} {"leader",-8} {"term",6} {"commit",10} {"batches",10}  replicas");
        foreach (var p in s.Partitions)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{p.Partition,9} {(p.Leader.Length > 0 ? p.Leader : "-"),-8} {p.Term,6} {p.CommitIndex,10} {p.RecordCount,10}  {string.Join(",", p.Replicas)}"));
    }

    private static Command Delete()
    {
        var client = new ClientOptions();
        var command = new Command("delete", "Delete a stream and its records on every replica; safe to repeat");
        client.AddTo(command);
        command.SetAction((p, ct) => CommandRunner.RunAsync(async () =>
        {
            using var braid = await client.ConnectAnyAsync(p, ct).ConfigureAwait(false);
            var name = p.GetValue(client.StreamName)!;
            var deleted = await braid.DeleteStreamAsync(name, ct).ConfigureAwait(false);
            Console.WriteLine(deleted ? $"stream '{name}' deleted" : $"no stream named '{name}' (nothing deleted)");
            return 0;
        }));
        return command;
    }

    public static Command Produce()
    {
        var client = new ClientOptions();
        var input = new Option<string?>("--input", "-i") { Description = "Read from this file instead of stdin" };
        var key = new Option<string?>("--key", "-k") { Description = "Key of every record (UTF-8); records with a key go to the partition of its hash" };
        var partition = new Option<int?>("--partition") { Description = "Send every record to this partition" };
        var whole = new Option<bool>("--whole") { Description = "The whole input is one record (binary safe) instead of one record per line" };
        var batch = new Option<int>("--batch") { Description = "Records per batch", DefaultValueFactory = _ => 500 };
        var command = new Command("produce", "Append records to a raw stream, exactly once: one per input line (without its newline), or the whole input as one") { input, key, partition, whole, batch };
        client.AddTo(command);
        command.SetAction((p, ct) => CommandRunner.RunAsync(async () =>
        {
            using var braid = await client.ConnectAnyAsync(p, ct).ConfigureAwait(false);
            var name = p.GetValue(client.StreamName)!;
            var stream = await braid.DescribeStreamAsync(name, ct).ConfigureAwait(false) ?? throw new CliException($"no stream named '{name}'");
            if (stream.Format != "raw") throw new CliException($"stream '{name}' is {stream.Format}: use braid load for air-quality records");
            var keyBytes = p.GetValue(key) is { } k ? ByteString.CopyFromUtf8(k) : ByteString.Empty;
            var count = (uint)stream.Partitions.Count;
            uint? fixedPartition = p.GetValue(partition) is { } fp ? (fp >= 0 && fp < count ? (uint)fp : throw new CliException($"--partition must be 0-{count - 1}")) : null;
            if (fixedPartition is null && !keyBytes.IsEmpty) fixedPartition = (uint)ProducerBatcher.KeyPartition(keyBytes.Span, (int)count); // the producer's rule
            var producer = (ulong)Random.Shared.NextInt64(1, long.MaxValue);
            var sequences = new ulong[count];
            var next = 0u;
            long sent = 0;
            using var source = p.GetValue(input) is { } path ? File.OpenRead(path) : Console.OpenStandardInput();
            async Task SendAsync(List<RawRecord> records)
            {
                if (records.Count == 0) return;
                var target = fixedPartition ?? next++ % count;
                await braid.AppendRawAsync(name, target, producer, ++sequences[target], records, ct).ConfigureAwait(false);
                sent += records.Count;
            }
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (p.GetValue(whole))
            {
                using var memory = new MemoryStream();
                await source.CopyToAsync(memory, ct).ConfigureAwait(false);
                await SendAsync([new RawRecord { Key = keyBytes, Value = ByteString.CopyFrom(memory.ToArray()), TimestampMs = now }]).ConfigureAwait(false);
            }
            else
            {
                using var reader = new StreamReader(source, new UTF8Encoding(false));
                var records = new List<RawRecord>();
                var size = Math.Max(1, p.GetValue(batch));
                while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
                {
                    records.Add(new RawRecord { Key = keyBytes, Value = ByteString.CopyFromUtf8(line), TimestampMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
                    if (records.Count < size) continue;
                    await SendAsync(records).ConfigureAwait(false);
                    records = [];
                }
                await SendAsync(records).ConfigureAwait(false);
            }
            await Console.Error.WriteLineAsync($"{sent} records acknowledged (producer {producer})").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    public static Command Tail()
    {
        var client = new ClientOptions();
        var from = new Option<string>("--from") { Description = "beginning, now, or a cursor printed by an earlier tail", DefaultValueFactory = _ => "beginning" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep following the stream as records commit (Ctrl-C to stop; prints the cursor to resume)" };
        var format = new Option<string>("--format") { Description = "text (each value as a UTF-8 line), jsonl (key, value and headers in base64, position, timestamp) or raw (values back to back, byte for byte)", DefaultValueFactory = _ => "text" };
        var limit = new Option<long?>("--limit") { Description = "Stop after this many records" };
        var consumer = new Option<string?>("--consumer") { Description = "A durable consumer: start at its committed position (or as --from says where it has none) and commit after each chunk is written" };
        var partial = QueryCommands.AllowPartial("read the records (without --follow)");
        var command = new Command("tail", $"Read a stream's records in order per partition; with --follow, keep delivering them as they commit. Without --follow, a partition with no quorum fails the read within seconds, naming it (exit 2); with --allow-partial the read prints the rest and the cursor resumes the missing partitions later (exit {QueryCommands.PartialExitCode})") { from, follow, format, limit, consumer, partial };
        client.AddTo(command);
        command.SetAction((p, ct) => CommandRunner.RunAsync(async () =>
        {
            var fmt = p.GetValue(format)!.ToLowerInvariant();
            if (fmt is not ("text" or "jsonl" or "raw")) throw new CliException($"unknown format '{fmt}' (text, jsonl or raw)");
            using var braid = await client.ConnectAnyAsync(p, ct).ConfigureAwait(false);
            var name = p.GetValue(client.StreamName)!;
            var start = SubscribeRequest.Types.Start.Beginning;
            byte[]? cursor = null;
            switch (p.GetValue(from))
            {
                case "beginning": break;
                case "now": start = SubscribeRequest.Types.Start.Now; break;
                case var c:
                    try { cursor = Convert.FromBase64String(c!); }
                    catch (FormatException) { throw new CliException("--from is beginning, now or a cursor printed by braid tail"); }
                    break;
            }
            var max = p.GetValue(limit) ?? long.MaxValue;
            var output = Console.OpenStandardOutput();
            long count = 0;
            string? last = null;
            IReadOnlyList<uint>? missing = null;
            try
            {
                var durable = p.GetValue(consumer) ?? "";
                if (durable.Length > 0 && cursor is not null) throw new CliException("--consumer resumes at its committed position; give it no cursor in --from");
                var snapshotRead = !p.GetValue(follow) && start == SubscribeRequest.Types.Start.Beginning && durable.Length == 0;
                if (p.GetValue(partial) && !snapshotRead) throw new CliException("--allow-partial applies to a read of what the stream holds: not with --follow, --from now or --consumer");
                if (snapshotRead)
                {
                    await foreach (var chunk in braid.ReadRawAsync(name, [], cursor, new QueryOptions { AllowPartial = p.GetValue(partial) }, ct).ConfigureAwait(false))
                    {
                        missing = chunk.MissingPartitions;
                        count += Write(output, fmt, chunk.Records, chunk.Positions, max - count);
                        last = Convert.ToBase64String(chunk.Cursor);
                        if (count >= max) break;
                    }
                }
                else
                {
                    await foreach (var chunk in braid.SubscribeAsync(name, start, cursor, 0, ct, durable).ConfigureAwait(false))
                    {
                        var written = Write(output, fmt, chunk.RawRecords, chunk.Positions, max - count);
                        count += written;
                        last = Convert.ToBase64String(chunk.Cursor.ToByteArray());
                        // Commit only a chunk written whole: a --limit that cut it leaves the rest for the next run.
                        if (durable.Length > 0 && written == chunk.RawRecords.Count && written > 0)
                        {
                            await output.FlushAsync(ct).ConfigureAwait(false);
                            await braid.CommitPositionAsync(name, durable, chunk.Cursor.ToByteArray(), ct).ConfigureAwait(false);
                        }
                        if (count >= max || !p.GetValue(follow) && chunk.RawRecords.Count == 0) break;
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl-C on --follow: say where to resume.
            }
            catch (BraidPartitionsUnavailableException e)
            {
                await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                throw new CliException(e.Message + "\n(--allow-partial returns what the other partitions hold)" + (last is null ? "" : $"\nresume with: --from {last}"), 2);
            }
            await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            if (missing is { Count: > 0 })
            {
                await Console.Error.WriteLineAsync(QueryCommands.PartialLine(missing, name, $"{count} records from the others; resume with --from {last}")).ConfigureAwait(false);
                return QueryCommands.PartialExitCode;
            }
            await Console.Error.WriteLineAsync($"{count} records; resume with --from {last}").ConfigureAwait(false);
            return ct.IsCancellationRequested ? 130 : 0;
        }));
        return command;
    }

    private static long Write(System.IO.Stream output, string format, IReadOnlyList<RawRecord> records, IReadOnlyList<RecordPosition> positions, long max)
    {
        var n = (int)Math.Min(records.Count, max);
        for (var i = 0; i < n; i++)
        {
            var r = records[i];
            switch (format)
            {
                case "raw":
                    r.Value.WriteTo(output);
                    break;
                case "text":
                    r.Value.WriteTo(output);
                    output.WriteByte((byte)'\n');
                    break;
                default:
                    var line = JsonSerializer.Serialize(new Dictionary<string, object>
                    {
                        ["partition"] = positions[i].Partition, ["index"] = positions[i].Index, ["ordinal"] = positions[i].Ordinal,
                        ["timestamp_ms"] = r.TimestampMs, ["key"] = r.Key.ToBase64(), ["value"] = r.Value.ToBase64(),
                        ["headers"] = r.Headers.Select(h => new Dictionary<string, string> { ["key"] = h.Key, ["value"] = h.Value.ToBase64() }).ToList(),
                    });
                    output.Write(Encoding.UTF8.GetBytes(line + "\n"));
                    break;
            }
        }
        return n;
    }
}
