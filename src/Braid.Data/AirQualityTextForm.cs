namespace Braid.Data;

/// <summary>
/// How a parsed line wrote what a record's values alone do not say, so that
/// <see cref="AirQualityCsv.Format"/> hands the line back byte for byte (issue 13: a payload system
/// returns exactly what it was given): the decimals of each of the four decimal fields as written
/// ("28.7456" has four, "-999" none), and, for a line that its values and those decimals cannot
/// reproduce (a "+" sign, leading zeros, an exponent, a parameter in lower case, more than
/// <see cref="MaxDecimals"/> decimals...), the line itself.
/// </summary>
/// <remarks>
/// <c>default</c> is the canonical form, the one the generator writes (six decimals for coordinates,
/// at least one for amounts). The parser gives <c>default</c> for a line already in that form, so a
/// record built in code still equals the record parsed back from its formatted line, and the four
/// decimals come out as <c>null</c> ("canonical") where the canonical text is what was written.
/// Packed in 16 bits, four 4-bit forms (0 canonical, d + 1 for d decimals): the batch codec keeps the
/// coordinates' byte once per site and the amounts' byte once per (unit, form) pair of a batch, so
/// the exact text costs about nothing per record; a whole line is kept only where it is needed.
/// </remarks>
public readonly record struct AirQualityTextForm
{
    /// <summary>The most decimals a field can be written with here; a line with more is kept whole.</summary>
    public const int MaxDecimals = 14;

    private readonly ushort packed;

    internal AirQualityTextForm(ushort packed, string? sourceLine)
    {
        this.packed = packed;
        SourceLine = sourceLine;
    }

    /// <summary>The canonical form (the same as <c>default</c>).</summary>
    public static AirQualityTextForm Canonical => default;

    /// <summary>
    /// The exact line a record was parsed from, kept only when its values and decimals cannot
    /// reproduce it; null otherwise. <see cref="AirQualityCsv.Format"/> writes it only while the
    /// record's values are still the ones parsed from it.
    /// </summary>
    public string? SourceLine { get; }

    /// <summary>True for the canonical form: no decimals recorded and no source line.</summary>
    public bool IsCanonical => packed == 0 && SourceLine is null;

    /// <summary>Decimals of the latitude as written, or null for the canonical six.</summary>
    public int? LatitudeDecimals => Decimals(0);

    /// <summary>Decimals of the longitude as written, or null for the canonical six.</summary>
    public int? LongitudeDecimals => Decimals(1);

    /// <summary>Decimals of the concentration as written, or null for the canonical form ("9.0", "0.023").</summary>
    public int? ConcentrationDecimals => Decimals(2);

    /// <summary>Decimals of the raw concentration as written, or null for the canonical form.</summary>
    public int? RawConcentrationDecimals => Decimals(3);

    /// <summary>The coordinates' forms, as the codec stores them per site (latitude low nibble).</summary>
    internal byte CoordinateForms => (byte)packed;

    /// <summary>The amounts' forms, as the codec stores them per unit and form (concentration low nibble).</summary>
    internal byte AmountForms => (byte)(packed >> 8);

    /// <summary>
    /// A form that writes each decimal field with the given number of decimals (null: canonical).
    /// Throws <see cref="ArgumentOutOfRangeException"/> for a count outside 0..<see cref="MaxDecimals"/>.
    /// </summary>
    public static AirQualityTextForm FromDecimals(int? latitude, int? longitude, int? concentration, int? rawConcentration) =>
        new((ushort)(Nibble(latitude, nameof(latitude)) | Nibble(longitude, nameof(longitude)) << 4
            | Nibble(concentration, nameof(concentration)) << 8 | Nibble(rawConcentration, nameof(rawConcentration)) << 12), null);

    /// <summary>A form that keeps <paramref name="line"/> whole (what the parser does for a line no decimals reproduce).</summary>
    public static AirQualityTextForm FromSourceLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        return new(0, line);
    }

    /// <summary>
    /// The form of decimal field <paramref name="index"/> (0 latitude .. 3 raw concentration):
    /// 0 canonical, d + 1 for d decimals.
    /// </summary>
    internal int Form(int index) => (packed >> (4 * index)) & 0xF;

    private int? Decimals(int index) => Form(index) is var form and > 0 ? form - 1 : null;

    private static int Nibble(int? decimals, string name)
    {
        if (decimals is not { } d) return 0;
        ArgumentOutOfRangeException.ThrowIfNegative(d, name);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(d, MaxDecimals, name);
        return d + 1;
    }
}
