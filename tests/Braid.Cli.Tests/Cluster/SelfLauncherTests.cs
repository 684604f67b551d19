using Braid.Cli.Cluster;

namespace Braid.Cli.Tests.Cluster;

/// <summary>Processes braid starts (nodes above all) get the runtime knob that lets hot methods
/// be optimized without waiting for start-up compilation to go quiet; a value the user set wins.</summary>
public sealed class SelfLauncherTests
{
    [Fact]
    public void StartedProcessesOptimizeHotMethodsWithoutTheStartUpDelayUnlessTheUserSetIt()
    {
        var info = SelfLauncher.StartInfo(["node", "--help"]);
        var mine = Environment.GetEnvironmentVariable(SelfLauncher.CallCountingDelay);
        Assert.Equal(mine ?? "0", info.Environment[SelfLauncher.CallCountingDelay]);
        Assert.Contains("node", info.ArgumentList);
    }
}
