using Braid.Core.Log;
using Braid.Simulation;

namespace Braid.Core.Tests.Log;

/// <summary>
/// Seeded random sequences of append / sync / truncate / read / reopen / crash, each checked
/// against <see cref="LogModel"/> after every step. A failure names its seed, step and the
/// operations so far; rerun that one seed with <see cref="RunSequence"/>.
/// </summary>
public sealed class LogPropertyTests
{
    private const int Sequences = 300;
    private const int StepsPerSequence = 150;

    [Fact]
    public void RandomOperationSequencesMatchTheListModel()
    {
        for (int seed = 1; seed <= Sequences; seed++)
        {
            RunSequence(seed);
        }
    }

    internal static void RunSequence(int seed)
    {
        var run = new Run(seed);
        try
        {
            for (int step = 0; step < StepsPerSequence; step++)
            {
                run.Step();
            }
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"seed {seed}, after [{string.Join(", ", run.History)}]: {e}");
        }
        finally
        {
            run.Log.Dispose();
        }
    }

    private sealed class Run
    {
        private readonly Random random;
        private readonly SimulatedDevice device;
        private readonly LogOptions options;
        private readonly LogModel model = new();

        public Run(int seed)
        {
            random = new Random(seed);
            device = new SimulatedDevice(seed);
            options = new LogOptions
            {
                SegmentBytesMax = new[] { 200, 1024, 4096 }[random.Next(3)],
                EntryBytesMax = 2048,
                ScanBufferBytes = 64,
            };
            Log = SegmentedLog.Open(device, options);
        }

        public SegmentedLog Log { get; private set; }

        public List<string> History { get; } = [];

        public void Step()
        {
            int dice = random.Next(100);
            Action operation = dice switch
            {
                < 45 => Append,
                < 60 => Sync,
                < 67 => TruncateSuffix,
                < 72 => TruncatePrefix,
                < 79 => Reopen,
                < 86 => Crash,
                _ => ReadRange,
            };
            operation();
            Expect(Log.FirstIndex == model.First, $"first index {Log.FirstIndex}, model {model.First}");
            Expect(Log.LastIndex == model.Last, $"last index {Log.LastIndex}, model {model.Last}");
            Expect(Log.LastDurableIndex == model.Durable, $"durable {Log.LastDurableIndex}, model {model.Durable}");
        }

        private void Append()
        {
            ulong term = Math.Max(1, model.LastTerm) + (random.Next(5) == 0 ? 1UL : 0);
            byte[] payload = LogModel.RandomPayload(random, random.Next(20) == 0 ? 2048 : 120);
            ulong index = Log.Append(term, payload);
            History.Add($"append({term}, {payload.Length}B)={index}");
            model.Append(term, payload);
            Expect(index == model.Last, $"append returned {index}, expected {model.Last}");
        }

        private void Sync()
        {
            History.Add("sync");
            Expect(Log.Sync() == model.Last, "sync did not cover every append");
            model.Durable = model.Last;
        }

        private void TruncateSuffix()
        {
            ulong from = model.First + (ulong)random.NextInt64((long)(model.Last - model.First + 2));
            History.Add($"truncate-suffix({from})");
            Log.TruncateSuffix(from);
            model.TruncateFrom(from);
        }

        private void TruncatePrefix()
        {
            ulong keep = model.First + (ulong)random.NextInt64((long)(model.Last - model.First + 2));
            int removed = Log.TruncatePrefix(keep);
            History.Add($"truncate-prefix({keep})={removed}");
            Expect(Log.FirstIndex <= Math.Max(keep, model.First), $"first index {Log.FirstIndex} after keeping from {keep}");
            Expect(removed == 0 || Log.FirstIndex > model.First, "segments removed but first index unchanged");
            model.First = Log.FirstIndex;
            if (removed > 0)
            {
                model.Durable = model.Last;
            }
        }

        private void Reopen()
        {
            History.Add("reopen");
            Log.Dispose();
            Log = SegmentedLog.Open(device, options);
            Expect(Log.LastIndex == model.Last, $"reopen without a crash lost entries: {Log.LastIndex} of {model.Last}");
            ExpectSameEntries();
            model.Durable = model.Last;
        }

        private void Crash()
        {
            var mode = (SimulatedCrash)random.Next(3);
            History.Add($"crash({mode})");
            Log.Dispose();
            device.Crash(mode);
            Log = SegmentedLog.Open(device, options);
            Expect(Log.LastIndex >= model.Durable, $"durable entry lost: recovered up to {Log.LastIndex}, durable was {model.Durable}");
            Expect(Log.FirstIndex <= model.First, $"recovered first index {Log.FirstIndex} past {model.First}");
            ExpectSameEntries();
            model.TruncateFrom(Log.LastIndex + 1);
            model.First = Log.FirstIndex;
            model.Durable = Log.LastIndex;
        }

        private void ReadRange()
        {
            if (model.Last < model.First)
            {
                return;
            }

            ulong first = model.First + (ulong)random.NextInt64((long)(model.Last - model.First + 1));
            ulong last = first + (ulong)random.NextInt64((long)(model.Last - first + 1));
            long maxBytes = random.Next(2000);
            IReadOnlyList<LogEntry> entries = Log.Read(first, last, maxBytes);
            History.Add($"read({first}..{last}, {maxBytes}B)={entries.Count}");
            Expect(entries.Count >= 1, "a read returned nothing");
            long frameBytes = entries.Sum(e => 24L + e.Payload.Length);
            Expect(entries.Count == 1 || frameBytes <= maxBytes, $"read {frameBytes} bytes past a {maxBytes} budget");
            for (int i = 0; i < entries.Count; i++)
            {
                (ulong term, byte[] payload) = model[first + (ulong)i];
                Expect(entries[i].Index == first + (ulong)i && entries[i].Term == term, $"read entry {i} misplaced");
                Expect(entries[i].Payload.Span.SequenceEqual(payload), $"read entry {entries[i].Index} payload differs");
                Expect(Log.TermAt(entries[i].Index) == term, "TermAt differs from the entry");
            }
        }

        private void ExpectSameEntries()
        {
            string? mismatch = model.MismatchIn(Log);
            Expect(mismatch is null, mismatch ?? string.Empty);
        }

        private static void Expect(bool condition, string message)
        {
            if (!condition)
            {
                throw new Xunit.Sdk.XunitException(message);
            }
        }
    }
}
