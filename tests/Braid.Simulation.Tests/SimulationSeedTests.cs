using Braid.Core.Topology;

namespace Braid.Simulation.Tests;

public sealed class SimulationSeedTests
{
    internal static ClusterTopology Mini2() =>
        TopologyLoader.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "topologies", "mini2.json")), "mini2.json");

    internal static readonly string[][] Mini2Groups = [["A", "B", "E"], ["B", "D", "E"], ["A", "D", "E"]];

    [Fact]
    public void A_few_seeds_run_clean()
    {
        var failures = new List<string>();
        for (var seed = 1; seed <= 20; seed++)
        {
            var result = new Simulation(Mini2(), Mini2Groups, seed, new SimOptions()).Run();
            Console.WriteLine($"seed {seed}: acked {result.Acked} retries {result.Retries} messages {result.Messages} {(result.Ok ? "ok" : string.Join("; ", result.Violations))}");
            if (!result.Ok) failures.Add($"seed {seed}: {string.Join("; ", result.Violations)}");
        }
        Assert.Empty(failures);
    }
}
