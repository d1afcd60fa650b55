using System.Collections.Concurrent;
using System.Numerics;
using SharpBpf.Isa;
using SharpBpf.Runtime;

namespace SharpBpf.Maps;

/// <summary>
/// The maps of a VM: it creates them (with the kernel's validation), owns the <see cref="MemoryMap"/> their values
/// live in, maps program handles back to maps, and resolves the map references of <c>lddw</c>.
/// </summary>
/// <remarks>
/// <para>Handles: <c>lddw src=1</c> (BPF_PSEUDO_MAP_FD) names a map by <see cref="BpfMap.Id"/>, <c>lddw src=5</c>
/// (BPF_PSEUDO_MAP_IDX) by <see cref="BpfMap.Index"/>; both load the map's opaque <see cref="BpfMap.Handle"/>.
/// <c>src=2</c>/<c>src=6</c> load the address of the value of a single-element array plus an offset (global data).</para>
/// <para>Run programs with a <see cref="BpfExecutionContext"/> whose <see cref="BpfExecutionContext.SharedMemory"/> is
/// <see cref="Memory"/> and whose helpers include <see cref="MapHelpers.Register"/>; <see cref="CreateContext"/> does both.</para>
/// </remarks>
public sealed class MapSet
{
    /// <summary>The kernel's KMALLOC_MAX_SIZE on x86-64 (4 MiB): the bound of several value-size checks.</summary>
    internal const int KmallocMaxSize = 1 << 22;

    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<ulong, BpfMap> _byHandle = new();
    private readonly ConcurrentDictionary<int, ExecutableProgram> _programs = new();
    private volatile BpfMap[] _maps = [];
    private volatile RingBufferMap[] _ringBuffers = [];
    private long _reservedBytes;
    private int _nextProgramId;

    /// <summary>Creates an empty set.</summary>
    public MapSet(MapSetOptions? options = null)
    {
        Options = options ?? new MapSetOptions();
        if (Options.PossibleCpus is < 1 or > 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.PossibleCpus, "PossibleCpus must be between 1 and 4096");
        }
    }

    /// <summary>The options.</summary>
    public MapSetOptions Options { get; }

    /// <summary>The number of possible CPUs (values per element of per-CPU maps).</summary>
    public int PossibleCpus => Options.PossibleCpus;

    /// <summary>The regions of every map's values: give it to execution contexts as their shared memory.</summary>
    public MemoryMap Memory { get; } = new();

    /// <summary>The maps, by <see cref="BpfMap.Index"/>.</summary>
    public IReadOnlyList<BpfMap> Maps => _maps;

    /// <summary>The bytes of value memory preallocated by all maps so far.</summary>
    public long ReservedBytes => Interlocked.Read(ref _reservedBytes);

    /// <summary>The map at <paramref name="index"/>.</summary>
    public BpfMap this[int index] => _maps[index];

    /// <summary>Creates a map after the kernel's checks.</summary>
    /// <exception cref="MapException">The spec is invalid (<see cref="MapException.Result"/> is the kernel's errno), or too large.</exception>
    public BpfMap Create(MapSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var result = Validate(spec, out string reason);
        if (result != MapResult.Success)
        {
            throw new MapException(result, $"map '{spec.Name}' ({spec.Type}): {reason}");
        }

        BpfMap map = spec.Type switch
        {
            MapType.Array or MapType.PerCpuArray => new ArrayMap(this, spec),
            MapType.Hash or MapType.PerCpuHash or MapType.LruHash or MapType.LruPerCpuHash => new HashMap(this, spec),
            MapType.HashOfMaps => new HashOfMapsMap(this, spec),
            MapType.LpmTrie => new LpmTrieMap(this, spec),
            MapType.Queue or MapType.Stack => new QueueStackMap(this, spec),
            MapType.BloomFilter => new BloomFilterMap(this, spec),
            MapType.RingBuffer => new RingBufferMap(this, spec),
            MapType.PerfEventArray => new PerfEventArrayMap(this, spec),
            MapType.ProgramArray => new ProgramArrayMap(this, spec),
            MapType.ArrayOfMaps => new ArrayOfMapsMap(this, spec),
            _ => throw new MapException(MapResult.OperationNotSupported, $"map '{spec.Name}': {spec.Type} maps are not supported by the VM"),
        };

        lock (_lock)
        {
            var current = _maps;
            map.Index = current.Length;
            map.Id = current.Length + 1;
            _maps = [.. current, map];
            _byHandle[map.Handle] = map;
            if (map is RingBufferMap ring)
            {
                _ringBuffers = [.. _ringBuffers, ring];
            }
        }

        return map;
    }

    /// <summary>The map with this handle (what a program passes in r1 to map helpers), or null.</summary>
    public BpfMap? FindByHandle(ulong handle) => _byHandle.TryGetValue(handle, out var map) ? map : null;

    /// <summary>The map with this id, or null.</summary>
    public BpfMap? FindById(int id)
    {
        var maps = _maps;
        return id >= 1 && id <= maps.Length ? maps[id - 1] : null;
    }

    /// <summary>The first map with this name, or null.</summary>
    public BpfMap? FindByName(string name)
    {
        foreach (var map in _maps)
        {
            if (map.Name == name)
            {
                return map;
            }
        }

        return null;
    }

    /// <summary>Registers a program for program arrays; returns its id (what a program array's 4-byte value names).</summary>
    public int RegisterProgram(ExecutableProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        int id = Interlocked.Increment(ref _nextProgramId);
        _programs[id] = program;
        return id;
    }

    /// <summary>The program registered with this id, or null.</summary>
    public ExecutableProgram? FindProgram(int id) => _programs.TryGetValue(id, out var program) ? program : null;

    /// <summary>The id a registered program got, or 0.</summary>
    public int ProgramId(ExecutableProgram program)
    {
        foreach (var pair in _programs)
        {
            if (ReferenceEquals(pair.Value, program))
            {
                return pair.Key;
            }
        }

        return 0;
    }

    /// <summary>A context for running programs against these maps: shared memory set, helpers as given.</summary>
    public BpfExecutionContext CreateContext(HelperTable helpers, int processorId = 0) =>
        new(helpers, Memory) { ProcessorId = processorId };

    /// <summary>A helper table with the map helpers registered.</summary>
    public HelperTable CreateHelperTable() => MapHelpers.Register(new HelperTable(), this);

    /// <summary>The resolver for <see cref="EngineOptions.ResolveImm64"/>.</summary>
    public Imm64Resolver CreateImm64Resolver() => ResolveImm64;

    /// <summary>Resolves one <c>lddw</c>: a map handle (src 1 by id, 5 by index) or a value address (src 2, 6).</summary>
    /// <exception cref="BpfException">No such map, or the map has no direct value address.</exception>
    public ulong ResolveImm64(int pc, Imm64Source source, int immediate, int nextImmediate)
    {
        BpfMap? map = source switch
        {
            Imm64Source.MapFd or Imm64Source.MapValue => FindById(immediate),
            Imm64Source.MapIndex or Imm64Source.MapIndexValue => immediate >= 0 && immediate < _maps.Length ? _maps[immediate] : null,
            _ => throw new BpfException($"pc {pc}: lddw source {(int)source} does not refer to a map"),
        };
        if (map is null)
        {
            string by = source is Imm64Source.MapFd or Imm64Source.MapValue ? "id" : "index";
            throw new BpfException($"pc {pc}: lddw refers to map {by} {immediate}, but the map set has no such map");
        }

        if (source is Imm64Source.MapFd or Imm64Source.MapIndex)
        {
            return map.Handle;
        }

        // As the kernel's array_map_direct_value_addr: single-element plain arrays only, offset inside the value.
        if (map is not ArrayMap { IsPerCpu: false } array || map.MaxEntries != 1)
        {
            throw new BpfException($"pc {pc}: lddw takes a value address of map '{map.Name}', which is not a single-element array");
        }

        if (nextImmediate < 0 || nextImmediate >= map.ValueSize)
        {
            throw new BpfException($"pc {pc}: offset {nextImmediate} is outside the {map.ValueSize}-byte value of map '{map.Name}'");
        }

        return array.ElementAddress(0) + (ulong)nextImmediate;
    }

    /// <summary>The ring buffer whose data region contains <paramref name="address"/>, or null.</summary>
    internal RingBufferMap? FindRingBuffer(ulong address)
    {
        foreach (var ring in _ringBuffers)
        {
            if (ring.DataRegion.Contains(address, 1))
            {
                return ring;
            }
        }

        return null;
    }

    /// <summary>Accounts preallocated memory against <see cref="MapSetOptions.MaxMemoryBytes"/>.</summary>
    internal void Reserve(long bytes, string name)
    {
        if (bytes > int.MaxValue)
        {
            throw new MapException(MapResult.NoMemory, $"map '{name}': {bytes} bytes of values exceed the 2 GiB a region can hold");
        }

        long total = Interlocked.Add(ref _reservedBytes, bytes);
        if (total > Options.MaxMemoryBytes)
        {
            Interlocked.Add(ref _reservedBytes, -bytes);
            throw new MapException(MapResult.NoMemory,
                $"map '{name}': {bytes} more bytes would exceed the map set's limit of {Options.MaxMemoryBytes} bytes");
        }
    }

    // ---------------------------------------------------------------- validation

    private const MapFlags AccessMask = MapFlags.ReadOnly | MapFlags.WriteOnly | MapFlags.ReadOnlyProgram | MapFlags.WriteOnlyProgram;
    private const int PerCpuMaxValueSize = 32 * 1024; // PCPU_MIN_UNIT_SIZE
    private const int MaxStack = 512;

    /// <summary>Checks a spec as the kernel's map_alloc_check functions do; returns the errno and why.</summary>
    public static MapResult Validate(MapSpec spec, out string reason)
    {
        ArgumentNullException.ThrowIfNull(spec);
        reason = "";
        var flags = spec.Flags;
        if ((flags & (MapFlags.ReadOnly | MapFlags.WriteOnly)) == (MapFlags.ReadOnly | MapFlags.WriteOnly)
            || (flags & (MapFlags.ReadOnlyProgram | MapFlags.WriteOnlyProgram)) == (MapFlags.ReadOnlyProgram | MapFlags.WriteOnlyProgram))
        {
            reason = "read-only and write-only flags together";
            return MapResult.Invalid;
        }

        if (spec.KeySize < 0 || spec.ValueSize < 0 || spec.MaxEntries < 0)
        {
            reason = "negative size";
            return MapResult.Invalid;
        }

        if (spec.SpinLockOffset is int lockOffset && (lockOffset < 0 || lockOffset % 4 != 0 || lockOffset + 4 > spec.ValueSize))
        {
            reason = $"spin lock offset {lockOffset} is not an aligned 4-byte field of the {spec.ValueSize}-byte value";
            return MapResult.Invalid;
        }

        if (spec.SpinLockOffset is not null && spec.Type is not (MapType.Hash or MapType.Array or MapType.CgroupStorage
            or MapType.SkStorage or MapType.InodeStorage or MapType.TaskStorage or MapType.CgroupLocalStorage))
        {
            reason = "only hash and array values may hold a bpf_spin_lock";
            return MapResult.OperationNotSupported;
        }

        switch (spec.Type)
        {
            case MapType.Array:
            case MapType.PerCpuArray:
            case MapType.PerfEventArray:
            case MapType.ProgramArray:
            case MapType.ArrayOfMaps:
                return ValidateArray(spec, out reason);
            case MapType.Hash:
            case MapType.PerCpuHash:
            case MapType.LruHash:
            case MapType.LruPerCpuHash:
            case MapType.HashOfMaps:
                return ValidateHash(spec, out reason);
            case MapType.LpmTrie:
                if (spec.MaxEntries == 0 || (flags & MapFlags.NoPrealloc) == 0 || (flags & ~(MapFlags.NoPrealloc | MapFlags.NumaNode | AccessMask)) != 0
                    || spec.KeySize < 4 + 1 || spec.KeySize > 4 + 256 || spec.ValueSize < 1 || spec.ValueSize > KmallocMaxSize - 256 - 64)
                {
                    reason = "an LPM trie needs BPF_F_NO_PREALLOC, max_entries > 0, a key of 4 + 1..256 bytes and a value of at least 1 byte";
                    return MapResult.Invalid;
                }

                return MapResult.Success;
            case MapType.Queue:
            case MapType.Stack:
                if (spec.MaxEntries == 0 || spec.KeySize != 0 || spec.ValueSize == 0 || (flags & ~(MapFlags.NumaNode | AccessMask)) != 0)
                {
                    reason = "a queue or stack needs key size 0, a value size and max_entries > 0, and no other flags";
                    return MapResult.Invalid;
                }

                if (spec.ValueSize > KmallocMaxSize)
                {
                    reason = "value size above KMALLOC_MAX_SIZE";
                    return MapResult.TooBig;
                }

                return MapResult.Success;
            case MapType.BloomFilter:
                if (spec.ValueSize > KmallocMaxSize)
                {
                    reason = "value size above KMALLOC_MAX_SIZE";
                    return MapResult.TooBig;
                }

                if (spec.KeySize != 0 || spec.ValueSize == 0 || spec.MaxEntries == 0
                    || (flags & ~(MapFlags.NumaNode | MapFlags.ZeroSeed | AccessMask)) != 0 || (spec.MapExtra & ~0xFUL) != 0)
                {
                    reason = "a bloom filter needs key size 0, a value size, max_entries > 0 and at most 15 hash functions in map_extra";
                    return MapResult.Invalid;
                }

                return MapResult.Success;
            case MapType.RingBuffer:
                if ((flags & ~MapFlags.NumaNode) != 0 || spec.KeySize != 0 || spec.ValueSize != 0
                    || !BitOperations.IsPow2(spec.MaxEntries) || spec.MaxEntries % 4096 != 0)
                {
                    reason = "a ring buffer needs key and value size 0 and a size that is a power of 2 and a multiple of the 4096-byte page";
                    return MapResult.Invalid;
                }

                return MapResult.Success;
            default:
                reason = $"{spec.Type} maps are not supported by the VM";
                return MapResult.OperationNotSupported;
        }
    }

    private static MapResult ValidateArray(MapSpec spec, out string reason)
    {
        reason = "";
        var allowed = MapFlags.NumaNode | MapFlags.Mmapable | AccessMask | MapFlags.PreserveElements | MapFlags.InnerMap;
        if (spec.MaxEntries == 0 || spec.KeySize != 4 || spec.ValueSize == 0 || (spec.Flags & ~allowed) != 0
            || (spec.Type == MapType.PerCpuArray && (spec.Flags & MapFlags.NumaNode) != 0))
        {
            reason = "an array needs a 4-byte key, a value size, max_entries > 0 and only array flags";
            return MapResult.Invalid;
        }

        if (spec.Type != MapType.Array && (spec.Flags & (MapFlags.Mmapable | MapFlags.InnerMap)) != 0)
        {
            reason = "BPF_F_MMAPABLE and BPF_F_INNER_MAP are for plain arrays only";
            return MapResult.Invalid;
        }

        if (spec.Type != MapType.PerfEventArray && (spec.Flags & MapFlags.PreserveElements) != 0)
        {
            reason = "BPF_F_PRESERVE_ELEMS is for perf event arrays only";
            return MapResult.Invalid;
        }

        if (spec.Type == MapType.PerCpuArray && RoundUp8(spec.ValueSize) > PerCpuMaxValueSize)
        {
            reason = "a per-CPU value is limited to 32 KiB";
            return MapResult.TooBig;
        }

        if (spec.Type is MapType.PerfEventArray or MapType.ProgramArray or MapType.ArrayOfMaps && spec.ValueSize != 4)
        {
            reason = "the value of a descriptor array is a 4-byte descriptor";
            return MapResult.Invalid;
        }

        return spec.Type == MapType.ArrayOfMaps ? ValidateInner(spec, out reason) : MapResult.Success;
    }

    private static MapResult ValidateHash(MapSpec spec, out string reason)
    {
        reason = "";
        bool lru = spec.Type is MapType.LruHash or MapType.LruPerCpuHash;
        bool perCpu = spec.Type is MapType.PerCpuHash or MapType.LruPerCpuHash;
        var allowed = MapFlags.NoPrealloc | MapFlags.NoCommonLru | MapFlags.NumaNode | AccessMask | MapFlags.ZeroSeed;
        if ((spec.Flags & ~allowed) != 0)
        {
            reason = "flags a hash map does not take";
            return MapResult.Invalid;
        }

        if (!lru && (spec.Flags & MapFlags.NoCommonLru) != 0)
        {
            reason = "BPF_F_NO_COMMON_LRU is for LRU maps only";
            return MapResult.Invalid;
        }

        if (lru && (spec.Flags & MapFlags.NoPrealloc) != 0)
        {
            reason = "LRU maps are always preallocated";
            return MapResult.NotSupported;
        }

        if ((perCpu || (spec.Flags & MapFlags.NoCommonLru) != 0) && (spec.Flags & MapFlags.NumaNode) != 0)
        {
            reason = "per-CPU maps take no NUMA node";
            return MapResult.Invalid;
        }

        if (spec.MaxEntries == 0 || spec.KeySize == 0 || spec.ValueSize == 0)
        {
            reason = "a hash needs key size, value size and max_entries above 0";
            return MapResult.Invalid;
        }

        if ((long)spec.KeySize + spec.ValueSize >= KmallocMaxSize - 64 || spec.KeySize > MaxStack
            || spec.ValueSize >= KmallocMaxSize - MaxStack - 64 || (perCpu && RoundUp8(spec.ValueSize) > PerCpuMaxValueSize))
        {
            reason = "key or value too large (keys are limited to the 512-byte stack, per-CPU values to 32 KiB)";
            return MapResult.TooBig;
        }

        if (spec.Type == MapType.HashOfMaps)
        {
            if (spec.ValueSize != 4)
            {
                reason = "the value of a hash of maps is a 4-byte descriptor";
                return MapResult.Invalid;
            }

            return ValidateInner(spec, out reason);
        }

        return MapResult.Success;
    }

    private static MapResult ValidateInner(MapSpec spec, out string reason)
    {
        reason = "";
        if (spec.InnerMap is not { } inner)
        {
            reason = "a map of maps needs an inner map spec";
            return MapResult.BadDescriptor;
        }

        if (inner.Type is MapType.ArrayOfMaps or MapType.HashOfMaps)
        {
            reason = "maps of maps cannot nest";
            return MapResult.Invalid;
        }

        var result = Validate(inner, out string innerReason);
        if (result != MapResult.Success)
        {
            reason = $"inner map: {innerReason}";
        }

        return result;
    }

    private static int RoundUp8(int size) => (int)(((long)size + 7) & ~7L);
}
