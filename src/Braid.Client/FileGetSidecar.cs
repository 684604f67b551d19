using System.Text.Json;

namespace Braid.Client;

/// <summary>
/// The small file beside a get's part file (<c>OUT.part.resume</c>) that lets a rerun continue:
/// the read cursor after the last record taken and the <see cref="FileAssembler"/>'s state. It
/// names the stream (and its id: a stream deleted and made again is another stream), the file and
/// the partition, so a rerun for anything else starts afresh. Written whole to a temporary file
/// and renamed over the old one, after the part file is flushed to disk, so it never claims bytes
/// the part file lacks.
/// </summary>
internal sealed record FileGetSidecar(string Stream, uint StreamId, string Name, uint Partition, byte[]? Cursor, FileAssemblyState State)
{
    private const int Version = 1;

    public void Save(string path)
    {
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            using (var json = new Utf8JsonWriter(file))
            {
                json.WriteStartObject();
                json.WriteNumber("version", Version);
                json.WriteString("stream", Stream);
                json.WriteNumber("stream_id", StreamId);
                json.WriteString("name", Name);
                json.WriteNumber("partition", Partition);
                json.WriteString("cursor", Cursor is null ? null : Convert.ToBase64String(Cursor));
                json.WriteString("followed_id", State.FollowedId);
                json.WriteNumber("next_chunk", State.NextChunk);
                json.WriteNumber("bytes", State.Bytes);
                json.WriteNumber("total_bytes", State.TotalBytes);
                json.WriteString("pinned", State.Pinned);
                json.WriteBoolean("latest_assembled", State.LatestAssembled);
                json.WriteBoolean("pinned_done", State.PinnedDone);
                if (State.LatestManifest is { } m)
                {
                    json.WriteStartObject("latest_manifest");
                    m.WriteFields(json);
                    json.WriteEndObject();
                }
                json.WriteEndObject();
            }
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The sidecar at <paramref name="path"/> if it is one of this get; null when there is
    /// none, it is unreadable or it belongs to another stream, file or partition.</summary>
    public static FileGetSidecar? TryLoad(string path, string stream, uint streamId, string name, uint partition)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var r = doc.RootElement;
            if (r.GetProperty("version").GetInt32() != Version) return null;
            var state = new FileAssemblyState(r.GetProperty("followed_id").GetString(), r.GetProperty("next_chunk").GetInt64(),
                r.GetProperty("bytes").GetInt64(), r.GetProperty("total_bytes").GetInt64(), r.GetProperty("pinned").GetString(), Manifest(r),
                r.GetProperty("latest_assembled").GetBoolean(), r.GetProperty("pinned_done").GetBoolean());
            var cursor = r.GetProperty("cursor").GetString() is { } c ? Convert.FromBase64String(c) : null;
            var loaded = new FileGetSidecar(r.GetProperty("stream").GetString()!, r.GetProperty("stream_id").GetUInt32(),
                r.GetProperty("name").GetString()!, r.GetProperty("partition").GetUInt32(), cursor, state);
            var ours = loaded.Stream == stream && loaded.StreamId == streamId && loaded.Name == name && loaded.Partition == partition
                && state.Bytes >= 0;
            return ours ? loaded : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or IOException)
        {
            return null;
        }
    }

    private static FileManifest? Manifest(JsonElement root)
    {
        if (!root.TryGetProperty("latest_manifest", out var m)) return null;
        return FileManifest.Read(m);
    }

    public static void Delete(string path)
    {
        File.Delete(path);
        File.Delete(path + ".tmp");
    }
}
