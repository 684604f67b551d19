using System.Globalization;
using Grpc.Core;

namespace Braid.Client;

/// <summary>
/// How a node says which partitions a query could not read (degraded reads, issue 12): an
/// UNAVAILABLE status carries them in the trailer <see cref="TrailerKey"/>, comma-separated
/// stream partition numbers ascending. A status without it is an ordinary transient failure. When
/// the node itself reaches no majority of the cluster it adds <see cref="IsolatedKey"/>: the fault
/// may be its own, so a client asks the other nodes before it believes the verdict.
/// </summary>
public static class UnavailablePartitions
{
    /// <summary>The trailer's key.</summary>
    public const string TrailerKey = "braid-unavailable-partitions";

    /// <summary>The trailer of a verdict from a node that reaches no majority of the cluster ("1").</summary>
    public const string IsolatedKey = "braid-unavailable-isolated";

    /// <summary>The trailer naming <paramref name="partitions"/>, from a node that is <paramref name="isolated"/> or not.</summary>
    public static Metadata Trailers(IEnumerable<uint> partitions, bool isolated = false)
    {
        var trailers = new Metadata { { TrailerKey, Format(partitions) } };
        if (isolated) trailers.Add(IsolatedKey, "1");
        return trailers;
    }

    /// <summary>The verdict came from a node that reaches no majority of the cluster.</summary>
    public static bool IsIsolated(RpcException error) => Of(error) is not null && error.Trailers.GetValue(IsolatedKey) == "1";

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
/// When a partitions-unavailable verdict ends a read (one per read, not thread-safe): at once from
/// a node that reaches a majority of the cluster; from an isolated node only once every node has
/// been tried since (each failed or said the same), so a client never waits out its stall timeout
/// for partitions that are down, nor believes a node that is itself cut off.
/// </summary>
internal sealed class UnavailableVerdicts(int nodes)
{
    private int triedSince = -1;
    private RpcException? last;

    /// <summary>An attempt failed with <paramref name="error"/>: the verdict to throw, or null to try another node.</summary>
    public RpcException? Failed(RpcException error)
    {
        if (UnavailablePartitions.Of(error) is not null)
        {
            if (!UnavailablePartitions.IsIsolated(error)) return error;
            last = error;
            if (triedSince < 0) triedSince = 0;
        }
        if (triedSince < 0) return null;
        return ++triedSince >= nodes ? last : null;
    }

    /// <summary>The read made progress: earlier verdicts are stale.</summary>
    public void Progress()
    {
        triedSince = -1;
        last = null;
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
