using System.Globalization;
using System.Text;

namespace Braid.Data;

public static partial class AirQualityCsv
{
    internal const string CoordinateFormat = "F6";
    internal const string AmountFormat = "0.0###";

    private static readonly string[] FixedFormats =
        [.. Enumerable.Range(0, AirQualityTextForm.MaxDecimals + 1).Select(d => "F" + d.ToString(CultureInfo.InvariantCulture))];

    [ThreadStatic] private static StringBuilder? cachedBuilder;

    /// <summary>
    /// Formats a record as a line of the files (no line terminator): the very line it was parsed
    /// from, byte for byte (issue 13), or the canonical form for a record built in code. A record
    /// changed after parsing (<c>with</c>) keeps the decimals as written where they still hold its
    /// values, and no longer claims its source line.
    /// </summary>
    public static string Format(in AirQualityRecord r)
    {
        if (r.TextForm.SourceLine is { } line && IsSourceOf(line, in r)) return line;
        var sb = cachedBuilder ??= new StringBuilder(256);
        sb.Clear();
        for (int i = 0; i < FieldCount; i++)
        {
            if (i > 0) sb.Append(',');
            var text = FieldText(in r, i);
            sb.Append('"');
            if (text.Contains('"')) sb.Append(text.Replace("\"", "\"\"", StringComparison.Ordinal));
            else sb.Append(text);
            sb.Append('"');
        }
        return sb.ToString();
    }

    /// <summary>
    /// The 13 fields as <see cref="Format"/> writes them, unquoted and unescaped: numbers with the
    /// digits as written ("18.0", "28.7456", "-999"), for output forms other than CSV.
    /// </summary>
    public static string[] FormatFields(in AirQualityRecord r)
    {
        var fields = new string[FieldCount];
        if (r.TextForm.SourceLine is { } line && IsSourceOf(line, in r))
        {
            Span<Range> ranges = stackalloc Range[FieldCount];
            SplitFields(line, ranges, out bool escaped);
            for (int i = 0; i < FieldCount; i++) fields[i] = Text(line.AsSpan()[ranges[i]], escaped);
            return fields;
        }
        for (int i = 0; i < FieldCount; i++) fields[i] = FieldText(in r, i);
        return fields;
    }

    /// <summary>Six decimals like the files ("37.742500"), or round-trip digits if six would lose precision.</summary>
    internal static string FormatCoordinate(double value) => FormatDecimal(value, 0, CoordinateFormat);

    /// <summary>At least one decimal like the files ("9.0", "0.23"), round-trip digits if needed.</summary>
    internal static string FormatAmount(double value) => FormatDecimal(value, 0, AmountFormat);

    private static string FieldText(in AirQualityRecord r, int field) => field switch
    {
        0 => FormatDecimal(r.Latitude, r.TextForm.Form(0), CoordinateFormat),
        1 => FormatDecimal(r.Longitude, r.TextForm.Form(1), CoordinateFormat),
        2 => r.TimeUtc.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture),
        3 => r.Parameter.Name(),
        4 => FormatDecimal(r.Concentration, r.TextForm.Form(2), AmountFormat),
        5 => r.Unit,
        6 => FormatDecimal(r.RawConcentration, r.TextForm.Form(3), AmountFormat),
        7 => r.Aqi.ToString(CultureInfo.InvariantCulture),
        8 => r.Category.ToString(CultureInfo.InvariantCulture),
        9 => r.SiteName,
        10 => r.SiteAgency,
        11 => r.AqsId,
        _ => r.FullAqsId,
    };

    /// <summary>The line still says what the record says (a <c>with</c> may have changed a value since).</summary>
    private static bool IsSourceOf(string line, in AirQualityRecord r) =>
        TryParse(line, out var parsed, out _) && parsed with { TextForm = r.TextForm } == r;

    /// <summary>With the decimals of <paramref name="form"/> (d + 1) where they give the value back, else canonical.</summary>
    private static string FormatDecimal(double value, int form, string canonicalFormat)
    {
        Span<char> buffer = stackalloc char[64];
        if (form > 0 && value.TryFormat(buffer, out int written, FixedFormats[form - 1], CultureInfo.InvariantCulture)
            && GivesBack(buffer[..written], value))
        {
            return new string(buffer[..written]);
        }
        return new string(Canonical(value, canonicalFormat, buffer));
    }

    /// <summary>The canonical text: <paramref name="format"/> if it fits and gives the value back, else round-trip digits.</summary>
    private static ReadOnlySpan<char> Canonical(double value, string format, Span<char> buffer)
    {
        if (value.TryFormat(buffer, out int written, format, CultureInfo.InvariantCulture) && GivesBack(buffer[..written], value))
        {
            return buffer[..written];
        }
        value.TryFormat(buffer, out written, "R", CultureInfo.InvariantCulture); // at most ~25 characters
        return buffer[..written];
    }

    private static bool GivesBack(ReadOnlySpan<char> text, double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double back) && back == value;

    /// <summary>
    /// How the fields of a just-parsed line were written: canonical, decimals that reproduce them, or
    /// (anything else: "+", leading zeros, exponents, a parameter in lower case...) the line itself.
    /// Quoting needs nothing: a field's text is exactly its unescaped content, re-escaped the one way.
    /// </summary>
    private static AirQualityTextForm TextFormOf(ReadOnlySpan<char> line, ReadOnlySpan<Range> f,
        (double Latitude, double Longitude, double Concentration, double Raw) values, AirParameter parameter, int aqi, int category)
    {
        if (TryForm(line[f[0]], values.Latitude, coordinate: true, out int latitude)
            && TryForm(line[f[1]], values.Longitude, coordinate: true, out int longitude)
            && TryForm(line[f[4]], values.Concentration, coordinate: false, out int concentration)
            && TryForm(line[f[6]], values.Raw, coordinate: false, out int raw)
            && line[f[3]].SequenceEqual(parameter.Name())
            && IsCanonical(line[f[7]], aqi) && IsCanonical(line[f[8]], category))
        {
            return new AirQualityTextForm((ushort)(latitude | longitude << 4 | concentration << 8 | raw << 12), null);
        }
        return AirQualityTextForm.FromSourceLine(line.ToString());
    }

    /// <summary>The form of a decimal field as written: 0 canonical, d + 1 for d decimals; false if neither writes it.</summary>
    internal static bool TryForm(ReadOnlySpan<char> text, double value, bool coordinate, out int form)
    {
        if (PlainForm(text, coordinate) is { } plain)
        {
            form = plain;
            return true;
        }
        return TryFormByFormatting(text, value, coordinate ? CoordinateFormat : AmountFormat, out form);
    }

    /// <summary>
    /// <see cref="TryForm"/> from the text alone, for the shapes the files use (a plain decimal,
    /// <c>-?(0|[1-9][0-9]*)(\.[0-9]+)?</c>, few enough digits); null where formatting must decide.
    /// Three times faster than formatting on the load path. Why it is exact: a decimal of at most 15
    /// significant digits comes back from the nearest double when rounded to its own decimals, so a
    /// field padded to the canonical decimals (6, or 4 for amounts) within 15 digits is what the
    /// canonical format writes, and its own decimals write it back.
    /// </summary>
    internal static int? PlainForm(ReadOnlySpan<char> text, bool coordinate)
    {
        int i = text.Length > 0 && text[0] == '-' ? 1 : 0, start = i;
        while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
        int integerDigits = i - start, decimals = 0;
        if (integerDigits == 0 || (integerDigits > 1 && text[start] == '0')) return null;
        if (i < text.Length)
        {
            if (text[i++] != '.') return null;
            for (; i < text.Length && char.IsAsciiDigit(text[i]); i++) decimals++;
            if (decimals == 0 || i < text.Length) return null;
        }
        if (start == 1 && !text[1..].ContainsAnyExcept('0', '.')) return null; // "-0.0": the sign of zero, left to formatting
        int canonicalDecimals = coordinate ? 6 : 4;
        if (integerDigits + Math.Max(decimals, canonicalDecimals) > 15) return null;
        if (coordinate) return decimals == 6 ? 0 : decimals < 6 ? decimals + 1 : null; // more: canonical may be round-trip digits
        if (decimals > 4) return null;
        bool canonical = decimals == 1 || (decimals > 1 && text[^1] != '0'); // "0.0###"
        return canonical ? 0 : decimals + 1;
    }

    /// <summary>
    /// The exact rule behind <see cref="TryForm"/>: format the canonical text, and the text with the
    /// decimals as written, and compare each with the field.
    /// </summary>
    internal static bool TryFormByFormatting(ReadOnlySpan<char> text, double value, string canonicalFormat, out int form)
    {
        form = 0;
        Span<char> buffer = stackalloc char[64];
        if (text.SequenceEqual(Canonical(value, canonicalFormat, buffer))) return true;
        int decimals = DecimalsOf(text);
        if (decimals > AirQualityTextForm.MaxDecimals
            || !value.TryFormat(buffer, out int written, FixedFormats[decimals], CultureInfo.InvariantCulture)
            || !text.SequenceEqual(buffer[..written]))
        {
            return false;
        }
        form = decimals + 1;
        return true;
    }

    private static int DecimalsOf(ReadOnlySpan<char> text)
    {
        int point = text.IndexOf('.');
        if (point < 0) return 0;
        int decimals = 0;
        for (int i = point + 1; i < text.Length && char.IsAsciiDigit(text[i]); i++) decimals++;
        return decimals;
    }

    private static bool IsCanonical(ReadOnlySpan<char> text, int value)
    {
        Span<char> buffer = stackalloc char[16];
        return value.TryFormat(buffer, out int written, default, CultureInfo.InvariantCulture) && text.SequenceEqual(buffer[..written]);
    }
}
