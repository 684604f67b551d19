namespace Braid.Data;

/// <summary>
/// The EPA AQI from a concentration, with the breakpoints of the Technical Assistance Document
/// EPA-454/B-18-007 (September 2018, Table 5), the ones in force in 2020. Concentrations are
/// truncated as the document says (PM2.5 and CO to 0.1, the others to whole units), then
/// interpolated linearly: I = (Ihi - Ilo) / (Chi - Clo) * (C - Clo) + Ilo, rounded.
/// </summary>
internal static class AqiBreakpoints
{
    private static readonly int[] IndexLow = [0, 51, 101, 151, 201, 301, 401];
    private static readonly int[] IndexHigh = [50, 100, 150, 200, 300, 400, 500];

    // Concentration breakpoints (low, high) per band, in the units the files use.
    private static readonly double[][] Pm25 = Bands(0, 12.0, 12.1, 35.4, 35.5, 55.4, 55.5, 150.4, 150.5, 250.4, 250.5, 350.4, 350.5, 500.4);
    private static readonly double[][] Pm10 = Bands(0, 54, 55, 154, 155, 254, 255, 354, 355, 424, 425, 504, 505, 604);
    // Ozone in PPB: 8-hour bands up to 200, then the 1-hour bands for 301..500 (the 8-hour table stops at 200).
    private static readonly double[][] Ozone = Bands(0, 54, 55, 70, 71, 85, 86, 105, 106, 200, 201, 504, 505, 604);
    private static readonly double[][] No2 = Bands(0, 53, 54, 100, 101, 360, 361, 649, 650, 1249, 1250, 1649, 1650, 2049);
    private static readonly double[][] So2 = Bands(0, 35, 36, 75, 76, 185, 186, 304, 305, 604, 605, 804, 805, 1004);
    private static readonly double[][] Co = Bands(0, 4.4, 4.5, 9.4, 9.5, 12.4, 12.5, 15.4, 15.5, 30.4, 30.5, 40.4, 40.5, 50.4);

    /// <summary>The AQI of a concentration (500 beyond the top of the scale, 0 for negatives).</summary>
    public static int Aqi(AirParameter parameter, double concentration)
    {
        var (bands, c) = parameter switch
        {
            AirParameter.Pm25 => (Pm25, Math.Floor(concentration * 10) / 10),
            AirParameter.Pm10 => (Pm10, Math.Floor(concentration)),
            AirParameter.Ozone => (Ozone, Math.Floor(concentration)),
            AirParameter.No2 => (No2, Math.Floor(concentration)),
            AirParameter.So2 => (So2, Math.Floor(concentration)),
            AirParameter.Co => (Co, Math.Floor(concentration * 10) / 10),
            _ => throw new ArgumentOutOfRangeException(nameof(parameter)),
        };
        if (c <= 0) return 0;
        for (int i = 0; i < bands.Length; i++)
        {
            if (c <= bands[i][1] + 1e-9)
            {
                double lo = bands[i][0], hi = bands[i][1];
                return (int)Math.Round((IndexHigh[i] - IndexLow[i]) / (hi - lo) * (Math.Max(c, lo) - lo) + IndexLow[i], MidpointRounding.AwayFromZero);
            }
        }
        return 500;
    }

    /// <summary>The AirNow category number: 1 good, 2 moderate, 3 unhealthy for sensitive groups, 4 unhealthy, 5 very unhealthy, 6 hazardous.</summary>
    public static int Category(int aqi) => aqi switch
    {
        <= 50 => 1,
        <= 100 => 2,
        <= 150 => 3,
        <= 200 => 4,
        <= 300 => 5,
        _ => 6,
    };

    private static double[][] Bands(params double[] edges)
    {
        var bands = new double[edges.Length / 2][];
        for (int i = 0; i < bands.Length; i++) bands[i] = [edges[2 * i], edges[2 * i + 1]];
        return bands;
    }
}
