using SharpBpf.Runtime;

namespace SharpBpf.Maps;

/// <summary>
/// Preallocated, pinned value storage of one map: <c>slots</c> values of <c>round_up(value_size, 8)</c> bytes, once
/// per CPU for per-CPU maps (each CPU's block 64-byte aligned so that CPUs do not share cache lines). Values are
/// reused, never freed, while the map lives, so a pointer a program got from a lookup stays valid memory.
/// </summary>
internal sealed class ValueArena
{
    public ValueArena(MapSet owner, string name, int slots, int valueSize, int cpus, MemoryAccess access, bool programVisible)
    {
        ValueSize = valueSize;
        Stride = BpfMap.RoundUp8(valueSize);
        CpuBlock = ((long)slots * Stride + 63) & ~63L;
        long total = CpuBlock * cpus;
        owner.Reserve(total, name);
        Region = MemoryRegion.Allocate((int)total, access, MemoryRegionKind.MapValue, name);
        if (programVisible)
        {
            owner.Memory.Add(Region);
        }
    }

    public MemoryRegion Region { get; }

    public int ValueSize { get; }

    public int Stride { get; }

    public long CpuBlock { get; }

    public ulong Address(int slot, int cpu = 0) => Region.Start + (ulong)(cpu * CpuBlock + (long)slot * Stride);

    public unsafe Span<byte> Value(int slot, int cpu = 0) => new((void*)Address(slot, cpu), ValueSize);
}
