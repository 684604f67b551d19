using Braid.Cli.Hosts;

namespace Braid.Cli.Tests.Lab;

/// <summary>A veth that vanishes with its namespace while braid deletes it is gone, not left over
/// (a chaos run exited 1 over one); one that stays is reported.</summary>
public sealed class LinkRemovalTests
{
    [Fact]
    public void ALinkThatVanishesByItselfAfterAFailedDeleteCountsAsRemoved()
    {
        var checks = 0;
        var slept = TimeSpan.Zero;
        // The delete fails (the kernel is tearing the link down); the link is gone 200 ms later.
        var removed = Netns.Removed(delete: () => false, exists: () => ++checks < 6, sleep: t => slept += t);
        Assert.True(removed);
        Assert.InRange(slept, TimeSpan.FromMilliseconds(150), TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void ALinkThatStaysIsReportedAfterTheWaitAndOneMoreDelete()
    {
        var deletes = 0;
        var slept = TimeSpan.Zero;
        var removed = Netns.Removed(delete: () => { deletes++; return false; }, exists: () => true, sleep: t => slept += t);
        Assert.False(removed);
        Assert.Equal(2, deletes);
        Assert.True(slept >= Netns.VanishWait);
    }

    [Fact]
    public void AMissingLinkIsNotDeletedAndADeleteThatWorksEndsAtOnce()
    {
        Assert.True(Netns.Removed(delete: () => throw new InvalidOperationException("must not delete"), exists: () => false, sleep: _ => { }));
        var slept = TimeSpan.Zero;
        Assert.True(Netns.Removed(delete: () => true, exists: () => true, sleep: t => slept += t));
        Assert.Equal(TimeSpan.Zero, slept);
    }
}
