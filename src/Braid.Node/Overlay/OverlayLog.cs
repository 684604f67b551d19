using Microsoft.Extensions.Logging;

namespace Braid.Node.Overlay;

/// <summary>Source-generated overlay log messages; event ids 100-119 belong to the overlay.</summary>
internal static partial class OverlayLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "overlay: refused {Count} envelopes in the last second (dropped); e.g. {Example}")]
    public static partial void EnvelopesRefused(ILogger logger, int count, string example);

    [LoggerMessage(EventId = 101, Level = LogLevel.Error, Message = "overlay: handling one input failed; it was dropped{Link}")]
    public static partial void InputFailed(ILogger logger, Exception exception, string link);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "link from {Neighbour} refused: {Neighbour} already has a live link (the new stream is a duplicate or an impostor)")]
    public static partial void DuplicateLink(ILogger logger, string neighbour);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "overlay: the graph grew to {Nodes} nodes, {Edges} edges (added: {Added})")]
    public static partial void TopologyGrew(ILogger logger, int nodes, int edges, string added);
}
