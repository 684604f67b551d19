using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Braid.Cli.Commands;
using Braid.Client;

namespace Braid.Cli.Bench;

/// <summary>
/// Files (issue 13, item 3): a file of random bytes put into a raw stream of a fresh cluster
/// (R=3, acknowledged after a majority's fsync) and got back, each timed from the call to its
/// end: the put's hashing pass and sending, the get until the verified file has its name.
/// MB are 2^20 bytes.
/// </summary>
internal static class FilesBench
{
    private const string Stream = "files";

    public static async Task<Json.FilesBenchReport> RunAsync(string topology, int sizeMb, string directory, int basePort, TextWriter output,
        CancellationToken ct)
    {
        await using var cluster = await BenchCluster.StartAsync(topology, directory, basePort, TextWriter.Null, ct, partitions: 3)
            .ConfigureAwait(false);
        var seeds = cluster.State.Nodes.Select(n => n.Address).ToList();
        using var braid = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = seeds, Tls = cluster.Tls }, ct).ConfigureAwait(false);
        await braid.CreateStreamAsync(Stream, "raw", 3, 3, 0, ct).ConfigureAwait(false);
        // Not timed: the new stream's partitions electing their first leaders.
        var ready = await StreamCommands.WaitForLeadersAsync(braid, Stream, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        if (ready is null || ready.Partitions.Any(p => p.Leader.Length == 0))
            throw new Cluster.CliException($"stream '{Stream}' has partitions without a leader after 30 s");
        var source = Path.Combine(directory, "source.bin");
        var copy = Path.Combine(directory, "copy.bin");
        var size = (long)sizeMb << 20;
        output.WriteLine($"files on {topology}: a file of {sizeMb} MB of random bytes put into raw stream '{Stream}' (3 partitions, R=3) and got back");
        var expected = await WriteRandomFileAsync(source, size, ct).ConfigureAwait(false);
        try
        {
            var putProgress = new FileProgressPrinter(output);
            var clock = Stopwatch.StartNew();
            var put = await braid.PutFileAsync(Stream, "bench.bin", source, putProgress, ct).ConfigureAwait(false);
            putProgress.Finish();
            var putSeconds = clock.Elapsed.TotalSeconds;
            var hashSeconds = putProgress.Seconds(FileTransferPhase.Hashing);
            var sendSeconds = putProgress.Seconds(FileTransferPhase.Sending);

            var getProgress = new FileProgressPrinter(output);
            clock.Restart();
            var got = await braid.GetFileAsync(Stream, "bench.bin", copy, getProgress, ct).ConfigureAwait(false);
            getProgress.Finish();
            var getSeconds = clock.Elapsed.TotalSeconds;

            var verified = got.Manifest.Sha256 == expected && put.Manifest.Sha256 == expected && new FileInfo(copy).Length == size;
            double Rate(double seconds) => Math.Round(size / 1048576.0 / Math.Max(1e-6, seconds), 1);
            var report = new Json.FilesBenchReport(topology, size, put.Manifest.Chunks, put.Partition,
                Math.Round(hashSeconds, 2), Math.Round(putSeconds, 2), Math.Round(getSeconds, 2),
                Rate(putSeconds), Rate(sendSeconds), Rate(getSeconds), braid.Stats.Retries, PeakRssMb(), verified);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"put {sizeMb} MB in {putSeconds:F2} s: {report.PutMegabytesPerSecond:F1} MB/s (hashing {hashSeconds:F2} s, then sending at {report.SendMegabytesPerSecond:F1} MB/s)"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"get {sizeMb} MB in {getSeconds:F2} s: {report.GetMegabytesPerSecond:F1} MB/s"));
            output.WriteLine($"sha256 {expected}: {(verified ? "the copy matches" : "MISMATCH")}; {put.Manifest.Chunks} chunks in partition {put.Partition}; client retries {braid.Stats.Retries}; "
                + $"peak RSS of this process (the client) {report.ClientPeakRssMb} MB");
            return report;
        }
        finally
        {
            File.Delete(source);
            File.Delete(copy);
        }
    }

    /// <summary>This process's peak resident memory (VmHWM), in MB: the client's, the nodes being processes of their own.</summary>
    private static double PeakRssMb()
    {
        using var self = Process.GetCurrentProcess();
        return Math.Round(self.PeakWorkingSet64 / 1048576.0, 1);
    }

    /// <summary>Writes <paramref name="size"/> seeded random bytes; returns their SHA-256 (hex).</summary>
    private static async Task<string> WriteRandomFileAsync(string path, long size, CancellationToken ct)
    {
        var random = new Random(13);
        var buffer = new byte[4 << 20];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        for (long done = 0; done < size;)
        {
            var n = (int)Math.Min(buffer.Length, size - done);
            random.NextBytes(buffer.AsSpan(0, n));
            hash.AppendData(buffer, 0, n);
            await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
            done += n;
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
