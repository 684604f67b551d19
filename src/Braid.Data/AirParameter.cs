namespace Braid.Data;

/// <summary>
/// The six pollutants of the AirNow hourly data. The numeric values are part of the binary batch
/// format (<see cref="RecordBatchCodec"/>), so they must never be renumbered.
/// </summary>
public enum AirParameter : byte
{
    /// <summary>Ozone, reported in PPB.</summary>
    Ozone = 0,
    /// <summary>Fine particulate matter, reported in UG/M3.</summary>
    Pm25 = 1,
    /// <summary>Coarse particulate matter, reported in UG/M3.</summary>
    Pm10 = 2,
    /// <summary>Nitrogen dioxide, reported in PPB.</summary>
    No2 = 3,
    /// <summary>Sulfur dioxide, reported in PPB.</summary>
    So2 = 4,
    /// <summary>Carbon monoxide, reported in PPM.</summary>
    Co = 5,
}

/// <summary>Text names and units of <see cref="AirParameter"/> as they appear in the AirNow files.</summary>
public static class AirParameters
{
    /// <summary>How many parameters exist; valid values are 0 .. Count-1.</summary>
    public const int Count = 6;

    private static readonly string[] Names = ["OZONE", "PM2.5", "PM10", "NO2", "SO2", "CO"];
    private static readonly string[] Units = ["PPB", "UG/M3", "UG/M3", "PPB", "PPB", "PPM"];

    /// <summary>All parameters in their canonical (format) order.</summary>
    public static IReadOnlyList<AirParameter> All { get; } =
        [AirParameter.Ozone, AirParameter.Pm25, AirParameter.Pm10, AirParameter.No2, AirParameter.So2, AirParameter.Co];

    /// <summary>The name used in the CSV files, e.g. "PM2.5".</summary>
    public static string Name(this AirParameter parameter) => Names[(int)parameter];

    /// <summary>The unit AirNow reports the parameter in (the generator uses it; real files may differ).</summary>
    public static string Unit(this AirParameter parameter) => Units[(int)parameter];

    /// <summary>Parses a name as the CSV files spell it (case-insensitive), nothing else: the loader is strict.</summary>
    public static bool TryParseName(ReadOnlySpan<char> text, out AirParameter parameter)
    {
        for (int i = 0; i < Names.Length; i++)
        {
            if (text.Equals(Names[i], StringComparison.OrdinalIgnoreCase))
            {
                parameter = (AirParameter)i;
                return true;
            }
        }
        parameter = default;
        return false;
    }

    /// <summary>Parses a name typed by a user: the CSV names plus the aliases PM25 and O3.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out AirParameter parameter)
    {
        if (TryParseName(text, out parameter)) return true;
        if (text.Equals("PM25", StringComparison.OrdinalIgnoreCase)) { parameter = AirParameter.Pm25; return true; }
        if (text.Equals("O3", StringComparison.OrdinalIgnoreCase)) { parameter = AirParameter.Ozone; return true; }
        return false;
    }

    /// <summary>Returns the canonical string instance for a known unit, so parsed records share it.</summary>
    internal static string InternUnit(ReadOnlySpan<char> unit)
    {
        foreach (var known in Units)
        {
            if (unit.SequenceEqual(known)) return known;
        }
        return unit.ToString();
    }
}
