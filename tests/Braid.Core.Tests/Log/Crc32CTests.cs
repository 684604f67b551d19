using System.Text;
using Braid.Core.Log;

namespace Braid.Core.Tests.Log;

public sealed class Crc32CTests
{
    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("a", 0xC1D04330u)]
    [InlineData("123456789", 0xE3069283u)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0x22620404u)]
    public void KnownVectors(string text, uint expected)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        Assert.Equal(expected, Crc32C.Compute(bytes));
        Assert.Equal(expected, Crc32C.ComputeSoftware(bytes));
    }

    [Fact]
    public void Rfc3720ThirtyTwoZeros()
    {
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x8A9136AAu, Crc32C.ComputeSoftware(new byte[32]));
    }

    [Fact]
    public void HardwareSoftwareAndIncrementalAgree()
    {
        var random = new Random(7);
        for (int length = 0; length < 300; length++)
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            uint whole = Crc32C.ComputeSoftware(bytes);
            Assert.Equal(whole, Crc32C.Compute(bytes));
            int split = length == 0 ? 0 : random.Next(length);
            Assert.Equal(whole, Crc32C.Append(Crc32C.Compute(bytes.AsSpan(0, split)), bytes.AsSpan(split)));
        }
    }
}
