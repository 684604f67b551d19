using Microsoft.Extensions.Logging;

namespace Braid.Node.Storage;

/// <summary>Source-generated messages about replicas' disks (event ids 40-49, issue 11 items 4-5).</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 40, Level = LogLevel.Error, Message = "partition {Partition}: NOSPACE alarm raised, writes refused, reads served ({Reason}); writes resume once space returns")]
    public static partial void NoSpaceRaised(ILogger logger, uint partition, string reason);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "partition {Partition}: NOSPACE alarm cleared, space is back and writes resume")]
    public static partial void NoSpaceCleared(ILogger logger, uint partition);

    [LoggerMessage(EventId = 42, Level = LogLevel.Warning, Message = "partition {Partition}: quarantined {Name} as {MovedTo}: {Reason}; the replica restarts from what is valid and catches up from its leader")]
    public static partial void Quarantined(ILogger logger, uint partition, string name, string movedTo, string reason);

    [LoggerMessage(EventId = 43, Level = LogLevel.Warning, Message = "partition {Partition}: replica {ReplicaId} may have lost persisted state ({Reason}); it rejoins without a vote until it has caught up with its leader")]
    public static partial void LostState(ILogger logger, uint partition, string replicaId, string reason);

    [LoggerMessage(EventId = 44, Level = LogLevel.Information, Message = "partition {Partition}: caught up after lost state; the replica votes again")]
    public static partial void RecoveryEnded(ILogger logger, uint partition);
}
