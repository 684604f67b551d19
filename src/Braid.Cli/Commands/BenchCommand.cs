using System.CommandLine;
using Braid.Cli.Bench;

namespace Braid.Cli.Commands;

internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks that report figures (each starts and stops what it needs)");
        bench.Subcommands.Add(Reroute());
        bench.Subcommands.Add(Idle());
        return bench;
    }

    private static Option<int> Port(int port) => new("--base-port") { Description = "First port of the benchmark cluster", DefaultValueFactory = _ => port };

    private static Option<string> Dir(string name) => new("--dir") { Description = "Scratch folder (deleted and recreated)", DefaultValueFactory = _ => Path.Combine(".braid", name) };

    private static Command Reroute()
    {
        var trials = new Option<int>("--trials") { Description = "Number of trials", DefaultValueFactory = _ => 20 };
        var pause = new Option<bool>("--pause") { Description = "Freeze B with SIGSTOP instead of killing it (detection by phi instead of a broken stream)" };
        var port = Port(7610);
        var dir = Dir("bench-reroute");
        var command = new Command("reroute", "Time from losing node B on the path A-B-D of mini2 until probes from A reach D through E")
        {
            trials, pause, port, dir,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() =>
            RerouteBench.RunAsync(Math.Max(1, p.GetValue(trials)), p.GetValue(pause), p.GetValue(dir)!, p.GetValue(port), Console.Out, ct)));
        return command;
    }

    private static Command Idle()
    {
        var topology = Options.Topology();
        var seconds = new Option<int>("--seconds") { Description = "Sampling period", DefaultValueFactory = _ => 20 };
        var port = Port(7630);
        var dir = Dir("bench-idle");
        var command = new Command("idle", "CPU (share of one core) and resident memory of each node of an idle cluster")
        {
            topology, seconds, port, dir,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() =>
            IdleBench.RunAsync(p.GetValue(topology)!, Math.Max(1, p.GetValue(seconds)), p.GetValue(dir)!, p.GetValue(port), Console.Out, ct)));
        return command;
    }
}
