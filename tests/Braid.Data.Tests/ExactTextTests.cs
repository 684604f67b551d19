using System.Globalization;
using Braid.Data;

namespace Braid.Data.Tests;

/// <summary>Issue 13: a parsed line comes back byte for byte, through the batch codec and a scan.</summary>
public class ExactTextTests
{
    /// <summary>Lines as the real 2020 AirNow files write them, and some they might.</summary>
    public static readonly string[] RealLines =
    [
        "\"28.7456\",\"-122.1697\",\"2020-08-10T01:00\",\"PM2.5\",\"18.0\",\"UG/M3\",\"17.6\",\"64\",\"2\",\"Portland, OR\",\"Oregon DEQ\",\"410510080\",\"840410510080\"",
        "\"45.4965\",\"-122.6034\",\"2020-08-10T02:00\",\"OZONE\",\"0.023\",\"PPM\",\"0.023\",\"20\",\"1\",\"SE Lafayette \"\"Portland\"\"\",\"Oregon DEQ\",\"410510080\",\"840410510080\"",
        "\"49.2839\",\"-123.1127\",\"2020-09-12T07:00\",\"PM2.5\",\"136.2\",\"UG/M3\",\"140.5\",\"191\",\"4\",\"Vancouver - Robson Square\",\"Metro Vancouver\",\"CC0040302\",\"124CC0040302\"",
        "\"19.4827\",\"-99.1283\",\"2020-08-20T18:00\",\"OZONE\",\"-999\",\"PPB\",\"-999\",\"-999\",\"0\",\"Camarones\",\"SEDEMA\",\"MM0010001\",\"484MM0010001\"",
        "\"31.7592\",\"-106.4853\",\"2020-08-20T18:00\",\"NO2\",\"1\",\"PPB\",\"1\",\"1\",\"1\",\"Ciudad Juárez, Chih.\",\"TCEQ\",\"80CA2020001\",\"80CA2020001\"",
        DataSamples.OaklandLine,
        "\"38.5\",\"-121\",\"2020-09-10T12:00\",\"CO\",\"0.25\",\"PPM\",\"0.250\",\"3\",\"1\",\"Sacramento - T Street\",\"Sacramento Metropolitan AQMD\",\"060670010\",\"840060670010\"",
        "\"34.1\",\"-118.1\",\"2020-09-06T22:00\",\"PM10\",\"1000.00\",\"UG/M3\",\"0\",\"500\",\"6\",\"Pasadena\",\"South Coast AQMD\",\"060372005\",\"840060372005\"",
        "\"-14.2758\",\"-170.6928\",\"2020-09-01T00:00\",\"SO2\",\"-0.1\",\"PPB\",\"-0.30\",\"0\",\"1\",\"Tutuila\",\"AS EPA\",\"600100001\",\"840600100001\"",
        "\"0\",\"0.0\",\"2020-09-01T00:00\",\"SO2\",\"-0.0\",\"PPB\",\"0.0000\",\"0\",\"1\",\"Null Island\",\"Nobody\",\"000000000\",\"840000000000\"",
        "\"64.84569\",\"-147.723056\",\"2020-08-30T05:00\",\"PM2.5\",\"12345.6789\",\"UG/M3\",\"0.00001\",\"999\",\"6\",\"Fairbanks \"\"NCore\"\", AK\",\"Alaska DEC\",\"020900034\",\"840020900034\"",
    ];

    /// <summary>Lines no decimals reproduce; the codec keeps them whole.</summary>
    public static readonly string[] OddLines =
    [
        RealLines[0].Replace("\"28.7456\"", "\"+28.7456\"", StringComparison.Ordinal),
        RealLines[0].Replace("\"28.7456\"", "\"028.7456\"", StringComparison.Ordinal),
        RealLines[0].Replace("\"18.0\"", "\"1.8e1\"", StringComparison.Ordinal),
        RealLines[0].Replace("\"18.0\"", "\".5\"", StringComparison.Ordinal),
        RealLines[0].Replace("\"17.6\"", "\"17.\"", StringComparison.Ordinal),
        RealLines[0].Replace("\"PM2.5\"", "\"pm2.5\"", StringComparison.Ordinal),
        RealLines[0].Replace("\"64\",\"2\"", "\"064\",\"+2\"", StringComparison.Ordinal),
        RealLines[0].Replace("\"64\"", "\"-0\"", StringComparison.Ordinal),
        RealLines[0].Replace("\"17.6\"", "\"0.100000000000000005551\"", StringComparison.Ordinal),
        RealLines[0].Replace("\"18.0\"", "\"18.000000000000000\"", StringComparison.Ordinal),
        RealLines[0].Replace("\"-122.1697\"", "\"-122.16970000000000000001\"", StringComparison.Ordinal),
    ];

    public static TheoryData<string> AllLines => [.. RealLines, .. OddLines];

    [Theory]
    [MemberData(nameof(AllLines))]
    public void ALineComesBackByteForByteFromABatchOfOthers(string line)
    {
        var record = Parse(line);
        Assert.Equal(line, AirQualityCsv.Format(in record));
        var others = DataSamples.Random(21, 400);
        AirQualityRecord[] records = [.. others[..200], record, .. RealStyle(22, 200), record, .. others[200..]];
        var batch = RecordBatchCodec.Encode(records);
        var decoded = RecordBatchCodec.Decode(batch);
        Assert.Equal(records, decoded);
        Assert.Equal(line, AirQualityCsv.Format(in decoded[200]));
        Assert.Equal(line, AirQualityCsv.Format(in decoded[401]));
        var matches = new List<AirQualityRecord>();
        RecordBatchCodec.Scan(batch, RecordFilter.Create(siteName: record.SiteName, parameters: [record.Parameter]), 0, int.MaxValue, matches);
        Assert.Contains(line, matches.Select(r => AirQualityCsv.Format(in r)));
    }

    [Fact]
    public void EveryLineOfAMixedBatchComesBackAfterTwoRoundTrips()
    {
        var lines = RealLines.Concat(OddLines).Concat(RealStyle(3, 500).Select(r => AirQualityCsv.Format(in r))).ToArray();
        new Random(4).Shuffle(lines);
        var records = lines.Select(Parse).ToArray();
        // A node answers a query with the matches re-encoded: the text must survive that too.
        var again = RecordBatchCodec.Decode(RecordBatchCodec.Encode(RecordBatchCodec.Decode(RecordBatchCodec.Encode(records))));
        Assert.Equal(records, again);
        Assert.Equal(lines, again.Select(r => AirQualityCsv.Format(in r)));
    }

    [Fact]
    public void RandomlyWrittenNumbersComeBackAsWritten()
    {
        var random = new Random(13);
        for (int round = 0; round < 20; round++)
        {
            var lines = Enumerable.Range(0, 250).Select(_ => RandomLine(random)).ToArray();
            var records = lines.Select(Parse).ToArray();
            Assert.Equal(lines, records.Select(r => AirQualityCsv.Format(in r)));
            var decoded = RecordBatchCodec.Decode(RecordBatchCodec.Encode(records));
            Assert.Equal(records, decoded);
            Assert.Equal(lines, decoded.Select(r => AirQualityCsv.Format(in r)));
        }
    }

    [Fact]
    public void TheRuleFromTheTextAloneAgreesWithFormatting()
    {
        var random = new Random(17);
        int decided = 0;
        for (int i = 0; i < 100_000; i++)
        {
            var text = PlainDecimal(random);
            bool coordinate = random.Next(2) == 0;
            if (AirQualityCsv.PlainForm(text, coordinate) is not { } fast) continue;
            decided++;
            Assert.True(double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value));
            var canonicalFormat = coordinate ? AirQualityCsv.CoordinateFormat : AirQualityCsv.AmountFormat;
            Assert.True(AirQualityCsv.TryFormByFormatting(text, value, canonicalFormat, out int exact), text);
            Assert.True(exact == fast, $"{text} ({(coordinate ? "coordinate" : "amount")}): {fast} from the text, {exact} by formatting");
        }
        Assert.InRange(decided, 50_000, 100_000);
    }

    [Fact]
    public void DigitsAsWrittenAreKeptAsDecimalsAndOddLinesWhole()
    {
        var real = Parse(RealLines[0]);
        Assert.Equal(4, real.TextForm.LatitudeDecimals);
        Assert.Equal(4, real.TextForm.LongitudeDecimals);
        Assert.Null(real.TextForm.ConcentrationDecimals); // "18.0" is already canonical
        Assert.Null(real.TextForm.SourceLine);
        Assert.Equal(0, Parse(RealLines[3]).TextForm.RawConcentrationDecimals); // "-999"
        Assert.True(Parse(DataSamples.OaklandLine).TextForm.IsCanonical);
        foreach (var line in OddLines) Assert.Equal(line, Parse(line).TextForm.SourceLine);
    }

    [Fact]
    public void GeneratedRecordsStayCanonical()
    {
        foreach (var record in AirQualityGenerator.Generate(7, 3000).SelectMany(f => f.Records))
        {
            Assert.True(record.TextForm.IsCanonical);
            var parsed = Parse(AirQualityCsv.Format(in record));
            Assert.Equal(record, parsed);
        }
    }

    [Fact]
    public void AChangedRecordKeepsItsDigitsOnlyWhereTheyHoldTheNewValue()
    {
        var real = Parse(RealLines[0]);
        Assert.Contains("\"28.7456\",\"-122.1697\"", AirQualityCsv.Format(real with { Aqi = 70 }), StringComparison.Ordinal);
        Assert.Contains("\"28.745610\"", AirQualityCsv.Format(real with { Latitude = 28.74561 }), StringComparison.Ordinal); // canonical
        var odd = Parse(OddLines[0]);
        var changed = odd with { Aqi = 70 };
        var line = AirQualityCsv.Format(in changed);
        Assert.NotEqual(OddLines[0], line);
        Assert.Equal(changed with { TextForm = default }, Parse(line));
    }

    [Fact]
    public void FormatFieldsGivesTheTextsAsWritten()
    {
        var fields = AirQualityCsv.FormatFields(Parse(RealLines[10]));
        Assert.Equal(["64.84569", "-147.723056", "2020-08-30T05:00", "PM2.5", "12345.6789", "UG/M3", "0.00001", "999", "6",
            "Fairbanks \"NCore\", AK", "Alaska DEC", "020900034", "840020900034"], fields);
        Assert.Equal(["+28.7456", "-122.1697"], AirQualityCsv.FormatFields(Parse(OddLines[0]))[..2]);
    }

    [Theory]
    [InlineData("\"18.0 \"", "field 5 (Concentration): '18.0 ' is not a number")]
    [InlineData("\" 18.0\"", "field 5 (Concentration): ' 18.0' is not a number")]
    [InlineData("\"1e400\"", "field 5 (Concentration): '1e400' is not a number")]
    [InlineData("\"18,0\"", "field 5 (Concentration): '18,0' is not a number")]
    public void MalformedNumbersAreStillRejected(string concentration, string expected)
    {
        var line = RealLines[0].Replace("\"18.0\"", concentration, StringComparison.Ordinal);
        Assert.False(AirQualityCsv.TryParse(line, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void AnUnquotedCommaInASiteNameIsStillRejected()
    {
        var line = RealLines[0].Replace("\"Portland, OR\"", "Portland, OR", StringComparison.Ordinal);
        Assert.False(AirQualityCsv.TryParse(line, out _, out var error));
        Assert.Equal("field 10 (Site Name): not quoted", error);
    }

    /// <summary>Real-style records: generated ones written as the real files write coordinates.</summary>
    internal static AirQualityRecord[] RealStyle(int seed, int count) =>
        [.. AirQualityGenerator.Generate(seed, Math.Max(count, 1032)).SelectMany(f => f.Records).Take(count)
            .Select(r => Parse(CodecSizeTests.RealStyleLine(in r)))];

    private static AirQualityRecord Parse(string line)
    {
        Assert.True(AirQualityCsv.TryParse(line, out var record, out var error), $"{line}: {error}");
        return record;
    }

    private static string RandomLine(Random random)
    {
        string[] parameters = ["OZONE", "PM2.5", "PM10", "CO", random.Next(20) == 0 ? "Pm10" : "NO2"];
        var fields = new[]
        {
            Number(random, 90), Number(random, 180), "2020-08-10T01:00", parameters[random.Next(parameters.Length)],
            Number(random, 1000), "UG/M3", Number(random, 1000), Integer(random), Integer(random),
            random.Next(3) == 0 ? "A, \"quoted\" site" : "Site " + random.Next(100), "Agency", "060010009", "840060010009",
        };
        return string.Join(",", fields.Select(f => "\"" + f.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""));
    }

    /// <summary>A number within ±<paramref name="max"/> with 0..10 decimals, now and then written oddly.</summary>
    private static string Number(Random random, int max)
    {
        double value = (random.NextDouble() * 2 - 1) * max;
        var text = value.ToString("F" + random.Next(11), CultureInfo.InvariantCulture);
        return random.Next(25) switch
        {
            0 => "+" + text.TrimStart('-'),
            1 => "0" + text.TrimStart('-'),
            2 => value.ToString("E3", CultureInfo.InvariantCulture),
            3 => random.Next(max).ToString(CultureInfo.InvariantCulture),
            4 => max >= 999 ? "-999" : (-max).ToString(CultureInfo.InvariantCulture),
            5 => text.Contains('.', StringComparison.Ordinal) ? text + "000" : text + ".000",
            _ => text,
        };
    }

    /// <summary>A plain decimal of 1..16 digits, zeros and nines frequent (where rounding would show).</summary>
    private static string PlainDecimal(Random random)
    {
        static char Digit(Random random) => random.Next(4) switch { 0 => '0', 1 => '9', _ => (char)('0' + random.Next(10)) };
        int integerDigits = random.Next(1, 13), decimals = random.Next(0, 9);
        var text = new System.Text.StringBuilder(random.Next(3) == 0 ? "-" : "");
        text.Append(random.Next(4) == 0 ? '0' : (char)('1' + random.Next(9)));
        if (text[^1] != '0') for (int d = 1; d < integerDigits; d++) text.Append(Digit(random));
        if (decimals > 0) text.Append('.');
        for (int d = 0; d < decimals; d++) text.Append(Digit(random));
        return text.ToString();
    }

    private static string Integer(Random random) => random.Next(12) switch
    {
        0 => "-999",
        1 => "0" + random.Next(10),
        _ => random.Next(501).ToString(CultureInfo.InvariantCulture),
    };
}
