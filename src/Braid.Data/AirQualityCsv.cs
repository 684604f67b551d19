using System.Globalization;

namespace Braid.Data;

/// <summary>
/// Strict parser and formatter for one line of the AirNow hourly "fire" files: headerless CSV,
/// 13 double-quoted fields, e.g.
/// <c>"37.742500","-122.169700","2020-08-10T01:00","PM2.5","9.0","UG/M3","8.7","38","1","Oakland","San Francisco Bay Area AQMD","060010009","840060010009"</c>.
/// </summary>
/// <remarks>
/// Column order and units follow the AirNow API "data" query output with raw concentrations and
/// verbose site fields (Latitude, Longitude, UTC, Parameter, Concentration, Unit, RawConcentration,
/// AQI, Category, SiteName, AgencyName, AQS code, full AQS code; UTC like "2020-09-21T23:00", units
/// PPB / UG/M3 / PPM); checked against a public AirNow extract (github.com/LiaTsernant/air-quality,
/// public/addGoogleMapMarkers.js) and the AQCSV spec (aqs.epa.gov/aqsweb/documents/AQCSV_Format.html)
/// for the 9-digit AQS / 12-digit "840"-prefixed ids (some Canadian and Mexican sites have letters in
/// theirs, "CC0040302", so ids are kept as text and only checked for being there). Strict on purpose
/// (issue 5): a line that is not exactly this shape is reported with the field number and reason,
/// never guessed at. A parsed record formats back to its line byte for byte (issue 13; see
/// <see cref="AirQualityTextForm"/>).
/// </remarks>
public static partial class AirQualityCsv
{
    /// <summary>Fields per line.</summary>
    public const int FieldCount = 13;

    /// <summary>Column names in order, used in error messages.</summary>
    public static IReadOnlyList<string> FieldNames { get; } =
    [
        "Latitude", "Longitude", "UTC", "Parameter", "Concentration", "Unit", "Raw Concentration",
        "AQI", "Category", "Site Name", "Site Agency", "AQS ID", "Full AQS ID",
    ];

    /// <summary>
    /// Parses one line (without its line terminator). On failure <paramref name="error"/> names the
    /// 1-based field and what is wrong with it, and <paramref name="record"/> is default.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> line, out AirQualityRecord record, out string? error)
    {
        record = default;
        Span<Range> fields = stackalloc Range[FieldCount];
        error = SplitFields(line, fields, out bool anyEscaped);
        if (error is not null) return false;
        error = ParseFields(line, fields, anyEscaped, out record);
        return error is null;
    }

    /// <summary>Finds the content range of each quoted field; RFC 4180 doubled quotes are allowed inside.</summary>
    private static string? SplitFields(ReadOnlySpan<char> line, Span<Range> fields, out bool anyEscaped)
    {
        anyEscaped = false;
        if (line.IsEmpty) return "empty line";
        int pos = 0;
        for (int field = 0; ; field++)
        {
            if (field == FieldCount) return $"expected {FieldCount} fields, found more (extra text at column {pos + 1})";
            if (pos >= line.Length || line[pos] != '"') return $"field {field + 1} ({FieldNames[field]}): not quoted";
            int start = ++pos;
            while (true)
            {
                int quote = line[pos..].IndexOf('"');
                if (quote < 0) return $"field {field + 1} ({FieldNames[field]}): missing closing quote";
                pos += quote + 1;
                if (pos < line.Length && line[pos] == '"') { pos++; anyEscaped = true; continue; }
                break;
            }
            fields[field] = new Range(start, pos - 1);
            if (pos == line.Length)
            {
                return field == FieldCount - 1 ? null : $"expected {FieldCount} fields, found {field + 1}";
            }
            if (line[pos] != ',') return $"field {field + 1} ({FieldNames[field]}): unexpected '{line[pos]}' after closing quote";
            pos++;
        }
    }

    private static string? ParseFields(ReadOnlySpan<char> line, ReadOnlySpan<Range> f, bool escaped, out AirQualityRecord record)
    {
        record = default;
        if (!TryNumber(line[f[0]], 0, out double lat, out var error)) return error;
        if (lat is < -90 or > 90) return Fail(0, $"{lat.ToString(CultureInfo.InvariantCulture)} is outside -90..90");
        if (!TryNumber(line[f[1]], 1, out double lon, out error)) return error;
        if (lon is < -180 or > 180) return Fail(1, $"{lon.ToString(CultureInfo.InvariantCulture)} is outside -180..180");
        if (!TryParseUtc(line[f[2]], out var utc)) return Fail(2, $"'{line[f[2]].ToString()}' is not a UTC time like 2020-08-10T01:00");
        if (!AirParameters.TryParseName(line[f[3]], out var parameter))
        {
            return Fail(3, $"unknown parameter '{line[f[3]].ToString()}' (expected OZONE, PM2.5, PM10, NO2, SO2 or CO)");
        }
        if (!TryNumber(line[f[4]], 4, out double concentration, out error)) return error;
        if (line[f[5]].IsEmpty) return Fail(5, "empty unit");
        if (!TryNumber(line[f[6]], 6, out double raw, out error)) return error;
        if (!TryInteger(line[f[7]], 7, out int aqi, out error)) return error;
        if (aqi < 0 && aqi != AirQualityRecord.MissingAqi) return Fail(7, $"{aqi} is negative and not the missing marker -999");
        if (!TryInteger(line[f[8]], 8, out int category, out error)) return error;
        for (int i = 9; i < FieldCount; i++)
        {
            if (line[f[i]].IsEmpty) return Fail(i, "empty");
        }
        record = new AirQualityRecord(lat, lon, utc, parameter, concentration, AirParameters.InternUnit(Text(line[f[5]], escaped)), raw, aqi, category,
            Text(line[f[9]], escaped), Text(line[f[10]], escaped), Text(line[f[11]], escaped), Text(line[f[12]], escaped))
        {
            TextForm = TextFormOf(line, f, (lat, lon, concentration, raw), parameter, aqi, category),
        };
        return null;
    }

    private static string Text(ReadOnlySpan<char> raw, bool escaped) =>
        escaped && raw.Contains('"') ? raw.ToString().Replace("\"\"", "\"", StringComparison.Ordinal) : raw.ToString();

    private static string Fail(int field, string reason) => $"field {field + 1} ({FieldNames[field]}): {reason}";

    private static bool TryNumber(ReadOnlySpan<char> text, int field, out double value, out string? error)
    {
        error = null;
        if (double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                CultureInfo.InvariantCulture, out value) && double.IsFinite(value))
        {
            return true;
        }
        error = Fail(field, $"'{text.ToString()}' is not a number");
        return false;
    }

    private static bool TryInteger(ReadOnlySpan<char> text, int field, out int value, out string? error)
    {
        error = null;
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)) return true;
        error = Fail(field, $"'{text.ToString()}' is not an integer");
        return false;
    }

    /// <summary>Parses exactly "yyyy-MM-ddTHH:mm" as UTC, by hand: it is on the load path of 1.17M lines.</summary>
    internal static bool TryParseUtc(ReadOnlySpan<char> s, out DateTime utc)
    {
        utc = default;
        if (s.Length != 16 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':') return false;
        if (!Digits(s[..4], out int year) || !Digits(s[5..7], out int month) || !Digits(s[8..10], out int day)
            || !Digits(s[11..13], out int hour) || !Digits(s[14..16], out int minute))
        {
            return false;
        }
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59) return false;
        utc = new DateTime(year, month, day, hour, minute, 0, DateTimeKind.Utc);
        return true;
    }

    private static bool Digits(ReadOnlySpan<char> s, out int value)
    {
        value = 0;
        foreach (char c in s)
        {
            if (c is < '0' or > '9') return false;
            value = value * 10 + (c - '0');
        }
        return true;
    }
}
