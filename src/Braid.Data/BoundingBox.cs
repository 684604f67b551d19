using System.Globalization;

namespace Braid.Data;

/// <summary>
/// A latitude/longitude rectangle, edges inclusive. Does not wrap across the antimeridian
/// (no US monitoring site needs it), so min must not exceed max.
/// </summary>
public readonly record struct BoundingBox
{
    /// <summary>Creates a box; throws <see cref="ArgumentException"/> with the reason if it is malformed.</summary>
    public BoundingBox(double minLatitude, double minLongitude, double maxLatitude, double maxLongitude)
    {
        var error = Validate(minLatitude, minLongitude, maxLatitude, maxLongitude);
        if (error is not null) throw new ArgumentException(error);
        (MinLatitude, MinLongitude, MaxLatitude, MaxLongitude) = (minLatitude, minLongitude, maxLatitude, maxLongitude);
    }

    /// <summary>South edge, degrees.</summary>
    public double MinLatitude { get; }
    /// <summary>West edge, degrees.</summary>
    public double MinLongitude { get; }
    /// <summary>North edge, degrees.</summary>
    public double MaxLatitude { get; }
    /// <summary>East edge, degrees.</summary>
    public double MaxLongitude { get; }

    /// <summary>True when the point is inside or on an edge.</summary>
    public bool Contains(double latitude, double longitude) =>
        latitude >= MinLatitude && latitude <= MaxLatitude && longitude >= MinLongitude && longitude <= MaxLongitude;

    /// <summary>Parses "minLat,minLon,maxLat,maxLon" (invariant culture); the error says what is wrong.</summary>
    public static bool TryParse(string text, out BoundingBox box, out string? error)
    {
        box = default;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 4)
        {
            error = $"bounding box '{text}' must be minLat,minLon,maxLat,maxLon (4 numbers, found {parts.Length})";
            return false;
        }
        var values = new double[4];
        for (int i = 0; i < 4; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !double.IsFinite(values[i]))
            {
                error = $"bounding box '{text}': '{parts[i]}' is not a number";
                return false;
            }
        }
        error = Validate(values[0], values[1], values[2], values[3]);
        if (error is not null) return false;
        box = new BoundingBox(values[0], values[1], values[2], values[3]);
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{MinLatitude},{MinLongitude},{MaxLatitude},{MaxLongitude}");

    private static string? Validate(double minLat, double minLon, double maxLat, double maxLon)
    {
        if (!double.IsFinite(minLat) || !double.IsFinite(minLon) || !double.IsFinite(maxLat) || !double.IsFinite(maxLon))
            return "bounding box edges must be finite numbers";
        if (minLat < -90 || maxLat > 90) return $"bounding box latitudes must be within -90..90 (got {minLat}..{maxLat})";
        if (minLon < -180 || maxLon > 180) return $"bounding box longitudes must be within -180..180 (got {minLon}..{maxLon})";
        if (minLat > maxLat) return $"bounding box is reversed: minLat {minLat} > maxLat {maxLat}";
        if (minLon > maxLon) return $"bounding box is reversed: minLon {minLon} > maxLon {maxLon} (boxes do not wrap the antimeridian)";
        return null;
    }
}
