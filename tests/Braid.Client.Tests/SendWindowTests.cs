using Braid.Client;

namespace Braid.Client.Tests;

/// <summary>The client's sending rule, which the simulator's producers run too.</summary>
public sealed class SendWindowTests
{
    [Fact]
    public void AStreamSendsEachHeldBatchOnceInOrderAndANewStreamSendsEveryUnacknowledgedOneAgain()
    {
        var window = new SendWindow<string>(3);
        window.Add(1, "a");
        window.Add(2, "b");
        Assert.Equal([(1ul, "a"), (2ul, "b")], window.TakeUnsent(now: 10));
        window.Add(3, "c");
        Assert.Equal([(3ul, "c")], window.TakeUnsent(now: 11));
        Assert.Empty(window.TakeUnsent(now: 12));

        Assert.True(window.Acknowledge(2, out var acked));
        Assert.Equal("b", acked);
        window.Reopen();
        Assert.Equal([(1ul, "a"), (3ul, "c")], window.TakeUnsent(now: 20)); // 2 is done; 1 and 3 again, in order
    }

    [Fact]
    public void TheWindowIsBoundedAndSequencesOnlyGoUp()
    {
        var window = new SendWindow<int>(2);
        window.Add(5, 0);
        window.Add(6, 0);
        Assert.False(window.HasRoom);
        Assert.Throws<InvalidOperationException>(() => window.Add(7, 0));
        Assert.True(window.Acknowledge(5, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => window.Add(6, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SendWindow<int>(0));
    }

    [Fact]
    public void ASecondAnswerForAResentBatchIsIgnored()
    {
        var window = new SendWindow<int>(2);
        window.Add(1, 0);
        Assert.True(window.Acknowledge(1, out _));
        Assert.False(window.Acknowledge(1, out _));
        Assert.True(window.IsEmpty);
    }

    [Fact]
    public void AnAcknowledgementIsOverdueOnlyForTheOldestBatchSentLongerAgoThanTheTimeout()
    {
        var window = new SendWindow<int>(3);
        window.Add(1, 0);
        Assert.False(window.AckOverdue(now: 1_000, timeout: 100)); // held, never sent
        window.TakeUnsent(now: 0);
        Assert.False(window.AckOverdue(now: 100, timeout: 100));
        Assert.True(window.AckOverdue(now: 101, timeout: 100));
        window.Add(2, 0);
        window.TakeUnsent(now: 100);
        Assert.True(window.Acknowledge(1, out _));
        Assert.False(window.AckOverdue(now: 150, timeout: 100)); // the oldest is now 2, sent at 100
    }
}
