using System.Text.Json.Serialization;

namespace Braid.Cli.Json;

/// <summary><c>braid put --json</c> and <c>braid get --json</c> (docs/json.md).</summary>
/// <param name="Command">put or get.</param>
/// <param name="ChunksAlreadyStored">put: chunks an earlier, interrupted put had stored (not sent again).</param>
/// <param name="AlreadyComplete">put: the same file was stored whole under this name before.</param>
/// <param name="BytesResumed">get: bytes an earlier, interrupted get had fetched.</param>
/// <param name="Passes">get: reads of the partition (2 when the newest put of the name was incomplete).</param>
/// <param name="CheckSeconds">put: hashing the file; get: hashing the resumed part file again.</param>
/// <param name="TransferSeconds">put: sending (until the manifest is acknowledged); get: receiving.</param>
internal sealed record FileTransferReport(
    string Command,
    string Stream,
    string Name,
    string ObjectId,
    uint Partition,
    long Size,
    long Chunks,
    string Sha256,
    long ChunksAlreadyStored,
    bool AlreadyComplete,
    long BytesResumed,
    int Passes,
    double CheckSeconds,
    double TransferSeconds);

/// <summary><c>braid bench files --json</c>: one file put and got back on a fresh cluster.</summary>
/// <param name="PutMegabytesPerSecond">Size over the whole put: hashing, then sending until the manifest is acknowledged.</param>
/// <param name="SendMegabytesPerSecond">Size over the sending phase alone (from the manifest offer's answer to the manifest's acknowledgement).</param>
/// <param name="GetMegabytesPerSecond">Size over the whole get, until the verified file has its name.</param>
/// <param name="ClientPeakRssMb">Peak resident memory of the benchmark's process, which runs the client (the nodes are processes of their own).</param>
internal sealed record FilesBenchReport(
    string Topology,
    long SizeBytes,
    long Chunks,
    uint Partition,
    double HashSeconds,
    double PutSeconds,
    double GetSeconds,
    double PutMegabytesPerSecond,
    double SendMegabytesPerSecond,
    double GetMegabytesPerSecond,
    long ClientRetries,
    double ClientPeakRssMb,
    bool Verified)
{
    [JsonPropertyOrder(-1)]
    public string Benchmark => "files";
}
