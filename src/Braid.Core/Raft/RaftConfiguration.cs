using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Core.Raft;

/// <summary>
/// A Raft group's membership: the voters, whose majority elects and commits, and the learners,
/// which receive the log (by appends or a snapshot) but neither vote nor count in any majority
/// (etcd's learners; Ongaro's thesis, 4.2.1, "catching up new servers"). Both sets sorted and
/// disjoint. Changed one server at a time (<see cref="IsSingleChangeFrom"/>).
/// </summary>
public sealed class RaftConfiguration
{
    /// <summary>Longest node id a configuration may name (ids are short names like "A").</summary>
    public const int IdLengthMax = 64;

    /// <summary>Most members (voters and learners) a configuration may list.</summary>
    public const int MembersMax = 32;

    public RaftConfiguration(IEnumerable<string> voters, IEnumerable<string>? learners = null)
    {
        Voters = voters.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        Learners = (learners ?? []).Distinct(StringComparer.Ordinal).Where(l => !Voters.Contains(l, StringComparer.Ordinal)).Order(StringComparer.Ordinal).ToArray();
    }

    public IReadOnlyList<string> Voters { get; }
    public IReadOnlyList<string> Learners { get; }

    /// <summary>Every member, voters first.</summary>
    public IEnumerable<string> Members => Voters.Concat(Learners);

    /// <summary>The configuration of a replica that has not yet heard of its group's membership
    /// (a replica joining as a learner before the leader's first append reaches it).</summary>
    public static RaftConfiguration Empty { get; } = new([]);

    public bool IsVoter(string id) => Voters.Contains(id, StringComparer.Ordinal);
    public bool IsLearner(string id) => Learners.Contains(id, StringComparer.Ordinal);
    public bool Contains(string id) => IsVoter(id) || IsLearner(id);
    public int Quorum => Voters.Count / 2 + 1;

    /// <summary>
    /// True when going from <paramref name="current"/> to this configuration changes at most one
    /// voter (adds one, removes one, promotes a learner or demotes a voter), the rule of single-
    /// server membership changes (thesis 4.1): any majority of the old voters and any majority of
    /// the new ones then share a server, so the two configurations can never decide apart.
    /// Learners do not count in majorities and may change freely alongside.
    /// </summary>
    public bool IsSingleChangeFrom(RaftConfiguration current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var added = Voters.Count(v => !current.IsVoter(v));
        var removed = current.Voters.Count(v => !IsVoter(v));
        return added + removed <= 1;
    }

    public bool SameAs(RaftConfiguration other) =>
        other is not null && Voters.SequenceEqual(other.Voters, StringComparer.Ordinal) && Learners.SequenceEqual(other.Learners, StringComparer.Ordinal);

    public byte[] Encode()
    {
        var message = new RaftConfig();
        message.Voters.AddRange(Voters);
        message.Learners.AddRange(Learners);
        return message.ToByteArray();
    }

    /// <summary>Decodes and checks a configuration from a peer or the disk; null with
    /// <paramref name="error"/> when it is not one.</summary>
    public static RaftConfiguration? TryDecode(ReadOnlySpan<byte> bytes, out string? error)
    {
        RaftConfig message;
        try
        {
            message = RaftConfig.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            error = $"not a configuration: {e.Message}";
            return null;
        }
        if (message.Voters.Count + message.Learners.Count > MembersMax)
        {
            error = $"{message.Voters.Count + message.Learners.Count} members exceed {MembersMax}";
            return null;
        }
        foreach (var id in message.Voters.Concat(message.Learners))
        {
            if (id.Length == 0 || id.Length > IdLengthMax)
            {
                error = $"member id of {id.Length} characters";
                return null;
            }
        }
        if (message.Voters.Distinct(StringComparer.Ordinal).Count() != message.Voters.Count
            || message.Learners.Distinct(StringComparer.Ordinal).Count() != message.Learners.Count
            || message.Learners.Any(l => message.Voters.Contains(l)))
        {
            error = "a member listed twice";
            return null;
        }
        error = null;
        return new RaftConfiguration(message.Voters, message.Learners);
    }

    public override string ToString() =>
        Learners.Count == 0 ? $"voters {string.Join(",", Voters)}" : $"voters {string.Join(",", Voters)} learners {string.Join(",", Learners)}";
}
