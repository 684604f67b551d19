using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Braid.Cli.Status;

namespace Braid.Cli.Json;

/// <summary>
/// The serializer of every <c>--json</c> report, source-generated: snake_case names (as the proto
/// fields and <c>query --format jsonl</c>), indented, nulls written rather than left out, so a
/// field's presence never depends on the cluster's state. docs/json.md describes the documents.
/// </summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ClusterStatusReport))]
[JsonSerializable(typeof(Membership.MembershipReport))]
[JsonSerializable(typeof(PlacementReport))]
[JsonSerializable(typeof(CountReport))]
[JsonSerializable(typeof(StatsReport))]
[JsonSerializable(typeof(SimReport))]
[JsonSerializable(typeof(IngestBenchReport))]
[JsonSerializable(typeof(FailoverBenchReport))]
[JsonSerializable(typeof(RerouteBenchReport))]
[JsonSerializable(typeof(IdleBenchReport))]
[JsonSerializable(typeof(ProduceBenchReport))]
[JsonSerializable(typeof(SubscribeBenchReport))]
[JsonSerializable(typeof(FileTransferReport))]
[JsonSerializable(typeof(FilesBenchReport))]
[JsonSerializable(typeof(LogBenchReport))]
[JsonSerializable(typeof(QueryBenchReport))]
[JsonSerializable(typeof(CatchUpBenchReport))]
[JsonSerializable(typeof(FuzzBenchReport))]
[JsonSerializable(typeof(CompareBenchReport))]
[JsonSerializable(typeof(RollingBenchReport))]
[JsonSerializable(typeof(RereplicateBenchReport))]
internal sealed partial class CliJson : JsonSerializerContext
{
    public static string Serialize<T>(T value) =>
        JsonSerializer.Serialize(value, (JsonTypeInfo<T>)(Default.GetTypeInfo(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T).Name} is not registered in CliJson")));

    /// <summary>Writes one document and a newline to stdout.</summary>
    public static void Print<T>(T value)
    {
        Console.Out.WriteLine(Serialize(value));
        Console.Out.Flush();
    }
}
