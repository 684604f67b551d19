using System.Security.Cryptography;
using System.Text;
using Braid.Data;
using Braid.Protocol.V1;
using Stream = System.IO.Stream;
using Google.Protobuf;

namespace Braid.Client;

/// <summary>Which pass of a file transfer a <see cref="FileTransferProgress"/> reports.</summary>
public enum FileTransferPhase
{
    /// <summary>A put reads the file once to hash it (the hash is part of the put's identity).</summary>
    Hashing,

    /// <summary>A put's chunks acknowledged (committed on a majority), counting those an
    /// earlier put already stored.</summary>
    Sending,

    /// <summary>A resumed get hashes again the bytes its part file already holds.</summary>
    Verifying,

    /// <summary>A get's bytes written to the part file.</summary>
    Receiving,
}

/// <summary>Progress of a put or get: <paramref name="Bytes"/> done of
/// <paramref name="TotalBytes"/> (-1: not known yet).</summary>
public readonly record struct FileTransferProgress(FileTransferPhase Phase, long Bytes, long TotalBytes);

/// <summary>A finished put.</summary>
/// <param name="Partition">The stream's partition that holds every record of the file.</param>
/// <param name="ChunksAlreadyStored">Chunks an earlier, interrupted put of the same file had
/// stored (not sent again).</param>
/// <param name="AlreadyComplete">The same file was stored whole under this name before: nothing
/// was stored.</param>
public sealed record FilePutResult(FileManifest Manifest, uint Partition, long ChunksAlreadyStored, bool AlreadyComplete);

/// <summary>A finished get.</summary>
/// <param name="BytesResumed">Bytes an earlier, interrupted get had fetched into the part file
/// (0: a fresh get).</param>
/// <param name="Passes">Reads of the partition: 1, or 2 when the newest put of the name was not
/// complete.</param>
public sealed record FileGetResult(FileManifest Manifest, uint Partition, long BytesResumed, int Passes);

/// <summary>The bytes of a file read back do not have the SHA-256 its manifest recorded: nothing
/// was written to the destination.</summary>
public sealed class BraidChecksumException(string message, Exception? inner = null) : BraidException(message, inner);

/// <summary>Files of any size in a raw stream, as chunks (issue 13, item 3; the layout is
/// <see cref="FileLayout"/>'s).</summary>
public sealed partial class BraidClient
{
    /// <summary>Batches of a put in flight at once: 32 MiB, what a node lets one ingest stream hold.</summary>
    private const int FileWindowBatches = 8;

    private static readonly TimeSpan SidecarPeriod = TimeSpan.FromSeconds(1);

    /// <summary>Stores the file at <paramref name="path"/> as the object <paramref name="name"/>
    /// of raw stream <paramref name="stream"/>.</summary>
    /// <inheritdoc cref="PutFileAsync(string, string, Stream, IProgress{FileTransferProgress}?, CancellationToken)"/>
    public async Task<FilePutResult> PutFileAsync(string stream, string name, string path, IProgress<FileTransferProgress>? progress = null,
        CancellationToken ct = default)
    {
        await using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0,
            FileOptions.SequentialScan);
        return await PutFileAsync(stream, name, source, progress, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Stores the bytes of <paramref name="source"/> from its position to its end as the object
    /// <paramref name="name"/> of raw stream <paramref name="stream"/>: chunk records in the
    /// partition the name hashes to, then a manifest (size, chunk count, SHA-256), whose commit
    /// makes the object complete. Memory stays bounded (eight batches of 4 MiB in flight).
    /// </summary>
    /// <remarks>
    /// <para>The source is read twice: once to hash it, then to send it. Its identity (the
    /// producer id of its batches) is derived from (stream, name, size, SHA-256), so a put that
    /// is run again after the client or a node died sends the same batches under the same
    /// (producer, sequence) keys, and the partition's exactly-once rule stores none twice. It
    /// first offers the manifest: the partition stores it (every chunk was there), answers it as
    /// a duplicate (the object is complete: nothing to do) or refuses it as out of order, naming
    /// the next sequence it expects, from which the put resumes without sending the chunks
    /// already stored (<see cref="FilePutResult.ChunksAlreadyStored"/>). The second read hashes
    /// the bytes again: a source that changed in between fails the put before its manifest is
    /// sent. Two puts of the same file and name at once are not supported (they share a producer).</para>
    /// <para>A put of another file under the same name stores a new version (the latest complete
    /// one is what <see cref="GetFileAsync"/> reads); an interrupted put that is never resumed
    /// leaves its chunks in the stream, unread.</para>
    /// </remarks>
    /// <exception cref="BraidRefusedException">the name is empty, too long (1,024 UTF-8 bytes) or
    /// holds control characters, or the stream is not raw.</exception>
    /// <exception cref="BraidNotFoundException">no stream of that name.</exception>
    /// <exception cref="BraidException">the source changed while it was read, or the cluster
    /// could not take it (see the subclasses).</exception>
    /// <exception cref="ArgumentException"><paramref name="source"/> cannot be read or cannot seek.</exception>
    public async Task<FilePutResult> PutFileAsync(string stream, string name, Stream source, IProgress<FileTransferProgress>? progress = null,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!source.CanRead || !source.CanSeek)
            throw new ArgumentException("a file's source must be readable and seekable: it is read twice (to hash it, then to send it)", nameof(source));
        var (partition, _) = await FileTargetAsync(stream, name, ct).ConfigureAwait(false);
        var start = source.Position;
        var size = source.Length - start;
        var sha = await HashAsync(source, size, progress, ct).ConfigureAwait(false);
        var plan = FileLayout.Plan(stream, name, size, sha);
        var timestamp = Options.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        var offer = await AppendRawOrOutOfOrderAsync(stream, partition, plan.Producer, plan.ManifestSequence,
            [FileLayout.ManifestRecord(plan, timestamp)], ct).ConfigureAwait(false);
        if (offer.Status == AppendStatus.AppendOk)
        {
            progress?.Report(new FileTransferProgress(FileTransferPhase.Sending, size, size));
            return new FilePutResult(plan.Manifest, partition, plan.Manifest.Chunks, offer.Duplicate);
        }
        var next = offer.ExpectedSequence;
        if (next < 1 || next > (ulong)plan.Batches)
            throw new BraidException(
                $"{stream}/{partition}: file '{name}' (object {plan.Manifest.ObjectId}) expects batch {next}, outside its batches 1-{plan.Batches}");
        source.Position = start;
        await SendChunksAsync(stream, partition, plan, source, next, timestamp, progress, ct).ConfigureAwait(false);
        return new FilePutResult(plan.Manifest, partition, plan.ChunksBefore(next), false);
    }

    /// <summary>
    /// Fetches the object <paramref name="name"/> of raw stream <paramref name="stream"/> into the
    /// file <paramref name="destinationPath"/>: the latest complete version (the last manifest in
    /// the stream), its SHA-256 checked against the manifest before the file takes its name.
    /// </summary>
    /// <remarks>
    /// <para>Bytes go to <c>OUT.part</c> as they arrive (memory stays bounded) and, once a second,
    /// the read cursor and the bytes so far go to <c>OUT.part.resume</c>, so a get that is run
    /// again after the client died or was stopped continues where it was (hashing the part
    /// file's bytes again first). Only when the SHA-256 matches is <c>OUT.part</c> renamed to
    /// <c>OUT</c>: a failed or interrupted get never leaves a partial or corrupt <c>OUT</c>.</para>
    /// <para>The get reads the one partition that holds the name, from its beginning (a snapshot
    /// fixed at the start); records of other objects in that partition travel too and are
    /// skipped, so the cost grows with the partition, not only with the file. When the newest
    /// put of the name was not complete (an interrupted new version), a second pass reads the
    /// latest complete one.</para>
    /// </remarks>
    /// <exception cref="BraidNotFoundException">no stream of that name, or no complete object of
    /// that name in it.</exception>
    /// <exception cref="BraidRefusedException">the name is empty, too long or holds control
    /// characters, or the stream is not raw.</exception>
    /// <exception cref="BraidChecksumException">the bytes read do not have the manifest's SHA-256
    /// (the part file is removed).</exception>
    public async Task<FileGetResult> GetFileAsync(string stream, string name, string destinationPath, IProgress<FileTransferProgress>? progress = null,
        CancellationToken ct = default)
    {
        var (partition, description) = await FileTargetAsync(stream, name, ct).ConfigureAwait(false);
        var destination = Path.GetFullPath(destinationPath);
        var target = new FileGetTarget(stream, description.Id, name, partition, destination + ".part",
            destination + ".part.resume");
        var saved = FileGetSidecar.TryLoad(target.SidecarPath, stream, description.Id, name, partition);
        var part = new FileStream(target.PartPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
        try
        {
            FileGetResult result;
            try
            {
                result = await FetchFileAsync(target, part, saved, progress, ct).ConfigureAwait(false);
            }
            catch (BraidException e) when (saved is not null && e is BraidOutOfRangeException or BraidRefusedException)
            {
                // The saved cursor no longer reads (retention removed its records): start afresh.
                FileGetSidecar.Delete(target.SidecarPath);
                result = await FetchFileAsync(target, part, null, progress, ct).ConfigureAwait(false);
            }
            part.Flush(flushToDisk: true);
            await part.DisposeAsync().ConfigureAwait(false);
            File.Move(target.PartPath, destination, overwrite: true);
            FileGetSidecar.Delete(target.SidecarPath);
            return result;
        }
        catch (BraidException e)
            when (e is BraidNotFoundException or BraidChecksumException or BraidRefusedException or BraidOutOfRangeException)
        {
            // Nothing a rerun could complete: leave no part file behind.
            await part.DisposeAsync().ConfigureAwait(false);
            File.Delete(target.PartPath);
            FileGetSidecar.Delete(target.SidecarPath);
            throw;
        }
        finally
        {
            await part.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed record FileGetTarget(string Stream, uint StreamId, string Name, uint Partition, string PartPath, string SidecarPath);

    /// <summary>One get into <paramref name="part"/>, from <paramref name="saved"/> or from the
    /// start; whatever stops it, the sidecar is left at the last chunk taken.</summary>
    private async Task<FileGetResult> FetchFileAsync(FileGetTarget target, FileStream part, FileGetSidecar? saved,
        IProgress<FileTransferProgress>? progress, CancellationToken ct)
    {
        using var assembler = new FileAssembler(target.Name, part);
        long resumed = 0;
        if (saved is not null)
        {
            try
            {
                var total = saved.State.Bytes;
                await assembler.RestoreAsync(saved.State, b => progress?.Report(new FileTransferProgress(FileTransferPhase.Verifying, b, total)), ct)
                    .ConfigureAwait(false);
                resumed = saved.State.Bytes;
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
            {
                saved = null; // the part file is not what the sidecar says: start afresh
            }
        }
        if (saved is null) part.SetLength(0);
        var state = saved ?? new FileGetSidecar(target.Stream, target.StreamId, target.Name, target.Partition, null, assembler.Save());
        var passes = assembler.Pinned is null ? 1 : 2;
        var savedAt = Options.Clock.GetTimestamp();
        void Keep(bool now)
        {
            if (!now && Options.Clock.GetElapsedTime(savedAt) < SidecarPeriod) return;
            part.Flush(flushToDisk: true); // the sidecar never claims bytes the part file lacks
            state.Save(target.SidecarPath);
            savedAt = Options.Clock.GetTimestamp();
        }
        try
        {
            while (true)
            {
                await foreach (var chunk in ReadRawAsync(target.Stream, [target.Partition], state.Cursor, 0, ct).ConfigureAwait(false))
                {
                    ct.ThrowIfCancellationRequested(); // a chunk already buffered must not outrun a stop
                    foreach (var record in chunk.Records) assembler.Accept(record);
                    state = state with { Cursor = chunk.Cursor, State = assembler.Save() };
                    progress?.Report(new FileTransferProgress(FileTransferPhase.Receiving, assembler.Bytes, assembler.TotalBytes));
                    if (assembler.Pinned is not null && assembler.Complete) break;
                    Keep(now: false);
                }
                if (assembler.Complete) return new FileGetResult(assembler.Result!, target.Partition, resumed, passes);
                if (assembler.Pinned is not null)
                    throw new BraidNotFoundException($"file '{target.Name}' (object {assembler.Pinned}) of stream '{target.Stream}' "
                        + $"is no longer whole in partition {target.Partition} (removed by retention?)");
                if (assembler.LatestManifest is null)
                    throw new BraidNotFoundException(assembler.FollowedId is null ? $"no file named '{target.Name}' in stream '{target.Stream}'"
                        : $"file '{target.Name}' of stream '{target.Stream}' is incomplete: its put did not finish (run the put again)");
                assembler.Pin(); // the newest put of the name is not its latest complete one: read again for that
                passes = 2;
                state = state with { Cursor = null, State = assembler.Save() };
                Keep(now: true);
            }
        }
        catch (Exception e) when (e is not (BraidNotFoundException or BraidChecksumException))
        {
            try { Keep(now: true); } // resumable from the last chunk taken
            catch (IOException) { } // the failure that stopped the get is the one to report
            ct.ThrowIfCancellationRequested(); // a stopped read surfaces as a broken call: say it was stopped
            throw;
        }
    }

    /// <summary>The partition of a file's records, after checking the name and the stream.</summary>
    private async Task<(uint Partition, StreamDescription Stream)> FileTargetAsync(string stream, string name, CancellationToken ct)
    {
        if (FileLayout.NameProblem(name) is { } problem) throw new BraidRefusedException(problem);
        var description = await DescribeStreamAsync(stream, ct).ConfigureAwait(false)
            ?? throw new BraidNotFoundException($"no stream named '{stream}'");
        if (description.Format != "raw") throw new BraidRefusedException($"stream '{stream}' is {description.Format}: files go in raw streams");
        return ((uint)ProducerBatcher.KeyPartition(Encoding.UTF8.GetBytes(name), description.Partitions.Count), description);
    }

    private static async Task<byte[]> HashAsync(Stream source, long size, IProgress<FileTransferProgress>? progress, CancellationToken ct)
    {
        var start = source.Position;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[FileLayout.BatchBytes];
        long done = 0;
        while (done < size)
        {
            var n = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, size - done)), ct).ConfigureAwait(false);
            if (n == 0) throw new BraidException($"the file ended after {done} of its {size} bytes while it was hashed");
            hash.AppendData(buffer, 0, n);
            done += n;
            progress?.Report(new FileTransferProgress(FileTransferPhase.Hashing, done, size));
        }
        source.Position = start;
        return hash.GetHashAndReset();
    }

    /// <summary>Reads the whole source again, hashing it, and sends batches <paramref name="first"/>
    /// on and then the manifest, in order on one ingest stream (a window of <see cref="FileWindowBatches"/>).</summary>
    private async Task SendChunksAsync(string stream, uint partition, FilePlan plan, Stream source, ulong first, long timestamp,
        IProgress<FileTransferProgress>? progress, CancellationToken ct)
    {
        var size = plan.Manifest.Size;
        long acked = plan.ChunksBefore(first) * FileLayout.ChunkBytes;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var window = new SemaphoreSlim(FileWindowBatches);
        void OnAcked(PendingBatch batch)
        {
            var bytes = batch.Sequence == plan.ManifestSequence ? 0
                : Math.Min(FileLayout.BatchBytes, size - (long)(batch.Sequence - 1) * FileLayout.BatchBytes);
            progress?.Report(new FileTransferProgress(FileTransferPhase.Sending, Interlocked.Add(ref acked, bytes), size));
            window.Release();
        }
        // Where this put starts: what was stored before.
        progress?.Report(new FileTransferProgress(FileTransferPhase.Sending, acked, size));
        var sender = new PartitionSender(this, partition, plan.Producer, OnAcked, stop.Token, stream, FileWindowBatches);
        try
        {
            var key = ByteString.CopyFromUtf8(plan.Manifest.Name);
            var buffer = new byte[FileLayout.BatchBytes];
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            for (ulong s = 1; s <= (ulong)plan.Batches; s++)
            {
                ct.ThrowIfCancellationRequested();
                var length = (int)Math.Min(FileLayout.BatchBytes, size - (long)(s - 1) * FileLayout.BatchBytes);
                var n = await source.ReadAtLeastAsync(buffer.AsMemory(0, length), length, throwOnEndOfStream: false, ct)
                    .ConfigureAwait(false);
                if (n != length)
                    throw new BraidException($"file '{plan.Manifest.Name}' changed while it was put: it ended after "
                        + $"{(long)(s - 1) * FileLayout.BatchBytes + n} of {size} bytes");
                hash.AppendData(buffer, 0, n);
                if (s < first) continue; // stored by an earlier put: read only to check the hash
                var records = new List<RawRecord>(FileLayout.ChunksPerBatch);
                for (var offset = 0; offset < length; offset += FileLayout.ChunkBytes)
                {
                    var chunk = (long)(s - 1) * FileLayout.ChunksPerBatch + offset / FileLayout.ChunkBytes;
                    var value = UnsafeByteOperations.UnsafeWrap(buffer.AsMemory(offset, Math.Min(FileLayout.ChunkBytes, length - offset)));
                    records.Add(FileLayout.ChunkRecord(plan, key, chunk, value, timestamp));
                }
                var batch = new PendingBatch((long)s, s, RawBatchCodec.Encode(records), records.Count);
                await EnqueueAsync(sender, window, batch, stop.Token).ConfigureAwait(false);
            }
            var sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (sha != plan.Manifest.Sha256)
                throw new BraidException(
                    $"file '{plan.Manifest.Name}' changed while it was put: SHA-256 {plan.Manifest.Sha256} at first, {sha} when sent; put it again");
            var manifest = RawBatchCodec.Encode([FileLayout.ManifestRecord(plan, timestamp)]);
            var last = new PendingBatch((long)plan.ManifestSequence, plan.ManifestSequence, manifest, 1);
            await EnqueueAsync(sender, window, last, stop.Token).ConfigureAwait(false);
            sender.Complete();
            await sender.Completion.WaitAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try { await sender.Completion.ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or BraidException or Grpc.Core.RpcException)
            {
                // Reported above, or the put was stopped.
            }
        }
    }

    /// <summary>Hands a batch to the sender once the window has room; a sender that failed throws its failure here.</summary>
    private static async Task EnqueueAsync(PartitionSender sender, SemaphoreSlim window, PendingBatch batch, CancellationToken ct)
    {
        var room = window.WaitAsync(ct);
        if (await Task.WhenAny(room, sender.Completion).ConfigureAwait(false) != room)
        {
            await sender.Completion.ConfigureAwait(false);
            throw new BraidException("the file's sender stopped before the file was sent");
        }
        await room.ConfigureAwait(false);
        sender.Enqueue(batch);
    }
}
