using Braid.Cli.Cluster;

namespace Braid.Cli.Bench;

/// <summary>Samples the resident set size of every node of a cluster from /proc every 200 ms and keeps each node's peak.</summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);
    private readonly IReadOnlyList<NodeProcess> nodes;
    private readonly Dictionary<string, long> peakBytes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;
    private readonly object gate = new();
    private readonly Dictionary<string, long> cpuTicksAtStart;

    public RssSampler(IReadOnlyList<NodeProcess> nodes)
    {
        this.nodes = nodes;
        cpuTicksAtStart = nodes.ToDictionary(n => n.Id, n => ProcessControl.CpuTicks(n.Pid) ?? 0, StringComparer.Ordinal);
        Sample();
        loop = Task.Run(RunAsync);
    }

    /// <summary>Peak RSS per node id, in bytes, so far.</summary>
    public IReadOnlyDictionary<string, long> PeakBytes
    {
        get { lock (gate) return new Dictionary<string, long>(peakBytes, StringComparer.Ordinal); }
    }

    /// <summary>CPU seconds (user + system) each node used since the sampler started.</summary>
    public IReadOnlyDictionary<string, double> CpuSeconds() =>
        nodes.ToDictionary(n => n.Id, n => ((ProcessControl.CpuTicks(n.Pid) ?? 0) - cpuTicksAtStart[n.Id]) / 100.0, StringComparer.Ordinal); // USER_HZ

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false)) Sample();
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Sample()
    {
        foreach (var node in nodes)
        {
            var rss = ProcessControl.RssBytes(node.Pid) ?? 0;
            lock (gate) peakBytes[node.Id] = Math.Max(rss, peakBytes.GetValueOrDefault(node.Id));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        await loop.ConfigureAwait(false);
        stop.Dispose();
    }
}
