namespace SharpBpf.Runtime;

/// <summary>
/// A set of non-overlapping memory regions, looked up by address. Lookups are lock-free and safe from any
/// number of threads; changes copy the sorted array so running programs never see a half-updated set.
/// </summary>
/// <remarks>Shared regions (map value arenas, global data) live here; per-run regions (stack, context,
/// packet) live in each <see cref="BpfExecutionContext"/>.</remarks>
public sealed class MemoryMap
{
    private readonly Lock _writeLock = new();
    private volatile MemoryRegion[] _sorted = [];

    /// <summary>The regions, sorted by start address.</summary>
    public IReadOnlyList<MemoryRegion> Regions => _sorted;

    /// <summary>Adds a region.</summary>
    /// <exception cref="ArgumentException">The region overlaps one already present.</exception>
    public void Add(MemoryRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        lock (_writeLock)
        {
            var current = _sorted;
            int index = LowerBound(current, region.Start);
            if ((index < current.Length && current[index].Start < region.End) || (index > 0 && current[index - 1].End > region.Start))
            {
                throw new ArgumentException($"region {region} overlaps an existing region", nameof(region));
            }

            var next = new MemoryRegion[current.Length + 1];
            Array.Copy(current, next, index);
            next[index] = region;
            Array.Copy(current, index, next, index + 1, current.Length - index);
            _sorted = next;
        }
    }

    /// <summary>Removes a region; returns whether it was present.</summary>
    public bool Remove(MemoryRegion region)
    {
        lock (_writeLock)
        {
            var current = _sorted;
            int index = Array.IndexOf(current, region);
            if (index < 0)
            {
                return false;
            }

            var next = new MemoryRegion[current.Length - 1];
            Array.Copy(current, next, index);
            Array.Copy(current, index + 1, next, index, current.Length - index - 1);
            _sorted = next;
            return true;
        }
    }

    /// <summary>The region containing the whole access, or null.</summary>
    public MemoryRegion? Find(ulong address, ulong size)
    {
        var sorted = _sorted;
        int index = LowerBound(sorted, address + 1) - 1;
        if (index >= 0 && sorted[index].Contains(address, size))
        {
            return sorted[index];
        }

        return null;
    }

    /// <summary>The region nearest to an address (for fault messages), or null when empty.</summary>
    public MemoryRegion? Nearest(ulong address)
    {
        var sorted = _sorted;
        MemoryRegion? best = null;
        ulong bestDistance = ulong.MaxValue;
        foreach (var region in sorted)
        {
            ulong distance = Distance(region, address);
            if (distance < bestDistance)
            {
                best = region;
                bestDistance = distance;
            }
        }

        return best;
    }

    internal static ulong Distance(MemoryRegion region, ulong address) =>
        address < region.Start ? region.Start - address : address >= region.End ? address - region.End + 1 : 0;

    // First index whose Start is >= address.
    private static int LowerBound(MemoryRegion[] sorted, ulong address)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid].Start < address)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
