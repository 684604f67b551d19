using System.Text.Json;
using Braid.Cli.Commands;
using Braid.Data;

namespace Braid.Cli.Tests.Commands;

/// <summary><c>braid query --format jsonl</c> writes numbers with the digits as written (issue 13).</summary>
public sealed class RecordJsonLineTests
{
    private const string RealLine =
        "\"28.7456\",\"-122.1697\",\"2020-08-10T01:00\",\"PM2.5\",\"18.0\",\"UG/M3\",\"-999\",\"-999\",\"0\",\"Fairbanks \"\"NCore\"\", AK\",\"Alaska DEC\",\"CC0040302\",\"124CC0040302\"";

    private static readonly string[] Names =
    [
        "latitude", "longitude", "utc", "parameter", "concentration", "unit", "raw_concentration", "aqi", "category",
        "site_name", "site_agency", "aqs_id", "full_aqs_id",
    ];

    [Fact]
    public void NumbersKeepTheDigitsAsWritten()
    {
        var line = RecordJsonLine.Format(Parse(RealLine));
        Assert.Equal("{\"latitude\":28.7456,\"longitude\":-122.1697,\"utc\":\"2020-08-10T01:00\",\"parameter\":\"PM2.5\","
            + "\"concentration\":18.0,\"unit\":\"UG/M3\",\"raw_concentration\":-999,\"aqi\":-999,\"category\":0,"
            + "\"site_name\":\"Fairbanks \\u0022NCore\\u0022, AK\",\"site_agency\":\"Alaska DEC\",\"aqs_id\":\"CC0040302\",\"full_aqs_id\":\"124CC0040302\"}", line);
    }

    [Theory]
    [InlineData(RealLine)]
    [InlineData("\"37.742500\",\"-122.169700\",\"2020-08-10T01:00\",\"PM2.5\",\"9.0\",\"UG/M3\",\"8.7\",\"38\",\"1\",\"Oakland\",\"San Francisco Bay Area AQMD\",\"060010009\",\"840060010009\"")]
    [InlineData("\"38.5\",\"-121\",\"2020-09-10T12:00\",\"CO\",\"0.250\",\"PPM\",\"1.8e1\",\"3\",\"1\",\"Sacramento, \"\"T\"\" Street\",\"SMAQMD\",\"060670010\",\"840060670010\"")]
    public void EveryFieldReadsBackAsTheCsvWroteIt(string csv)
    {
        var record = Parse(csv);
        var fields = AirQualityCsv.FormatFields(in record);
        using var json = JsonDocument.Parse(RecordJsonLine.Format(in record));
        var properties = json.RootElement.EnumerateObject().ToArray();
        Assert.Equal(Names, properties.Select(p => p.Name));
        for (int i = 0; i < fields.Length; i++)
        {
            var value = properties[i].Value;
            Assert.Equal(fields[i], value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText());
        }
    }

    [Fact]
    public void ANumberJsonCannotWriteAsWrittenIsStillANumber()
    {
        var odd = RealLine.Replace("\"28.7456\"", "\"+28.7456\"", StringComparison.Ordinal).Replace("\"18.0\"", "\".5\"", StringComparison.Ordinal)
            .Replace("\"0\",\"Fair", "\"00\",\"Fair", StringComparison.Ordinal);
        var record = Parse(odd);
        Assert.Equal(odd, AirQualityCsv.Format(in record));
        using var json = JsonDocument.Parse(RecordJsonLine.Format(in record));
        Assert.Equal("28.7456", json.RootElement.GetProperty("latitude").GetRawText());
        Assert.Equal("0.5", json.RootElement.GetProperty("concentration").GetRawText());
        Assert.Equal("0", json.RootElement.GetProperty("category").GetRawText());
    }

    [Theory]
    [InlineData("18.0", true)]
    [InlineData("-999", true)]
    [InlineData("-0.0", true)]
    [InlineData("1.8e1", true)]
    [InlineData("1E+16", true)]
    [InlineData("+5", false)]
    [InlineData(".5", false)]
    [InlineData("5.", false)]
    [InlineData("05", false)]
    [InlineData("", false)]
    public void KnowsAJsonNumber(string text, bool expected) => Assert.Equal(expected, RecordJsonLine.IsJsonNumber(text));

    private static AirQualityRecord Parse(string line)
    {
        Assert.True(AirQualityCsv.TryParse(line, out var record, out var error), error);
        return record;
    }
}
