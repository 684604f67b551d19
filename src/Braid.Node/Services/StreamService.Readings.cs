using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Braid.Node.Services;

/// <summary>
/// Typed air-quality readings (issue 13, item 6): the language-neutral form of air-quality
/// records in the public API. An append's readings are checked one by one and encoded into the
/// record batch codec here, at the edge, before the batch is proposed, so the partition's log and
/// every replica see the same compact batch as from the .NET client; a query or subscription that
/// asks for <c>typed</c> gets each page's batch decoded into readings.
/// </summary>
internal sealed partial class StreamService
{
    /// <summary>An air-quality stream's batch sent as readings: each converted (a clear error names
    /// the first bad one), then encoded as one record batch within the payload limit.</summary>
    private static (int Records, ByteString Payload) TypedPayload(AppendRequest request, string where)
    {
        if (!request.Payload.IsEmpty)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{where}: send readings or an encoded payload, not both"));
        var records = new Data.AirQualityRecord[request.Readings.Count];
        for (var i = 0; i < records.Length; i++)
            if (!Data.AirQualityReadings.TryToRecord(request.Readings[i], out records[i], out var error))
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{where}: reading {i}: {error}"));
        byte[] encoded;
        try
        {
            encoded = Data.RecordBatchCodec.Encode(records);
        }
        catch (ArgumentException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{where}: {e.Message}"));
        }
        if (encoded.Length > PayloadBytesMax)
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"{where} encodes to {encoded.Length} bytes, over the limit of {PayloadBytesMax}"));
        return (records.Length, ByteString.CopyFrom(encoded));
    }

    /// <summary>An air-quality page as readings, in the batch's order.</summary>
    private static void AddReadings(Google.Protobuf.Collections.RepeatedField<AirQualityReading> readings, ByteString batch)
    {
        if (batch.IsEmpty) return;
        foreach (var record in Data.RecordBatchCodec.Decode(batch.Span)) readings.Add(Data.AirQualityReadings.ToReading(in record));
    }
}
