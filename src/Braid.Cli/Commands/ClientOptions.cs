using System.CommandLine;
using Braid.Cli.Cluster;
using Braid.Client;
using Braid.Data;
using Braid.Protocol.V1;

namespace Braid.Cli.Commands;

/// <summary>Options shared by the data commands: where the cluster is, which stream, which filter.</summary>
internal sealed class ClientOptions
{
    public const string Stream = "airquality";

    public Argument<string> StreamName { get; } = new("stream") { Description = $"The stream (dataset): {Stream}" };
    public Option<string?> Seeds { get; } = new("--seeds") { Description = "Comma-separated node addresses (default: the local cluster's nodes)" };
    public Option<string> ClusterDirectory { get; } = Options.ClusterDirectory();
    public Security.ClientTlsOptions Tls { get; } = new();

    public void AddTo(Command command)
    {
        command.Arguments.Add(StreamName);
        command.Options.Add(Seeds);
        command.Options.Add(ClusterDirectory);
        Tls.AddTo(command);
    }

    public static void CheckStream(string name)
    {
        if (!string.Equals(name, Stream, StringComparison.OrdinalIgnoreCase))
            throw new CliException($"unknown stream '{name}' (streams: {Stream})");
    }

    public Task<BraidClient> ConnectAsync(ParseResult parse, CancellationToken ct)
    {
        CheckStream(parse.GetValue(StreamName)!);
        return ConnectAnyAsync(parse, ct);
    }

    /// <summary>Connects without checking the stream argument (commands that take any stream name).</summary>
    public Task<BraidClient> ConnectAnyAsync(ParseResult parse, CancellationToken ct)
    {
        var seeds = parse.GetValue(Seeds) is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : ClusterState.Load(parse.GetValue(ClusterDirectory)!).Nodes.Select(n => n.Address).ToList();
        return ConnectAsync(seeds, Tls.Resolve(parse, parse.GetValue(ClusterDirectory)!), ct);
    }

    public static async Task<BraidClient> ConnectAsync(IReadOnlyList<string> seeds, Braid.Client.Security.ClientTls? tls, CancellationToken ct)
    {
        try
        {
            return await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = seeds, Tls = tls }, ct).ConfigureAwait(false);
        }
        catch (BraidException e)
        {
            var hint = tls is null && e.Message.Contains("HTTP/2 handshake", StringComparison.Ordinal)
                ? " (a plaintext client: the nodes may speak TLS; drop --insecure or give --tls-cert, --tls-key, --tls-ca)" : "";
            throw new CliException(e.Message + hint, 2);
        }
    }
}

/// <summary>The filter options of query, count and stats.</summary>
internal sealed class FilterOptions
{
    public Option<string?> From { get; } = new("--from") { Description = "First UTC hour or day, e.g. 2020-09-01 or 2020-09-01T05:00" };
    public Option<string?> To { get; } = new("--to") { Description = "End (exclusive), same formats" };
    public Option<string?> Parameters { get; } = new("--param") { Description = "Parameters, comma-separated: OZONE,PM2.5,PM10,NO2,SO2,CO" };
    public Option<string?> Aqi { get; } = new("--aqi") { Description = "AQI range, inclusive: 100..500, 100.. or ..50" };
    public Option<string?> Box { get; } = new("--bbox") { Description = "Bounding box: minLat,minLon,maxLat,maxLon" };
    public Option<string?> Site { get; } = new("--site") { Description = "Exact site name" };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { From, To, Parameters, Aqi, Box, Site }) command.Options.Add(o);
    }

    /// <summary>Checks the filter locally (clear errors before any network) and builds the wire form.</summary>
    public QueryFilter Build(ParseResult parse)
    {
        if (!RecordFilterParser.TryParse(parse.GetValue(From), parse.GetValue(To), parse.GetValue(Parameters), parse.GetValue(Aqi), parse.GetValue(Box), parse.GetValue(Site), out var filter, out var error))
            throw new CliException("invalid filter: " + error);
        var wire = new QueryFilter();
        if (parse.GetValue(From) is { } from) wire.From = from;
        if (parse.GetValue(To) is { } to) wire.To = to;
        if (parse.GetValue(Parameters) is not null) wire.Parameters.AddRange(filter.Parameters.Select(p => p.Name()));
        if (filter.AqiMin is { } min) wire.AqiMin = min;
        if (filter.AqiMax is { } max) wire.AqiMax = max;
        if (filter.Box is { } b) wire.Bbox = new Protocol.V1.BoundingBox { MinLatitude = b.MinLatitude, MinLongitude = b.MinLongitude, MaxLatitude = b.MaxLatitude, MaxLongitude = b.MaxLongitude };
        if (filter.SiteName is { } site) wire.Site = site;
        return wire;
    }
}
