using Braid.Data;

namespace Braid.Data.Tests;

/// <summary>Batches stored before the exact text (issue 13) are version 1 and must still decode.</summary>
public class CodecVersionTests
{
    /// <summary>A version-1 batch of <see cref="V1Records"/>, written by the codec before version 2.</summary>
    internal const string V1Batch =
        "41514201030A074F616B6C616E641B53616E204672616E636973636F2042617920417265612041514D44093036303031"
        + "303030390555472F4D330350504211506F72746C616E642C204F5220225345220A4F7265676F6E204445510943433030"
        + "34303330320C3132344343303034303330320350504D0290BDFE478ECB82E9010001020080C3E7569EE181EA01050607"
        + "0903030409FC95C0FA0300000100A09902F08F024C0200780001019F68CB9F0C24FE40DEF2F301CD0F000190FB050502"
        + "5C500202";

    [Fact]
    public void DecodesAVersion1Batch()
    {
        var batch = Convert.FromHexString(V1Batch);
        Assert.Equal(1, batch[3]);
        Assert.Equal(3, RecordBatchCodec.Count(batch));
        Assert.Equal(V1Records, RecordBatchCodec.Decode(batch));
        Assert.Equal(V1Records.Select(r => AirQualityCsv.Format(in r)), RecordBatchCodec.Decode(batch).Select(r => AirQualityCsv.Format(in r)));
        var filter = RecordFilter.Create(parameters: [AirParameter.Co]);
        Assert.Equal(1, RecordBatchCodec.CountMatches(batch, filter));
    }

    /// <summary>The records behind <see cref="V1Batch"/>.</summary>
    internal static AirQualityRecord[] V1Records =>
    [
        DataSamples.Oakland,
        DataSamples.Oakland with
        {
            TimeUtc = DataSamples.Oakland.TimeUtc.AddHours(1), Parameter = AirParameter.Ozone, Unit = "PPB",
            Concentration = 123456.789012345, RawConcentration = -999, Aqi = AirQualityRecord.MissingAqi, Category = 0,
        },
        new(45.5128, -122.6906, new DateTime(2020, 9, 12, 23, 0, 0, DateTimeKind.Utc), AirParameter.Co, 0.023, "PPM", 0.02, 1, 1,
            "Portland, OR \"SE\"", "Oregon DEQ", "CC0040302", "124CC0040302"),
    ];
}
