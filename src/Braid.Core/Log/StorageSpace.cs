namespace Braid.Core.Log;

/// <summary>Asks a device whether it has room again, for a replica in its NOSPACE alarm.</summary>
public static class StorageSpace
{
    /// <summary>Name of the probe file; never a segment, hard state or snapshot name.</summary>
    public const string ProbeName = "space.probe";

    /// <summary>
    /// Writes <paramref name="bytes"/> zeros to a probe file and removes it again, unsynced (only
    /// the allocation is tested). True when the write fit. Any other device error also answers
    /// false: the alarm stays on rather than the probe failing the replica.
    /// </summary>
    public static bool Probe(IStorageDevice device, int bytes)
    {
        ArgumentNullException.ThrowIfNull(device);
        bool fits = false;
        try
        {
            using IStorageHandle handle = device.Open(ProbeName, create: true);
            try
            {
                handle.WriteAt(0, new byte[bytes]);
                fits = true;
            }
            finally
            {
                handle.SetLength(0);
            }
        }
        catch (IOException)
        {
            return false;
        }

        try
        {
            device.Delete(ProbeName);
        }
        catch (IOException)
        {
            // A probe file left behind is harmless: recovery ignores it and the next probe reuses it.
        }

        return fits;
    }
}
