namespace Braid.Client.Tests;

/// <summary>
/// Channels to nodes dial a node again within a second after failed connections: a node restarts
/// in seconds and may lead again at once, and gRPC's default connection backoff (growing to 2 min)
/// kept a client's channel failing every call to a restarted node long after it served again.
/// </summary>
public sealed class ChannelOptionsTests
{
    [Fact]
    public void A_channel_to_a_node_backs_off_at_most_a_second_between_dials()
    {
        using var handler = new System.Net.Http.SocketsHttpHandler();
        var options = BraidClient.ChannelOptions(handler);
        Assert.Equal(TimeSpan.FromMilliseconds(100), options.InitialReconnectBackoff);
        Assert.Equal(TimeSpan.FromSeconds(1), options.MaxReconnectBackoff);
        Assert.Same(handler, options.HttpHandler);
        Assert.Equal(64 * 1024 * 1024, options.MaxReceiveMessageSize);
    }
}
