namespace Braid.Lab.Report;

/// <summary>One acknowledged append as the lab's producers saw it: when it completed (seconds
/// since the run started), how long it took from first send to acknowledgement, its records, and
/// its partition (-1 when unknown).</summary>
public readonly record struct AckSample(double AtSeconds, double LatencyMs, int Records, int Partition = -1);

/// <summary>
/// One injected fault: its class (kill, pause, link, partition, partition-oneway, majority,
/// minority, slow, disk-full, bitflip, truncate, wipe, loss), what it hit, and when it started and
/// ended (seconds since the run started). <paramref name="Problem"/> says what went wrong beyond
/// unavailability (a node that would not restart, and why), or is null.
/// </summary>
public sealed record FaultWindow(string Class, string Target, double StartSeconds, double EndSeconds, string? Problem = null);

/// <summary>Everything a lab run measured, for the report.</summary>
/// <param name="Title">e.g. "braid chaos: mini2 on netns hosts".</param>
/// <param name="Settings">Run settings as name/value pairs in display order (topology, hosts, seed, duration, faults, producers, queries, command line).</param>
/// <param name="DurationSeconds">Length of the run (the workload's time).</param>
/// <param name="Acks">Every acknowledged append, in any order.</param>
/// <param name="Faults">Every fault injected, in order of start.</param>
/// <param name="Check">The history checker's verdict over the whole run.</param>
/// <param name="Counts">Operation counts as name/value pairs (appends invoked, acknowledged, failed, unknown, queries, resumes, producer restarts ...).</param>
/// <param name="GraphNotes">Known weaknesses of the topology, one line each (cut vertices and what losing them cuts off, computed by the caller).</param>
/// <param name="Notes">Anything else the run observed, one line each (node exits with their log's last line, etc.).</param>
public sealed record LabRun(
    string Title,
    IReadOnlyList<KeyValuePair<string, string>> Settings,
    double DurationSeconds,
    IReadOnlyList<AckSample> Acks,
    IReadOnlyList<FaultWindow> Faults,
    CheckResult Check,
    IReadOnlyList<KeyValuePair<string, string>> Counts,
    IReadOnlyList<string> GraphNotes,
    IReadOnlyList<string> Notes);
