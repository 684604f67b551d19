using System.Globalization;

namespace Braid.Data;

/// <summary>
/// The on-disk layout of the data set, as pure path arithmetic: a folder per UTC day
/// ("20200810") holding a file per UTC hour ("20200810-01.csv", hours 00..23). Paths use '/'
/// so they are the same on every OS; callers join them with their own directory.
/// </summary>
public static class AirQualityLayout
{
    /// <summary>Hour files per day folder.</summary>
    public const int HoursPerDay = 24;

    /// <summary>Folder name of a day, e.g. 20200810.</summary>
    public static string DayFolder(DateOnly day) => day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    /// <summary>File name of an hour, e.g. 20200810-01.csv; the file holds the readings for that UTC hour.</summary>
    public static string HourFile(DateOnly day, int hour)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(hour);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hour, HoursPerDay - 1);
        return string.Create(CultureInfo.InvariantCulture, $"{DayFolder(day)}-{hour:00}.csv");
    }

    /// <summary>Path of an hour file relative to the data set's root, e.g. 20200810/20200810-01.csv.</summary>
    public static string RelativePath(DateOnly day, int hour) => DayFolder(day) + "/" + HourFile(day, hour);

    /// <summary>Start of the hour a file covers, in UTC.</summary>
    public static DateTime HourStartUtc(DateOnly day, int hour) =>
        day.ToDateTime(new TimeOnly(hour, 0), DateTimeKind.Utc);

    /// <summary>Recognises a day folder name (exactly 8 digits forming a valid date).</summary>
    public static bool TryParseDayFolder(string name, out DateOnly day)
    {
        day = default;
        return name.Length == 8 && name.All(char.IsAsciiDigit)
            && DateOnly.TryParseExact(name, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day);
    }

    /// <summary>Recognises an hour file name (yyyyMMdd-HH.csv, hour 00..23).</summary>
    public static bool TryParseHourFile(string name, out DateOnly day, out int hour)
    {
        hour = -1;
        if (name.Length != 15 || name[8] != '-' || !name.EndsWith(".csv", StringComparison.Ordinal)
            || !TryParseDayFolder(name[..8], out day)
            || !int.TryParse(name.AsSpan(9, 2), NumberStyles.None, CultureInfo.InvariantCulture, out hour) || hour >= HoursPerDay)
        {
            day = default;
            hour = -1;
            return false;
        }
        return true;
    }
}
