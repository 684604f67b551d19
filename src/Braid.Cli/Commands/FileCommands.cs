using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Braid.Client;

namespace Braid.Cli.Commands;

/// <summary>braid put and braid get: files of any size in a raw stream, as chunks (issue 13, item 3).</summary>
internal static class FileCommands
{
    public static Command Put()
    {
        var client = new ClientOptions();
        var file = new Argument<string>("file") { Description = "The file to store" };
        var name = new Option<string?>("--name", "-n") { Description = "Name of the object in the stream (default: the file's name, without its folder)" };
        var json = Options.Json();
        var command = new Command("put",
            "Store a file of any size in a raw stream: ~1 MiB chunks in the partition its name hashes to, then a manifest with its size and SHA-256, exactly once. "
            + "The file is read twice: first to hash it (the hash, with the stream and name, is the put's identity), then to send it. "
            + "If the put stops (Ctrl-C, a crash, a dead node), run it again: it sends only the chunks not yet stored and says how many were. "
            + "A new file under the same name is a new version; get reads the latest complete one. Progress on stderr (MB = 2^20 bytes).");
        client.StreamName.Description = "A raw stream (braid stream create NAME)";
        client.AddTo(command);
        command.Arguments.Add(file);
        command.Options.Add(name);
        command.Options.Add(json);
        command.SetAction((p, ct) => CommandRunner.RunAsync(async () =>
        {
            var path = p.GetValue(file)!;
            if (!File.Exists(path)) throw new Cluster.CliException($"no file '{path}'");
            var objectName = p.GetValue(name) ?? Path.GetFileName(path);
            using var braid = await client.ConnectAnyAsync(p, ct).ConfigureAwait(false);
            var stream = p.GetValue(client.StreamName)!;
            var printer = new FileProgressPrinter(Console.Error);
            var result = await braid.PutFileAsync(stream, objectName, path, printer, ct).ConfigureAwait(false);
            printer.Finish();
            var m = result.Manifest;
            if (p.GetValue(json))
            {
                Json.CliJson.Print(new Json.FileTransferReport("put", stream, m.Name, m.ObjectId, result.Partition, m.Size, m.Chunks, m.Sha256,
                    result.ChunksAlreadyStored, result.AlreadyComplete, 0, 1, printer.Seconds(FileTransferPhase.Hashing), printer.Seconds(FileTransferPhase.Sending)));
                return 0;
            }
            var before = result.AlreadyComplete ? "already stored whole: nothing sent"
                : result.ChunksAlreadyStored > 0 ? $"{result.ChunksAlreadyStored} of {m.Chunks} chunks were already stored" : "all chunks sent";
            Console.WriteLine($"stored '{m.Name}' in {stream}/{result.Partition}: {m.Size} bytes, {m.Chunks} chunks, sha256 {m.Sha256}, object {m.ObjectId} ({before})");
            return 0;
        }));
        return command;
    }

    public static Command Get()
    {
        var client = new ClientOptions();
        var name = new Argument<string>("name") { Description = "Name of the object (as put stored it)" };
        var output = new Argument<string>("out") { Description = "File to write; fetched into OUT.part (and OUT.part.resume) and renamed once its SHA-256 matches" };
        var json = Options.Json();
        var command = new Command("get",
            "Fetch a file stored by put: the latest complete version of NAME, checked against its manifest's SHA-256 before OUT takes its name (a failed get never leaves OUT). "
            + "If the get stops (Ctrl-C, a crash, a dead node), run it again: it continues from OUT.part. "
            + "It reads the partition that holds NAME from its start, so other objects there travel too. Progress on stderr (MB = 2^20 bytes).");
        client.StreamName.Description = "The raw stream that holds the file";
        client.AddTo(command);
        command.Arguments.Add(name);
        command.Arguments.Add(output);
        command.Options.Add(json);
        command.SetAction((p, ct) => CommandRunner.RunAsync(async () =>
        {
            using var braid = await client.ConnectAnyAsync(p, ct).ConfigureAwait(false);
            var stream = p.GetValue(client.StreamName)!;
            var printer = new FileProgressPrinter(Console.Error);
            var destination = p.GetValue(output)!;
            var result = await braid.GetFileAsync(stream, p.GetValue(name)!, destination, printer, ct).ConfigureAwait(false);
            printer.Finish();
            var m = result.Manifest;
            if (p.GetValue(json))
            {
                Json.CliJson.Print(new Json.FileTransferReport("get", stream, m.Name, m.ObjectId, result.Partition, m.Size, m.Chunks, m.Sha256,
                    0, false, result.BytesResumed, result.Passes, printer.Seconds(FileTransferPhase.Verifying), printer.Seconds(FileTransferPhase.Receiving)));
                return 0;
            }
            var resumed = result.BytesResumed > 0 ? $"; resumed after {Mb(result.BytesResumed)} MB" : "";
            Console.WriteLine($"wrote {destination}: {m.Size} bytes, sha256 {m.Sha256} (verified), object {m.ObjectId}{resumed}");
            return 0;
        }));
        return command;
    }

    internal static string Mb(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
}

/// <summary>
/// Progress of a put or get as lines on a writer (stderr): at most four a second, one at the end
/// of each phase, with MB done, the total and the rate of this run (bytes an earlier run did are
/// not counted in the rate). Reported synchronously from the client's threads, hence the lock.
/// </summary>
internal sealed class FileProgressPrinter(TextWriter output) : IProgress<FileTransferProgress>
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(250);
    private readonly object gate = new();
    private readonly Dictionary<FileTransferPhase, double> seconds = [];
    private FileTransferProgress? last;
    private long lastAt;
    private long phaseStart;
    private long startBytes;
    private long printedAt;

    public void Report(FileTransferProgress value)
    {
        lock (gate)
        {
            if (last is { } previous && previous.Phase != value.Phase) EndPhase(previous);
            if (last is null || last.Value.Phase != value.Phase)
            {
                phaseStart = Stopwatch.GetTimestamp();
                startBytes = value.Bytes;
                printedAt = phaseStart;
                if (value.Phase == FileTransferPhase.Sending && value.Bytes > 0)
                    output.WriteLine($"  resuming: {FileCommands.Mb(value.Bytes)} MB already stored by an earlier put");
            }
            last = value;
            lastAt = Stopwatch.GetTimestamp();
            if (Stopwatch.GetElapsedTime(printedAt) < Period) return;
            printedAt = Stopwatch.GetTimestamp();
            Print(value);
        }
    }

    /// <summary>Prints the last phase's final line.</summary>
    public void Finish()
    {
        lock (gate)
        {
            if (last is { } l) EndPhase(l);
            last = null;
        }
    }

    /// <summary>How long a phase took in this run, from its first report to its last (0 if it did not run).</summary>
    public double Seconds(FileTransferPhase phase)
    {
        lock (gate) return Math.Round(seconds.GetValueOrDefault(phase), 3);
    }

    private void EndPhase(FileTransferProgress final)
    {
        seconds[final.Phase] = Stopwatch.GetElapsedTime(phaseStart, lastAt).TotalSeconds;
        Print(final, lastAt);
    }

    private void Print(FileTransferProgress p, long? at = null)
    {
        var elapsed = Math.Max(1e-6, Stopwatch.GetElapsedTime(phaseStart, at ?? Stopwatch.GetTimestamp()).TotalSeconds);
        var rate = (p.Bytes - startBytes) / 1048576.0 / elapsed;
        var total = p.TotalBytes >= 0 ? $" / {FileCommands.Mb(p.TotalBytes)}" : "";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {Verb(p.Phase),-10} {FileCommands.Mb(p.Bytes)}{total} MB  {rate,7:F1} MB/s"));
    }

    private static string Verb(FileTransferPhase phase) => phase switch
    {
        FileTransferPhase.Hashing => "hashing",
        FileTransferPhase.Sending => "sent",
        FileTransferPhase.Verifying => "verifying",
        _ => "received",
    };
}
