using Braid.Core.Log;

namespace Braid.Core.Tests.Log;

/// <summary>
/// The reference the log is checked against: a plain list of every entry ever at each index
/// (prefix retention never forgets, so entries that reappear after a crash can still be checked),
/// plus the first index and the durable watermark the log should report.
/// </summary>
internal sealed class LogModel
{
    private readonly List<(ulong Term, byte[] Payload)> entries = [];

    public ulong First { get; set; } = 1;

    public ulong Durable { get; set; }

    public ulong Last => (ulong)entries.Count;

    public ulong LastTerm => entries.Count == 0 ? 0 : entries[^1].Term;

    public (ulong Term, byte[] Payload) this[ulong index] => entries[(int)(index - 1)];

    public void Append(ulong term, byte[] payload) => entries.Add((term, payload));

    public void TruncateFrom(ulong index)
    {
        if (index <= Last)
        {
            entries.RemoveRange((int)(index - 1), (int)(Last - index + 1));
        }

        Durable = Math.Min(Durable, index - 1);
    }

    public LogModel Clone()
    {
        var copy = new LogModel { First = First, Durable = Durable };
        copy.entries.AddRange(entries);
        return copy;
    }

    /// <summary>Null when every entry the log holds equals the model's at that index, else why not.</summary>
    public string? MismatchIn(SegmentedLog log)
    {
        if (log.LastIndex > Last)
        {
            return $"log has {log.LastIndex} entries, model only {Last}";
        }

        ulong next = log.FirstIndex;
        while (next <= log.LastIndex)
        {
            foreach (LogEntry entry in log.Read(next, log.LastIndex, 64 * 1024))
            {
                (ulong term, byte[] payload) = this[entry.Index];
                if (entry.Index != next || entry.Term != term || !entry.Payload.Span.SequenceEqual(payload))
                {
                    return $"entry {entry.Index} differs (term {entry.Term} vs {term}, {entry.Payload.Length} vs {payload.Length} bytes)";
                }

                next++;
            }
        }

        return null;
    }

    public static byte[] RandomPayload(Random random, int maxBytes)
    {
        var payload = new byte[random.Next(maxBytes + 1)];
        random.NextBytes(payload);
        return payload;
    }
}
