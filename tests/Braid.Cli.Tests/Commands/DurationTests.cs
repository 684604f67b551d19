using Braid.Cli.Cluster;
using Braid.Cli.Commands;

namespace Braid.Cli.Tests.Commands;

/// <summary>`braid stream create --retain-time` durations.</summary>
public sealed class DurationTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("90s", 90_000)]
    [InlineData("30m", 1_800_000)]
    [InlineData("12h", 43_200_000)]
    [InlineData("7d", 604_800_000)]
    public void Durations_parse(string text, long milliseconds) => Assert.Equal(milliseconds, (long)StreamCommands.ParseDuration(text).TotalMilliseconds);

    [Theory]
    [InlineData("")]
    [InlineData("7")]
    [InlineData("-5s")]
    [InlineData("0s")]
    [InlineData("1.5h")]
    [InlineData("3w")]
    public void Anything_else_is_a_clear_error(string text) =>
        Assert.Contains("is not a duration", Assert.Throws<CliException>(() => StreamCommands.ParseDuration(text)).Message);
}
