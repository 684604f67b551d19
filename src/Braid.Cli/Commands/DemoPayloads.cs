using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Braid.Cli.Bench;
using Braid.Client;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Cli.Commands;

/// <summary>
/// The demo's second act (issue 13, item 7): a raw stream of random binary payloads written
/// exactly once through a kill -9 of a partition leader while a live subscriber follows it, then
/// a file of 100 MB put through a kill -9 of its partition's leader and read back; every byte
/// checked, and what the subscriber saw compared with what was acknowledged.
/// </summary>
internal sealed class DemoPayloads(BenchCluster cluster, BraidClient client, string directory, TextWriter output)
{
    private const int PayloadBatches = 60;
    private const int RecordsPerBatch = 10;

    public sealed record Outcome(int Records, int Tailed, int TailDuplicates, int Mismatched, long FileBytes, double PutMBps, double GetMBps, bool FileExact, string Faults)
    {
        public bool Ok => Tailed == Records && TailDuplicates == 0 && Mismatched == 0 && FileExact;
    }

    public async Task<Outcome> RunAsync(int fileMegabytes, CancellationToken ct)
    {
        output.WriteLine("== act 2: payload streams. A raw stream of binary payloads, followed live by a subscriber, written through a kill -9");
        await client.CreateStreamAsync("payloads", "raw", 3, 3, 0, ct).ConfigureAwait(false);
        // The follower is `braid tail payloads --follow --format jsonl`, a process of its own, as a user would run it.
        var tailed = new Dictionary<(uint, ulong, uint), string>();
        var duplicates = 0;
        var info = Cluster.SelfLauncher.StartInfo(["tail", "payloads", "--follow", "--format", "jsonl", "--dir", cluster.Manager.Directory]);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        using var follower = System.Diagnostics.Process.Start(info) ?? throw new Cluster.CliException("could not start braid tail");
        using var stopFollower = new KillOnDispose(follower); // whatever happens, no orphan tail
        output.WriteLine($"   braid tail payloads --follow is following (pid {follower.Id})");
        _ = follower.StandardError.ReadToEndAsync(CancellationToken.None);
        var tail = Task.Run(async () =>
        {
            while (await follower.StandardOutput.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
            {
                using var json = System.Text.Json.JsonDocument.Parse(line);
                var root = json.RootElement;
                var position = (root.GetProperty("partition").GetUInt32(), root.GetProperty("index").GetUInt64(), root.GetProperty("ordinal").GetUInt32());
                var value = Convert.FromBase64String(root.GetProperty("value").GetString()!);
                lock (tailed)
                    if (!tailed.TryAdd(position, Hash(value))) duplicates++;
            }
        }, CancellationToken.None);

        var random = new Random(2026);
        var sent = new List<string>();
        var sequences = new ulong[3];
        var producer = (ulong)random.NextInt64(1, long.MaxValue);
        var faults = new List<string>();
        for (var b = 0; b < PayloadBatches; b++)
        {
            if (b == PayloadBatches / 3 && await KillLeaderAsync("payloads", 0, ct).ConfigureAwait(false) is { } killed) faults.Add($"kill -9 {killed} (leader of payloads/0) mid-write");
            var partition = (uint)(b % 3);
            var records = Enumerable.Range(0, RecordsPerBatch).Select(_ =>
            {
                var value = new byte[random.Next(8) == 0 ? 0 : random.Next(1, 64 * 1024)];
                random.NextBytes(value);
                if (value.Length >= 256) for (var v = 0; v < 256; v++) value[v] = (byte)v;
                sent.Add(Hash(value));
                return new RawRecord { Key = ByteString.CopyFromUtf8($"k{b}"), Value = ByteString.CopyFrom(value), TimestampMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
            }).ToList();
            await client.AppendRawAsync("payloads", partition, producer, ++sequences[partition], records, ct).ConfigureAwait(false);
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   {sent.Count} binary records (0 B to 64 KiB, every byte value) acknowledged"));
        await RestartKilledAsync(ct).ConfigureAwait(false);

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"== a {fileMegabytes} MB file: put into a stream in 1 MiB chunks through a kill -9 of its partition's leader, read back, SHA-256 checked"));
        await client.CreateStreamAsync("files", "raw", 1, 3, 0, ct).ConfigureAwait(false);
        var source = Path.Combine(directory, "payload.bin");
        var back = Path.Combine(directory, "payload.back");
        WriteRandomFile(source, fileMegabytes, random);
        var killAt = (long)fileMegabytes * 1024 * 1024 * 4 / 10;
        // Found before the put and killed from the progress callback itself, so the kill always
        // lands mid-put, however fast the put is (a kill started on the side could come too late).
        var fileLeader = await FindLeaderAsync("files", 0, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        var killing = 0;
        var putProgress = new Progress(p =>
        {
            if (fileLeader is null || p.Phase != FileTransferPhase.Sending || p.Bytes < killAt || Interlocked.Exchange(ref killing, 1) == 1) return;
            Kill(fileLeader, "files", 0);
            lock (faults) faults.Add($"kill -9 {fileLeader} (leader of the file's partition) at 40% of the put");
        });
        var clock = Stopwatch.StartNew();
        var put = await client.PutFileAsync("files", "payload.bin", source, putProgress, ct).ConfigureAwait(false);
        var putSeconds = clock.Elapsed.TotalSeconds;
        await RestartKilledAsync(ct).ConfigureAwait(false);
        clock.Restart();
        await client.GetFileAsync("files", "payload.bin", back, null, ct).ConfigureAwait(false);
        var getSeconds = clock.Elapsed.TotalSeconds;
        var exact = FilesEqual(source, back);
        var bytes = new FileInfo(source).Length;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   put {bytes / 1e6:F0} MB in {putSeconds:F1} s, got it back in {getSeconds:F1} s; SHA-256 {put.Manifest.Sha256[..16]}...; byte for byte: {(exact ? "identical" : "DIFFERENT")}"));
        File.Delete(source);
        File.Delete(back);

        // The live subscriber: every acknowledged record once.
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            lock (tailed) if (tailed.Count >= sent.Count) break;
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
        follower.Kill();
        await follower.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        await tail.ConfigureAwait(false);
        int mismatched;
        int seen;
        lock (tailed)
        {
            seen = tailed.Count;
            var expected = sent.GroupBy(h => h).ToDictionary(g => g.Key, g => g.Count());
            foreach (var h in tailed.Values) expected[h] = expected.GetValueOrDefault(h) - 1;
            mismatched = expected.Values.Sum(Math.Abs);
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   braid tail --follow saw {seen} of {sent.Count} records, {duplicates} twice, {mismatched} differing from what was sent"));
        return new Outcome(sent.Count, seen, duplicates, mismatched, bytes, bytes / 1e6 / putSeconds, bytes / 1e6 / getSeconds, exact, string.Join("; ", faults));
    }

    private readonly List<string> killed = [];

    private async Task<string?> KillLeaderAsync(string stream, uint partition, CancellationToken ct)
    {
        var leader = await FindLeaderAsync(stream, partition, TimeSpan.Zero, ct).ConfigureAwait(false);
        if (leader is not null) Kill(leader, stream, partition);
        return leader;
    }

    /// <summary>The node whose replica of the partition says it leads, asking every node; tries again for up to <paramref name="wait"/>.</summary>
    private async Task<string?> FindLeaderAsync(string stream, uint partition, TimeSpan wait, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        do
        {
            foreach (var node in client.Nodes)
            {
                try
                {
                    var reply = await client.Stream(node).ListStreamsAsync(new ListStreamsRequest(), deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: ct).ConfigureAwait(false);
                    if (reply.Streams.FirstOrDefault(s => s.Name == stream)?.Partitions[(int)partition] is { LocalRole: "Leader" } p) return p.Leader;
                }
                catch (Grpc.Core.RpcException)
                {
                }
            }
            if (clock.Elapsed < wait) await Task.Delay(100, ct).ConfigureAwait(false);
        }
        while (clock.Elapsed < wait);
        return null;
    }

    private void Kill(string node, string stream, uint partition)
    {
        cluster.Manager.Kill(node);
        output.WriteLine($"   !! killed {node} (leader of {stream}/{partition}) with SIGKILL");
        lock (killed) killed.Add(node);
    }

    private async Task RestartKilledAsync(CancellationToken ct)
    {
        List<string> nodes;
        lock (killed)
        {
            nodes = [.. killed];
            killed.Clear();
        }
        foreach (var node in nodes)
        {
            output.WriteLine($"   restarting {node}");
            await cluster.Manager.RestartAsync(node, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
        }
    }

    private static string Hash(ReadOnlySpan<byte> value) => Convert.ToHexString(SHA256.HashData(value));

    private static void WriteRandomFile(string path, int megabytes, Random random)
    {
        var buffer = new byte[1 << 20];
        using var file = File.Create(path);
        for (var i = 0; i < megabytes; i++)
        {
            random.NextBytes(buffer);
            file.Write(buffer);
        }
    }

    private static bool FilesEqual(string a, string b)
    {
        if (new FileInfo(a).Length != new FileInfo(b).Length) return false;
        using var x = File.OpenRead(a);
        using var y = File.OpenRead(b);
        return SHA256.HashData(x).AsSpan().SequenceEqual(SHA256.HashData(y));
    }

    private sealed class KillOnDispose(System.Diagnostics.Process process) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                if (!process.HasExited) process.Kill();
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    private sealed class Progress(Action<FileTransferProgress> report) : IProgress<FileTransferProgress>
    {
        public void Report(FileTransferProgress value) => report(value);
    }
}
