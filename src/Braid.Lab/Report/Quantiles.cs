namespace Braid.Lab.Report;

/// <summary>The two order statistics the report uses. Percentiles are nearest-rank, so every one
/// reported is a latency some acknowledgement really had.</summary>
internal static class Quantiles
{
    /// <summary>Nearest-rank percentile of already sorted values; NaN when there are none.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double fraction)
    {
        if (sorted.Count == 0) return double.NaN;
        var rank = (int)Math.Ceiling(fraction * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }

    /// <summary>The median (mean of the middle two for an even count); null when there are none.</summary>
    public static double? Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return null;
        var sorted = values.Order().ToList();
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
