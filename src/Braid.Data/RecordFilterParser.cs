using System.Globalization;

namespace Braid.Data;

/// <summary>
/// Turns the text a user types (CLI flags, a request's string fields) into a
/// <see cref="RecordFilter"/>, or a message that says exactly which part is wrong and why.
/// </summary>
public static class RecordFilterParser
{
    /// <summary>
    /// Parses the parts of a filter; null or empty parts are absent. Formats:
    /// times "2020-09-01" (midnight UTC), "2020-09-01T05" or "2020-09-01T05:00"; parameters a
    /// comma list like "PM2.5,OZONE" (case-insensitive; PM25 and O3 accepted); AQI "100..500",
    /// "100.." or "..50" (inclusive); bbox "minLat,minLon,maxLat,maxLon"; site an exact name.
    /// </summary>
    public static bool TryParse(string? from, string? to, string? parameters, string? aqi, string? bbox, string? site,
        out RecordFilter filter, out string? error)
    {
        filter = RecordFilter.All;
        DateTime? fromTime = null, toTime = null;
        List<AirParameter>? parameterList = null;
        int? aqiMin = null, aqiMax = null;
        BoundingBox? box = null;
        error = TryTime(from, "from", ref fromTime) ?? TryTime(to, "to", ref toTime) ?? TryParameters(parameters, ref parameterList)
            ?? TryAqi(aqi, ref aqiMin, ref aqiMax) ?? TryBox(bbox, ref box);
        return error is null && TryBuild(() => RecordFilter.Create(fromTime, toTime, parameterList, aqiMin, aqiMax, box, string.IsNullOrEmpty(site) ? null : site), out filter, out error);
    }

    /// <summary>
    /// Builds a filter from parts that arrive already typed (a request's fields: times as text,
    /// parameter names, AQI bounds, box edges); null or empty parts are absent. The same checks and
    /// messages as <see cref="TryParse"/>.
    /// </summary>
    public static bool TryCreate(string? from, string? to, IEnumerable<string>? parameters, int? aqiMin, int? aqiMax,
        (double MinLatitude, double MinLongitude, double MaxLatitude, double MaxLongitude)? box, string? site,
        out RecordFilter filter, out string? error)
    {
        filter = RecordFilter.All;
        DateTime? fromTime = null, toTime = null;
        List<AirParameter>? parameterList = null;
        error = TryTime(from, "from", ref fromTime) ?? TryTime(to, "to", ref toTime) ?? TryParameterNames(parameters, ref parameterList)
            ?? AqiBound(aqiMin, "minimum") ?? AqiBound(aqiMax, "maximum");
        return error is null && TryBuild(() => RecordFilter.Create(fromTime, toTime, parameterList, aqiMin, aqiMax,
            box is { } b ? new BoundingBox(b.MinLatitude, b.MinLongitude, b.MaxLatitude, b.MaxLongitude) : null,
            string.IsNullOrEmpty(site) ? null : site), out filter, out error);
    }

    private static bool TryBuild(Func<RecordFilter> create, out RecordFilter filter, out string? error)
    {
        try
        {
            filter = create();
            error = null;
            return true;
        }
        catch (ArgumentException e)
        {
            filter = RecordFilter.All;
            error = e.Message;
            return false;
        }
    }

    private static string? AqiBound(int? value, string which) =>
        value is < 0 or > 999 ? $"AQI {which} {value} is not a whole number from 0 to 999" : null;

    /// <summary>Parses a UTC time or date in the formats of <see cref="TryParse"/>.</summary>
    public static bool TryParseTime(string text, out DateTime utc)
    {
        string[] formats = ["yyyy-MM-dd", "yyyy-MM-dd'T'HH", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm'Z'"];
        return DateTime.TryParseExact(text, formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out utc);
    }

    private static string? TryTime(string? text, string name, ref DateTime? value)
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (!TryParseTime(text, out var utc)) return $"{name} time '{text}' is not like 2020-09-01 or 2020-09-01T05:00 (UTC)";
        value = utc;
        return null;
    }

    private static string? TryParameters(string? text, ref List<AirParameter>? value) =>
        string.IsNullOrEmpty(text) ? null : TryParameterNames(text.Split(',', StringSplitOptions.TrimEntries), ref value);

    private static string? TryParameterNames(IEnumerable<string>? names, ref List<AirParameter>? value)
    {
        if (names is null || !names.Any()) return null;
        value = [];
        foreach (var name in names)
        {
            var part = name.Trim();
            if (!AirParameters.TryParse(part, out var p)) return $"unknown parameter '{part}' (expected OZONE, PM2.5, PM10, NO2, SO2 or CO)";
            value.Add(p);
        }
        return null;
    }

    private static string? TryAqi(string? text, ref int? min, ref int? max)
    {
        if (string.IsNullOrEmpty(text)) return null;
        int dots = text.IndexOf("..", StringComparison.Ordinal);
        if (dots < 0) return $"AQI range '{text}' must be MIN..MAX, MIN.. or ..MAX";
        var (lo, hi) = (text[..dots].Trim(), text[(dots + 2)..].Trim());
        if (lo.Length == 0 && hi.Length == 0) return $"AQI range '{text}' has neither bound";
        if (lo.Length > 0 && !TryAqiBound(lo, out var l)) return $"AQI range '{text}': '{lo}' is not a whole number from 0 to 999";
        if (hi.Length > 0 && !TryAqiBound(hi, out var h)) return $"AQI range '{text}': '{hi}' is not a whole number from 0 to 999";
        min = lo.Length > 0 ? int.Parse(lo, CultureInfo.InvariantCulture) : null;
        max = hi.Length > 0 ? int.Parse(hi, CultureInfo.InvariantCulture) : null;
        return null;
    }

    private static bool TryAqiBound(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value <= 999;

    private static string? TryBox(string? text, ref BoundingBox? value)
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (!BoundingBox.TryParse(text, out var box, out var error)) return error;
        value = box;
        return null;
    }
}
