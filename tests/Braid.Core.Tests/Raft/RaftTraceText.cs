using Braid.Protocol.V1;
using Google.Protobuf.Collections;
using Google.Protobuf.Reflection;

namespace Braid.Core.Tests.Raft;

/// <summary>
/// The text of a <see cref="RaftScenario"/> trace, in the style of etcd-io/raft's interaction
/// test data: one short line per message, with the proto's type name and the fields that type
/// uses, indexes written as index@term.
/// <code>
/// A->B APPEND term 2 prev 3@1 entries [4@2 5@2] commit 3
/// B->A APPEND_RESPONSE term 2 match 5
/// C->A VOTE term 3 last 5@2
/// A->C VOTE_RESPONSE term 3 granted
/// </code>
/// </summary>
internal static class RaftTraceText
{
    private static readonly EnumDescriptor TypeNames =
        RaftMessage.Descriptor.FindFieldByNumber(RaftMessage.TypeFieldNumber).EnumType;

    /// <summary>One message as a trace line.</summary>
    public static string Message(RaftMessage m)
    {
        var type = TypeNames.FindValueByNumber((int)m.Type)?.Name ?? m.Type.ToString();
        var fields = m.Type switch
        {
            RaftMessageType.PreVote or RaftMessageType.Vote =>
                $" last {m.Index}@{m.LogTerm}" + (m.Transfer ? " transfer" : ""),
            RaftMessageType.PreVoteResponse or RaftMessageType.VoteResponse => m.Reject ? " rejected" : " granted",
            RaftMessageType.Append => $" prev {m.Index}@{m.LogTerm}{Entries(m.Entries)} commit {m.Commit}",
            RaftMessageType.AppendResponse =>
                m.Reject ? $" rejected {m.Index} hint {m.RejectHint}@{m.LogTerm}" : $" match {m.Index}",
            RaftMessageType.InstallSnapshot =>
                $" snapshot {m.Index}@{m.LogTerm} bytes {m.Snapshot.Length} commit {m.Commit}",
            _ => "",
        };
        return $"{m.From}->{m.To} {type} term {m.Term}{fields}";
    }

    /// <summary>" entries [4@2 5@2]"; a run of more than three entries of one term is written
    /// by its ends ("[2@1 .. 65@1]") so a catch-up message stays one short line.</summary>
    private static string Entries(RepeatedField<RaftEntry> entries)
    {
        if (entries.Count == 0) return "";
        var parts = new List<string>();
        for (int start = 0; start < entries.Count;)
        {
            var end = start;
            while (end + 1 < entries.Count && entries[end + 1].Term == entries[start].Term) end++;
            if (end - start >= 3) parts.Add($"{At(entries[start])} .. {At(entries[end])}");
            else parts.AddRange(entries.Skip(start).Take(end - start + 1).Select(At));
            start = end + 1;
        }
        return $" entries [{string.Join(' ', parts)}]";
    }

    private static string At(RaftEntry e) => $"{e.Index}@{e.Term}";

    /// <summary>A failure message for a trace that is not the expected one: the first line that
    /// differs, then the whole actual trace, so the test output tells the story.</summary>
    public static string Mismatch(string expected, string actual)
    {
        var want = expected.Split('\n');
        var got = actual.Split('\n');
        var line = 0;
        while (line < want.Length && line < got.Length && want[line] == got[line]) line++;
        return $"""
            the trace differs from the expected one at line {line + 1}
            expected: {(line < want.Length ? want[line] : "(end of trace)")}
            actual:   {(line < got.Length ? got[line] : "(end of trace)")}
            actual trace:
            {actual}
            """;
    }
}
