using System.Security.Cryptography;
using Braid.Data;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Client.Tests;

/// <summary>Files in a raw stream (issue 13, item 3) without sockets: the layout a put writes and
/// the rule by which a get assembles the latest complete version from a partition's records.</summary>
public sealed class FileLayoutTests
{
    [Fact]
    public void APutsIdentityDependsOnStreamNameSizeAndHashOnly()
    {
        var sha = SHA256.HashData("x"u8);
        var plan = FileLayout.Plan("files", "a.bin", 10_000_000, sha);
        Assert.Equal(plan, FileLayout.Plan("files", "a.bin", 10_000_000, sha));
        Assert.NotEqual(plan.Producer, FileLayout.Plan("files", "b.bin", 10_000_000, sha).Producer);
        Assert.NotEqual(plan.Producer, FileLayout.Plan("other", "a.bin", 10_000_000, sha).Producer);
        Assert.NotEqual(plan.Producer, FileLayout.Plan("files", "a.bin", 10_000_001, sha).Producer);
        Assert.NotEqual(plan.Producer, FileLayout.Plan("files", "a.bin", 10_000_000, SHA256.HashData("y"u8)).Producer);
        Assert.InRange(plan.Producer, 1ul, (ulong)long.MaxValue);
        Assert.Equal(10, plan.Manifest.Chunks); // 10 MB in chunks of 1 MiB - 8 KiB
        Assert.Equal(3, plan.Batches);
        Assert.Equal(4ul, plan.ManifestSequence);
        Assert.Equal(8, plan.ChunksBefore(3));
        Assert.Equal(10, plan.ChunksBefore(4));
        var empty = FileLayout.Plan("files", "e", 0, SHA256.HashData([]));
        Assert.Equal((0L, 0L, 1ul), (empty.Manifest.Chunks, empty.Batches, empty.ManifestSequence));
    }

    [Fact]
    public void AFullBatchFitsTheLimitsOfABatchAndAValue()
    {
        var plan = FileLayout.Plan("files", new string('n', FileLayout.NameBytesMax), 100L << 20, new byte[32]);
        var key = ByteString.CopyFromUtf8(plan.Manifest.Name);
        var records = Enumerable.Range(0, FileLayout.ChunksPerBatch)
            .Select(i => FileLayout.ChunkRecord(plan, key, 1_000_000 + i, ByteString.CopyFrom(new byte[FileLayout.ChunkBytes]), long.MaxValue)).ToList();
        Assert.All(records, (r, i) => Assert.Null(RawBatchCodec.Validate(r, i)));
        Assert.True(RawBatchCodec.Encode(records).Length <= 4 << 20, "a batch of chunks must fit the node's 4 MiB batch limit");
    }

    [Fact]
    public void NamesThatAreEmptyTooLongOrControlCharactersAreRefused()
    {
        Assert.NotNull(FileLayout.NameProblem(""));
        Assert.NotNull(FileLayout.NameProblem(null));
        Assert.NotNull(FileLayout.NameProblem("a\nb"));
        Assert.NotNull(FileLayout.NameProblem("\ud800"));
        Assert.NotNull(FileLayout.NameProblem(new string('é', 513))); // 1,026 UTF-8 bytes
        Assert.Null(FileLayout.NameProblem(new string('é', 512)));
        Assert.Null(FileLayout.NameProblem("photos/2020/fire.jpg"));
    }

    [Fact]
    public void TheLatestCompleteVersionWinsAndAnIncompleteNewerOneNeedsASecondPass()
    {
        var v1 = Put("f", Bytes(3_000_000, 1));
        var v2 = Put("f", Bytes(2_500_000, 2));
        var other = Put("g", Bytes(1_500_000, 3));
        var v3 = Put("f", Bytes(4_000_000, 4));
        // v1, then v2 interleaved with another object, then the first two chunks of v3 (no manifest).
        var log = v1.Records.Concat(Interleave(v2.Records, other.Records)).Concat(v3.Records.Take(2)).ToList();

        using var part = new MemoryStream();
        using var assembler = new FileAssembler("f", part);
        foreach (var r in log) assembler.Accept(r);
        Assert.False(assembler.Complete); // the part file follows v3, which never completed
        Assert.Equal(v2.Plan.Manifest, assembler.LatestManifest);
        assembler.Pin();
        foreach (var r in log) assembler.Accept(r);
        Assert.True(assembler.Complete);
        Assert.Equal(v2.Plan.Manifest, assembler.Result);
        Assert.Equal(v2.Bytes, part.ToArray());

        using var part2 = new MemoryStream();
        using var second = new FileAssembler("f", part2);
        foreach (var r in v1.Records.Concat(v2.Records)) second.Accept(r);
        Assert.True(second.Complete); // the usual case: one pass
        Assert.Equal(v2.Bytes, part2.ToArray());
    }

    [Fact]
    public void AnObjectStoredTwiceIsAssembledOnceAndAnEmptyFileIsAFile()
    {
        var v = Put("f", Bytes(2_200_000, 5));
        using var part = new MemoryStream();
        using var assembler = new FileAssembler("f", part);
        foreach (var r in v.Records.Concat(v.Records)) assembler.Accept(r); // its producer forgotten, the put stored it again
        Assert.True(assembler.Complete);
        Assert.Equal(v.Bytes, part.ToArray());

        var empty = Put("e", []);
        using var part2 = new MemoryStream([1, 2, 3]);
        using var none = new FileAssembler("e", part2);
        foreach (var r in empty.Records) none.Accept(r);
        Assert.True(none.Complete);
        Assert.Equal(0, part2.Length);
    }

    [Fact]
    public void BytesThatDoNotMatchTheManifestsHashAreRefused()
    {
        var v = Put("f", Bytes(1_200_000, 6));
        v.Records[1].Value = ByteString.CopyFrom(new byte[v.Records[1].Value.Length]);
        using var part = new MemoryStream();
        using var assembler = new FileAssembler("f", part);
        var e = Assert.Throws<BraidChecksumException>(() => { foreach (var r in v.Records) assembler.Accept(r); });
        Assert.Contains(v.Plan.Manifest.Sha256, e.Message);
    }

    [Fact]
    public async Task ASavedStateResumesWithTheSameResult()
    {
        var v = Put("f", Bytes(5_000_000, 7));
        var dir = Directory.CreateTempSubdirectory("braid-file-test").FullName;
        try
        {
            var sidecar = Path.Combine(dir, "out.part.resume");
            var partPath = Path.Combine(dir, "out.part");
            using (var part = File.Create(partPath))
            using (var first = new FileAssembler("f", part))
            {
                foreach (var r in v.Records.Take(3)) first.Accept(r);
                new FileGetSidecar("files", 7, "f", 1, [1, 2, 3], first.Save()).Save(sidecar);
                part.Write(new byte[100]); // written after the sidecar: cut away on resume
            }
            Assert.Null(FileGetSidecar.TryLoad(sidecar, "files", 8, "f", 1)); // another incarnation of the stream
            Assert.Null(FileGetSidecar.TryLoad(sidecar, "files", 7, "g", 1));
            var saved = FileGetSidecar.TryLoad(sidecar, "files", 7, "f", 1)!;
            Assert.Equal([1, 2, 3], saved.Cursor);
            using (var part = File.Open(partPath, FileMode.Open))
            using (var resumed = new FileAssembler("f", part))
            {
                await resumed.RestoreAsync(saved.State, null, CancellationToken.None);
                foreach (var r in v.Records.Skip(3)) resumed.Accept(r);
                Assert.True(resumed.Complete);
            }
            Assert.Equal(v.Bytes, File.ReadAllBytes(partPath));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed record Stored(FilePlan Plan, byte[] Bytes, List<RawRecord> Records);

    /// <summary>The records a put of <paramref name="bytes"/> stores, in order.</summary>
    private static Stored Put(string name, byte[] bytes)
    {
        var plan = FileLayout.Plan("files", name, bytes.Length, SHA256.HashData(bytes));
        var key = ByteString.CopyFromUtf8(name);
        var records = new List<RawRecord>();
        for (long c = 0; c < plan.Manifest.Chunks; c++)
        {
            var offset = (int)(c * FileLayout.ChunkBytes);
            records.Add(FileLayout.ChunkRecord(plan, key, c, ByteString.CopyFrom(bytes, offset, Math.Min(FileLayout.ChunkBytes, bytes.Length - offset)), 0));
        }
        records.Add(FileLayout.ManifestRecord(plan, 0));
        // What is read back went through the batch codec.
        return new Stored(plan, bytes, [.. RawBatchCodec.Decode(RawBatchCodec.Encode(records))]);
    }

    private static IEnumerable<RawRecord> Interleave(List<RawRecord> a, List<RawRecord> b)
    {
        for (var i = 0; i < Math.Max(a.Count, b.Count); i++)
        {
            if (i < a.Count) yield return a[i];
            if (i < b.Count) yield return b[i];
        }
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
