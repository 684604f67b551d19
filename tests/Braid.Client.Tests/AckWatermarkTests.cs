namespace Braid.Client.Tests;

/// <summary>The ingest checkpoint: the first batch not acknowledged, with every batch below it acknowledged.</summary>
public sealed class AckWatermarkTests
{
    [Fact]
    public void Batches_acknowledged_out_of_order_move_the_watermark_only_when_the_gap_below_them_closes()
    {
        var watermark = new AckWatermark(first: 5);
        Assert.True(watermark.Acknowledge(7));
        Assert.True(watermark.Acknowledge(6));
        Assert.Equal(5, watermark.Watermark);
        Assert.True(watermark.Acknowledge(5));
        Assert.Equal(8, watermark.Watermark);
        Assert.False(watermark.Acknowledge(6)); // below the watermark
        Assert.True(watermark.Acknowledge(9));
        Assert.False(watermark.Acknowledge(9)); // twice
        Assert.Equal(8, watermark.Watermark);
    }

    [Fact]
    public void A_stuck_batch_far_below_many_acknowledged_ones_holds_the_watermark_across_words_and_growth()
    {
        var watermark = new AckWatermark(first: 100);
        // Every batch but those of "partition 0" (every 4th from 100) acknowledged: thousands above a gap.
        for (var b = 100L; b < 10_100; b++) if ((b - 100) % 4 != 0) Assert.True(watermark.Acknowledge(b));
        Assert.Equal(100, watermark.Watermark);
        for (var b = 100L; b < 5_000; b += 4) watermark.Acknowledge(b);
        Assert.Equal(5_000, watermark.Watermark); // 5000 = 100 + 4 × 1225: the first batch of partition 0 still missing
        for (var b = 5_000L; b < 10_100; b += 4) watermark.Acknowledge(b);
        Assert.Equal(10_100, watermark.Watermark);
        Assert.True(watermark.Acknowledge(10_164)); // after the ring emptied: a new word
        Assert.Equal(10_100, watermark.Watermark);
    }

    [Fact]
    public void Acknowledging_in_order_keeps_the_watermark_right_behind_the_last_batch()
    {
        var watermark = new AckWatermark(first: 0);
        for (var b = 0L; b < 1_000; b++)
        {
            Assert.True(watermark.Acknowledge(b));
            Assert.Equal(b + 1, watermark.Watermark);
        }
    }
}
