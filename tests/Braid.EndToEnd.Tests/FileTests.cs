using System.Security.Cryptography;
using System.Text;
using Braid.Client;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// Files in a raw stream (issue 13, item 3) on real processes: a 200 MB file put through a kill -9
/// of its partition's leader (the node the put sends to) and got back through a kill -9 of the
/// node serving the read, byte for byte; puts and gets stopped half way and run again, which
/// store nothing twice and never leave a partial file under the destination's name; versions;
/// and the errors a user meets.
/// </summary>
public sealed class FileTests
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);
    private const long Mb = 1 << 20;

    [Fact(Timeout = 240_000)]
    public async Task A_200_MB_file_put_through_a_leader_kill_and_got_through_a_kill_of_the_serving_node_comes_back_byte_for_byte()
    {
        await using var cluster = await LocalCluster.UpWithMetricsAsync("mini2", 6);
        using var braid = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = cluster.Addresses(), Tls = cluster.Tls });
        await braid.CreateStreamAsync("files", "raw", 3, 3);
        using var dir = new TempDir();
        var source = dir.Path("big.bin");
        var sha = WriteRandomFile(source, 200 * Mb, seed: 200);
        var partition = (uint)ProducerBatcher.KeyPartition(Encoding.UTF8.GetBytes("big.bin"), 3);

        // At 60 MB acknowledged the ack thread stops (so the put is surely mid-way) until the
        // partition's leader, where the put's batches go, is killed.
        string? leader = null;
        CommandResult? killed = null;
        var put = await braid.PutFileAsync("files", "big.bin", source, new Callback(p =>
        {
            if (p.Phase != FileTransferPhase.Sending || p.Bytes < 60 * Mb || leader is not null) return;
            leader = PayloadStreamTests.LeaderOfAsync(braid, "files", partition).GetAwaiter().GetResult() ?? "none";
            killed = cluster.RunAsync("cluster", "kill", leader).GetAwaiter().GetResult();
        })).WaitAsync(StepTimeout);
        Assert.True(killed is { ExitCode: 0 }, $"kill of the leader {leader}: {killed}");
        Assert.Equal((sha, 0L, false, partition), (put.Manifest.Sha256, put.ChunksAlreadyStored, put.AlreadyComplete, put.Partition));
        Assert.True(braid.Stats.Retries > 0, "the put should have resent after the kill");
        var restart = await cluster.RunAsync("cluster", "restart", leader!);
        Assert.True(restart.ExitCode == 0, restart.ToString());

        // At 60 MB received the read stops until the node coordinating it (the one whose query
        // counter moved) is killed; the client resumes from its cursor at another node.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var ids = new[] { "A", "B", "C", "D", "E", "F" };
        var before = new Dictionary<string, double>();
        foreach (var id in ids) before[id] = await QueriesAsync(http, cluster, id);
        string? serving = null;
        killed = null;
        var failovers = braid.Stats.Failovers;
        var copy = dir.Path("copy.bin");
        var got = await braid.GetFileAsync("files", "big.bin", copy, new Callback(p =>
        {
            if (p.Phase != FileTransferPhase.Receiving || p.Bytes < 60 * Mb || serving is not null) return;
            var moved = ids.Where(id => QueriesAsync(http, cluster, id).GetAwaiter().GetResult() > before[id]).ToList();
            serving = moved.Count == 1 ? moved[0] : $"one of [{string.Join(",", moved)}]";
            if (moved.Count == 1) killed = cluster.RunAsync("cluster", "kill", serving).GetAwaiter().GetResult();
        })).WaitAsync(StepTimeout);
        Assert.True(killed is { ExitCode: 0 }, $"kill of the serving node {serving}: {killed}");
        Assert.True(braid.Stats.Failovers > failovers, $"the read should have moved off {serving}");
        Assert.Equal((sha, 200 * Mb, 0L, 1), (got.Manifest.Sha256, got.Manifest.Size, got.BytesResumed, got.Passes));
        Assert.Equal(sha, Sha256Of(copy));
        Assert.True(SameBytes(source, copy), "the copy differs from the file");
        Assert.False(File.Exists(copy + ".part") || File.Exists(copy + ".part.resume"), "the part file and its sidecar should be gone");
    }

    [Fact(Timeout = 180_000)]
    public async Task Stopped_puts_and_gets_resume_without_storing_twice_versions_and_bad_input_get_clear_answers()
    {
        await using var cluster = await LocalCluster.UpAsync("mini2", 6);
        using var braid = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = cluster.Addresses(), Tls = cluster.Tls });
        await braid.CreateStreamAsync("resume", "raw", 1, 3);
        using var dir = new TempDir();
        var source = dir.Path("f.bin");
        var sha = WriteRandomFile(source, 80 * Mb, seed: 80); // more than 8 MB and the put's window of 32 MiB in flight

        // A put stopped after 8 MB were acknowledged, then run again: it sends only the rest.
        using (var stop = new CancellationTokenSource())
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => braid.PutFileAsync("resume", "f", source, new Callback(p =>
            {
                if (p.Phase == FileTransferPhase.Sending && p.Bytes >= 8 * Mb) _ = stop.CancelAsync();
            }), stop.Token).WaitAsync(StepTimeout));
        }
        var put = await braid.PutFileAsync("resume", "f", source).WaitAsync(StepTimeout);
        Assert.InRange(put.ChunksAlreadyStored, 8, put.Manifest.Chunks - 1);
        Assert.False(put.AlreadyComplete);
        Assert.Equal(put.Manifest.Chunks + 1, await CountAsync(braid, "resume")); // every chunk once, and the manifest
        var again = await braid.PutFileAsync("resume", "f", source).WaitAsync(StepTimeout);
        Assert.True(again.AlreadyComplete);
        Assert.Equal(put.Manifest.Chunks + 1, await CountAsync(braid, "resume"));

        // A get stopped after 10 MB, then run again: it continues from the part file.
        var copy = dir.Path("copy.bin");
        using (var stop = new CancellationTokenSource())
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => braid.GetFileAsync("resume", "f", copy, new Callback(p =>
            {
                if (p.Phase == FileTransferPhase.Receiving && p.Bytes >= 10 * Mb) _ = stop.CancelAsync();
            }), stop.Token).WaitAsync(StepTimeout));
        }
        Assert.False(File.Exists(copy));
        Assert.True(File.Exists(copy + ".part") && File.Exists(copy + ".part.resume"));
        var got = await braid.GetFileAsync("resume", "f", copy).WaitAsync(StepTimeout);
        Assert.InRange(got.BytesResumed, 10 * Mb, 80 * Mb - 1);
        Assert.Equal(sha, got.Manifest.Sha256);
        Assert.True(SameBytes(source, copy), "the resumed copy differs from the file");

        // Versions: the latest complete one wins, also behind a newer put that never finished.
        var v1 = dir.Path("v1");
        var v2 = dir.Path("v2");
        WriteRandomFile(v1, 3 * Mb, seed: 1);
        var v2Sha = WriteRandomFile(v2, 2 * Mb + 5, seed: 2);
        await braid.PutFileAsync("resume", "v", v1);
        await braid.PutFileAsync("resume", "v", v2);
        Assert.Equal((v2Sha, 1), await GetShaAndPassesAsync(braid, "v", dir.Path("v.out")));
        await AppendChunkZeroAsync(braid, "v", [9, 9, 9]); // a third version whose put stopped after its first chunk
        Assert.Equal((v2Sha, 2), await GetShaAndPassesAsync(braid, "v", dir.Path("v.out")));

        // Bad input and damage: clear errors of the right kind, and no destination file.
        var missing = dir.Path("missing");
        await Assert.ThrowsAsync<BraidNotFoundException>(() => braid.GetFileAsync("resume", "no-such-file", missing));
        await AppendChunkZeroAsync(braid, "partial", [1, 2, 3]);
        var partial = await Assert.ThrowsAsync<BraidNotFoundException>(() => braid.GetFileAsync("resume", "partial", missing));
        Assert.Contains("incomplete", partial.Message);
        await Assert.ThrowsAsync<BraidNotFoundException>(() => braid.GetFileAsync("no-such-stream", "f", missing));
        await Assert.ThrowsAsync<BraidNotFoundException>(() => braid.PutFileAsync("no-such-stream", "f", v1));
        await Assert.ThrowsAsync<BraidRefusedException>(() => braid.PutFileAsync("resume", "", v1));
        await Assert.ThrowsAsync<BraidRefusedException>(() => braid.GetFileAsync("resume", new string('n', 1025), missing));
        await Assert.ThrowsAsync<BraidRefusedException>(() => braid.PutFileAsync("airquality", "f", v1));
        await AppendForgedAsync(braid, "forged");
        await Assert.ThrowsAsync<BraidChecksumException>(() => braid.GetFileAsync("resume", "forged", missing));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(missing)!, "missing*"));
    }

    private static async Task<(string Sha, int Passes)> GetShaAndPassesAsync(BraidClient braid, string name, string path)
    {
        var got = await braid.GetFileAsync("resume", name, path).WaitAsync(StepTimeout);
        Assert.Equal(got.Manifest.Sha256, Sha256Of(path));
        return (got.Manifest.Sha256, got.Passes);
    }

    /// <summary>Chunk 0 of a put of <paramref name="bytes"/> under <paramref name="name"/>, as if the put died right after it.</summary>
    private static Task AppendChunkZeroAsync(BraidClient braid, string name, byte[] bytes)
    {
        var plan = FileLayout.Plan("resume", name, bytes.Length, SHA256.HashData(bytes));
        var chunk = FileLayout.ChunkRecord(plan, ByteString.CopyFromUtf8(name), 0, ByteString.CopyFrom(bytes), 0);
        return braid.AppendRawAsync("resume", 0, plan.Producer, 1, [chunk]).WaitAsync(StepTimeout);
    }

    /// <summary>An object whose one chunk is not the bytes its manifest hashed (damage a get must catch).</summary>
    private static Task AppendForgedAsync(BraidClient braid, string name)
    {
        var plan = FileLayout.Plan("resume", name, 3, SHA256.HashData([1, 2, 3]));
        var chunk = FileLayout.ChunkRecord(plan, ByteString.CopyFromUtf8(name), 0, ByteString.CopyFrom([1, 2, 4]), 0);
        return braid.AppendRawAsync("resume", 0, plan.Producer, 1, [chunk, FileLayout.ManifestRecord(plan, 0)]).WaitAsync(StepTimeout);
    }

    private static async Task<long> CountAsync(BraidClient braid, string stream)
    {
        long count = 0;
        await foreach (var chunk in braid.ReadRawAsync(stream).WithCancellation(new CancellationTokenSource(StepTimeout).Token)) count += chunk.Records.Count;
        return count;
    }

    /// <summary>The number a node's <c>braid_stream_queries_total</c> counter shows (queries it coordinated).</summary>
    private static async Task<double> QueriesAsync(HttpClient http, LocalCluster cluster, string id)
    {
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{cluster.MetricsBasePort!.Value + cluster.NodeIndex(id)}/metrics"));
        return text.Split('\n').Where(l => l.StartsWith("braid_stream_queries_total", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static string WriteRandomFile(string path, long size, int seed)
    {
        var random = new Random(seed);
        var buffer = new byte[4 << 20];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var file = File.Create(path);
        for (long done = 0; done < size; done += buffer.Length)
        {
            var n = (int)Math.Min(buffer.Length, size - done);
            random.NextBytes(buffer.AsSpan(0, n));
            hash.AppendData(buffer, 0, n);
            file.Write(buffer, 0, n);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static string Sha256Of(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }

    private static bool SameBytes(string a, string b)
    {
        using var x = File.OpenRead(a);
        using var y = File.OpenRead(b);
        if (x.Length != y.Length) return false;
        var (bx, by) = (new byte[1 << 20], new byte[1 << 20]);
        while (true)
        {
            var n = x.ReadAtLeast(bx, bx.Length, throwOnEndOfStream: false);
            if (y.ReadAtLeast(by, by.Length, throwOnEndOfStream: false) != n || !bx.AsSpan(0, n).SequenceEqual(by.AsSpan(0, n))) return false;
            if (n == 0) return true;
        }
    }

    /// <summary>Progress reported on the client's own thread, synchronously (so a step can hold it).</summary>
    private sealed class Callback(Action<FileTransferProgress> action) : IProgress<FileTransferProgress>
    {
        public void Report(FileTransferProgress value) => action(value);
    }

    private sealed class TempDir : IDisposable
    {
        private readonly string root = Directory.CreateTempSubdirectory("braid-files-").FullName;

        public string Path(string name) => System.IO.Path.Combine(root, name);

        public void Dispose()
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }
}
