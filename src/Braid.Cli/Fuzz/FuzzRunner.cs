using System.Diagnostics;
using System.Text;

namespace Braid.Cli.Fuzz;

public enum FuzzMode
{
    Mutate,
    Random,
    Both,
}

/// <summary>How one target is run.</summary>
/// <param name="CaseBudget">A case that takes longer fails (checked by a Stopwatch after it returns).</param>
/// <param name="HangLimit">A case still running after this is a hang: the watchdog stops the target.</param>
/// <param name="TargetTimeLimit">The whole target stops (not a failure) once this is spent.</param>
internal sealed record FuzzSettings(long Cases, int Seed, FuzzMode Mode, string? OutDirectory,
    TimeSpan CaseBudget, TimeSpan HangLimit, TimeSpan TargetTimeLimit, long? OnlyCase = null)
{
    public static FuzzSettings Default(long cases, int seed, FuzzMode mode = FuzzMode.Both) =>
        new(cases, seed, mode, null, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20), TimeSpan.FromHours(1));
}

/// <summary>One failure: what went wrong and how to reproduce it.</summary>
internal sealed record FuzzFailure(string Target, int Seed, long Case, long ReplayFrom, string Kind, string Detail, string? ReproducerPath)
{
    public override string ToString() =>
        $"{Target}: case {Case} (seed {Seed}{(ReplayFrom < Case ? $", replay from case {ReplayFrom}" : "")}): {Kind}: {Detail}"
        + (ReproducerPath is null ? "" : $" [bytes: {ReproducerPath}]");
}

/// <summary>What one target's run produced.</summary>
internal sealed class FuzzReport(string target)
{
    public string Target { get; } = target;
    public long Cases { get; set; }
    public TimeSpan Elapsed { get; set; }
    public long AcceptedMutated { get; set; }
    public long AcceptedRandom { get; set; }
    public long Accepted => AcceptedMutated + AcceptedRandom;
    public long Mutated { get; set; }
    public SortedDictionary<string, long> Refused { get; } = new(StringComparer.Ordinal);
    public long RefusedTotal => Refused.Values.Sum();
    public long FailureCount { get; set; }

    /// <summary>The first failure of each kind (further ones of the same kind are only counted).</summary>
    public List<FuzzFailure> Failures { get; } = [];
    public string? StoppedBecause { get; set; }
    public double CasesPerSecond => Cases / Math.Max(1e-9, Elapsed.TotalSeconds);
}

/// <summary>
/// Runs cases against one target on a worker thread under a watchdog. Case <c>i</c> is generated
/// from a <see cref="Random"/> seeded by (seed, target, i) alone, so "seed S, case i" reproduces it
/// (for stateful targets, with the cases since the last reset replayed first).
/// </summary>
internal static class FuzzRunner
{
    public static FuzzReport Run(FuzzTarget target, FuzzSettings settings)
    {
        var report = new FuzzReport(target.Name);
        var state = new WorkerState();
        var worker = new Thread(() => Work(target, settings, report, state)) { IsBackground = true, Name = $"fuzz-{target.Name}" };
        var clock = Stopwatch.StartNew();
        worker.Start();
        while (!worker.Join(50))
        {
            long started = Volatile.Read(ref state.CaseStartedTicks);
            if (started == 0 || Stopwatch.GetElapsedTime(started) <= settings.HangLimit) continue;
            // The worker is stuck inside one case: record it and leave the thread behind (it is a
            // background thread); the target's state is not used again.
            long index = Volatile.Read(ref state.CaseIndex);
            lock (report)
            {
                Fail(target, settings, report, index, state.ReplayFrom, "hang", $"still running after {settings.HangLimit.TotalSeconds:F0} s", state.History);
                report.StoppedBecause = $"case {index} hung";
                report.Cases = index - FirstCase(target, settings);
                report.Elapsed = clock.Elapsed;
            }
            return report;
        }
        return report;
    }

    private sealed class WorkerState
    {
        public long CaseStartedTicks;
        public long CaseIndex;
        public long ReplayFrom;
        public List<byte[]> History { get; } = [];
    }

    private static long FirstCase(FuzzTarget target, FuzzSettings settings) =>
        settings.OnlyCase is { } only ? only - only % target.CasesPerReset : 0;

    private static void Work(FuzzTarget target, FuzzSettings settings, FuzzReport report, WorkerState state)
    {
        var clock = Stopwatch.StartNew();
        long first = FirstCase(target, settings);
        long end = settings.OnlyCase is { } only ? only + 1 : settings.Cases;
        long budgetTicks = (long)(settings.CaseBudget.TotalSeconds * Stopwatch.Frequency);
        int perReset = Math.Max(1, target.CasesPerReset);
        int nameHash = StableHash(target.Name);
        long i = first;
        for (; i < end; i++)
        {
            if (i % perReset == 0 || i == first)
            {
                if (clock.Elapsed > settings.TargetTimeLimit)
                {
                    report.StoppedBecause = $"time limit of {settings.TargetTimeLimit.TotalSeconds:F0} s reached";
                    break;
                }
                target.Reset(i / perReset);
                state.History.Clear();
                state.ReplayFrom = i;
            }
            var random = new Random(CaseSeed(settings.Seed, nameHash, i));
            bool mutated = settings.Mode == FuzzMode.Mutate || (settings.Mode == FuzzMode.Both && i % 4 != 3);
            byte[] input = mutated ? Mutator.Mutate(target.Seeds, random, target.InputBytesMax) : Mutator.RandomBytes(random, target.InputBytesMax);
            if (perReset > 1) state.History.Add(input);
            Volatile.Write(ref state.CaseIndex, i);
            long started = Stopwatch.GetTimestamp();
            Volatile.Write(ref state.CaseStartedTicks, started);
            string? refusal = null;
            Exception? failure = null;
            try
            {
                refusal = target.Run(input);
            }
            catch (Exception e)
            {
                failure = e;
            }
            long took = Stopwatch.GetTimestamp() - started;
            Volatile.Write(ref state.CaseStartedTicks, 0);
            lock (report)
            {
                if (report.StoppedBecause is not null) return; // the watchdog gave up on us
                if (mutated) report.Mutated++;
                if (failure is not null)
                {
                    Fail(target, settings, report, i, state.ReplayFrom, failure.GetType().Name, Describe(failure), perReset > 1 ? state.History : [input]);
                    if (perReset > 1) i = (i / perReset + 1) * perReset - 1; // the state is suspect: reset
                }
                else if (took > budgetTicks)
                {
                    Fail(target, settings, report, i, state.ReplayFrom, "slow", $"took {took * 1000.0 / Stopwatch.Frequency:F0} ms", perReset > 1 ? state.History : [input]);
                }
                else if (refusal is null)
                {
                    if (mutated) report.AcceptedMutated++;
                    else report.AcceptedRandom++;
                }
                else
                {
                    report.Refused[refusal] = report.Refused.GetValueOrDefault(refusal) + 1;
                }
            }
        }
        lock (report)
        {
            report.Cases = Math.Min(i, end) - first;
            report.Elapsed = clock.Elapsed;
        }
    }

    private static string Describe(Exception e)
    {
        var frame = e.StackTrace?.Split('\n').FirstOrDefault()?.Trim() ?? "";
        var message = e.Message.Length > 300 ? e.Message[..300] + "…" : e.Message;
        return $"{message} ({frame})";
    }

    private static void Fail(FuzzTarget target, FuzzSettings settings, FuzzReport report, long index, long replayFrom, string kind, string detail, IReadOnlyList<byte[]> inputs)
    {
        report.FailureCount++;
        // One reproducer per kind of failure: the same message with other numbers is the same finding.
        string signature = Signature(kind, detail);
        if (report.Failures.Count >= 20 || report.Failures.Any(f => Signature(f.Kind, f.Detail) == signature)) return;
        string? path = null;
        if (settings.OutDirectory is { } directory)
        {
            Directory.CreateDirectory(directory);
            path = Path.Combine(directory, $"{target.Name}-seed{settings.Seed}-case{index}.hex");
            File.WriteAllText(path, HexDump(target, settings, index, replayFrom, kind, detail, inputs));
        }
        report.Failures.Add(new FuzzFailure(target.Name, settings.Seed, index, replayFrom, kind, detail, path));
    }

    private static string Signature(string kind, string detail) =>
        kind + ":" + System.Text.RegularExpressions.Regex.Replace(detail, "-?[0-9]+", "#");

    /// <summary>The reproducer file: how to replay, then each input (the failing one last) as hex.</summary>
    public static string HexDump(FuzzTarget target, FuzzSettings settings, long index, long replayFrom, string kind, string detail, IReadOnlyList<byte[]> inputs)
    {
        var text = new StringBuilder();
        text.AppendLine($"# braid bench fuzz --target {target.Name} --seed {settings.Seed} --mode {settings.Mode.ToString().ToLowerInvariant()} --case {index}");
        text.AppendLine($"# {kind}: {detail}");
        for (int k = 0; k < inputs.Count; k++)
        {
            text.AppendLine($"# case {replayFrom + k}{(k == inputs.Count - 1 ? " (failing)" : "")}: {inputs[k].Length} bytes");
            for (int at = 0; at < inputs[k].Length; at += 32)
                text.AppendLine(Convert.ToHexString(inputs[k], at, Math.Min(32, inputs[k].Length - at)));
        }
        return text.ToString();
    }

    /// <summary>The seed of case <paramref name="index"/>: a mix of the run's seed, the target and the index.</summary>
    public static int CaseSeed(int seed, int nameHash, long index)
    {
        ulong x = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)(uint)nameHash * 0xC2B2AE3D27D4EB4FUL ^ (ulong)index;
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDUL;
        x ^= x >> 33;
        return (int)(x & 0x7FFF_FFFF);
    }

    private static int StableHash(string text) => (int)Core.Fnv1a.Hash(Encoding.UTF8.GetBytes(text));
}
