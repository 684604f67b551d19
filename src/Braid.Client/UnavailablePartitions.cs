using System.Globalization;
using Grpc.Core;

namespace Braid.Client;

/// <summary>
/// How a node says which partitions a query could not read (degraded reads, issue 12): an
/// UNAVAILABLE status carries them in the trailer <see cref="TrailerKey"/>, comma-separated
/// stream partition numbers ascending. A status without it is an ordinary transient failure (the
/// node itself may be cut off): worth trying another node.
/// </summary>
public static class UnavailablePartitions
{
    /// <summary>The trailer's key.</summary>
    public const string TrailerKey = "braid-unavailable-partitions";

    /// <summary>The trailer naming <paramref name="partitions"/>.</summary>
    public static Metadata Trailers(IEnumerable<uint> partitions) => new() { { TrailerKey, Format(partitions) } };

    /// <summary>"1, 4": partitions for a message, ascending, each once.</summary>
    public static string Describe(IEnumerable<uint> partitions) => string.Join(", ", partitions.Distinct().Order());

    /// <summary>The trailer's value: "1,4".</summary>
    public static string Format(IEnumerable<uint> partitions) => string.Join(',', partitions.Distinct().Order().Select(p => p.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The partitions an UNAVAILABLE error names in its trailer; null when it names none
    /// (another status, no trailer, or a malformed one).</summary>
    public static IReadOnlyList<uint>? Of(RpcException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (error.StatusCode != StatusCode.Unavailable || error.Trailers.GetValue(TrailerKey) is not { Length: > 0 } value) return null;
        var partitions = new List<uint>();
        foreach (var part in value.Split(','))
        {
            if (!uint.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var p)) return null;
            partitions.Add(p);
        }
        return partitions.Distinct().Order().ToList();
    }
}

/// <summary>
/// A query (or aggregate, or read) found partitions with no quorum and was not allowed to return
/// a partial result: <see cref="Partitions"/> names them. Retry later, or ask again with
/// <see cref="QueryOptions.AllowPartial"/> for what the other partitions hold.
/// </summary>
public sealed class BraidPartitionsUnavailableException(string message, IReadOnlyList<uint> partitions, Exception? inner = null) : BraidUnavailableException(message, inner)
{
    /// <summary>The stream partitions that could not be read, ascending.</summary>
    public IReadOnlyList<uint> Partitions { get; } = partitions;
}
