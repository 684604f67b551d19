namespace Braid.Bench.Nats;

/// <summary>The NATS side of the comparison could not run (the message says why and what to do).</summary>
public sealed class NatsBenchException(string message, Exception? inner = null) : Exception(message, inner);
