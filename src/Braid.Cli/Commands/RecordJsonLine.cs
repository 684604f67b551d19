using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Braid.Data;

namespace Braid.Cli.Commands;

/// <summary>
/// One record as a line of <c>braid query --format jsonl</c>: the thirteen fields of its CSV line
/// under snake_case names, texts as written and numbers as JSON numbers with the digits as written
/// (issue 13: "18.0" stays <c>18.0</c>, "28.7456" <c>28.7456</c>, "-999" <c>-999</c>), so the jsonl
/// of a query says what the csv says. A number the source wrote in a shape JSON has no number for
/// ("+5", ".5", "05") is written with its value's round-trip digits instead, still a number, so
/// every field keeps one JSON type; the csv output gives such a line back exactly.
/// </summary>
internal static partial class RecordJsonLine
{
    /// <summary>The JSON line of <paramref name="record"/>, without a line terminator.</summary>
    public static string Format(in AirQualityRecord record)
    {
        var fields = AirQualityCsv.FormatFields(in record);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            Number(json, "latitude", fields[0], record.Latitude);
            Number(json, "longitude", fields[1], record.Longitude);
            json.WriteString("utc", fields[2]);
            json.WriteString("parameter", fields[3]);
            Number(json, "concentration", fields[4], record.Concentration);
            json.WriteString("unit", fields[5]);
            Number(json, "raw_concentration", fields[6], record.RawConcentration);
            Number(json, "aqi", fields[7], record.Aqi);
            Number(json, "category", fields[8], record.Category);
            json.WriteString("site_name", fields[9]);
            json.WriteString("site_agency", fields[10]);
            json.WriteString("aqs_id", fields[11]);
            json.WriteString("full_aqs_id", fields[12]);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>True for text that is a JSON number as it stands (RFC 8259, section 6).</summary>
    internal static bool IsJsonNumber(string text) => JsonNumber().IsMatch(text);

    private static void Number(Utf8JsonWriter json, string name, string written, double value)
    {
        if (IsJsonNumber(written))
        {
            json.WritePropertyName(name);
            json.WriteRawValue(written, skipInputValidation: true);
        }
        else
        {
            json.WriteNumber(name, value);
        }
    }

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex JsonNumber();
}
