using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Braid.Cli.Cluster;

namespace Braid.Cli.Hosts;

/// <summary>
/// Creates and removes a cluster's namespace hosts with iproute2 and nftables, and cuts and heals
/// traffic between them. Cuts are rules in one nftables table of the bridge family in the root
/// namespace, so they drop frames between hosts on the bridge; the client's own traffic (root
/// namespace to a host) does not cross the bridge's forward hook and keeps reaching both sides.
/// </summary>
internal static partial class Netns
{
    /// <summary>Fails with a clear message unless this process can create namespaces.</summary>
    public static void RequireRoot()
    {
        if (!OperatingSystem.IsLinux()) throw new CliException("namespace hosts need Linux (network namespaces, veth, bridges, nftables)");
        if (Environment.UserName != "root" && GetEuid() != 0)
            throw new CliException("namespace hosts need root (network namespaces, veth pairs, a bridge and nftables rules): run as root or with sudo, or use --hosts loopback");
        foreach (var tool in new[] { "ip", "nft" })
            if (Which(tool) is null)
                throw new CliException($"'{tool}' not found: install {(tool == "ip" ? "iproute2" : "nftables")} (apt-get install -y {(tool == "ip" ? "iproute2" : "nftables")})");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':')
            .Concat(["/usr/sbin", "/sbin"]).Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    /// <summary>Picks a free /24 in 198.18.0.0/15, starting from one derived from the tag.</summary>
    public static int FreeSubnet(string tag)
    {
        var used = Run("ip", ["-4", "-o", "addr", "show"], check: false).Output;
        var start = int.Parse(tag, NumberStyles.HexNumber, CultureInfo.InvariantCulture) % 512;
        for (var i = 0; i < 512; i++)
        {
            var s = (start + i) % 512;
            var prefix = $"198.{18 + s / 256}.{s % 256}.";
            if (!used.Contains(" " + prefix, StringComparison.Ordinal)) return s;
        }
        throw new CliException("no free /24 left in 198.18.0.0/15 on this machine");
    }

    /// <summary>Creates the bridge, the table and every host; on any failure removes what it made and rethrows.</summary>
    public static void Create(NetworkLayout layout)
    {
        RequireRoot();
        if (Exists("link", layout.Bridge) || Run("ip", ["netns", "list"], check: false).Output.Contains(NetworkLayout.NamespacePrefix + layout.Tag + "-", StringComparison.Ordinal))
            throw new CliException($"network objects of an earlier run of this cluster folder are still there (bridge {layout.Bridge}); remove them with: braid cluster down --cleanup");
        try
        {
            Run("ip", ["link", "add", layout.Bridge, "type", "bridge"]);
            Run("ip", ["addr", "add", $"{layout.BridgeAddress}/{layout.PrefixLength}", "dev", layout.Bridge]);
            Run("ip", ["link", "set", layout.Bridge, "up"]);
            Nft($"add table bridge {layout.Table}");
            Nft($"add chain bridge {layout.Table} forward {{ type filter hook forward priority 0; policy accept; }}");
            foreach (var host in layout.Hosts)
            {
                Run("ip", ["netns", "add", host.Namespace]);
                Run("ip", ["link", "add", host.RootVeth, "type", "veth", "peer", "name", host.HostVeth]);
                Run("ip", ["link", "set", host.HostVeth, "netns", host.Namespace]);
                Run("ip", ["link", "set", host.RootVeth, "master", layout.Bridge, "up"]);
                Run("ip", ["-n", host.Namespace, "link", "set", "lo", "up"]);
                Run("ip", ["-n", host.Namespace, "addr", "add", $"{host.Address}/{layout.PrefixLength}", "dev", host.HostVeth]);
                Run("ip", ["-n", host.Namespace, "link", "set", host.HostVeth, "up"]);
            }
        }
        catch
        {
            Destroy(layout);
            throw;
        }
    }

    /// <summary>Removes everything <see cref="Create"/> made (what exists of it); returns what could not be removed.</summary>
    public static List<string> Destroy(NetworkLayout layout)
    {
        var left = new List<string>();
        foreach (var host in layout.Hosts)
        {
            if (NamespaceExists(host.Namespace) && DeleteNamespace(host.Namespace).Code != 0) left.Add("namespace " + host.Namespace);
            if (!Removed(() => Run("ip", ["link", "del", host.RootVeth], check: false).Code == 0, () => Exists("link", host.RootVeth), Thread.Sleep))
                left.Add("veth " + host.RootVeth);
        }
        if (TableExists(layout.Table) && Run("nft", ["delete", "table", "bridge", layout.Table], check: false).Code != 0) left.Add("nftables table " + layout.Table);
        if (Exists("link", layout.Bridge) && Run("ip", ["link", "del", layout.Bridge], check: false).Code != 0) left.Add("bridge " + layout.Bridge);
        return left;
    }

    /// <summary>How long a link that failed to delete may take to vanish by itself.</summary>
    internal static readonly TimeSpan VanishWait = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Deletes a link that may be going away by itself: deleting a namespace destroys its end of a
    /// veth and, a moment later (the kernel cleans namespaces up asynchronously), the root end too.
    /// `ip link del` in that moment fails ("Cannot find device") although nothing is left; a lab
    /// run then exited 1 saying it "could not remove" a veth that was gone when anyone looked.
    /// So a failed delete counts only if the link still exists after <see cref="VanishWait"/>
    /// (deleted once more on the way). Returns whether the link is gone.
    /// </summary>
    internal static bool Removed(Func<bool> delete, Func<bool> exists, Action<TimeSpan> sleep)
    {
        if (!exists() || delete()) return true;
        var step = TimeSpan.FromMilliseconds(50);
        for (var waited = TimeSpan.Zero; waited < VanishWait; waited += step)
        {
            sleep(step);
            if (!exists()) return true;
        }
        return delete() || !exists();
    }

    /// <summary>Everything named like a Braid lab object on this machine (any cluster folder's), for --cleanup and checks.</summary>
    public static List<string> Leftovers(string? tag = null)
    {
        var found = new List<string>();
        var ns = NetnsPrefix(tag);
        foreach (var name in Run("ip", ["netns", "list"], check: false).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]))
            if (name.StartsWith(ns, StringComparison.Ordinal)) found.Add("namespace " + name);
        foreach (Match m in LinkName().Matches(Run("ip", ["-o", "link", "show"], check: false).Output))
        {
            var name = m.Groups[1].Value;
            if (name.StartsWith(NetworkLayout.BridgePrefix + tag, StringComparison.Ordinal) && name.Length == 7) found.Add("bridge " + name);
            else if (name.StartsWith(NetworkLayout.VethPrefix + tag, StringComparison.Ordinal) && VethName().IsMatch(name)) found.Add("veth " + name);
        }
        if (Which("nft") is not null)
            foreach (Match m in TableName().Matches(Run("nft", ["list", "tables"], check: false).Output))
                if (m.Groups[1].Value.StartsWith(NetworkLayout.TablePrefix + tag, StringComparison.Ordinal)) found.Add("nftables table " + m.Groups[1].Value);
        return found;
    }

    /// <summary>Removes every Braid lab object (of one tag, or of all), killing the processes left in its namespaces.</summary>
    public static List<string> Cleanup(string? tag, TextWriter output)
    {
        RequireRoot();
        foreach (var item in Leftovers(tag))
        {
            var (kind, name) = (item[..item.LastIndexOf(' ')], item[(item.LastIndexOf(' ') + 1)..]);
            var result = kind switch
            {
                "namespace" => DeleteNamespace(name),
                "nftables table" => Run("nft", ["delete", "table", "bridge", name], check: false),
                _ => Run("ip", ["link", "del", name], check: false), // a veth whose peer went with its namespace is already gone: fine
            };
            output.WriteLine($"removed {item}{(result.Code == 0 ? "" : $" (failed: {result.Error.Trim()})")}");
        }
        return Leftovers(tag);
    }

    /// <summary>Kills what still runs inside a namespace (a leftover's processes), then deletes it.</summary>
    private static Result DeleteNamespace(string ns)
    {
        KillAllIn(ns);
        return Run("ip", ["netns", "del", ns], check: false);
    }

    private static string NetnsPrefix(string? tag) => NetworkLayout.NamespacePrefix + (tag is null ? "" : tag + "-");

    /// <summary>SIGKILLs every process inside a namespace (our nodes, after their owner failed to stop them).</summary>
    public static int KillAllIn(string ns)
    {
        if (!NamespaceExists(ns)) return 0;
        var pids = Run("ip", ["netns", "pids", ns], check: false).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => int.TryParse(p.Trim(), out var pid) ? pid : 0).Where(p => p > 0).ToList();
        foreach (var pid in pids) ProcessControl.Signal(pid, ProcessControl.SigKill);
        return pids.Count;
    }

    /// <summary>Drops frames from any address of <paramref name="from"/> to any of <paramref name="to"/>
    /// (and back unless one-way). Returns the rule handles, for <see cref="Heal"/>.</summary>
    public static List<int> Cut(NetworkLayout layout, IReadOnlyCollection<string> from, IReadOnlyCollection<string> to, bool oneWay)
    {
        var handles = new List<int> { AddDrop(layout, from, to) };
        if (!oneWay) handles.Add(AddDrop(layout, to, from));
        return handles;
    }

    public static void Heal(NetworkLayout layout, IEnumerable<int> handles)
    {
        foreach (var h in handles)
            Run("nft", ["delete", "rule", "bridge", layout.Table, "forward", "handle", h.ToString(CultureInfo.InvariantCulture)], check: false);
    }

    private static int AddDrop(NetworkLayout layout, IReadOnlyCollection<string> from, IReadOnlyCollection<string> to)
    {
        var result = Run("nft", ["--echo", "--handle", "add", "rule", "bridge", layout.Table, "forward",
            "ip", "saddr", "{", string.Join(", ", from), "}", "ip", "daddr", "{", string.Join(", ", to), "}", "drop"]);
        var m = Handle().Match(result.Output);
        if (!m.Success) throw new CliException($"nft did not report the rule's handle: {result.Output}");
        return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The command that runs <paramref name="arguments"/> inside a host's namespace.</summary>
    public static IEnumerable<string> ExecIn(string ns) => ["netns", "exec", ns];

    private static bool Exists(string kind, string name) => Run("ip", [kind, "show", name], check: false).Code == 0;

    private static bool NamespaceExists(string ns) =>
        Run("ip", ["netns", "list"], check: false).Output.Split('\n').Any(l => l.Split(' ')[0] == ns);

    private static bool TableExists(string table) => Run("nft", ["list", "table", "bridge", table], check: false).Code == 0;

    private static void Nft(string script) => Run("nft", [script]);

    internal readonly record struct Result(int Code, string Output, string Error);

    internal static Result Run(string tool, IReadOnlyList<string> arguments, bool check = true)
    {
        var info = new ProcessStartInfo(Which(tool) ?? tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new CliException($"could not run {tool}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(30_000))
        {
            process.Kill();
            throw new CliException($"{tool} {string.Join(' ', arguments)} did not finish in 30 s");
        }
        var result = new Result(process.ExitCode, stdout.Result, stderr);
        if (check && result.Code != 0)
            throw new CliException($"{tool} {string.Join(' ', arguments)} failed: {stderr.Trim()}");
        return result;
    }

    [GeneratedRegex(@"^\d+: ([^:@\s]+)", RegexOptions.Multiline)]
    private static partial Regex LinkName();

    [GeneratedRegex(@"^vb[0-9a-f]{4}[rh]\d+$")]
    private static partial Regex VethName();

    [GeneratedRegex(@"table bridge (\S+)")]
    private static partial Regex TableName();

    [GeneratedRegex(@"# handle (\d+)")]
    private static partial Regex Handle();
}
