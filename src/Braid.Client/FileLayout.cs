using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Client;

/// <summary>What a complete file object is: the manifest record that ends a put (issue 13, item 3).</summary>
/// <param name="ObjectId">The put's producer id in 16 hex digits; its chunk records carry it.</param>
/// <param name="Sha256">SHA-256 of the whole file, 64 lower-case hex digits.</param>
public sealed record FileManifest(string Name, string ObjectId, long Size, long Chunks, int ChunkBytes, string Sha256)
{
    /// <summary>Writes the manifest's fields into the JSON object being written (the manifest record and the get's sidecar).</summary>
    internal void WriteFields(Utf8JsonWriter json)
    {
        json.WriteString("name", Name);
        json.WriteString("id", ObjectId);
        json.WriteNumber("size", Size);
        json.WriteNumber("chunks", Chunks);
        json.WriteNumber("chunk_bytes", ChunkBytes);
        json.WriteString("sha256", Sha256);
    }

    /// <summary>Reads what <see cref="WriteFields"/> wrote; throws on a missing or mistyped field.</summary>
    internal static FileManifest Read(JsonElement json) => new(json.GetProperty("name").GetString() ?? "", json.GetProperty("id").GetString() ?? "",
        json.GetProperty("size").GetInt64(), json.GetProperty("chunks").GetInt64(), json.GetProperty("chunk_bytes").GetInt32(), json.GetProperty("sha256").GetString() ?? "");
}

/// <summary>
/// How a file lies in a raw stream, as NATS's object store lays objects out: every record of one
/// object in the partition its name hashes to (<see cref="ProducerBatcher.KeyPartition"/>, key =
/// name), chunk records of <see cref="ChunkBytes"/> in order, <see cref="ChunksPerBatch"/> per
/// batch (one Raft entry, under the 4 MiB batch limit with room for keys and headers), then one
/// manifest record, whose presence makes the object complete. The producer id of a put is
/// derived from (stream, name, size, SHA-256, layout), so a rerun of the same put sends the same
/// batches under the same (producer, sequence) keys: the partition's dedup stores none twice.
/// Batch s (from 1) holds chunks (s-1)·<see cref="ChunksPerBatch"/> on; the manifest is batch
/// <see cref="FilePlan.ManifestSequence"/>, the last.
/// </summary>
internal static class FileLayout
{
    /// <summary>1 MiB less 8 KiB: four chunks and their keys and headers fit a 4 MiB batch.</summary>
    public const int ChunkBytes = (1 << 20) - (8 << 10);

    public const int ChunksPerBatch = 4;

    public const int BatchBytes = ChunkBytes * ChunksPerBatch;

    /// <summary>Longest object name, in UTF-8 bytes (a record key may have 4 KiB).</summary>
    public const int NameBytesMax = 1024;

    public const string IdHeader = "braid.file.id";
    public const string KindHeader = "braid.file.kind";
    public const string ChunkHeader = "braid.file.chunk";
    public const string SizeHeader = "braid.file.size";

    private static readonly ByteString ChunkKind = ByteString.CopyFromUtf8("chunk");
    private static readonly ByteString ManifestKind = ByteString.CopyFromUtf8("manifest");

    /// <summary>Why <paramref name="name"/> cannot name an object, or null.</summary>
    public static string? NameProblem(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "a file's name must not be empty";
        if (name.Any(char.IsControl)) return $"a file's name must not hold control characters: '{name.ReplaceLineEndings(" ")}'";
        int bytes;
        try { bytes = new UTF8Encoding(false, true).GetByteCount(name); }
        catch (EncoderFallbackException) { return "a file's name must be well-formed text (a lone UTF-16 surrogate has no UTF-8 form)"; }
        return bytes > NameBytesMax ? $"a file's name may have at most {NameBytesMax} UTF-8 bytes; this one has {bytes}" : null;
    }

    /// <summary>The batches of a put of a file of <paramref name="size"/> bytes whose SHA-256 is <paramref name="sha256"/>.</summary>
    public static FilePlan Plan(string stream, string name, long size, ReadOnlySpan<byte> sha256)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        if (sha256.Length != SHA256.HashSizeInBytes) throw new ArgumentException("a SHA-256 has 32 bytes", nameof(sha256));
        using var identity = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Field(ReadOnlySpan<byte> bytes)
        {
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
            identity.AppendData(length);
            identity.AppendData(bytes);
        }
        Field("braid-file/1"u8);
        Field(Encoding.UTF8.GetBytes(stream));
        Field(Encoding.UTF8.GetBytes(name));
        Field(BitConverter.GetBytes(size));
        Field(sha256);
        Field(BitConverter.GetBytes(ChunkBytes));
        Field(BitConverter.GetBytes(ChunksPerBatch));
        var producer = BinaryPrimitives.ReadUInt64LittleEndian(identity.GetHashAndReset()) & long.MaxValue;
        if (producer == 0) producer = 1; // ids start at 1
        var chunks = (size + ChunkBytes - 1) / ChunkBytes;
        var id = producer.ToString("x16", CultureInfo.InvariantCulture);
        var manifest = new FileManifest(name, id, size, chunks, ChunkBytes, Convert.ToHexStringLower(sha256));
        return new FilePlan(manifest, producer, (chunks + ChunksPerBatch - 1) / ChunksPerBatch);
    }

    /// <summary>A chunk record: key the name, value the bytes, headers id, kind, chunk number and file size.</summary>
    public static RawRecord ChunkRecord(FilePlan plan, ByteString key, long chunk, ByteString value, long timestampMs)
    {
        var record = new RawRecord { Key = key, Value = value, TimestampMs = timestampMs };
        record.Headers.Add(new RecordHeader { Key = IdHeader, Value = ByteString.CopyFromUtf8(plan.Manifest.ObjectId) });
        record.Headers.Add(new RecordHeader { Key = KindHeader, Value = ChunkKind });
        record.Headers.Add(new RecordHeader { Key = ChunkHeader, Value = DecimalText(chunk) });
        record.Headers.Add(new RecordHeader { Key = SizeHeader, Value = DecimalText(plan.Manifest.Size) });
        return record;
    }

    private static ByteString DecimalText(long n) => ByteString.CopyFromUtf8(n.ToString(CultureInfo.InvariantCulture));

    /// <summary>The manifest record: the manifest as JSON in the value (readable with <c>braid tail</c>).</summary>
    public static RawRecord ManifestRecord(FilePlan plan, long timestampMs)
    {
        var m = plan.Manifest;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            m.WriteFields(json);
            json.WriteEndObject();
        }
        var record = new RawRecord { Key = ByteString.CopyFromUtf8(m.Name), Value = ByteString.CopyFrom(buffer.ToArray()) };
        record.TimestampMs = timestampMs;
        record.Headers.Add(new RecordHeader { Key = IdHeader, Value = ByteString.CopyFromUtf8(m.ObjectId) });
        record.Headers.Add(new RecordHeader { Key = KindHeader, Value = ManifestKind });
        return record;
    }

    /// <summary>What a record of object name <paramref name="name"/> is; records of other keys, or
    /// that some other producer wrote under this key, are <see cref="FileRecordKind.Other"/>.</summary>
    public static FileRecord Classify(RawRecord record, ByteString name)
    {
        if (record.Key != name) return FileRecord.Other;
        string? id = null, kind = null, chunk = null, size = null;
        foreach (var h in record.Headers)
        {
            switch (h.Key)
            {
                case IdHeader: id = h.Value.ToStringUtf8(); break;
                case KindHeader: kind = h.Value.ToStringUtf8(); break;
                case ChunkHeader: chunk = h.Value.ToStringUtf8(); break;
                case SizeHeader: size = h.Value.ToStringUtf8(); break;
            }
        }
        if (id is not { Length: 16 } || !ulong.TryParse(id, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out _))
            return FileRecord.Other;
        if (kind == "chunk" && long.TryParse(chunk, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var total))
            return new FileRecord(FileRecordKind.Chunk, id, n, total, null);
        if (kind == "manifest" && ParseManifest(record.Value, id) is { } manifest)
            return new FileRecord(FileRecordKind.Manifest, id, 0, manifest.Size, manifest);
        return FileRecord.Other;
    }

    private static FileManifest? ParseManifest(ByteString value, string id)
    {
        try
        {
            using var doc = JsonDocument.Parse(value.Memory);
            var m = FileManifest.Read(doc.RootElement);
            var sane = m.ObjectId == id && m.Size >= 0 && m.ChunkBytes > 0 && m.Sha256.Length == 64
                && m.Chunks == (m.Size + m.ChunkBytes - 1) / m.ChunkBytes;
            return sane ? m : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>A put's identity and size in batches.</summary>
/// <param name="Producer">The derived producer id (the object id, as a number).</param>
/// <param name="Batches">Batches of chunk records (sequences 1 to this); the manifest comes after.</param>
internal sealed record FilePlan(FileManifest Manifest, ulong Producer, long Batches)
{
    public ulong ManifestSequence => (ulong)Batches + 1;

    /// <summary>Chunks stored by batches below <paramref name="sequence"/>.</summary>
    public long ChunksBefore(ulong sequence) => Math.Min(Manifest.Chunks, (long)(sequence - 1) * FileLayout.ChunksPerBatch);
}

internal enum FileRecordKind
{
    Other,
    Chunk,
    Manifest,
}

/// <summary>One record as a file's reader sees it.</summary>
/// <param name="Size">The file's size (chunk records carry it, so progress can show the total).</param>
internal sealed record FileRecord(FileRecordKind Kind, string ObjectId, long Chunk, long Size, FileManifest? Manifest)
{
    public static FileRecord Other { get; } = new(FileRecordKind.Other, "", 0, 0, null);
}
