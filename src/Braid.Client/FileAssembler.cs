using System.Security.Cryptography;
using Braid.Protocol.V1;
using Stream = System.IO.Stream;
using Google.Protobuf;

namespace Braid.Client;

/// <summary>
/// The get side of a file (issue 13, item 3): fed a partition's records in log order, it writes
/// one object's chunks to a part file as they come, hashing them, so that nothing is held in
/// memory. Several puts of one name may lie in the partition (a new version, an interrupted put,
/// a put stored again after its producer was forgotten); the rule is that the latest complete
/// manifest (the last in log order) wins. One pass follows the object whose chunk 0 came last
/// (the usual case: the newest version) and notes the latest manifest; when the part file does
/// not hold that manifest's object at the end, a second pass is <see cref="Pinned"/> to it.
/// </summary>
/// <remarks>The state (apart from the hash, which is rebuilt from the part file's bytes) is
/// <see cref="Save"/>d with the read cursor in the sidecar of a resumable get.</remarks>
internal sealed class FileAssembler : IDisposable
{
    private readonly Stream part;
    private readonly ByteString key;
    private IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public FileAssembler(string name, Stream part)
    {
        this.part = part;
        key = ByteString.CopyFromUtf8(name);
    }

    /// <summary>The object the part file holds the beginning of; null before any chunk 0.</summary>
    public string? FollowedId { get; private set; }

    /// <summary>The chunk the followed object needs next.</summary>
    public long NextChunk { get; private set; }

    /// <summary>Bytes of the followed object in the part file.</summary>
    public long Bytes { get; private set; }

    /// <summary>The followed object's size, as its chunks say (-1: unknown yet).</summary>
    public long TotalBytes { get; private set; } = -1;

    /// <summary>Only this object is assembled (the second pass); null: follow the newest.</summary>
    public string? Pinned { get; private set; }

    /// <summary>The last manifest of the name seen so far (the first pass).</summary>
    public FileManifest? LatestManifest { get; private set; }

    /// <summary>The part file holds <see cref="LatestManifest"/>'s object whole, its SHA-256 checked.</summary>
    public bool LatestAssembled { get; private set; }

    /// <summary>The pinned object is whole and checked: the second pass can stop.</summary>
    public bool PinnedDone { get; private set; }

    /// <summary>The followed object, now whole, matched its manifest; the part file is ready.</summary>
    public bool Complete => Pinned is null ? LatestAssembled : PinnedDone;

    public FileManifest? Result => Pinned is null ? (LatestAssembled ? LatestManifest : null) : (PinnedDone ? LatestManifest : null);

    /// <summary>Takes the next record of the partition.</summary>
    /// <exception cref="BraidChecksumException">an object's bytes are whole but their SHA-256 is not its manifest's.</exception>
    public void Accept(RawRecord record)
    {
        if (Pinned is not null && PinnedDone) return;
        var r = FileLayout.Classify(record, key);
        switch (r.Kind)
        {
            case FileRecordKind.Chunk:
                if (Pinned is not null && r.ObjectId != Pinned) return;
                if (r.Chunk == 0) Restart(r.ObjectId, r.Size);
                if (r.ObjectId != FollowedId || r.Chunk != NextChunk) return; // another object's, or one this part file cannot take
                part.Write(record.Value.Span);
                hash.AppendData(record.Value.Span);
                NextChunk++;
                Bytes += record.Value.Length;
                break;
            case FileRecordKind.Manifest:
                OnManifest(r.Manifest!);
                break;
        }
    }

    private void OnManifest(FileManifest m)
    {
        if (Pinned is not null && m.ObjectId != Pinned) return;
        if (m.Chunks == 0) Restart(m.ObjectId, 0); // an empty file has no chunk 0
        var whole = FollowedId == m.ObjectId && NextChunk == m.Chunks && Bytes == m.Size;
        if (whole)
        {
            var actual = Convert.ToHexStringLower(hash.GetCurrentHash());
            if (actual != m.Sha256)
                throw new BraidChecksumException(
                    $"file '{m.Name}' (object {m.ObjectId}): the {m.Size} bytes read have SHA-256 {actual}, its manifest says {m.Sha256}");
        }
        if (Pinned is null)
        {
            LatestManifest = m;
            LatestAssembled = whole;
        }
        else if (whole)
        {
            PinnedDone = true;
        }
    }

    /// <summary>The part file starts over with <paramref name="id"/>'s chunk 0.</summary>
    private void Restart(string id, long size)
    {
        part.SetLength(0);
        part.Position = 0;
        hash.Dispose();
        hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        FollowedId = id;
        NextChunk = 0;
        Bytes = 0;
        TotalBytes = size;
        LatestAssembled = false; // the part file no longer holds what it held
    }

    /// <summary>A second pass, from the start of a fresh snapshot, for <see cref="LatestManifest"/>'s object only.</summary>
    public void Pin()
    {
        var m = LatestManifest ?? throw new InvalidOperationException("no manifest to pin");
        Pinned = m.ObjectId;
        FollowedId = null;
        NextChunk = 0;
        Bytes = 0;
        TotalBytes = m.Size;
        PinnedDone = false;
        part.SetLength(0);
        part.Position = 0;
        hash.Dispose();
        hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    }

    /// <summary>The state to keep in the sidecar (the hash is rebuilt from the part file).</summary>
    public FileAssemblyState Save() => new(FollowedId, NextChunk, Bytes, TotalBytes, Pinned, LatestManifest, LatestAssembled, PinnedDone);

    /// <summary>Takes up a saved state: the part file is cut to the saved length and its bytes hashed again.</summary>
    /// <param name="onHashed">Told the bytes hashed so far, now and then.</param>
    public async Task RestoreAsync(FileAssemblyState state, Action<long>? onHashed, CancellationToken ct)
    {
        if (part.Length < state.Bytes)
            throw new InvalidDataException($"the part file has {part.Length} bytes, fewer than the {state.Bytes} its sidecar recorded");
        part.SetLength(state.Bytes);
        part.Position = 0;
        var buffer = new byte[1 << 20];
        long done = 0;
        while (done < state.Bytes)
        {
            var n = await part.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, state.Bytes - done)), ct).ConfigureAwait(false);
            if (n == 0) throw new EndOfStreamException("the part file ended early");
            hash.AppendData(buffer, 0, n);
            done += n;
            onHashed?.Invoke(done);
        }
        (FollowedId, NextChunk, Bytes, TotalBytes, Pinned, LatestManifest, LatestAssembled, PinnedDone) = state;
    }

    public void Dispose() => hash.Dispose();
}

/// <summary>What a resumable get keeps of its <see cref="FileAssembler"/>.</summary>
internal sealed record FileAssemblyState(string? FollowedId, long NextChunk, long Bytes, long TotalBytes, string? Pinned,
    FileManifest? LatestManifest, bool LatestAssembled, bool PinnedDone);
