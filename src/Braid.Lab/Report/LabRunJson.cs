using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Braid.Lab.Report;

/// <summary>
/// A <see cref="LabRun"/> as JSON (run.json), so its report can be rebuilt later from what the run
/// measured. Properties in camel case, indented, except that each acknowledgement is one line, an
/// array <c>[atSeconds, latencyMs, records, partition]</c> (a run holds hundreds of thousands; a
/// missing partition reads as -1). Numbers round-trip exactly; NaN and infinities are written as
/// the strings "NaN", "Infinity" and "-Infinity". Reading also takes a run serialised with
/// System.Text.Json's defaults (property names in any case, acknowledgements as objects).
/// </summary>
public static class LabRunJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        Converters = { new AckSampleConverter() },
    };

    public static string Serialize(LabRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return JsonSerializer.Serialize(run, Options);
    }

    /// <exception cref="JsonException">The text is not a lab run (malformed, or a part missing).</exception>
    public static LabRun Deserialize(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return JsonSerializer.Deserialize<LabRun>(json, Options) ?? throw new JsonException("run.json holds null, not a lab run");
    }

    private sealed class AckSampleConverter : JsonConverter<AckSample>
    {
        public override AckSample Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.StartObject) return ReadObject(ref reader);
            if (reader.TokenType != JsonTokenType.StartArray)
                throw new JsonException("an acknowledgement is an array [atSeconds, latencyMs, records, partition]");
            var at = ReadDouble(ref reader);
            var latency = ReadDouble(ref reader);
            if (!reader.Read() || reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var records))
                throw new JsonException("an acknowledgement's records must be an integer");
            var partition = -1;
            if (!reader.Read()) throw new JsonException("an acknowledgement's array is not closed");
            if (reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out partition))
                    throw new JsonException("an acknowledgement's partition must be an integer");
                if (!reader.Read() || reader.TokenType != JsonTokenType.EndArray)
                    throw new JsonException("an acknowledgement has at most four elements");
            }
            return new AckSample(at, latency, records, partition);
        }

        public override void Write(Utf8JsonWriter writer, AckSample value, JsonSerializerOptions options)
        {
            // A raw value is not indented by the writer: start its line here (JSON whitespace).
            var line = writer.Options.Indented
                ? writer.Options.NewLine + new string(writer.Options.IndentCharacter, writer.CurrentDepth * writer.Options.IndentSize)
                : "";
            writer.WriteRawValue(string.Create(CultureInfo.InvariantCulture,
                $"{line}[{Number(value.AtSeconds)},{Number(value.LatencyMs)},{value.Records},{value.Partition}]"), skipInputValidation: true);
        }

        /// <summary>An acknowledgement as System.Text.Json writes a record struct by default:
        /// {"AtSeconds": …, "LatencyMs": …, "Records": …, "Partition": …}.</summary>
        private static AckSample ReadObject(ref Utf8JsonReader reader)
        {
            double? at = null, latency = null;
            int? records = null;
            var partition = -1;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (name.Equals(nameof(AckSample.AtSeconds), StringComparison.OrdinalIgnoreCase)) at = ReadDouble(ref reader);
                else if (name.Equals(nameof(AckSample.LatencyMs), StringComparison.OrdinalIgnoreCase)) latency = ReadDouble(ref reader);
                else if (name.Equals(nameof(AckSample.Records), StringComparison.OrdinalIgnoreCase)) records = ReadInt(ref reader, "records");
                else if (name.Equals(nameof(AckSample.Partition), StringComparison.OrdinalIgnoreCase)) partition = ReadInt(ref reader, "partition");
                else if (!reader.Read() || !reader.TrySkip()) throw new JsonException("an acknowledgement is cut short");
            }
            if (reader.TokenType != JsonTokenType.EndObject || at is null || latency is null || records is null)
                throw new JsonException("an acknowledgement needs its atSeconds, latencyMs and records");
            return new AckSample(at.Value, latency.Value, records.Value, partition);
        }

        private static int ReadInt(ref Utf8JsonReader reader, string what) =>
            reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value)
                ? value : throw new JsonException($"an acknowledgement's {what} must be an integer");

        private static double ReadDouble(ref Utf8JsonReader reader)
        {
            if (!reader.Read()) throw new JsonException("an acknowledgement is cut short");
            if (reader.TokenType == JsonTokenType.Number) return reader.GetDouble();
            if (reader.TokenType == JsonTokenType.String &&
                reader.GetString() is "NaN" or "Infinity" or "-Infinity" && double.TryParse(reader.GetString(),
                    NumberStyles.Float, CultureInfo.InvariantCulture, out var special))
                return special;
            throw new JsonException("an acknowledgement's time and latency must be numbers");
        }

        /// <summary>The shortest text that reads back as the same double ("R"), or a named literal.</summary>
        private static string Number(double value) =>
            double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture)
            : double.IsNaN(value) ? "\"NaN\""
            : value > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    }
}
