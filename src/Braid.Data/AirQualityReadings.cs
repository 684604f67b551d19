using System.Globalization;
using System.Text;
using Braid.Protocol.V1;

namespace Braid.Data;

/// <summary>
/// Air-quality records as they travel in the public API (issue 13, item 6): the protobuf
/// <see cref="AirQualityReading"/> that any generated client can build and read, converted to and
/// from <see cref="AirQualityRecord"/> at the node's edge, once. The conversion is exact both ways:
/// a record read out as a reading and checked back in is the same record, its text form included
/// (<see cref="AirQualityReading.SourceLine"/> carries the line where the form is not canonical).
/// </summary>
public static class AirQualityReadings
{
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm";

    /// <summary>
    /// The reading of a record: its values, the time as "yyyy-MM-ddTHH:mm" UTC, the parameter's
    /// name as in the files, and the record's line where it is not the canonical one.
    /// </summary>
    public static AirQualityReading ToReading(in AirQualityRecord record) => new()
    {
        Latitude = record.Latitude,
        Longitude = record.Longitude,
        Time = record.TimeUtc.ToString(TimeFormat, CultureInfo.InvariantCulture),
        Parameter = record.Parameter.Name(),
        Concentration = record.Concentration,
        Unit = record.Unit,
        RawConcentration = record.RawConcentration,
        Aqi = record.Aqi,
        Category = record.Category,
        SiteName = record.SiteName,
        SiteAgency = record.SiteAgency,
        AqsId = record.AqsId,
        FullAqsId = record.FullAqsId,
        SourceLine = record.TextForm.IsCanonical && !HasNegativeZero(in record) ? "" : AirQualityCsv.Format(in record),
    };

    /// <summary>
    /// Proto3 does not send a double field equal to zero, and -0.0 equals zero: it arrives as 0.0.
    /// A record with one is read out with its line, which keeps the sign.
    /// </summary>
    private static bool HasNegativeZero(in AirQualityRecord r) =>
        IsNegativeZero(r.Latitude) || IsNegativeZero(r.Longitude) || IsNegativeZero(r.Concentration) || IsNegativeZero(r.RawConcentration);

    private static bool IsNegativeZero(double value) => value == 0 && double.IsNegative(value);

    /// <summary>
    /// Checks a reading from a client and builds its record, with the text form of its source
    /// line if it has one. On failure <paramref name="error"/> names the field and what is wrong
    /// (an unknown parameter, a time that is not "yyyy-MM-ddTHH:mm", a coordinate out of range, an
    /// empty or over-long text, a source line that says something else) and
    /// <paramref name="record"/> is default. The checks are the CSV parser's, plus what a line of the
    /// files cannot hold (line breaks) and the batch codec's bound on texts.
    /// </summary>
    public static bool TryToRecord(AirQualityReading reading, out AirQualityRecord record, out string? error)
    {
        ArgumentNullException.ThrowIfNull(reading);
        record = default;
        error = CheckValues(reading, out var parameter, out var time);
        if (error is not null) return false;
        var built = new AirQualityRecord(reading.Latitude, reading.Longitude, time, parameter, reading.Concentration,
            AirParameters.InternUnit(reading.Unit), reading.RawConcentration, reading.Aqi, reading.Category,
            reading.SiteName, reading.SiteAgency, reading.AqsId, reading.FullAqsId);
        if (reading.SourceLine.Length == 0)
        {
            record = built;
            return true;
        }
        error = CheckSourceLine(reading.SourceLine, in built, out var parsed);
        if (error is not null) return false;
        record = parsed;
        return true;
    }

    private static string? CheckValues(AirQualityReading r, out AirParameter parameter, out DateTime time)
    {
        time = default;
        parameter = default;
        if (!double.IsFinite(r.Latitude) || r.Latitude is < -90 or > 90) return $"latitude {Number(r.Latitude)} is outside -90..90";
        if (!double.IsFinite(r.Longitude) || r.Longitude is < -180 or > 180) return $"longitude {Number(r.Longitude)} is outside -180..180";
        if (!AirQualityCsv.TryParseUtc(r.Time, out time))
            return $"time '{r.Time}' is not a UTC time like 2020-08-10T01:00 (yyyy-MM-ddTHH:mm: a whole minute)";
        if (!AirParameters.TryParseName(r.Parameter, out parameter))
            return $"unknown parameter '{r.Parameter}' (expected OZONE, PM2.5, PM10, NO2, SO2 or CO)";
        if (!double.IsFinite(r.Concentration)) return $"concentration {Number(r.Concentration)} is not a finite number";
        if (!double.IsFinite(r.RawConcentration)) return $"raw_concentration {Number(r.RawConcentration)} is not a finite number";
        if (r.Aqi < 0 && r.Aqi != AirQualityRecord.MissingAqi) return $"aqi {r.Aqi} is negative and not the missing marker -999";
        return CheckText("unit", r.Unit) ?? CheckText("site_name", r.SiteName) ?? CheckText("site_agency", r.SiteAgency)
            ?? CheckText("aqs_id", r.AqsId) ?? CheckText("full_aqs_id", r.FullAqsId);
    }

    private static string? CheckText(string field, string text)
    {
        if (text.Length == 0) return $"{field} is empty";
        if (text.AsSpan().IndexOfAny('\r', '\n') >= 0) return $"{field} holds a line break (a reading is one line of the files)";
        if (Encoding.UTF8.GetByteCount(text) > RecordBatchCodec.MaxStringBytes)
            return $"{field} is longer than {RecordBatchCodec.MaxStringBytes} UTF-8 bytes";
        return null;
    }

    /// <summary>The line parsed, and compared field by field with what the reading says; the line's text wins
    /// (a reading's 0 agrees with the line's -0.0, which proto3 could not have carried).</summary>
    private static string? CheckSourceLine(string line, in AirQualityRecord built, out AirQualityRecord parsed)
    {
        parsed = default;
        if (line.AsSpan().IndexOfAny('\r', '\n') >= 0)
            return "source_line holds a line break (it is one line of the files, without its terminator)";
        if (Encoding.UTF8.GetByteCount(line) > RecordBatchCodec.MaxLineBytes)
            return $"source_line is longer than {RecordBatchCodec.MaxLineBytes} UTF-8 bytes";
        if (!AirQualityCsv.TryParse(line, out parsed, out var error)) return $"source_line is not a line of the files: {error}";
        return FirstDifference(in parsed, in built);
    }

    /// <summary>The first field where the line and the reading disagree, as an error; texts are built only for it.</summary>
    private static string? FirstDifference(in AirQualityRecord line, in AirQualityRecord reading)
    {
        if (!Same(line.Latitude, reading.Latitude)) return Differs("latitude", Number(line.Latitude), Number(reading.Latitude));
        if (!Same(line.Longitude, reading.Longitude)) return Differs("longitude", Number(line.Longitude), Number(reading.Longitude));
        if (line.TimeUtc != reading.TimeUtc) return Differs("time", Time(line.TimeUtc), Time(reading.TimeUtc));
        if (line.Parameter != reading.Parameter) return Differs("parameter", line.Parameter.Name(), reading.Parameter.Name());
        if (!Same(line.Concentration, reading.Concentration))
            return Differs("concentration", Number(line.Concentration), Number(reading.Concentration));
        if (line.Unit != reading.Unit) return Differs("unit", line.Unit, reading.Unit);
        if (!Same(line.RawConcentration, reading.RawConcentration))
            return Differs("raw_concentration", Number(line.RawConcentration), Number(reading.RawConcentration));
        if (line.Aqi != reading.Aqi) return Differs("aqi", Number(line.Aqi), Number(reading.Aqi));
        if (line.Category != reading.Category) return Differs("category", Number(line.Category), Number(reading.Category));
        if (line.SiteName != reading.SiteName) return Differs("site_name", line.SiteName, reading.SiteName);
        if (line.SiteAgency != reading.SiteAgency) return Differs("site_agency", line.SiteAgency, reading.SiteAgency);
        if (line.AqsId != reading.AqsId) return Differs("aqs_id", line.AqsId, reading.AqsId);
        if (line.FullAqsId != reading.FullAqsId) return Differs("full_aqs_id", line.FullAqsId, reading.FullAqsId);
        return null;
    }

    private static string Differs(string field, string line, string reading) =>
        $"source_line says {field} '{line}' where the reading says '{reading}'";

    private static bool Same(double line, double reading) => line == reading;

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Time(DateTime utc) => utc.ToString(TimeFormat, CultureInfo.InvariantCulture);
}
