namespace Braid.Cli.Fuzz;

/// <summary>
/// One input boundary of a node under fuzzing (issue 11, item 7): its seeds are valid encodings
/// from our own encoders, and <see cref="Run"/> feeds bytes to the same parse and handle path the
/// node uses. A case ends in one of three ways: accepted (null), refused with a typed, expected
/// error (its category, returned), or a failure: any other exception, including
/// <see cref="FuzzInvariantException"/> from the target's own checks, or a case over its time budget.
/// </summary>
internal abstract class FuzzTarget
{
    /// <summary>Short name used by <c>--target</c>.</summary>
    public abstract string Name { get; }

    /// <summary>What is fed, and how it is judged, in one line.</summary>
    public abstract string Description { get; }

    /// <summary>Valid inputs the mutator starts from (at least one).</summary>
    public abstract IReadOnlyList<byte[]> Seeds { get; }

    /// <summary>
    /// Cases fed to one state before <see cref="Reset"/> builds a fresh one. Stateful targets
    /// (overlay, Raft) feed a run of cases to one node, as a hostile peer would; a failing case is
    /// reproduced by replaying its run from the last reset.
    /// </summary>
    public virtual int CasesPerReset => 1;

    /// <summary>Builds the state for the run of cases that starts at <paramref name="block"/> × <see cref="CasesPerReset"/>.</summary>
    public virtual void Reset(long block)
    {
    }

    /// <summary>Runs one case: null when accepted, otherwise the category of its refusal.
    /// Unexpected exceptions propagate (they are the failures the fuzzer looks for).</summary>
    public abstract string? Run(byte[] input);

    /// <summary>Upper bound on generated input size (bytes), so mutations cannot grow without end.</summary>
    public virtual int InputBytesMax => 1 << 20;
}

/// <summary>A target's own check on the state after a case failed: a broken core invariant.</summary>
internal sealed class FuzzInvariantException(string message) : Exception(message)
{
    public static void Check(bool condition, string message)
    {
        if (!condition) throw new FuzzInvariantException(message);
    }
}
