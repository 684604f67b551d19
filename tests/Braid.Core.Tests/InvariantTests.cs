namespace Braid.Core.Tests;

public sealed class InvariantTests
{
    private static int formatted;

    private sealed class Counted
    {
        public override string ToString()
        {
            formatted++;
            return "counted";
        }
    }

    [Fact]
    public void AFailedCheckThrowsItsFormattedMessageAndAPassingOneFormatsNothing()
    {
        var value = new Counted();
        formatted = 0;
        Invariant.Check(true, $"never built: {value} {42}");
        Assert.Equal(0, formatted);

        var e = Assert.Throws<InvariantViolationException>(() => Invariant.Check(false, $"entry {7} of {value} at {1.5:F2}"));
        Assert.Equal("invariant violated: entry 7 of counted at 1.50", e.Message);
        Assert.Equal(1, formatted);
        Assert.Equal("invariant violated: plain", Assert.Throws<InvariantViolationException>(() => Invariant.Check(false, "plain")).Message);
    }
}
