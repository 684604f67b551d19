using Microsoft.Extensions.Logging;

namespace Braid.Node.Storage;

/// <summary>Source-generated messages about replicas' disks (event ids 40-49, issue 11 items 4-5).</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 40, Level = LogLevel.Error, Message = "partition {Partition}: NOSPACE alarm raised, writes refused, reads served ({Reason}); writes resume once space returns")]
    public static partial void NoSpaceRaised(ILogger logger, uint partition, string reason);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "partition {Partition}: NOSPACE alarm cleared, space is back and writes resume")]
    public static partial void NoSpaceCleared(ILogger logger, uint partition);
}
