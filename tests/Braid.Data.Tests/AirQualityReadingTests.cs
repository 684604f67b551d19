using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Data.Tests;

/// <summary>Issue 13, item 6: air-quality records as protobuf readings, exact both ways, and the
/// clear refusals a client generated in another language meets.</summary>
public class AirQualityReadingTests
{
    [Theory]
    [MemberData(nameof(ExactTextTests.AllLines), MemberType = typeof(ExactTextTests))]
    public void A_parsed_line_goes_out_as_a_reading_and_comes_back_as_the_same_record_and_line(string line)
    {
        Assert.True(AirQualityCsv.TryParse(line, out var record, out var parseError), parseError);
        var reading = AirQualityReading.Parser.ParseFrom(AirQualityReadings.ToReading(in record).ToByteArray());
        var negativeZero = new[] { record.Latitude, record.Longitude, record.Concentration, record.RawConcentration }
            .Any(v => v == 0 && double.IsNegative(v));
        Assert.Equal(record.TextForm.IsCanonical && !negativeZero ? "" : line, reading.SourceLine);
        Assert.True(AirQualityReadings.TryToRecord(reading, out var back, out var error), error);
        Assert.Equal(record, back);
        Assert.Equal(line, AirQualityCsv.Format(in back));
    }

    [Fact]
    public void Records_built_in_code_are_canonical_readings_and_come_back_through_the_wire_and_the_codec_as_the_same_lines()
    {
        var records = DataSamples.Random(5, 300).Where(r => r.TimeUtc.Second == 0).ToArray();
        var readings = records.Select(r => AirQualityReadings.ToReading(in r)).ToList();
        // Only a -0.0 (which proto3 sends as 0) needs the line.
        Assert.All(records.Zip(readings), p => Assert.Equal(
            double.IsNegative(p.First.Concentration) && p.First.Concentration == 0 || double.IsNegative(p.First.RawConcentration) && p.First.RawConcentration == 0,
            p.Second.SourceLine.Length > 0));
        var decoded = RecordBatchCodec.Decode(RecordBatchCodec.Encode(records
            .Select(r => AirQualityReading.Parser.ParseFrom(AirQualityReadings.ToReading(in r).ToByteArray()))
            .Select(ToRecord).ToArray()));
        Assert.Equal(records.Select(r => AirQualityCsv.Format(in r)), decoded.Select(r => AirQualityCsv.Format(in r)));
        var oakland = AirQualityReadings.ToReading(DataSamples.Oakland);
        Assert.Equal(("2020-08-10T01:00", "PM2.5", 37.7425, 9.0, 38), (oakland.Time, oakland.Parameter, oakland.Latitude, oakland.Concentration, oakland.Aqi));
    }

    [Fact]
    public void A_parameter_in_any_case_is_accepted_and_read_back_as_the_files_name_it()
    {
        var reading = AirQualityReadings.ToReading(DataSamples.Oakland);
        reading.Parameter = "pm2.5";
        Assert.Equal("PM2.5", AirQualityReadings.ToReading(ToRecord(reading)).Parameter);
    }

    public static TheoryData<string, string> BadReadings => new()
    {
        { "parameter=PM1", "unknown parameter 'PM1' (expected OZONE, PM2.5, PM10, NO2, SO2 or CO)" },
        { "time=2020-08-10T01:00:30", "time '2020-08-10T01:00:30' is not a UTC time like 2020-08-10T01:00 (yyyy-MM-ddTHH:mm: a whole minute)" },
        { "time=2020-08-10 01:00", "time '2020-08-10 01:00' is not a UTC time like 2020-08-10T01:00 (yyyy-MM-ddTHH:mm: a whole minute)" },
        { "time=", "time '' is not a UTC time like 2020-08-10T01:00 (yyyy-MM-ddTHH:mm: a whole minute)" },
        { "latitude=91", "latitude 91 is outside -90..90" },
        { "longitude=NaN", "longitude NaN is outside -180..180" },
        { "concentration=Infinity", "concentration Infinity is not a finite number" },
        { "aqi=-5", "aqi -5 is negative and not the missing marker -999" },
        { "unit=", "unit is empty" },
        { "site_name=", "site_name is empty" },
        { "site_agency=a\nb", "site_agency holds a line break (a reading is one line of the files)" },
        { "aqs_id=" + new string('9', 5000), "aqs_id is longer than 4096 UTF-8 bytes" },
        { "source_line=\"1\"", "source_line is not a line of the files: expected 13 fields, found 1" },
        { "source_line=" + DataSamples.OaklandLine.Replace("\"38\"", "\"39\"", StringComparison.Ordinal), "source_line says aqi '39' where the reading says '38'" },
        { "source_line=" + DataSamples.OaklandLine.Replace("37.742500", "37.742501", StringComparison.Ordinal),
            "source_line says latitude '37.742501' where the reading says '37.7425'" },
    };

    [Theory]
    [MemberData(nameof(BadReadings))]
    public void A_bad_reading_is_refused_with_the_field_and_the_reason(string change, string expected)
    {
        var reading = AirQualityReadings.ToReading(DataSamples.Oakland);
        var (field, value) = (change[..change.IndexOf('=')], change[(change.IndexOf('=') + 1)..]);
        var descriptor = AirQualityReading.Descriptor.FindFieldByName(field);
        object typed = descriptor.FieldType switch
        {
            Google.Protobuf.Reflection.FieldType.Double => double.Parse(value, System.Globalization.CultureInfo.InvariantCulture),
            Google.Protobuf.Reflection.FieldType.Int32 => int.Parse(value, System.Globalization.CultureInfo.InvariantCulture),
            _ => value,
        };
        descriptor.Accessor.SetValue(reading, typed);
        Assert.False(AirQualityReadings.TryToRecord(reading, out var record, out var error));
        Assert.Equal(expected, error);
        Assert.Equal(default, record);
    }

    [Fact]
    public void A_negative_zero_which_proto3_does_not_send_travels_in_the_source_line()
    {
        var record = DataSamples.Oakland with { Longitude = -0.0, RawConcentration = -0.0 };
        var reading = AirQualityReading.Parser.ParseFrom(AirQualityReadings.ToReading(in record).ToByteArray());
        Assert.False(double.IsNegative(reading.Longitude)); // what a client sees
        Assert.Equal(AirQualityCsv.Format(in record), reading.SourceLine);
        var back = ToRecord(reading);
        Assert.True(double.IsNegative(back.Longitude) && double.IsNegative(back.RawConcentration));
        Assert.Equal(AirQualityCsv.Format(in record), AirQualityCsv.Format(in back));
    }

    [Fact]
    public void A_source_line_that_agrees_gives_the_record_its_text_form()
    {
        const string line = "\"37.7425\",\"-122.1697\",\"2020-08-10T01:00\",\"PM2.5\",\"9.00\",\"UG/M3\",\"8.7\",\"38\",\"1\",\"Oakland\",\"San Francisco Bay Area AQMD\",\"060010009\",\"840060010009\"";
        var reading = AirQualityReadings.ToReading(DataSamples.Oakland);
        reading.SourceLine = line;
        var record = ToRecord(reading);
        Assert.Equal(DataSamples.Oakland, record with { TextForm = default });
        Assert.Equal(line, AirQualityCsv.Format(in record));
        Assert.Equal(line, AirQualityReadings.ToReading(in record).SourceLine);
    }

    private static AirQualityRecord ToRecord(AirQualityReading reading)
    {
        Assert.True(AirQualityReadings.TryToRecord(reading, out var record, out var error), error);
        return record;
    }
}
