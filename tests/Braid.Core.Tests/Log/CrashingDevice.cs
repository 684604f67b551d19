using Braid.Core.Log;
using Braid.Simulation;

namespace Braid.Core.Tests.Log;

/// <summary>Thrown by <see cref="CrashingDevice"/> when its budget of device operations runs out.</summary>
internal sealed class PowerLossException() : Exception("simulated power loss");

/// <summary>
/// Wraps a <see cref="SimulatedDevice"/> and "loses power" before its n-th mutating operation,
/// so a test can crash a log between any two device calls (mid-roll, mid-truncation, mid-save).
/// </summary>
internal sealed class CrashingDevice(SimulatedDevice inner) : IStorageDevice
{
    private long budget = long.MaxValue;

    public bool Tripped { get; private set; }

    public SimulatedDevice Inner => inner;

    public void CrashAfter(long operations)
    {
        budget = operations;
        Tripped = false;
    }

    public void Disarm() => budget = long.MaxValue;

    public IReadOnlyList<string> ListNames() => inner.ListNames();

    public bool Exists(string name) => inner.Exists(name);

    public IStorageHandle Open(string name, bool create)
    {
        if (create && !inner.Exists(name))
        {
            Spend();
        }

        return new CountingHandle(this, inner.Open(name, create));
    }

    public void Delete(string name)
    {
        Spend();
        inner.Delete(name);
    }

    public void Rename(string sourceName, string destinationName)
    {
        Spend();
        inner.Rename(sourceName, destinationName);
    }

    public void SyncDirectory()
    {
        Spend();
        inner.SyncDirectory();
    }

    private void Spend()
    {
        if (budget-- <= 0)
        {
            Tripped = true;
            throw new PowerLossException();
        }
    }

    private sealed class CountingHandle(CrashingDevice owner, IStorageHandle handle) : IStorageHandle
    {
        public long Length => handle.Length;

        public int ReadAt(long offset, Span<byte> destination) => handle.ReadAt(offset, destination);

        public void WriteAt(long offset, ReadOnlySpan<byte> source)
        {
            owner.Spend();
            handle.WriteAt(offset, source);
        }

        public void SetLength(long length)
        {
            owner.Spend();
            handle.SetLength(length);
        }

        public void Sync()
        {
            owner.Spend();
            handle.Sync();
        }

        public void Dispose() => handle.Dispose();
    }
}
