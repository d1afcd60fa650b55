using System.Buffers.Binary;
using SharpBpf.Runtime;

namespace SharpBpf.Maps;

/// <summary>
/// BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY: <c>max_entries</c> zero-initialised values indexed by a
/// 4-byte key, preallocated in one pinned region (8-byte-aligned elements); elements always exist, so delete is
/// -EINVAL and BPF_NOEXIST is -EEXIST.
/// </summary>
public sealed class ArrayMap : BpfMap
{
    private readonly ValueArena _arena;

    internal ArrayMap(MapSet owner, MapSpec spec) : base(owner, spec)
    {
        var access = (spec.Flags & MapFlags.ReadOnlyProgram) != 0 ? MemoryAccess.Read : MemoryAccess.ReadWrite;
        _arena = new ValueArena(owner, string.IsNullOrEmpty(spec.Name) ? "array" : spec.Name, spec.MaxEntries, spec.ValueSize,
            IsPerCpu ? owner.PossibleCpus : 1, access, programVisible: true);
        ValueRegion = _arena.Region;
    }

    /// <inheritdoc/>
    public override bool IsPerCpu => Type == MapType.PerCpuArray;

    /// <summary>The address programs see for element <paramref name="index"/> (of <paramref name="cpu"/> for per-CPU arrays).</summary>
    public ulong ElementAddress(int index, int cpu = 0)
    {
        CheckElement(index, cpu);
        return _arena.Address(index, cpu);
    }

    /// <summary>
    /// The live bytes of element <paramref name="index"/>, shared with running programs (no copy, no
    /// synchronisation: use it for global data set up before programs run).
    /// </summary>
    public Span<byte> GetValueSpan(int index, int cpu = 0)
    {
        CheckElement(index, cpu);
        return _arena.Value(index, cpu);
    }

    /// <inheritdoc/>
    public override ulong LookupForProgram(ReadOnlySpan<byte> key, int cpu)
    {
        uint index = BinaryPrimitives.ReadUInt32LittleEndian(key);
        if (index >= (uint)MaxEntries || (IsPerCpu && (uint)cpu >= (uint)PossibleCpus))
        {
            return 0;
        }

        return _arena.Address((int)index, IsPerCpu ? cpu : 0);
    }

    /// <inheritdoc/>
    public override MapResult UpdateFromProgram(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu)
    {
        var check = CheckUpdate(key, flags, out int index);
        if (check != MapResult.Success)
        {
            return check;
        }

        CopyValue(_arena.Value(index, IsPerCpu ? cpu : 0), value, flags, lockDestination: true);
        return MapResult.Success;
    }

    private protected override MapResult LookupCore(ReadOnlySpan<byte> key, Span<byte> value, MapUpdateFlags flags)
    {
        uint index = BinaryPrimitives.ReadUInt32LittleEndian(key);
        if (index >= (uint)MaxEntries)
        {
            return MapResult.NotFound;
        }

        if (!IsPerCpu)
        {
            CopyValue(value, _arena.Value((int)index), flags, lockDestination: false);
            return MapResult.Success;
        }

        int stride = RoundUp8(ValueSize);
        value.Clear();
        for (int cpu = 0; cpu < PossibleCpus; cpu++)
        {
            _arena.Value((int)index, cpu).CopyTo(value.Slice(cpu * stride, ValueSize));
        }

        return MapResult.Success;
    }

    private protected override MapResult UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags)
    {
        var check = CheckUpdate(key, flags, out int index);
        if (check != MapResult.Success)
        {
            return check;
        }

        if (!IsPerCpu)
        {
            CopyValue(_arena.Value(index), value, flags, lockDestination: true);
            return MapResult.Success;
        }

        int stride = RoundUp8(ValueSize);
        for (int cpu = 0; cpu < PossibleCpus; cpu++)
        {
            CopyValue(_arena.Value(index, cpu), value.Slice(cpu * stride, ValueSize));
        }

        return MapResult.Success;
    }

    private protected override MapResult DeleteCore(ReadOnlySpan<byte> key) => MapResult.Invalid;

    private protected override MapResult LookupAndDeleteCore(ReadOnlySpan<byte> key, Span<byte> value) => MapResult.NotSupported;

    private protected override MapResult GetNextKeyCore(ReadOnlySpan<byte> key, Span<byte> nextKey) =>
        ArrayIteration.NextKey(key, nextKey, MaxEntries);

    private MapResult CheckUpdate(ReadOnlySpan<byte> key, MapUpdateFlags flags, out int index)
    {
        uint raw = BinaryPrimitives.ReadUInt32LittleEndian(key);
        index = (int)Math.Min(raw, int.MaxValue);
        var mode = IsPerCpu ? flags : flags & ~MapUpdateFlags.Lock;
        if ((ulong)mode > (ulong)MapUpdateFlags.Exist)
        {
            return MapResult.Invalid;
        }

        if (raw >= (uint)MaxEntries)
        {
            return MapResult.TooBig;
        }

        if ((flags & MapUpdateFlags.NoExist) != 0)
        {
            return MapResult.Exists;
        }

        return (flags & MapUpdateFlags.Lock) != 0 && Spec.SpinLockOffset is null ? MapResult.Invalid : MapResult.Success;
    }

    private void CheckElement(int index, int cpu)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, MaxEntries);
        ArgumentOutOfRangeException.ThrowIfNegative(cpu);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(cpu, IsPerCpu ? PossibleCpus : 1);
    }
}

/// <summary>The kernel's array get_next_key: the index after the key, 0 for a missing or out-of-range key.</summary>
internal static class ArrayIteration
{
    public static MapResult NextKey(ReadOnlySpan<byte> key, Span<byte> nextKey, int maxEntries)
    {
        uint next;
        if (key.IsEmpty)
        {
            next = 0;
        }
        else
        {
            uint index = BinaryPrimitives.ReadUInt32LittleEndian(key);
            if (index >= (uint)maxEntries)
            {
                next = 0;
            }
            else if (index == (uint)maxEntries - 1)
            {
                return MapResult.NotFound;
            }
            else
            {
                next = index + 1;
            }
        }

        BinaryPrimitives.WriteUInt32LittleEndian(nextKey, next);
        return MapResult.Success;
    }
}
