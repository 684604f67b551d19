using Braid.Cli.Bench;
using Braid.Core.Log;
using Braid.Node.Storage;

namespace Braid.Cli.Tests.Bench;

/// <summary>The log bench's group commit, on a real disk.</summary>
public sealed class GroupCommitLogTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "braid-groupcommit-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task ConcurrentAppendersShareFsyncsAndCompleteOnlyWhenDurable()
    {
        var device = new FileDevice(directory);
        SegmentedLog log = SegmentedLog.Open(device);
        await using (var group = new GroupCommitLog(log))
        {
            Task<ulong>[] appends = Enumerable.Range(0, 400)
                .Select(i => Task.Run(() => group.AppendAsync(1, BitConverter.GetBytes(i))))
                .ToArray();
            ulong[] indices = await Task.WhenAll(appends).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(Enumerable.Range(1, 400).Select(i => (ulong)i), indices.Order());
            Assert.True(log.LastDurableIndex >= indices.Max());
            Assert.True(group.SyncCount < 400, $"{group.SyncCount} syncs for 400 appends");
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => group.AppendAsync(0, new byte[1]));
        }

        log.Dispose();
    }
}
