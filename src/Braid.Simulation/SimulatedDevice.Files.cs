using Braid.Core.Log;

namespace Braid.Simulation;

/// <summary>The files of a <see cref="SimulatedDevice"/>: contents, page cache and handles.</summary>
public sealed partial class SimulatedDevice
{
    /// <summary>
    /// One file's data, named or not (POSIX inode): what is durable, what the page cache shows,
    /// and the unsynced operations in between, replayed in part at a crash.
    /// </summary>
    private sealed class Inode(int id)
    {
        private readonly List<PendingWrite> pending = [];

        public int Id { get; } = id;

        public FileBytes Current { get; private set; } = new();

        public FileBytes Durable { get; } = new();

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            Current.Write(offset, data);
            pending.Add(new PendingWrite(offset, data.ToArray(), -1));
        }

        public void SetLength(long length)
        {
            Current.SetLength(length);
            pending.Add(new PendingWrite(0, null, length));
        }

        public void Sync()
        {
            foreach (PendingWrite write in pending)
            {
                write.ApplyTo(Durable);
            }

            pending.Clear();
        }

        public void FlipBit(long offset, byte mask)
        {
            Current.FlipBit(offset, mask);
            if (offset < Durable.Length)
            {
                Durable.FlipBit(offset, mask);
            }
        }

        public void Crash(Random random, SimulatedCrash mode)
        {
            int kept = mode switch
            {
                SimulatedCrash.LoseUnsynced => 0,
                SimulatedCrash.KeepRandomPrefix => random.Next(pending.Count + 1),
                _ => pending.Count,
            };
            for (int i = 0; i < kept; i++)
            {
                bool tear = i == kept - 1 && (mode == SimulatedCrash.TearLastWrite || random.Next(2) == 0);
                if (tear)
                {
                    pending[i].ApplyTornTo(Durable, random);
                }
                else
                {
                    pending[i].ApplyTo(Durable);
                }
            }

            pending.Clear();
            Current = Durable.Clone();
        }
    }

    /// <summary>An unsynced write (<c>Data</c> set) or length change (<c>NewLength</c> set).</summary>
    private readonly record struct PendingWrite(long Offset, byte[]? Data, long NewLength)
    {
        public void ApplyTo(FileBytes contents)
        {
            if (Data is null)
            {
                contents.SetLength(NewLength);
            }
            else
            {
                contents.Write(Offset, Data);
            }
        }

        /// <summary>
        /// A write cut short: a strict prefix of its bytes arrived; sometimes the file length was
        /// extended anyway and the missing bytes read as zeros (a size update that beat the data).
        /// </summary>
        public void ApplyTornTo(FileBytes contents, Random random)
        {
            if (Data is null || Data.Length == 0)
            {
                ApplyTo(contents);
                return;
            }

            int keep = random.Next(Data.Length);
            contents.Write(Offset, Data.AsSpan(0, keep));
            if (random.Next(2) == 0 && contents.Length < Offset + Data.Length)
            {
                contents.SetLength(Offset + Data.Length);
            }
        }
    }

    /// <summary>A growable byte array.</summary>
    private sealed class FileBytes
    {
        private byte[] bytes = [];

        public long Length { get; private set; }

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            long end = offset + data.Length;
            if (end > Length)
            {
                SetLength(end);
            }

            data.CopyTo(bytes.AsSpan((int)offset));
        }

        public void SetLength(long length)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Array.MaxLength);
            if (length > bytes.Length)
            {
                Array.Resize(ref bytes, (int)Math.Min(Array.MaxLength, Math.Max(length, bytes.Length * 2L)));
            }

            if (length < Length)
            {
                bytes.AsSpan((int)length, (int)(Length - length)).Clear();
            }

            Length = length;
        }

        public int Read(long offset, Span<byte> destination)
        {
            if (offset >= Length)
            {
                return 0;
            }

            int count = (int)Math.Min(destination.Length, Length - offset);
            bytes.AsSpan((int)offset, count).CopyTo(destination);
            return count;
        }

        public void FlipBit(long offset, byte mask)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(offset, Length);
            bytes[offset] ^= mask;
        }

        public byte[] ToArray() => bytes.AsSpan(0, (int)Length).ToArray();

        public FileBytes Clone()
        {
            var copy = new FileBytes();
            copy.Write(0, bytes.AsSpan(0, (int)Length));
            return copy;
        }
    }

    /// <summary>A handle that dies with the generation it was opened in, like a process at power loss.</summary>
    private sealed class Handle(SimulatedDevice owner, Inode inode, int openedInGeneration) : IStorageHandle
    {
        private bool disposed;

        public long Length
        {
            get
            {
                Check();
                return inode.Current.Length;
            }
        }

        public int ReadAt(long offset, Span<byte> destination)
        {
            Check();
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            return inode.Current.Read(offset, destination);
        }

        public void WriteAt(long offset, ReadOnlySpan<byte> source)
        {
            Check();
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            long length = inode.Current.Length;
            long growth = offset + source.Length - length;
            long granted = owner.Allocate(growth);
            if (granted < growth)
            {
                // A short write: what fits lands, then ENOSPC (what write(2) does when it runs out).
                int fits = (int)Math.Max(0, length + granted - offset);
                if (fits > 0)
                {
                    inode.Write(offset, source[..fits]);
                }

                throw new StorageFullException("simulated ENOSPC: no space left on device");
            }

            inode.Write(offset, source);
        }

        public void SetLength(long length)
        {
            Check();
            ArgumentOutOfRangeException.ThrowIfNegative(length);
            long growth = length - inode.Current.Length;
            if (growth > 0 && owner.FreeBytes is { } free && growth > free)
            {
                throw new StorageFullException("simulated ENOSPC: no space left on device");
            }

            if (growth > 0)
            {
                owner.Allocate(growth);
            }
            else
            {
                owner.Release(-growth);
            }

            inode.SetLength(length);
        }

        public void Sync()
        {
            Check();
            owner.OnSync(openedInGeneration);
            inode.Sync();
        }

        public void Dispose() => disposed = true;

        private void Check()
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            owner.CheckGeneration(openedInGeneration);
        }
    }
}
