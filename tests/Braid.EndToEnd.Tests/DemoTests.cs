using System.Text.RegularExpressions;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// Issue 13, item 7: the demo on a user's own copy of the fire data (`--data`), with its second
/// act (binary payloads followed live by `braid tail --follow`, a file put through a kill -9),
/// exits 0 only when everything checked out, and leaves no process behind.
/// </summary>
public sealed partial class DemoTests
{
    [Fact(Timeout = 300_000)]
    public async Task The_demo_on_the_users_own_files_with_its_second_act_checks_out_and_leaves_nothing_running()
    {
        var root = Path.Combine(Path.GetTempPath(), "braid-demo-" + Guid.NewGuid().ToString("N")[..10]);
        var data = Path.Combine(root, "fire");
        var dir = Path.Combine(root, "run");
        try
        {
            var gen = await BraidProcess.RunAsync(TimeSpan.FromSeconds(120), "gen", "airquality", "--out", data, "--records", "20000");
            Assert.True(gen.ExitCode == 0, gen.ToString());
            // A line as the real files write it: fewer decimals, a quoted comma, doubled quotes, an alphanumeric site id.
            var first = Directory.EnumerateFiles(data, "*.csv", SearchOption.AllDirectories).Order(StringComparer.Ordinal).First();
            File.AppendAllText(first, "\"53.5461\",\"-113.4938\",\"2020-08-10T00:00\",\"PM2.5\",\"18.0\",\"UG/M3\",\"17.2\",\"64\",\"2\",\"Edmonton, Central\",\"Alberta \"\"Env\"\"\",\"000010102\",\"124000010102\"\n");

            var port = BraidProcess.FreePortBlock(6);
            var demo = await BraidProcess.RunAsync(TimeSpan.FromSeconds(280), "demo", "--data", data, "--file-mb", "20", "--dir", dir,
                "--base-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(demo.ExitCode == 0, demo.ToString());
            Assert.Matches(@"records in the files\s+20,001", demo.Stdout);
            Assert.Matches(@"lost\s+0", demo.Stdout);
            Assert.Matches(@"duplicated\s+0", demo.Stdout);
            Assert.Matches(@"seen live by braid tail --follow\s+600 \(0 twice, 0 differing\)", demo.Stdout);
            Assert.Matches(@"file put and got back\s+21 MB, identical", demo.Stdout);
            Assert.Matches(KillsInAct2(), demo.Stdout);
            Assert.Empty(BraidProcess.ProcessesMentioning(dir)); // no node, no tail left
        }
        finally
        {
            foreach (var pid in BraidProcess.ProcessesMentioning(dir)) try { System.Diagnostics.Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { }
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    [GeneratedRegex(@"act 2 faults\s+kill -9 \w \(leader of payloads/0\) mid-write; kill -9 \w \(leader of the file's partition\)")]
    private static partial Regex KillsInAct2();
}
