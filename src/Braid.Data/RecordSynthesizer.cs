namespace Braid.Data;

/// <summary>
/// The value model of <see cref="AirQualityGenerator"/>: which monitors report in an hour and
/// what they read. Ozone peaks in the local afternoon, NO2 at rush hours, SO2 is low with rare
/// spikes, PM2.5/PM10/CO/ozone rise with the 2020 fire smoke, which follows the season's
/// timeline (lightning complexes from Aug 17, the Labor Day fires from Sep 7, thickest
/// Sep 11–17, clearing by Sep 24) and each site's exposure. AQI from <see cref="AqiBreakpoints"/>;
/// a small, parameter-dependent share reported missing (-999, category 0) as in the real files.
/// </summary>
internal sealed class RecordSynthesizer(int seed)
{
    private static readonly double[] MissingAqiRate = [0.01, 0.01, 0.03, 0.08, 0.08, 0.10];
    private static readonly (int Day, double Intensity)[] SmokeKnots =
        [(0, 0.1), (6, 0.1), (12, 0.9), (27, 0.6), (31, 2.6), (38, 2.4), (45, 0.4)];

    private readonly Random random = new(unchecked(seed * 31 + 17));
    private readonly double[] siteSmoke = new double[AirQualitySites.All.Count];
    private readonly double[] siteBias = SiteBiases();

    /// <summary>Draws the day's smoke at every site (a plume covers a site for the whole day).</summary>
    public void StartDay(DateOnly day)
    {
        double intensity = SmokeIntensity(day.DayNumber - AirQualityGenerator.FirstDay.DayNumber);
        foreach (var site in AirQualitySites.All)
        {
            siteSmoke[site.Index] = intensity * site.SmokeExposure * Math.Exp(0.35 * Normal());
        }
    }

    /// <summary>Chooses <paramref name="count"/> of the parameter's monitors (partial Fisher–Yates) and adds their keys (site*8+parameter).</summary>
    public void PickMonitors(int[] monitors, int count, AirParameter parameter, List<int> keys)
    {
        for (int k = 0; k < count; k++)
        {
            int j = random.Next(k, monitors.Length);
            (monitors[k], monitors[j]) = (monitors[j], monitors[k]);
            keys.Add(monitors[k] << 3 | (int)parameter);
        }
    }

    /// <summary>One reading.</summary>
    public AirQualityRecord Make(MonitoringSite site, AirParameter parameter, DateTime utc)
    {
        double local = (utc.Hour + site.Longitude / 15 + 48) % 24;
        double bias = siteBias[site.Index * AirParameters.Count + (int)parameter];
        double smoke = siteSmoke[site.Index];
        int decimals = parameter == AirParameter.Co ? 2 : 1;
        double value = Math.Round(Concentration(parameter, local, bias, smoke), decimals);
        double raw = Math.Round(Math.Max(0, value * (1 + 0.08 * Normal())), decimals);
        int aqi = random.NextDouble() < MissingAqiRate[(int)parameter] ? AirQualityRecord.MissingAqi : AqiBreakpoints.Aqi(parameter, value);
        int category = aqi == AirQualityRecord.MissingAqi ? 0 : AqiBreakpoints.Category(aqi);
        return new AirQualityRecord(site.Latitude, site.Longitude, utc, parameter, value, parameter.Unit(), raw, aqi, category,
            site.Name, site.Agency, site.AqsId, site.FullAqsId);
    }

    private double Concentration(AirParameter parameter, double localHour, double bias, double smoke) => parameter switch
    {
        AirParameter.Ozone => Math.Max(1, 24 + 16 * bias + 15 * Cos(localHour - 15, 24) + 6 * smoke + 4 * Normal()),
        AirParameter.Pm25 => Math.Min(999, Pm(localHour, bias, smoke)),
        AirParameter.Pm10 => Math.Min(1999, 1.3 * Pm(localHour, bias, smoke) + 10 + 8 * Math.Abs(Normal())),
        AirParameter.No2 => Math.Max(0.1, (3 + 15 * bias) * (1 + 0.4 * Cos(localHour - 7, 12)) + 2 * Normal()),
        AirParameter.So2 => 0.3 + 2 * bias + 0.8 * Math.Abs(Normal()) + (random.NextDouble() < 0.01 ? 20 + 60 * random.NextDouble() : 0),
        AirParameter.Co => Math.Max(0.01, 0.12 + 0.3 * bias + 0.25 * smoke + 0.05 * Normal()),
        _ => throw new ArgumentOutOfRangeException(nameof(parameter)),
    };

    private double Pm(double localHour, double bias, double smoke) =>
        Math.Max(0.5, (4 + 6 * bias) * (1 + 0.15 * Cos(localHour - 6, 24)) + 35 * smoke * Math.Exp(0.25 * Normal()) + Normal());

    private static double Cos(double hours, double period) => Math.Cos(2 * Math.PI * hours / period);

    private static double SmokeIntensity(int dayOffset)
    {
        for (int i = 1; i < SmokeKnots.Length; i++)
        {
            var (d0, v0) = SmokeKnots[i - 1];
            var (d1, v1) = SmokeKnots[i];
            if (dayOffset <= d1) return v0 + (v1 - v0) * Math.Clamp((dayOffset - d0) / (double)(d1 - d0), 0, 1);
        }
        return SmokeKnots[^1].Intensity;
    }

    /// <summary>A standard normal draw (Box–Muller), from the seeded source.</summary>
    private double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>Each monitor's own level (0..1): busy roads, industry, altitude. Fixed, like the sites.</summary>
    private static double[] SiteBiases()
    {
        var fixedRandom = new Random(7_2020);
        var biases = new double[AirQualitySites.All.Count * AirParameters.Count];
        for (int i = 0; i < biases.Length; i++) biases[i] = fixedRandom.NextDouble();
        return biases;
    }
}
