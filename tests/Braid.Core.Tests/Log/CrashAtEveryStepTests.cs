using Braid.Core.Log;
using Braid.Simulation;

namespace Braid.Core.Tests.Log;

/// <summary>
/// Runs one workload again and again, losing power before the 0th, 1st, 2nd ... device
/// operation, under every crash mode. After each crash the recovered log must be a prefix of
/// what was written and must hold every entry that was reported durable (issue 3).
/// </summary>
public sealed class CrashAtEveryStepTests
{
    private static readonly LogOptions Options = new() { SegmentBytesMax = 400, ScanBufferBytes = 64 };

    [Theory]
    [InlineData(SimulatedCrash.LoseUnsynced)]
    [InlineData(SimulatedCrash.KeepRandomPrefix)]
    [InlineData(SimulatedCrash.TearLastWrite)]
    public void RecoveredLogIsAPrefixHoldingEveryDurableEntry(SimulatedCrash mode)
    {
        // Random crash outcomes get several seeds per crash point; the others are deterministic.
        int seedsPerStep = mode == SimulatedCrash.LoseUnsynced ? 1 : 8;
        for (long crashAt = 0; ; crashAt++)
        {
            bool finished = false;
            for (int seed = 0; seed < seedsPerStep; seed++)
            {
                finished = RunUntilPowerLoss(crashAt, mode, seed: (int)(crashAt * seedsPerStep) + seed);
            }

            if (finished)
            {
                Assert.True(crashAt > 100, $"workload too short: only {crashAt} device operations");
                return;
            }
        }
    }

    [Fact]
    public void HardStateSurvivesACrashAtEveryStepAsOldOrNew()
    {
        var states = new[] { new HardState(1, "A", 0), new HardState(2, null, 5), new HardState(3, "node-c", 9) };
        for (long crashAt = 0; crashAt < 40; crashAt++)
        {
            var device = new CrashingDevice(new SimulatedDevice((int)crashAt));
            var store = new HardStateStore(device);
            HardState saved = HardState.Initial;
            device.CrashAfter(crashAt);
            HardState? attempted = null;
            try
            {
                foreach (HardState state in states)
                {
                    attempted = state;
                    store.Save(state);
                    saved = state;
                }
            }
            catch (PowerLossException)
            {
                device.Inner.Crash(SimulatedCrash.KeepRandomPrefix);
            }

            device.Disarm();
            HardState loaded = new HardStateStore(device).Load();
            Assert.True(loaded == saved || loaded == attempted, $"crash at {crashAt}: loaded {loaded}, saved {saved}, attempted {attempted}");
        }
    }

    /// <summary>Returns true when the workload ran to its end without reaching <paramref name="crashAt"/>.</summary>
    private static bool RunUntilPowerLoss(long crashAt, SimulatedCrash mode, int seed)
    {
        var device = new CrashingDevice(new SimulatedDevice(seed));
        var model = new LogModel();
        LogModel before = model.Clone();
        device.CrashAfter(crashAt);
        SegmentedLog? log = null;
        try
        {
            log = SegmentedLog.Open(device, Options);
            Workload(log, model, ref before);
            return true;
        }
        catch (Exception) when (device.Tripped)
        {
            log?.Dispose();
            device.Inner.Crash(mode);
        }

        device.Disarm();
        CheckRecovery(device, model, before, $"crash before operation {crashAt} ({mode})");
        return false;
    }

    /// <summary>Appends across several segments, syncs in groups, truncates a suffix and a prefix.</summary>
    private static void Workload(SegmentedLog log, LogModel model, ref LogModel before)
    {
        var random = new Random(42);
        for (int round = 0; round < 16; round++)
        {
            before = model.Clone();
            if (round == 6)
            {
                // The model changes first: while an operation runs, its effect may or may not
                // have reached the disk, and both outcomes must pass the check.
                ulong from = log.LastIndex - 3;
                model.TruncateFrom(from);
                log.TruncateSuffix(from);
            }

            if (round == 9)
            {
                log.TruncatePrefix(log.LastIndex / 2);
                model.Durable = model.Last;
            }

            for (int i = 0; i < 1 + (round % 4); i++)
            {
                byte[] payload = LogModel.RandomPayload(random, 90);
                ulong term = 1 + ((ulong)round / 3);
                model.Append(term, payload);
                log.Append(term, payload);
            }

            model.Durable = log.Sync();
        }
    }

    private static void CheckRecovery(CrashingDevice device, LogModel model, LogModel before, string what)
    {
        using SegmentedLog recovered = SegmentedLog.Open(device, Options);
        Assert.True(recovered.LastIndex >= model.Durable, $"{what}: recovered {recovered.LastIndex}, durable was {model.Durable}");
        string? mismatch = model.MismatchIn(recovered);
        string? mismatchBefore = before.MismatchIn(recovered);
        Assert.True(mismatch is null || mismatchBefore is null, $"{what}: not a prefix of what was written: {mismatch}");

        // The recovered log must take new appends and keep them.
        ulong next = recovered.Append(Math.Max(recovered.LastTerm, 99), [1, 2, 3]);
        recovered.Sync();
        Assert.Equal(next, recovered.LastDurableIndex);
    }
}
