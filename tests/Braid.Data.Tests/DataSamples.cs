using Braid.Data;

namespace Braid.Data.Tests;

internal static class DataSamples
{
    public const string OaklandLine =
        "\"37.742500\",\"-122.169700\",\"2020-08-10T01:00\",\"PM2.5\",\"9.0\",\"UG/M3\",\"8.7\",\"38\",\"1\",\"Oakland\",\"San Francisco Bay Area AQMD\",\"060010009\",\"840060010009\"";

    public static AirQualityRecord Oakland => new(37.7425, -122.1697, new DateTime(2020, 8, 10, 1, 0, 0, DateTimeKind.Utc),
        AirParameter.Pm25, 9.0, "UG/M3", 8.7, 38, 1, "Oakland", "San Francisco Bay Area AQMD", "060010009", "840060010009");

    private static readonly string[] Names = ["Oakland", "Fresno - Garland", "Café \"Central\"", "Ñandú, Plaza", "Portland SE Lafayette"];
    private static readonly string[] Agencies = ["SF Bay Area AQMD", "San Joaquin Valley Unified APCD", "Oregon DEQ"];
    private static readonly string[] Units = ["PPB", "UG/M3", "PPM", "ppb x"];

    /// <summary>Records with awkward values: many repeats, odd doubles, missing AQIs, unicode and quotes.</summary>
    public static AirQualityRecord[] Random(int seed, int count, int sites = 20)
    {
        var random = new Random(seed);
        var records = new AirQualityRecord[count];
        for (int i = 0; i < count; i++)
        {
            int site = random.Next(sites);
            records[i] = new AirQualityRecord(
                Math.Round(25 + site * 0.731, 4), Math.Round(-120 + site * 1.37, 6),
                new DateTime(2020, 8, 10, 0, 0, 0, DateTimeKind.Utc).AddMinutes(60 * random.Next(24 * 45) + (random.Next(10) == 0 ? random.Next(60) : 0)),
                (AirParameter)random.Next(AirParameters.Count),
                Value(random), Units[random.Next(Units.Length)], Value(random),
                random.Next(8) == 0 ? AirQualityRecord.MissingAqi : random.Next(0, 520),
                random.Next(0, 7),
                Names[site % Names.Length] + " " + site, Agencies[site % Agencies.Length],
                (60010000 + site).ToString("000000000", System.Globalization.CultureInfo.InvariantCulture),
                (840060010000 + site).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return records;
    }

    private static double Value(Random random) => random.Next(6) switch
    {
        0 => Math.Round(random.NextDouble() * 100, 1),
        1 => Math.Round(random.NextDouble(), 3),
        2 => random.NextDouble() * 1e6, // needs the raw 8-byte form
        3 => -Math.Round(random.NextDouble() * 5, 1),
        4 => 0,
        _ => random.Next(1000),
    };
}
