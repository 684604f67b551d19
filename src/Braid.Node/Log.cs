using Microsoft.Extensions.Logging;

namespace Braid.Node;

/// <summary>Source-generated log messages with stable event ids.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "node {NodeId} listening on {Address} (topology {Topology}, incarnation {Incarnation})")]
    public static partial void Started(ILogger logger, string nodeId, string address, string topology, ulong incarnation);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "overlay: {Event}")]
    public static partial void OverlayEvent(ILogger logger, string @event);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "routes: {Table}")]
    public static partial void RoutesChanged(ILogger logger, string table);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "dial {Neighbour} failed: {Reason}")]
    public static partial void DialFailed(ILogger logger, string neighbour, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "link to {Neighbour} refused: {Reason}")]
    public static partial void LinkRefused(ILogger logger, string neighbour, string reason);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "outbound queue to {Neighbour} is full; closing the link")]
    public static partial void OutboundFull(ILogger logger, string neighbour);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "partitions: {Count} replicas on this node ({Partitions})")]
    public static partial void PartitionsOpened(ILogger logger, int count, string partitions);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "partition {Partition}: {Role} in term {Term}, leader {Leader}")]
    public static partial void PartitionRole(ILogger logger, uint partition, string role, ulong term, string leader);

    /// <summary>A transfer this node started: back to the preferred leader, or, as it stops, to a caught-up follower.</summary>
    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "partition {Partition}: handing leadership to {Target}")]
    public static partial void LeadershipTransfer(ILogger logger, uint partition, string target);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "partition {Partition}: compacted the log up to {Index} (first entry kept {FirstIndex}, {LogBytes} bytes of log)")]
    public static partial void Compacted(ILogger logger, uint partition, ulong index, ulong firstIndex, long logBytes);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "partition {Partition}: not compacting, its state exceeds the {Limit} bytes a snapshot may hold; the log keeps growing")]
    public static partial void CompactionSkipped(ILogger logger, uint partition, int limit);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "partition {Partition}: restored snapshot {Index} in term {Term} ({Bytes} bytes, {Reason})")]
    public static partial void SnapshotRestored(ILogger logger, uint partition, ulong index, ulong term, int bytes, string reason);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "fault injected on link to {Neighbour}: {Fault}")]
    public static partial void FaultInjected(ILogger logger, string neighbour, string fault);

    // Partition containment and Raft message checks (issue 11); ids 60-69 kept for them.
    [LoggerMessage(EventId = 60, Level = LogLevel.Error, Message = "partition {Partition} failed ({Failures} in a row); it reopens from disk in {RetrySeconds} s, the other partitions keep serving")]
    public static partial void PartitionFailed(ILogger logger, uint partition, int failures, double retrySeconds, Exception exception);

    [LoggerMessage(EventId = 61, Level = LogLevel.Error, Message = "work on the partition loop failed; the loop goes on")]
    public static partial void LoopWorkFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 65, Level = LogLevel.Information, Message = "stopping: handed off leadership of {Handed} partitions; {StillLeading} still led after {Milliseconds} ms")]
    public static partial void HandedOff(ILogger logger, int handed, int stillLeading, long milliseconds);

    [LoggerMessage(EventId = 64, Level = LogLevel.Information, Message = "leader {Node} is unreachable: failing over partitions {Partitions} at once")]
    public static partial void LeaderUnreachable(ILogger logger, string node, string partitions);

    [LoggerMessage(EventId = 62, Level = LogLevel.Warning, Message = "dropped {Count} Raft messages from {Source} that claim to come from another node")]
    public static partial void RaftForged(ILogger logger, string source, int count);

    [LoggerMessage(EventId = 63, Level = LogLevel.Warning, Message = "partition {Partition}: refused a Raft message: {Reason}")]
    public static partial void RaftRefused(ILogger logger, uint partition, string reason);

    // Metrics and health (issue 14, items 1 and 2); ids 70-79 kept for them.
    [LoggerMessage(EventId = 70, Level = LogLevel.Information, Message = "replay done: {Partitions} replicas opened and applied their logs (applied indexes summing to {Applied}) in {Milliseconds:F0} ms")]
    public static partial void ReplayEnded(ILogger logger, int partitions, ulong applied, double milliseconds);

    [LoggerMessage(EventId = 73, Level = LogLevel.Warning, Message = "replay: partitions {Partitions} hold entries that no leader confirmed within {Seconds} s; the node serves without waiting for them")]
    public static partial void ReplayUnconfirmed(ILogger logger, string partitions, double seconds);

    [LoggerMessage(EventId = 71, Level = LogLevel.Information, Message = "health: {Service} {Status}")]
    public static partial void HealthChanged(ILogger logger, string service, string status);

    [LoggerMessage(EventId = 72, Level = LogLevel.Information, Message = "metrics: Prometheus text format on http://{Address}/metrics")]
    public static partial void MetricsListening(ILogger logger, string address);

    [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "streams: catalog at metadata index {Version}: {Streams}")]
    public static partial void CatalogAdopted(ILogger logger, ulong version, string streams);

    [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "streams: catalog command at metadata index {Index} changed nothing: {Reason}")]
    public static partial void CatalogRefused(ILogger logger, ulong index, string reason);

    [LoggerMessage(EventId = 112, Level = LogLevel.Information, Message = "streams: replica of {Group} opened")]
    public static partial void StreamReplicaOpened(ILogger logger, string group);

    [LoggerMessage(EventId = 113, Level = LogLevel.Information, Message = "streams: replica of {Group} closed, its stream was deleted")]
    public static partial void StreamReplicaClosed(ILogger logger, string group);

    [LoggerMessage(EventId = 120, Level = LogLevel.Information, Message = "membership: {Group} {Action} {Node} (now {Configuration})")]
    public static partial void MembershipStep(ILogger logger, string group, string action, string node, string configuration);

    [LoggerMessage(EventId = 121, Level = LogLevel.Information, Message = "membership: replica of {Group} closed and its files removed: {Why}")]
    public static partial void ReplicaRemoved(ILogger logger, string group, string why);

    [LoggerMessage(EventId = 122, Level = LogLevel.Warning, Message = "membership: node {Node} unreachable for {Seconds:F0} s (dead after {DeadAfter:F0} s): declaring it dead, {Groups} group(s) move")]
    public static partial void DeclaringDead(ILogger logger, string node, double seconds, double deadAfter, int groups);

    [LoggerMessage(EventId = 123, Level = LogLevel.Warning, Message = "membership: declaring {Node} dead did not commit: {Error}")]
    public static partial void DeclareDeadFailed(ILogger logger, string node, string error);

    [LoggerMessage(EventId = 124, Level = LogLevel.Warning, Message = "membership: the catalog says this node ({Node}) is {State}: it takes no new replica and keeps those it holds only until their groups remove it; `braid cluster add {Node} ...` adds it back as new")]
    public static partial void SelfNotUp(ILogger logger, string node, string state);
}
