using Braid.Cli.Cluster;
using Grpc.Core;

namespace Braid.Cli.Commands;

/// <summary>Runs a command body and turns expected failures into a clear message and exit code.</summary>
internal static class CommandRunner
{
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (CliException e)
        {
            await Console.Error.WriteLineAsync("braid: " + e.Message).ConfigureAwait(false);
            return e.ExitCode;
        }
        catch (Braid.Client.BraidException e)
        {
            await Console.Error.WriteLineAsync("braid: " + e.Message).ConfigureAwait(false);
            return 2;
        }
        catch (RpcException e)
        {
            await Console.Error.WriteLineAsync($"braid: {e.Status.StatusCode}: {e.Status.Detail}").ConfigureAwait(false);
            return 2;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("braid: cancelled").ConfigureAwait(false);
            return 130;
        }
    }
}
