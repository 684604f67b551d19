using System.CommandLine;
using Braid.Cli.Commands;

var root = new RootCommand("Braid: fault-tolerant streaming of records over a gRPC overlay of nodes")
{
    DemoCommand.Create(),
    NodeCommand.Create(),
    Braid.Cli.Security.CertsCommand.Create(),
    ClusterCommand.Create(),
    StatusCommand.Create(),
    ChaosCommand.Create(),
    PingCommand.Create(),
    FaultCommand.Create(),
    BenchCommand.Create(),
    SimCommand.Create(),
    LoadCommand.Create(),
    QueryCommands.Query(),
    QueryCommands.Count(),
    QueryCommands.Stats(),
    PlacementCommand.Create(),
    GenCommand.Create(),
};
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
