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
    StreamCommands.Stream(),
    StreamCommands.Produce(),
    StreamCommands.Tail(),
    FileCommands.Put(),
    FileCommands.Get(),
    PlacementCommand.Create(),
    GenCommand.Create(),
};
// SIGINT (Ctrl-C) and SIGTERM cancel the running command's token, so it cleans up what it
// started (a demo's or a benchmark's cluster: no orphan node processes) and exits 130; a second
// signal ends the process at once. (System.CommandLine's own handling is off: it kills the
// process after a fixed timeout, too soon for a cluster to stop.)
using var shutdown = new CancellationTokenSource();
void OnSignal(System.Runtime.InteropServices.PosixSignalContext context)
{
    if (shutdown.IsCancellationRequested) return;
    context.Cancel = true;
    // The callbacks run on the thread pool, not here: with Cancel() the command's continuations
    // (its clean-up, then the end of the program) ran on the runtime's signal-handling thread.
    _ = shutdown.CancelAsync();
}
using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, OnSignal);
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, OnSignal);
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, shutdown.Token).ConfigureAwait(false);
