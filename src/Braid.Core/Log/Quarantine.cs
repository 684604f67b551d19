namespace Braid.Core.Log;

/// <summary>A damaged file moved aside on open: where it went and why.</summary>
public sealed record QuarantinedFile(string Name, string MovedTo, string Reason);

/// <summary>
/// Moves damaged files out of the way rather than deleting them (issue 11, item 5): the replica
/// restarts from what is valid and catches up from its leader, and the bytes stay on the device
/// for an operator (or a bug report) under a name no part of the storage reads back.
/// </summary>
public static class Quarantine
{
    /// <summary>Prefix of every quarantined name: <c>quarantine.N.original</c>.</summary>
    public const string Prefix = "quarantine.";

    /// <summary>Renames <paramref name="name"/> to the first free <c>quarantine.N.name</c>; the
    /// rename is durable once the caller syncs the directory (before anything depends on it).</summary>
    public static QuarantinedFile MoveAside(IStorageDevice device, string name, string reason)
    {
        ArgumentNullException.ThrowIfNull(device);
        string target;
        int n = 0;
        do
        {
            target = $"{Prefix}{n++}.{name}";
        }
        while (device.Exists(target));

        device.Rename(name, target);
        return new QuarantinedFile(name, target, reason);
    }
}
