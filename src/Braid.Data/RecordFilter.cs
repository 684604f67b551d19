using System.Globalization;

namespace Braid.Data;

/// <summary>
/// An immutable query filter pushed down to the replicas (issue 5, item 3). Every part is
/// optional and the parts combine with AND: time window [From, To) in UTC, a set of parameters,
/// an inclusive AQI range, a bounding box and an exact, case-insensitive site name.
/// A record with a missing AQI (-999) never matches an AQI range: "AQI between 100 and 500"
/// is a question about readings that have an AQI.
/// </summary>
public sealed class RecordFilter
{
    private const int AllParametersMask = (1 << AirParameters.Count) - 1;

    private RecordFilter(DateTime? from, DateTime? to, int parameterMask, int? aqiMin, int? aqiMax, BoundingBox? box, string? siteName)
    {
        (From, To, ParameterMask, AqiMin, AqiMax, Box, SiteName) = (from, to, parameterMask, aqiMin, aqiMax, box, siteName);
        FromMinute = from is { } f ? ToMinute(f) : long.MinValue;
        ToMinuteExclusive = to is { } t ? ToMinute(t) : long.MaxValue;
        AqiLow = aqiMin ?? int.MinValue;
        AqiHigh = aqiMax ?? int.MaxValue;
        HasAqiRange = aqiMin is not null || aqiMax is not null;
    }

    /// <summary>The filter that matches every record.</summary>
    public static RecordFilter All { get; } = new(null, null, AllParametersMask, null, null, null, null);

    /// <summary>Inclusive start of the time window (UTC), or null for no lower bound.</summary>
    public DateTime? From { get; }
    /// <summary>Exclusive end of the time window (UTC), or null for no upper bound.</summary>
    public DateTime? To { get; }
    /// <summary>Bit i set when parameter i matches; all six bits set means "any parameter".</summary>
    public int ParameterMask { get; }
    /// <summary>Inclusive lower AQI bound, or null.</summary>
    public int? AqiMin { get; }
    /// <summary>Inclusive upper AQI bound, or null.</summary>
    public int? AqiMax { get; }
    /// <summary>Area the site must lie in, or null.</summary>
    public BoundingBox? Box { get; }
    /// <summary>Exact site name (compared case-insensitively), or null.</summary>
    public string? SiteName { get; }

    /// <summary>The parameters that match, in canonical order.</summary>
    public IReadOnlyList<AirParameter> Parameters => AirParameters.All.Where(p => (ParameterMask & (1 << (int)p)) != 0).ToArray();

    /// <summary>True when the filter keeps everything (lets the scan skip all checks).</summary>
    public bool MatchesEverything => ReferenceEquals(this, All) ||
        (From is null && To is null && ParameterMask == AllParametersMask && !HasAqiRange && Box is null && SiteName is null);

    internal long FromMinute { get; }
    internal long ToMinuteExclusive { get; }
    internal int AqiLow { get; }
    internal int AqiHigh { get; }
    internal bool HasAqiRange { get; }
    internal bool HasSiteCondition => Box is not null || SiteName is not null;

    /// <summary>
    /// Builds a filter; throws <see cref="ArgumentException"/> with a clear reason when the parts
    /// contradict each other (reversed window or AQI range, empty parameter set, blank site name).
    /// </summary>
    public static RecordFilter Create(DateTime? from = null, DateTime? to = null, IEnumerable<AirParameter>? parameters = null,
        int? aqiMin = null, int? aqiMax = null, BoundingBox? box = null, string? siteName = null)
    {
        if (from is { } f && to is { } t && f >= t) throw new ArgumentException($"time window is empty: from {Show(f)} is not before to {Show(t)}");
        if (aqiMin is { } lo && aqiMax is { } hi && lo > hi) throw new ArgumentException($"AQI range is reversed: {lo} > {hi}");
        if (siteName is not null && string.IsNullOrWhiteSpace(siteName)) throw new ArgumentException("site name is blank");
        int mask = AllParametersMask;
        if (parameters is not null)
        {
            mask = 0;
            foreach (var p in parameters)
            {
                if ((int)p >= AirParameters.Count) throw new ArgumentException($"unknown parameter value {(int)p}");
                mask |= 1 << (int)p;
            }
            if (mask == 0) throw new ArgumentException("parameter set is empty");
        }
        return new RecordFilter(AsUtc(from), AsUtc(to), mask, aqiMin, aqiMax, box, siteName);
    }

    /// <summary>True when the record passes every part of the filter.</summary>
    public bool Matches(in AirQualityRecord r) =>
        MatchesCore(ToMinute(r.TimeUtc), r.Parameter, r.Aqi) && MatchesSite(r.Latitude, r.Longitude, r.SiteName);

    /// <summary>The per-record part (time, parameter, AQI): what the codec checks for each record.</summary>
    internal bool MatchesCore(long minute, AirParameter parameter, int aqi) =>
        minute >= FromMinute && minute < ToMinuteExclusive
        && (ParameterMask & (1 << (int)parameter)) != 0
        && (!HasAqiRange || (aqi != AirQualityRecord.MissingAqi && aqi >= AqiLow && aqi <= AqiHigh));

    /// <summary>The per-site part (box, name): the codec checks it once per site of a batch.</summary>
    internal bool MatchesSite(double latitude, double longitude, ReadOnlySpan<char> siteName) =>
        (Box is not { } box || box.Contains(latitude, longitude))
        && (SiteName is null || siteName.Equals(SiteName, StringComparison.OrdinalIgnoreCase));

    /// <summary>Whole minutes since 0001-01-01 UTC: the time unit of the filter and the batch codec.</summary>
    internal static long ToMinute(DateTime time) => time.Ticks / TimeSpan.TicksPerMinute;

    /// <inheritdoc/>
    public override string ToString()
    {
        var parts = new List<string>();
        if (From is { } f) parts.Add("from " + Show(f));
        if (To is { } t) parts.Add("to " + Show(t));
        if (ParameterMask != AllParametersMask) parts.Add("param " + string.Join(",", Parameters.Select(p => p.Name())));
        if (HasAqiRange) parts.Add(string.Create(CultureInfo.InvariantCulture, $"aqi {AqiMin}..{AqiMax}"));
        if (Box is { } b) parts.Add("bbox " + b);
        if (SiteName is not null) parts.Add("site " + SiteName);
        return parts.Count == 0 ? "all" : string.Join(" ", parts);
    }

    internal static string Show(DateTime t) => t.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture);

    private static DateTime? AsUtc(DateTime? t) => t is { } v ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : null;
}
