using System.Text;
using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Protocol.V1;
using Braid.Simulation;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Braid.Core.Tests.Raft;

/// <summary>
/// A scripted Raft group for scenario tests in the style of etcd-io/raft's interaction tests:
/// script in, trace out. Holds N <see cref="RaftNode"/>s ("A", "B", "C", ...) on simulated disks,
/// one FIFO network queue and the script verbs (tick, deliver, isolate, crash, propose, transfer).
/// Every role change and every commit on every node is appended to a trace
/// ("A: leader term 1", "B commits 3 x@2"), and so is every message delivered or dropped
/// ("A->B APPEND term 1 prev 1@1 entries [2@1] commit 1", see <see cref="RaftTraceText"/>).
/// Tests assert on the events alone (<see cref="TakeTrace"/>) or on the whole story
/// (<see cref="AssertFullTrace"/>). Given a test output, every trace line is written to it as it
/// happens, so a failing test's output holds the story up to the failure.
/// Deterministic: fixed seeds, FIFO delivery.
/// The harness checks the safety invariants on every step, whatever the test asserts: at most
/// one leader per term, and one committed entry per index across all nodes (and restarts).
/// </summary>
internal sealed class RaftScenario
{
    public const uint Group = 1;
    private const int DeliveriesMax = 1_000_000;

    private readonly Dictionary<string, Replica> replicas = new(StringComparer.Ordinal);
    private readonly Queue<RaftMessage> network = new();
    private readonly HashSet<string> isolated = new(StringComparer.Ordinal);
    private readonly List<Func<RaftMessage, bool>> losses = [];
    private readonly List<TraceLine> trace = [];
    private readonly Dictionary<ulong, string> leaderOfTerm = [];
    private readonly Dictionary<ulong, string> committedAt = [];
    private readonly List<RaftMessage> delivered = [];
    private readonly List<RaftMessage> dropped = [];
    private readonly int seed;
    private readonly long segmentBytesMax;
    private readonly ITestOutputHelper? output;
    private int traceTaken;

    public RaftScenario(
        int nodes = 3, RaftOptions? options = null, int seed = 1, long segmentBytesMax = 64 * 1024,
        ITestOutputHelper? output = null)
    {
        Options = options ?? new RaftOptions();
        this.output = output;
        this.seed = seed;
        this.segmentBytesMax = segmentBytesMax;
        var ids = Enumerable.Range(0, nodes).Select(i => ((char)('A' + i)).ToString()).ToArray();
        for (int i = 0; i < ids.Length; i++)
        {
            var replica = new Replica(ids[i], ids, new SimulatedDevice(seed * 100 + i));
            replicas[ids[i]] = replica;
            Start(replica);
        }
    }

    public RaftOptions Options { get; }

    /// <summary>The live node <paramref name="id"/> (throws when it is crashed).</summary>
    public RaftNode this[string id] => replicas[id].Raft ?? throw new InvalidOperationException($"{id} is crashed");

    public IEnumerable<string> Ids => replicas.Keys;

    /// <summary>Live nodes that currently believe they lead.</summary>
    public IReadOnlyList<string> Leaders =>
        replicas.Values.Where(r => r.Raft?.Role == RaftRole.Leader).Select(r => r.Id).ToList();

    /// <summary>Every message delivered so far (after isolation and crashes filtered the queue).</summary>
    public IReadOnlyList<RaftMessage> Delivered => delivered;

    public int Queued => network.Count;

    // ---- script verbs -------------------------------------------------------------------

    /// <summary>Ticks one node <paramref name="n"/> times; its output is queued, not delivered.</summary>
    public void Tick(string id, int n = 1)
    {
        for (int i = 0; i < n; i++)
        {
            this[id].Tick();
            Flush(replicas[id]);
        }
    }

    /// <summary>Calls <paramref name="action"/> on a live node (an input from its host, such as the
    /// failure detector's); its output is queued, not delivered.</summary>
    public void Do(string id, Action<RaftNode> action)
    {
        action(this[id]);
        Flush(replicas[id]);
    }

    /// <summary>Ticks every live node <paramref name="n"/> times (no delivery in between).</summary>
    public void TickAll(int n = 1)
    {
        for (int i = 0; i < n; i++)
        {
            foreach (var r in replicas.Values.Where(r => r.Raft is not null)) Tick(r.Id);
        }
    }

    /// <summary>Ticks <paramref name="id"/> until its election timer fires (it stops being a
    /// follower), without delivering anything; returns the ticks it took.</summary>
    public int TimeOut(string id)
    {
        for (int ticks = 1; ticks <= 2 * Options.ElectionTicks; ticks++)
        {
            Tick(id);
            if (this[id].Role != RaftRole.Follower) return ticks;
        }
        throw Failure($"{id} did not time out within {2 * Options.ElectionTicks} ticks");
    }

    /// <summary>Delivers queued messages (and what they cause) until the network is quiet.
    /// Messages across an isolation boundary, to a crashed node or selected by <see cref="Lose"/> are
    /// dropped. Returns the count delivered.</summary>
    public int Deliver() => DeliverWhere(_ => true);

    /// <summary>Delivers only the messages travelling from <paramref name="from"/> to
    /// <paramref name="to"/>; everything else stays queued in its order.</summary>
    public int DeliverOnly(string from, string to) => DeliverWhere(m => m.From == from && m.To == to);

    /// <summary>One round of the usual driver loop: every node ticks once, then the network drains.</summary>
    public void Round(int n = 1)
    {
        for (int i = 0; i < n; i++)
        {
            TickAll();
            Deliver();
        }
    }

    /// <summary>Runs rounds until <paramref name="done"/> holds; returns the rounds it took.</summary>
    public int RoundsUntil(Func<bool> done, int roundsMax = 200)
    {
        for (int rounds = 0; rounds <= roundsMax; rounds++)
        {
            if (done()) return rounds;
            Round();
        }
        throw Failure($"condition not reached within {roundsMax} rounds");
    }

    /// <summary>Cuts <paramref name="id"/> off from every other node (both directions).</summary>
    public void Isolate(string id) => isolated.Add(id);

    /// <summary>Until <see cref="Heal"/>, every message <paramref name="match"/> selects is lost in transit.</summary>
    public void Lose(Func<RaftMessage, bool> match) => losses.Add(match);

    /// <summary>Ends every isolation and every <see cref="Lose"/>.</summary>
    public void Heal()
    {
        isolated.Clear();
        losses.Clear();
    }

    /// <summary>Queues a message as if it came off the network (a forged or corrupt one).</summary>
    public void Inject(RaftMessage m) => network.Enqueue(m);

    /// <summary>The disk of <paramref name="id"/>, to damage or rewrite its files while it is down.</summary>
    public SimulatedDevice DeviceOf(string id) => replicas[id].Device;

    /// <summary>Loses every message in flight.</summary>
    public void DropQueued()
    {
        while (network.TryDequeue(out var m))
        {
            dropped.Add(m);
            AddTrace(RaftTraceText.Message(m) + " dropped", isMessage: true);
        }
    }

    /// <summary>Power loss: the node's unsynced writes are lost; its queued output stays in flight.</summary>
    public void Crash(string id)
    {
        var r = replicas[id];
        r.Raft = null;
        r.Holding = false;
        r.Device.Crash(SimulatedCrash.LoseUnsynced);
        AddTrace($"{id}: crashed");
    }

    /// <summary>Reopens the log and hard state from the node's device and starts a fresh RaftNode.</summary>
    public void Restart(string id)
    {
        var r = replicas[id];
        Invariant(r.Raft is null, $"{id} is running");
        r.Restarts++;
        Start(r);
        AddTrace($"{id}: restarted term {r.Raft!.Term} commit {r.Raft.CommitIndex}");
        Flush(r);
    }

    /// <summary>While held, the node takes inputs but its ready is not taken: nothing it
    /// appended is synced and nothing it would send leaves it (a node between receive and fsync).</summary>
    public void HoldReady(string id) => replicas[id].Holding = true;

    public void ReleaseReady(string id)
    {
        replicas[id].Holding = false;
        Flush(replicas[id]);
    }

    public ProposeResult Propose(string id, string payload)
    {
        var result = this[id].Propose(Encoding.UTF8.GetBytes(payload));
        Flush(replicas[id]);
        return result;
    }

    /// <summary>Proposes <paramref name="count"/> payloads "{prefix}1".. at <paramref name="id"/>,
    /// all accepted.</summary>
    public void ProposeMany(string id, string prefix, int count)
    {
        for (int i = 1; i <= count; i++)
        {
            var result = Propose(id, $"{prefix}{i}");
            Invariant(result.Accepted, $"proposal {prefix}{i} at {id} rejected: {result.Reason}");
        }
    }

    /// <summary>Compacts <paramref name="id"/>'s log up to <paramref name="index"/>: its state
    /// machine (the applied entries, one per line) becomes the snapshot. Returns segments removed.</summary>
    public int Compact(string id, ulong index)
    {
        var r = replicas[id];
        var state = Encoding.UTF8.GetBytes(string.Join('\n', r.Applied.Take((int)index)));
        var removed = this[id].Compact(index, state);
        AddTrace($"{id}: compacted to {index}");
        Flush(r);
        return removed;
    }

    /// <summary>Starts a new replica <paramref name="id"/> on an empty disk with the group's
    /// bootstrap voters (it is not one of them): a server about to be added (thesis 4.1).</summary>
    public void AddNode(string id)
    {
        Invariant(!replicas.ContainsKey(id), $"{id} exists");
        var bootstrap = replicas.Values.First().Voters;
        var replica = new Replica(id, bootstrap, new SimulatedDevice(seed * 100 + replicas.Count));
        replicas[id] = replica;
        Start(replica);
        AddTrace($"{id}: added");
    }

    /// <summary>Proposes a membership at <paramref name="id"/> ("voters A,B,C learners D").</summary>
    public ProposeResult ProposeConfiguration(string id, string[] voters, string[]? learners = null)
    {
        var result = this[id].ProposeConfiguration(new RaftConfiguration(voters, learners));
        Flush(replicas[id]);
        return result;
    }

    public bool Transfer(string from, string to)
    {
        var accepted = this[from].TransferLeadership(to);
        Flush(replicas[from]);
        return accepted;
    }

    // ---- observations -------------------------------------------------------------------

    /// <summary>The role changes, commits, crashes and restarts since the previous take, one per
    /// line (messages left out).</summary>
    public string TakeTrace() => Take(messages: false);

    /// <summary>Everything traced since the previous take, messages included, one per line.</summary>
    public string TakeFullTrace() => Take(messages: true);

    /// <summary>Takes the full trace and fails, showing where it differs and the whole actual
    /// trace, unless it is <paramref name="expected"/>.</summary>
    public void AssertFullTrace(string expected)
    {
        var actual = TakeFullTrace();
        expected = expected.ReplaceLineEndings("\n");
        if (actual != expected) throw new XunitException(RaftTraceText.Mismatch(expected, actual));
    }

    /// <summary>Every trace line so far, messages left out.</summary>
    public IReadOnlyList<string> Trace => trace.Where(l => !l.IsMessage).Select(l => l.Text).ToList();

    /// <summary>What the node's state machine has applied since it (re)started, as "payload@term"
    /// ("noop@term" for no-ops).</summary>
    public IReadOnlyList<string> Committed(string id) => replicas[id].Applied;

    /// <summary>The committed payloads the node applied, no-ops left out.</summary>
    public IReadOnlyList<string> CommittedPayloads(string id) =>
        replicas[id].Applied.Where(e => !e.StartsWith("noop@", StringComparison.Ordinal) && !e.StartsWith("config@", StringComparison.Ordinal))
            .Select(e => e[..e.LastIndexOf('@')]).ToList();

    /// <summary>Every entry in the node's log (durable or not), as "payload@term".</summary>
    public IReadOnlyList<string> LogOf(string id)
    {
        var log = replicas[id].Log;
        if (log.LastIndex < log.FirstIndex) return [];
        return log.Read(log.FirstIndex, log.LastIndex, long.MaxValue).Select(Format).ToList();
    }

    /// <summary>Highest index <paramref name="id"/> has acknowledged (a successful append response
    /// that left it).</summary>
    public ulong AckedIndex(string id) => replicas[id].AckedIndex;

    public int CountDelivered(Func<RaftMessage, bool> match) => delivered.Count(match);

    /// <summary>Messages dropped so far (isolation, crash, <see cref="Lose"/>, <see cref="DropQueued"/>).</summary>
    public int CountDropped(Func<RaftMessage, bool> match) => dropped.Count(match);

    // ---- machinery ----------------------------------------------------------------------

    private void Start(Replica r)
    {
        r.Log = SegmentedLog.Open(r.Device, new LogOptions { SegmentBytesMax = segmentBytesMax });
        var random = new Random(seed * 1000 + r.Id[0] * 10 + r.Restarts);
        r.Raft = new RaftNode(
            r.Id, Group, r.Voters, r.Log, new HardStateStore(r.Device), new SnapshotStore(r.Device), random, Options);
        r.LastRole = RaftRole.Follower;
        r.LastTerm = r.Raft.Term;
        r.Applied.Clear();
    }

    private int DeliverWhere(Func<RaftMessage, bool> match)
    {
        int count = 0;
        while (true)
        {
            var next = TakeMatching(match);
            if (next is null) return count;
            var text = RaftTraceText.Message(next);
            if (DropReason(next) is { } reason)
            {
                dropped.Add(next);
                AddTrace($"{text} dropped: {reason}", isMessage: true);
                continue;
            }
            Invariant(++count <= DeliveriesMax, "the network never went quiet (livelock?)");
            AddTrace(text, isMessage: true);
            delivered.Add(next);
            var r = replicas[next.To];
            r.Raft!.Step(next);
            Flush(r);
        }
    }

    private RaftMessage? TakeMatching(Func<RaftMessage, bool> match)
    {
        int n = network.Count;
        RaftMessage? found = null;
        for (int i = 0; i < n; i++)
        {
            var m = network.Dequeue();
            if (found is null && match(m)) found = m;
            else network.Enqueue(m); // keeps the relative order of what is left
        }
        return found;
    }

    private string? DropReason(RaftMessage m) =>
        replicas[m.To].Raft is null ? $"{m.To} crashed"
        : isolated.Contains(m.From) ? $"{m.From} isolated"
        : isolated.Contains(m.To) ? $"{m.To} isolated"
        : losses.Any(lose => lose(m)) ? "lost"
        : null;

    /// <summary>Takes every ready the node has: queues its messages, applies and traces commits,
    /// traces role changes.</summary>
    private void Flush(Replica r)
    {
        var raft = r.Raft!;
        if (r.Holding) return;
        for (int guard = 0; raft.HasReady; guard++)
        {
            Invariant(guard < 10_000, $"{r.Id} never ran out of ready");
            var ready = raft.TakeReady();
            TraceRole(r, raft);
            if (ready.Snapshot is { } snapshot) Restore(r, snapshot);
            foreach (var e in ready.Committed) Apply(r, e);
            foreach (var m in ready.Messages)
            {
                if (m.Type == RaftMessageType.AppendResponse && !m.Reject)
                    r.AckedIndex = Math.Max(r.AckedIndex, m.Index);
                network.Enqueue(m);
            }
        }
        TraceRole(r, raft);
    }

    private void TraceRole(Replica r, RaftNode raft)
    {
        var changed = raft.Role != r.LastRole || raft.Role != RaftRole.Follower && raft.Term != r.LastTerm;
        r.LastTerm = raft.Term;
        if (!changed) return;
        r.LastRole = raft.Role;
        AddTrace($"{r.Id}: {RoleName(raft.Role)} term {raft.Term}");
        if (raft.Role != RaftRole.Leader) return;
        if (leaderOfTerm.TryGetValue(raft.Term, out var other))
            Invariant(other == r.Id, $"election safety: {other} and {r.Id} both lead term {raft.Term}");
        leaderOfTerm[raft.Term] = r.Id;
    }

    private void Apply(Replica r, CommittedEntry e)
    {
        var text = Format(e);
        Invariant(e.Index == (ulong)r.Applied.Count + 1, $"{r.Id} applied {e.Index} after {r.Applied.Count}");
        if (committedAt.TryGetValue(e.Index, out var previous))
            Invariant(previous == text, $"{r.Id} commits {e.Index} {text} but {previous} was committed there");
        committedAt[e.Index] = text;
        r.Applied.Add(text);
        AddTrace($"{r.Id} commits {e.Index} {text}");
    }

    private void Restore(Replica r, StoredSnapshot snapshot)
    {
        var entries = Encoding.UTF8.GetString(snapshot.Data.Span).Split('\n');
        Invariant((ulong)entries.Length == snapshot.Index,
            $"{r.Id}: snapshot {snapshot.Index} holds {entries.Length} entries");
        for (int i = 0; i < entries.Length; i++)
        {
            if (!committedAt.TryGetValue((ulong)i + 1, out var previous)) continue;
            Invariant(previous == entries[i], $"{r.Id} restores {entries[i]} at {i + 1} but {previous} is committed");
        }
        r.Applied.Clear();
        r.Applied.AddRange(entries);
        AddTrace($"{r.Id}: restores snapshot {snapshot.Index}@{snapshot.Term}");
    }

    private static string Format(CommittedEntry e) =>
        (e.IsNoop ? (e.Data.IsEmpty ? "noop" : "config") : Encoding.UTF8.GetString(e.Data.Span)) + "@" + e.Term;

    // The log stores a kind byte before the payload (0 = no-op, 2 = configuration), as RaftNode writes it.
    private static string Format(LogEntry e) =>
        (e.Payload.Span[0] switch { 0 => "noop", 2 => "config", _ => Encoding.UTF8.GetString(e.Payload.Span[1..]) }) + "@" + e.Term;

    private static string RoleName(RaftRole role) => role switch
    {
        RaftRole.PreCandidate => "pre-candidate",
        _ => role.ToString().ToLowerInvariant(),
    };

    private void AddTrace(string text, bool isMessage = false)
    {
        trace.Add(new TraceLine(text, isMessage));
        output?.WriteLine(text);
    }

    private string Take(bool messages)
    {
        var lines = trace.Skip(traceTaken).Where(l => messages || !l.IsMessage).Select(l => l.Text);
        traceTaken = trace.Count;
        return string.Join("\n", lines);
    }

    private void Invariant(bool condition, string message)
    {
        if (!condition) throw Failure(message);
    }

    /// <summary>A harness failure; it carries the full trace unless the test output already has it.</summary>
    private InvalidOperationException Failure(string message) => new(output is null
        ? $"{message}\nfull trace:\n{string.Join('\n', trace.Select(l => l.Text))}"
        : $"{message}\n(the full trace is in the test output)");

    private readonly record struct TraceLine(string Text, bool IsMessage);

    private sealed class Replica(string id, string[] voters, SimulatedDevice device)
    {
        public string Id { get; } = id;
        public string[] Voters { get; } = voters;
        public SimulatedDevice Device { get; } = device;
        public SegmentedLog Log { get; set; } = null!;
        public RaftNode? Raft { get; set; }
        public List<string> Applied { get; } = [];
        public RaftRole LastRole { get; set; }
        public ulong LastTerm { get; set; }
        public bool Holding { get; set; }
        public int Restarts { get; set; }
        public ulong AckedIndex { get; set; }
    }
}
