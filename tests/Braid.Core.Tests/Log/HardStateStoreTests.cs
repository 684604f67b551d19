using Braid.Core.Log;
using Braid.Simulation;

namespace Braid.Core.Tests.Log;

public sealed class HardStateStoreTests
{
    [Fact]
    public void ANewDeviceHasTheInitialState()
    {
        Assert.Equal(HardState.Initial, new HardStateStore(new SimulatedDevice(1)).Load());
    }

    [Theory]
    [InlineData(1UL, null, 0UL)]
    [InlineData(9UL, "E", 120UL)]
    [InlineData(ulong.MaxValue, "nœud-α", ulong.MaxValue)]
    public void SavedStatesRoundTrip(ulong term, string? vote, ulong commit)
    {
        var device = new SimulatedDevice(1);
        new HardStateStore(device).Save(new HardState(term, vote, commit));
        Assert.Equal(new HardState(term, vote, commit), new HardStateStore(device).Load());
    }

    [Fact]
    public void ASaveIsDurableOnReturnWithOneFileAndOneDirectoryFsync()
    {
        var device = new SimulatedDevice(1);
        var store = new HardStateStore(device);
        store.Save(new HardState(3, "A", 1));
        Assert.Equal((1L, 1L), (device.SyncCount, device.DirectorySyncCount));
        device.Crash(SimulatedCrash.LoseUnsynced);
        Assert.Equal(new HardState(3, "A", 1), store.Load());
        Assert.DoesNotContain(HardStateStore.TemporaryName, device.ListNames());
    }

    [Fact]
    public void AnEmptyVoteIsNotANullVote()
    {
        var device = new SimulatedDevice(1);
        new HardStateStore(device).Save(new HardState(2, string.Empty, 0));
        Assert.Equal(string.Empty, new HardStateStore(device).Load().VotedFor);
    }
}
