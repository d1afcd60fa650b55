using System.Buffers.Binary;
using SharpBpf.Runtime;

namespace SharpBpf.Maps;

/// <summary>
/// The arrays whose values the host writes as descriptors (the kernel's fd arrays): program arrays, arrays of maps
/// and perf event arrays. Entries start empty; only BPF_ANY updates are valid; delete empties an entry.
/// </summary>
/// <typeparam name="T">What an entry holds.</typeparam>
public abstract class DescriptorArrayMap<T> : BpfMap
    where T : class
{
    private readonly Entry?[] _entries;

    private protected DescriptorArrayMap(MapSet owner, MapSpec spec) : base(owner, spec)
    {
        owner.Reserve((long)spec.MaxEntries * 8, string.IsNullOrEmpty(spec.Name) ? "array" : spec.Name);
        _entries = new Entry?[spec.MaxEntries];
    }

    /// <summary>The item at <paramref name="index"/>, or null (also for an index out of range).</summary>
    public T? Get(long index) => (ulong)index < (ulong)_entries.Length ? Volatile.Read(ref _entries[index])?.Item : null;

    /// <summary>Stores <paramref name="item"/> at <paramref name="index"/> under descriptor <paramref name="id"/>.</summary>
    private protected MapResult Set(uint index, int id, T item)
    {
        if (index >= (uint)_entries.Length)
        {
            return MapResult.TooBig;
        }

        Volatile.Write(ref _entries[index], new Entry(id, item));
        return MapResult.Success;
    }

    /// <summary>Empties entry <paramref name="index"/>: -E2BIG out of range, -ENOENT when already empty.</summary>
    public MapResult Clear(int index)
    {
        if ((uint)index >= (uint)_entries.Length)
        {
            return MapResult.TooBig;
        }

        return Interlocked.Exchange(ref _entries[index], null) is null ? MapResult.NotFound : MapResult.Success;
    }

    /// <summary>Empties entry <paramref name="index"/> only if it still holds <paramref name="item"/>.</summary>
    private protected void ClearIf(int index, T item)
    {
        var current = Volatile.Read(ref _entries[index]);
        if (current is not null && ReferenceEquals(current.Item, item))
        {
            Interlocked.CompareExchange(ref _entries[index], null, current);
        }
    }

    /// <summary>Resolves a descriptor the host wrote into the item it names.</summary>
    private protected abstract MapResult Resolve(int descriptor, out T? item);

    private protected override MapResult LookupCore(ReadOnlySpan<byte> key, Span<byte> value, MapUpdateFlags flags)
    {
        uint index = BinaryPrimitives.ReadUInt32LittleEndian(key);
        var entry = index < (uint)_entries.Length ? Volatile.Read(ref _entries[index]) : null;
        if (entry is null)
        {
            return MapResult.NotFound;
        }

        BinaryPrimitives.WriteInt32LittleEndian(value, entry.Id);
        return MapResult.Success;
    }

    private protected override MapResult UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags)
    {
        if (flags != MapUpdateFlags.Any)
        {
            return MapResult.Invalid;
        }

        uint index = BinaryPrimitives.ReadUInt32LittleEndian(key);
        if (index >= (uint)_entries.Length)
        {
            return MapResult.TooBig;
        }

        int descriptor = BinaryPrimitives.ReadInt32LittleEndian(value);
        var resolved = Resolve(descriptor, out var item);
        return resolved != MapResult.Success ? resolved : Set(index, descriptor, item!);
    }

    private protected override MapResult DeleteCore(ReadOnlySpan<byte> key)
    {
        uint index = BinaryPrimitives.ReadUInt32LittleEndian(key);
        return index >= (uint)_entries.Length ? MapResult.TooBig : Clear((int)index);
    }

    private protected override MapResult GetNextKeyCore(ReadOnlySpan<byte> key, Span<byte> nextKey) =>
        ArrayIteration.NextKey(key, nextKey, MaxEntries);

    private sealed record Entry(int Id, T Item);
}

/// <summary>
/// BPF_MAP_TYPE_PROG_ARRAY: programs for tail calls. The host stores programs registered with
/// <see cref="MapSet.RegisterProgram"/> (the 4-byte value is the program id); engines fetch them with
/// <see cref="DescriptorArrayMap{T}.Get"/>.
/// </summary>
public sealed class ProgramArrayMap : DescriptorArrayMap<ExecutableProgram>
{
    internal ProgramArrayMap(MapSet owner, MapSpec spec) : base(owner, spec)
    {
    }

    /// <summary>Stores <paramref name="program"/> at <paramref name="index"/>, registering it with the set if needed.</summary>
    public MapResult SetProgram(int index, ExecutableProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        int id = Owner.ProgramId(program);
        if (id == 0)
        {
            id = Owner.RegisterProgram(program);
        }

        return index < 0 ? MapResult.TooBig : Set((uint)index, id, program);
    }

    private protected override MapResult Resolve(int descriptor, out ExecutableProgram? item)
    {
        item = Owner.FindProgram(descriptor);
        return item is null ? MapResult.BadDescriptor : MapResult.Success;
    }
}

/// <summary>
/// BPF_MAP_TYPE_ARRAY_OF_MAPS: the host stores inner maps (the 4-byte value is a map's <see cref="BpfMap.Id"/>),
/// which must match the spec's <see cref="MapSpec.InnerMap"/>; a program's lookup returns the inner map's handle.
/// </summary>
public sealed class ArrayOfMapsMap : DescriptorArrayMap<BpfMap>
{
    internal ArrayOfMapsMap(MapSet owner, MapSpec spec) : base(owner, spec)
    {
    }

    /// <summary>Stores <paramref name="inner"/> at <paramref name="index"/> (BPF_ANY).</summary>
    public MapResult SetInner(int index, BpfMap inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        var check = MapOfMaps.CheckInner(Owner, Spec, inner.Id);
        return check != MapResult.Success ? check : index < 0 ? MapResult.TooBig : Set((uint)index, inner.Id, inner);
    }

    /// <inheritdoc/>
    public override ulong LookupForProgram(ReadOnlySpan<byte> key, int cpu) =>
        Get(BinaryPrimitives.ReadUInt32LittleEndian(key))?.Handle ?? 0;

    private protected override MapResult Resolve(int descriptor, out BpfMap? item)
    {
        var check = MapOfMaps.CheckInner(Owner, Spec, descriptor);
        item = check == MapResult.Success ? Owner.FindById(descriptor) : null;
        return check;
    }
}

/// <summary>The kernel's inner-map compatibility rules (bpf_map_meta_equal, array_map_meta_equal).</summary>
internal static class MapOfMaps
{
    public static MapResult CheckInner(MapSet owner, MapSpec outer, int id)
    {
        var inner = owner.FindById(id);
        if (inner is null)
        {
            return MapResult.BadDescriptor;
        }

        var meta = outer.InnerMap!;
        if (inner.Type is MapType.ArrayOfMaps or MapType.HashOfMaps)
        {
            return MapResult.Invalid;
        }

        bool equal = inner.Type == meta.Type && inner.KeySize == meta.KeySize && inner.ValueSize == meta.ValueSize
            && inner.Flags == meta.Flags && inner.Spec.SpinLockOffset == meta.SpinLockOffset;
        if (equal && meta.Type == MapType.Array && (meta.Flags & MapFlags.InnerMap) == 0)
        {
            equal = inner.MaxEntries == meta.MaxEntries;
        }

        return equal ? MapResult.Success : MapResult.Invalid;
    }
}
