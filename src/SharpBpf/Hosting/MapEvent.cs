namespace SharpBpf.Hosting;

/// <summary>A record a program wrote to a ring buffer or a perf event array.</summary>
/// <param name="MapName">The map it was written to.</param>
/// <param name="Cpu">The CPU slot of the perf buffer it came from, or -1 for ring buffers.</param>
/// <param name="Data">The record's bytes.</param>
/// <param name="LostSamples">For perf event arrays: samples lost before this one (buffer full); else 0.</param>
public sealed record MapEvent(string MapName, int Cpu, byte[] Data, ulong LostSamples);
