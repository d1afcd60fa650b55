namespace SharpBpf.Maps;

/// <summary>
/// The definition of a map, as the kernel's <c>BPF_MAP_CREATE</c> attributes (or a <c>.maps</c> section entry).
/// </summary>
/// <param name="Type">The map type.</param>
/// <param name="KeySize">The key size in bytes.</param>
/// <param name="ValueSize">The value size in bytes (for ring buffers: 0).</param>
/// <param name="MaxEntries">The maximum number of elements (for ring buffers: the data size in bytes).</param>
/// <param name="Flags">The creation flags.</param>
/// <param name="Name">The map's name, for messages and look-ups.</param>
public sealed record MapSpec(MapType Type, int KeySize, int ValueSize, int MaxEntries, MapFlags Flags = MapFlags.None, string Name = "")
{
    /// <summary>For array and hash of maps: the definition every inner map must match.</summary>
    public MapSpec? InnerMap { get; init; }

    /// <summary>The kernel's <c>map_extra</c> (for bloom filters: the number of hash functions in the low 4 bits).</summary>
    public ulong MapExtra { get; init; }

    /// <summary>
    /// The offset of a <c>struct bpf_spin_lock</c> in the value (known from BTF), or null when the value has none.
    /// Only maps with a spin lock accept <see cref="MapUpdateFlags.Lock"/>.
    /// </summary>
    public int? SpinLockOffset { get; init; }
}

/// <summary>Options of a <see cref="MapSet"/>.</summary>
public sealed record MapSetOptions
{
    /// <summary>
    /// The number of possible CPUs: per-CPU maps keep this many values per element, and a program's CPU is its
    /// <see cref="Runtime.BpfExecutionContext.ProcessorId"/>, which must be below it.
    /// </summary>
    public int PossibleCpus { get; init; } = Environment.ProcessorCount;

    /// <summary>The most memory all maps of the set may preallocate; a map past it fails with -ENOMEM.</summary>
    public long MaxMemoryBytes { get; init; } = 1L << 30;
}
