using Braid.Node.Services;

namespace Braid.Node.Tests.Services;

public sealed class ByteBudgetTests
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_taker_waits_while_the_budget_is_used_up_and_goes_on_when_bytes_return()
    {
        var budget = new ByteBudget(100);
        await budget.TakeAsync(60, CancellationToken.None).AsTask().WaitAsync(Soon);
        await budget.TakeAsync(40, CancellationToken.None).AsTask().WaitAsync(Soon);
        var third = budget.TakeAsync(10, CancellationToken.None).AsTask();
        await Task.Delay(100);
        Assert.False(third.IsCompleted);
        Assert.Equal(100, budget.Held);
        budget.Give(40);
        await third.WaitAsync(Soon);
        Assert.Equal(70, budget.Held);
    }

    [Fact]
    public async Task A_batch_larger_than_the_budget_passes_alone_so_it_never_wedges_a_stream()
    {
        var budget = new ByteBudget(100);
        await budget.TakeAsync(500, CancellationToken.None).AsTask().WaitAsync(Soon);
        var next = budget.TakeAsync(1, CancellationToken.None).AsTask();
        await Task.Delay(100);
        Assert.False(next.IsCompleted);
        budget.Give(500);
        await next.WaitAsync(Soon);
    }

    [Fact]
    public async Task A_cancelled_taker_takes_nothing_and_giving_back_more_than_taken_is_a_bug()
    {
        var budget = new ByteBudget(10);
        await budget.TakeAsync(10, CancellationToken.None);
        using var cancel = new CancellationTokenSource(50);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => budget.TakeAsync(5, cancel.Token).AsTask());
        Assert.Equal(10, budget.Held);
        budget.Give(10);
        Assert.Throws<InvalidOperationException>(() => budget.Give(1));
    }
}
