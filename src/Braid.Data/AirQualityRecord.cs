namespace Braid.Data;

/// <summary>
/// One hourly reading of the 2020 AirNow "fire" data set (13 CSV columns, in column order).
/// </summary>
/// <remarks>
/// A readonly record struct rather than a class: a batch of 1,000 readings is then one array
/// with no per-record object header or GC tracking, the codec can hand matches to a visitor by
/// <c>in</c> reference without allocating, and value equality comes for free for tests. The
/// strings are shared references (one per site per decoded batch), so copying the struct is cheap
/// enough; pass it with <c>in</c> on hot paths.
/// <para><see cref="TimeUtc"/> has minute precision (the files say "2020-08-10T01:00");
/// <see cref="RecordBatchCodec.Encode"/> rejects finer times.</para>
/// <para><see cref="TextForm"/> is how the source line wrote the values (issue 13); it takes part in
/// equality, as two records that format differently are not the same payload.</para>
/// </remarks>
/// <param name="Latitude">Site latitude, degrees north, -90..90.</param>
/// <param name="Longitude">Site longitude, degrees east, -180..180.</param>
/// <param name="TimeUtc">Start of the hour the reading is for, in UTC.</param>
/// <param name="Parameter">The pollutant.</param>
/// <param name="Concentration">Reported concentration (NowCast for PM) in <paramref name="Unit"/>.</param>
/// <param name="Unit">Unit text as in the file, e.g. PPB, UG/M3, PPM.</param>
/// <param name="RawConcentration">The raw hourly concentration.</param>
/// <param name="Aqi">Air Quality Index, or <see cref="MissingAqi"/> (-999) when not reported.</param>
/// <param name="Category">AQI category 1 (good) .. 6 (hazardous); 0 where the AQI is missing.</param>
/// <param name="SiteName">Monitoring site name.</param>
/// <param name="SiteAgency">Agency that runs the site.</param>
/// <param name="AqsId">AQS site id: nine digits (state, county, site) for US sites, letters and digits for
/// some Canadian and Mexican ones ("CC0040302", "MM0010001").</param>
/// <param name="FullAqsId">Full id, usually a country code (840 for the US) plus the AQS id.</param>
public readonly record struct AirQualityRecord(
    double Latitude,
    double Longitude,
    DateTime TimeUtc,
    AirParameter Parameter,
    double Concentration,
    string Unit,
    double RawConcentration,
    int Aqi,
    int Category,
    string SiteName,
    string SiteAgency,
    string AqsId,
    string FullAqsId)
{
    /// <summary>The value AirNow uses for "no AQI reported".</summary>
    public const int MissingAqi = -999;

    /// <summary>
    /// How the line this record was parsed from wrote it, so that <see cref="AirQualityCsv.Format"/>
    /// gives that line back byte for byte; <see cref="AirQualityTextForm.Canonical"/> (default) for
    /// records built in code, generated ones and lines already in the canonical form.
    /// </summary>
    public AirQualityTextForm TextForm { get; init; }

    /// <summary>True when the reading carries an AQI (aggregates and AQI filters ignore the others).</summary>
    public bool HasAqi => Aqi != MissingAqi;
}
