using SharpBpf.Maps;

namespace SharpBpf.Hosting;

/// <summary>
/// The host's view of per-CPU map values: one value per possible CPU, each in an 8-byte-aligned slot, as the kernel
/// copies them to and from user space (<see cref="BpfMap.UserValueSize"/>).
/// </summary>
public static class PerCpuValues
{
    /// <summary>
    /// The buffer to pass to <see cref="BpfMap.Update(ReadOnlySpan{byte}, ReadOnlySpan{byte}, MapUpdateFlags)"/>: for a
    /// per-CPU map, <paramref name="value"/> on every CPU (as <c>bpftool map update</c> does); for other maps the value itself.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="value"/> is not <see cref="BpfMap.ValueSize"/> bytes.</exception>
    public static byte[] OnEveryCpu(BpfMap map, ReadOnlySpan<byte> value)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (value.Length != map.ValueSize)
        {
            throw new ArgumentException($"map '{map.Name}' has {map.ValueSize}-byte values, not {value.Length}", nameof(value));
        }

        if (!map.IsPerCpu)
        {
            return value.ToArray();
        }

        var all = new byte[map.UserValueSize];
        for (int cpu = 0; cpu < map.PossibleCpus; cpu++)
        {
            value.CopyTo(all.AsSpan(cpu * Stride(map)));
        }

        return all;
    }

    /// <summary>CPU <paramref name="cpu"/>'s value in a buffer a per-CPU lookup filled.</summary>
    public static ReadOnlySpan<byte> OfCpu(BpfMap map, ReadOnlySpan<byte> values, int cpu)
    {
        ArgumentNullException.ThrowIfNull(map);
        return values.Slice(cpu * Stride(map), map.ValueSize);
    }

    private static int Stride(BpfMap map) => (map.ValueSize + 7) & ~7;
}
