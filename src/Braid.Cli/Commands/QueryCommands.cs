using System.CommandLine;
using System.Globalization;
using Braid.Cli.Cluster;
using Braid.Cli.Json;
using Braid.Client;
using Braid.Data;

namespace Braid.Cli.Commands;

/// <summary>braid query / count / stats.</summary>
internal static class QueryCommands
{
    /// <summary>The exit code of a partial result (--allow-partial, some partitions had no quorum).</summary>
    public const int PartialExitCode = 3;

    /// <summary>The --allow-partial option of the commands that read every partition.</summary>
    public static Option<bool> AllowPartial(string what) => new("--allow-partial")
    {
        Description = $"If partitions have no quorum, {what} from the others instead of failing (exit 2, naming them); "
            + $"stderr then says PARTIAL and names the missing partitions, and the exit code is {PartialExitCode}",
    };

    /// <summary>The PARTIAL line for stderr.</summary>
    public static string PartialLine(IEnumerable<uint> missing, string stream, string rest) =>
        $"PARTIAL: partition(s) {Braid.Client.UnavailablePartitions.Describe(missing)} of stream '{stream}' have no quorum and are missing; {rest}";

    /// <summary>A failure naming partitions with no quorum, with the hint to --allow-partial.</summary>
    private static CliException Unavailable(BraidException e, string? resume = null) =>
        new(e.Message + (e is BraidPartitionsUnavailableException ? "\n(--allow-partial returns what the other partitions hold)" : "") + (resume is null ? "" : $"\nresume with: --cursor {resume}"), 2);

    public static Command Query()
    {
        var client = new ClientOptions();
        var filter = new FilterOptions();
        var format = new Option<string>("--format") { Description = "csv (the source lines, byte for byte) or jsonl (numbers with the digits as written)", DefaultValueFactory = _ => "csv" };
        var limit = new Option<long?>("--limit") { Description = "Stop after this many records" };
        var cursor = new Option<string?>("--cursor") { Description = "Resume from a cursor printed by an earlier query (same filter)" };
        var partial = AllowPartial("print the records");
        var command = new Command("query", $"Stream the records matching a filter (resumes across node failures; prints a resumable cursor to stderr). A partition with no quorum fails the query within seconds, naming it (exit 2); with --allow-partial the query prints the rest and the cursor resumes the missing partitions later (exit {PartialExitCode})") { format, limit, cursor, partial };
        client.AddTo(command);
        filter.AddTo(command);
        command.SetAction((p, ct) => CommandRunner.RunAsync(async () =>
        {
            var fmt = p.GetValue(format)!.ToLowerInvariant();
            if (fmt is not ("csv" or "jsonl")) throw new CliException($"unknown format '{fmt}' (csv or jsonl)");
            var wire = filter.Build(p);
            byte[]? start = null;
            if (p.GetValue(cursor) is { } c)
            {
                try { start = Convert.FromBase64String(c); }
                catch (FormatException) { throw new CliException("--cursor is not a cursor printed by braid query"); }
            }
            using var braid = await client.ConnectAsync(p, ct).ConfigureAwait(false);
            var output = Console.Out;
            long count = 0;
            var max = p.GetValue(limit) ?? long.MaxValue;
            string? last = null;
            IReadOnlyList<uint>? missing = null;
            try
            {
                await foreach (var page in braid.QueryPagesAsync(wire, start, new QueryOptions { AllowPartial = p.GetValue(partial) }, ct).ConfigureAwait(false))
                {
                    missing = page.MissingPartitions;
                    foreach (var record in page.Records)
                    {
                        if (count >= max) break;
                        output.WriteLine(fmt == "csv" ? AirQualityCsv.Format(record) : RecordJsonLine.Format(record));
                        count++;
                    }
                    last = Convert.ToBase64String(page.Cursor);
                    if (count >= max) break;
                }
            }
            catch (BraidException e)
            {
                throw Unavailable(e, last);
            }
            await output.FlushAsync(ct).ConfigureAwait(false);
            if (missing is { Count: > 0 })
            {
                await Console.Error.WriteLineAsync(PartialLine(missing, ClientOptions.Stream, $"{count} records from the others; resume with: --cursor {last}")).ConfigureAwait(false);
                return PartialExitCode;
            }
            await Console.Error.WriteLineAsync($"{count} records; cursor {last}").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    public static Command Count() =>
        AggregateCommand("count", "Count the records matching a filter (computed by the cluster)", [], (reply, _, json) =>
        {
            if (json) CliJson.Print(ToCountReport(reply));
            else Console.WriteLine(reply.Records.ToString(CultureInfo.InvariantCulture));
        });

    /// <summary>The count as data, for --json.</summary>
    internal static CountReport ToCountReport(Protocol.V1.AggregateReply reply) =>
        new(reply.Records, reply.MissingPartitions.Count > 0, [.. reply.MissingPartitions]);

    public static Command Stats()
    {
        var byDay = new Option<bool>("--by-day") { Description = "Also group by day" };
        return AggregateCommand("stats", "Count, min, max and mean AQI by parameter (and by day) over the records matching a filter", [byDay], (reply, p, json) =>
        {
            if (json)
            {
                CliJson.Print(ToReport(reply, p.GetValue(byDay)));
                return;
            }
            Console.WriteLine($"{reply.Records} records{(reply.MissingPartitions.Count > 0 ? $" (PARTIAL: partitions {Braid.Client.UnavailablePartitions.Describe(reply.MissingPartitions)} missing)" : "")}");
            Print("parameter", reply.ByParameter);
            if (p.GetValue(byDay)) Print("day", reply.ByDay);
        });
    }

    /// <summary>The aggregate as data, for --json; a row with no AQI has null min, max and mean.</summary>
    internal static StatsReport ToReport(Protocol.V1.AggregateReply reply, bool byDay)
    {
        static List<AggregateRowReport> Rows(IEnumerable<Protocol.V1.AggregateRow> rows) => rows.Select(r => r.AqiCount > 0
            ? new AggregateRowReport(r.Key, r.Count, r.AqiCount, r.AqiMin, r.AqiMax, r.AqiMean)
            : new AggregateRowReport(r.Key, r.Count, 0, null, null, null)).ToList();
        return new StatsReport(reply.Records, Rows(reply.ByParameter), byDay ? Rows(reply.ByDay) : null, reply.MissingPartitions.Count > 0, [.. reply.MissingPartitions]);
    }

    /// <summary>A command that asks the cluster for the aggregate of a filter and prints it.</summary>
    private static Command AggregateCommand(string name, string description, Option[] extra, Action<Protocol.V1.AggregateReply, ParseResult, bool> print)
    {
        var client = new ClientOptions();
        var filter = new FilterOptions();
        var json = Options.Json();
        var partial = AllowPartial("compute the figures");
        var command = new Command(name, $"{description}. A partition with no quorum fails it within seconds, naming it (exit 2); with --allow-partial the figures cover the other partitions (exit {PartialExitCode})") { json, partial };
        foreach (var option in extra) command.Options.Add(option);
        client.AddTo(command);
        filter.AddTo(command);
        command.SetAction((p, ct) => CommandRunner.RunAsync(async () =>
        {
            var wire = filter.Build(p);
            using var braid = await client.ConnectAsync(p, ct).ConfigureAwait(false);
            Protocol.V1.AggregateReply reply;
            try
            {
                reply = await braid.AggregateAsync(wire, new QueryOptions { AllowPartial = p.GetValue(partial) }, ct).ConfigureAwait(false);
            }
            catch (BraidException e)
            {
                throw Unavailable(e);
            }
            print(reply, p, p.GetValue(json));
            if (reply.MissingPartitions.Count == 0) return 0;
            await Console.Error.WriteLineAsync(PartialLine(reply.MissingPartitions, ClientOptions.Stream, "the figures cover the other partitions only")).ConfigureAwait(false);
            return PartialExitCode;
        }));
        return command;
    }

    private static void Print(string key, IEnumerable<Protocol.V1.AggregateRow> rows)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{key,-12} {"records",10} {"with AQI",10} {"min",6} {"max",6} {"mean",8}"));
        foreach (var r in rows)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Key,-12} {r.Count,10} {r.AqiCount,10} {(r.AqiCount > 0 ? r.AqiMin : 0),6} {(r.AqiCount > 0 ? r.AqiMax : 0),6} {r.AqiMean,8:F1}"));
    }
}
