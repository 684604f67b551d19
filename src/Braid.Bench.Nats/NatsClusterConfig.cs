using System.Globalization;
using System.Text;

namespace Braid.Bench.Nats;

/// <summary>The ports of one local nats-server: clients, cluster routes.</summary>
public sealed record NatsServerPorts(int ClientPort, int ClusterPort);

/// <summary>
/// The configuration files of a local JetStream cluster of nats-server processes on loopback:
/// one per server, each naming the other servers as routes. Everything a server writes (its
/// JetStream store and its own log) stays under <c>directory</c>.
/// </summary>
/// <remarks>Plain nats-server 2.9 configuration (the Debian package): no TLS, no accounts, JetStream
/// with its defaults (2.9 fixes the file store's fsync interval at 2 min and the Raft log's at 5 min;
/// <c>sync_interval</c> became a setting in 2.10).</remarks>
public static class NatsClusterConfig
{
    public const string ClusterName = "braid-bench";

    /// <summary>Name of server <paramref name="index"/> (0-based): n1, n2, ...</summary>
    public static string ServerName(int index) => "n" + (index + 1).ToString(CultureInfo.InvariantCulture);

    /// <summary>The configuration file text of server <paramref name="index"/> of <paramref name="servers"/>.</summary>
    public static string Render(int index, IReadOnlyList<NatsServerPorts> servers, string directory)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, servers.Count);
        if (servers.Count < 3) throw new ArgumentException("a JetStream R3 cluster needs at least three servers", nameof(servers));
        var name = ServerName(index);
        var text = new StringBuilder();
        text.Append("# Written by `braid bench compare`: server ").Append(name).Append(" of a local JetStream cluster.\n");
        text.Append("server_name: ").Append(Quote(name)).Append('\n');
        text.Append("listen: ").Append(Quote(Loopback(servers[index].ClientPort))).Append('\n');
        text.Append("log_file: ").Append(Quote(Path.Combine(directory, name + ".log"))).Append('\n');
        text.Append("jetstream {\n");
        text.Append("  store_dir: ").Append(Quote(Path.Combine(directory, name))).Append('\n');
        text.Append("}\n");
        text.Append("cluster {\n");
        text.Append("  name: ").Append(Quote(ClusterName)).Append('\n');
        text.Append("  listen: ").Append(Quote(Loopback(servers[index].ClusterPort))).Append('\n');
        text.Append("  routes: [\n");
        for (var other = 0; other < servers.Count; other++)
        {
            if (other == index) continue;
            text.Append("    ").Append(Quote("nats-route://" + Loopback(servers[other].ClusterPort))).Append('\n');
        }
        text.Append("  ]\n");
        text.Append("}\n");
        return text.ToString();
    }

    /// <summary>The client URL of a server.</summary>
    public static string ClientUrl(NatsServerPorts server) => "nats://" + Loopback(server.ClientPort);

    private static string Loopback(int port)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        return "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A double-quoted configuration string (the format escapes like JSON).</summary>
    private static string Quote(string value)
    {
        if (value.Any(char.IsControl)) throw new ArgumentException($"control character in a configuration value: {value}", nameof(value));
        return "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }
}
