using System.Buffers.Binary;
using System.Numerics;
using SharpBpf.Runtime;

namespace SharpBpf.Maps;

/// <summary>
/// BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH, preallocated like the kernel's default
/// (prealloc) hash: element slots live in a pinned value arena and are recycled through a free list, never freed,
/// so a value pointer a program holds stays valid memory after a delete (it may then be reused, as in the kernel).
/// </summary>
/// <remarks>
/// <para>Lookups are lock-free: buckets are singly linked chains of slot numbers whose end marker names the bucket
/// (the kernel's "nulls" lists), so a reader that followed a recycled slot into another chain notices and restarts.
/// Writers take a per-bucket striped lock (a map-wide lock for LRU maps, whose eviction touches any bucket).</para>
/// <para>Updates of an existing key in a plain hash link a fresh slot in place of the old one, as the kernel does,
/// so concurrent readers see either the whole old or the whole new value; the arena has one spare slot per CPU for
/// that, and falls back to an in-place copy when they are all in flight. Per-CPU maps update in place.</para>
/// <para>LRU maps evict with a second-chance scan of one list (lookups from programs set a reference bit; host
/// lookups do not), an approximation of the kernel's active/inactive lists. A full plain hash gives -E2BIG.</para>
/// </remarks>
public class HashMap : BpfMap
{
    private const int MaxLockStripes = 256;

    private readonly bool _lru;
    private readonly int _bucketMask;
    private readonly int[] _heads;
    private readonly int[] _next;
    private readonly uint[] _hashes;
    private readonly byte[] _keys;
    private readonly ValueArena _arena;
    private readonly Lock[] _locks;
    private readonly Lock _freeLock = new();
    private readonly int[] _free;
    private readonly ulong _seed;
    private int _freeCount;
    private int _count;

    // LRU list (under the map-wide lock): most recent at the head.
    private readonly int[]? _lruPrev;
    private readonly int[]? _lruNext;
    private readonly byte[]? _referenced;
    private int _lruHead = -1;
    private int _lruTail = -1;

    internal HashMap(MapSet owner, MapSpec spec, bool programVisible = true) : base(owner, spec)
    {
        _lru = spec.Type is MapType.LruHash or MapType.LruPerCpuHash;
        int slots = _lru || IsPerCpu ? spec.MaxEntries : (int)Math.Min((long)spec.MaxEntries + owner.PossibleCpus, int.MaxValue);
        int buckets = (int)Math.Min(BitOperations.RoundUpToPowerOf2((uint)spec.MaxEntries), 1u << 30);
        string name = string.IsNullOrEmpty(spec.Name) ? "hash" : spec.Name;
        owner.Reserve(((long)slots * (spec.KeySize + 8 + (_lru ? 9 : 0))) + ((long)buckets * 4), name + " (metadata)");

        var access = (spec.Flags & MapFlags.ReadOnlyProgram) != 0 ? MemoryAccess.Read : MemoryAccess.ReadWrite;
        _arena = new ValueArena(owner, name, slots, spec.ValueSize, IsPerCpu ? owner.PossibleCpus : 1, access, programVisible);
        ValueRegion = programVisible ? _arena.Region : null;

        _bucketMask = buckets - 1;
        _heads = new int[buckets];
        for (int b = 0; b < buckets; b++)
        {
            _heads[b] = ~b;
        }

        _next = new int[slots];
        _hashes = new uint[slots];
        _keys = new byte[(long)slots * spec.KeySize];
        _free = new int[slots];
        for (int i = 0; i < slots; i++)
        {
            _free[i] = slots - 1 - i;
        }

        _freeCount = slots;
        _locks = new Lock[_lru ? 1 : Math.Min(buckets, MaxLockStripes)];
        for (int i = 0; i < _locks.Length; i++)
        {
            _locks[i] = new Lock();
        }

        if (_lru)
        {
            _lruPrev = new int[slots];
            _lruNext = new int[slots];
            _referenced = new byte[slots];
        }

        _seed = (spec.Flags & MapFlags.ZeroSeed) != 0 ? 0 : (ulong)Random.Shared.NextInt64();
    }

    /// <inheritdoc/>
    public override bool IsPerCpu => Type is MapType.PerCpuHash or MapType.LruPerCpuHash;

    /// <summary>The number of elements.</summary>
    public int Count => Volatile.Read(ref _count);

    // ---------------------------------------------------------------- program side

    /// <inheritdoc/>
    public override ulong LookupForProgram(ReadOnlySpan<byte> key, int cpu)
    {
        int slot = Find(key, Hash(key));
        if (slot < 0 || (IsPerCpu && (uint)cpu >= (uint)PossibleCpus))
        {
            return 0;
        }

        if (_referenced is not null && _referenced[slot] == 0)
        {
            _referenced[slot] = 1;
        }

        return _arena.Address(slot, IsPerCpu ? cpu : 0);
    }

    /// <summary>
    /// The value address of <paramref name="key"/> for <paramref name="cpu"/>, or 0, without marking an LRU element
    /// as used (what <c>bpf_for_each_map_elem</c> hands its callback).
    /// </summary>
    internal ulong IterationValueAddress(ReadOnlySpan<byte> key, int cpu)
    {
        int slot = Find(key, Hash(key));
        return slot < 0 ? 0 : _arena.Address(slot, IsPerCpu ? cpu : 0);
    }

    /// <inheritdoc/>
    public override MapResult UpdateFromProgram(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu) =>
        UpdateElement(key, value, flags, cpu);

    // ---------------------------------------------------------------- host side

    private protected override MapResult LookupCore(ReadOnlySpan<byte> key, Span<byte> value, MapUpdateFlags flags)
    {
        int slot = Find(key, Hash(key));
        if (slot < 0)
        {
            return MapResult.NotFound;
        }

        CopyOut(slot, value, flags);
        return MapResult.Success;
    }

    private protected override MapResult UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags) =>
        UpdateElement(key, value, flags, cpu: -1);

    private protected override MapResult DeleteCore(ReadOnlySpan<byte> key) => Remove(key, default, copy: false);

    private protected override MapResult LookupAndDeleteCore(ReadOnlySpan<byte> key, Span<byte> value) => Remove(key, value, copy: true);

    private protected override MapResult GetNextKeyCore(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        int bucket = 0;
        if (!key.IsEmpty)
        {
            uint hash = Hash(key);
            int b = (int)(hash & (uint)_bucketMask);
            lock (LockFor(b))
            {
                int slot = FindLocked(b, key, hash, out _);
                if (slot >= 0)
                {
                    int after = _next[slot];
                    if (after >= 0)
                    {
                        KeyOf(after).CopyTo(nextKey);
                        return MapResult.Success;
                    }

                    bucket = b + 1;
                }
            }
        }

        // A missing key restarts the walk from the first bucket, as the kernel does.
        for (; bucket <= _bucketMask; bucket++)
        {
            if (Volatile.Read(ref _heads[bucket]) < 0)
            {
                continue;
            }

            lock (LockFor(bucket))
            {
                int first = _heads[bucket];
                if (first >= 0)
                {
                    KeyOf(first).CopyTo(nextKey);
                    return MapResult.Success;
                }
            }
        }

        return MapResult.NotFound;
    }

    // ---------------------------------------------------------------- core

    /// <summary>The value bytes stored for a key (for subclasses storing descriptors), or empty.</summary>
    private protected ReadOnlySpan<byte> StoredValue(ReadOnlySpan<byte> key)
    {
        int slot = Find(key, Hash(key));
        return slot < 0 ? default : _arena.Value(slot);
    }

    /// <summary>Creates or replaces an element; <paramref name="cpu"/> is the program's CPU, or -1 for a host buffer of every CPU.</summary>
    private protected MapResult UpdateElement(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu)
    {
        var mode = flags & ~MapUpdateFlags.Lock;
        if ((ulong)mode > (ulong)MapUpdateFlags.Exist || (IsPerCpu && (flags & MapUpdateFlags.Lock) != 0))
        {
            return MapResult.Invalid;
        }

        bool locked = (flags & MapUpdateFlags.Lock) != 0;
        if (locked && Spec.SpinLockOffset is null)
        {
            return MapResult.Invalid;
        }

        uint hash = Hash(key);
        int bucket = (int)(hash & (uint)_bucketMask);
        lock (LockFor(bucket))
        {
            int old = FindLocked(bucket, key, hash, out int previous);
            if (old >= 0 && mode == MapUpdateFlags.NoExist)
            {
                return MapResult.Exists;
            }

            if (old < 0 && mode == MapUpdateFlags.Exist)
            {
                return MapResult.NotFound;
            }

            if (old >= 0 && (locked || IsPerCpu))
            {
                // The kernel updates per-CPU values, and BPF_F_LOCK copies, in place.
                WriteValue(old, value, cpu, isNew: false, flags);
                return MapResult.Success;
            }

            int fresh;
            if (old >= 0)
            {
                fresh = PopFree();
                if (fresh < 0)
                {
                    WriteValue(old, value, cpu, isNew: false, flags);
                    return MapResult.Success;
                }
            }
            else if (_lru)
            {
                fresh = PopFree();
                if (fresh < 0)
                {
                    fresh = EvictLocked();
                }
            }
            else
            {
                if (Interlocked.Increment(ref _count) > MaxEntries)
                {
                    Interlocked.Decrement(ref _count);
                    return MapResult.TooBig;
                }

                fresh = PopFree();
                if (fresh < 0)
                {
                    // Every spare slot is in flight in a concurrent replacement.
                    Interlocked.Decrement(ref _count);
                    return MapResult.NoMemory;
                }
            }

            key.CopyTo(_keys.AsSpan(fresh * KeySize, KeySize));
            _hashes[fresh] = hash;
            WriteValue(fresh, value, cpu, isNew: true, flags);
            if (old >= 0)
            {
                _next[fresh] = _next[old];
                Link(bucket, previous, fresh);
                LruRemove(old);
                PushFree(old);
            }
            else
            {
                _next[fresh] = _heads[bucket];
                Volatile.Write(ref _heads[bucket], fresh);
                if (_lru)
                {
                    Interlocked.Increment(ref _count);
                }
            }

            LruAddHead(fresh);
            return MapResult.Success;
        }
    }

    private MapResult Remove(ReadOnlySpan<byte> key, Span<byte> value, bool copy)
    {
        uint hash = Hash(key);
        int bucket = (int)(hash & (uint)_bucketMask);
        lock (LockFor(bucket))
        {
            int slot = FindLocked(bucket, key, hash, out int previous);
            if (slot < 0)
            {
                return MapResult.NotFound;
            }

            if (copy)
            {
                CopyOut(slot, value, MapUpdateFlags.Any);
            }

            Link(bucket, previous, _next[slot]);
            LruRemove(slot);
            Interlocked.Decrement(ref _count);
            PushFree(slot);
            return MapResult.Success;
        }
    }

    private void CopyOut(int slot, Span<byte> value, MapUpdateFlags flags)
    {
        if (!IsPerCpu)
        {
            CopyValue(value, _arena.Value(slot), flags, lockDestination: false);
            return;
        }

        int stride = RoundUp8(ValueSize);
        value.Clear();
        for (int c = 0; c < PossibleCpus; c++)
        {
            _arena.Value(slot, c).CopyTo(value.Slice(c * stride, ValueSize));
        }
    }

    private void WriteValue(int slot, ReadOnlySpan<byte> value, int cpu, bool isNew, MapUpdateFlags flags)
    {
        if (!IsPerCpu)
        {
            var target = _arena.Value(slot);
            if (isNew)
            {
                target.Clear();
            }

            CopyValue(target, value, flags, lockDestination: true);
            return;
        }

        if (cpu < 0)
        {
            int stride = RoundUp8(ValueSize);
            for (int c = 0; c < PossibleCpus; c++)
            {
                CopyValue(_arena.Value(slot, c), value.Slice(c * stride, ValueSize));
            }

            return;
        }

        // From a program: this CPU's value; a new element starts zeroed on the other CPUs.
        if (isNew)
        {
            for (int c = 0; c < PossibleCpus; c++)
            {
                _arena.Value(slot, c).Clear();
            }
        }

        CopyValue(_arena.Value(slot, cpu), value);
    }

    private int Find(ReadOnlySpan<byte> key, uint hash)
    {
        int bucket = (int)(hash & (uint)_bucketMask);
        while (true)
        {
            int slot = Volatile.Read(ref _heads[bucket]);
            while (slot >= 0)
            {
                if (_hashes[slot] == hash && KeyOf(slot).SequenceEqual(key))
                {
                    return slot;
                }

                slot = Volatile.Read(ref _next[slot]);
            }

            if (slot == ~bucket)
            {
                return -1;
            }

            // The walk went through a recycled slot into another bucket's chain: start again.
        }
    }

    private int FindLocked(int bucket, ReadOnlySpan<byte> key, uint hash, out int previous)
    {
        previous = -1;
        for (int slot = _heads[bucket]; slot >= 0; slot = _next[slot])
        {
            if (_hashes[slot] == hash && KeyOf(slot).SequenceEqual(key))
            {
                return slot;
            }

            previous = slot;
        }

        return -1;
    }

    private void Link(int bucket, int previous, int target)
    {
        if (previous < 0)
        {
            Volatile.Write(ref _heads[bucket], target);
        }
        else
        {
            Volatile.Write(ref _next[previous], target);
        }
    }

    private Span<byte> KeyOf(int slot) => _keys.AsSpan(slot * KeySize, KeySize);

    private Lock LockFor(int bucket) => _locks[bucket & (_locks.Length - 1)];

    private int PopFree()
    {
        lock (_freeLock)
        {
            return _freeCount == 0 ? -1 : _free[--_freeCount];
        }
    }

    private void PushFree(int slot)
    {
        lock (_freeLock)
        {
            _free[_freeCount++] = slot;
        }
    }

    // ---------------------------------------------------------------- LRU (callers hold the map-wide lock)

    private int EvictLocked()
    {
        var referenced = _referenced!;

        // Second chance: a referenced tail goes back to the head with its bit cleared; at most one full turn.
        while (referenced[_lruTail] != 0)
        {
            int tail = _lruTail;
            referenced[tail] = 0;
            LruRemove(tail);
            LruAddHead(tail);
        }

        int victim = _lruTail;
        uint hash = _hashes[victim];
        int bucket = (int)(hash & (uint)_bucketMask);
        FindLocked(bucket, KeyOf(victim), hash, out int previous);
        Link(bucket, previous, _next[victim]);
        LruRemove(victim);
        Interlocked.Decrement(ref _count);
        return victim;
    }

    private void LruAddHead(int slot)
    {
        if (!_lru)
        {
            return;
        }

        _referenced![slot] = 0;
        _lruPrev![slot] = -1;
        _lruNext![slot] = _lruHead;
        if (_lruHead >= 0)
        {
            _lruPrev[_lruHead] = slot;
        }

        _lruHead = slot;
        if (_lruTail < 0)
        {
            _lruTail = slot;
        }
    }

    private void LruRemove(int slot)
    {
        if (!_lru)
        {
            return;
        }

        int prev = _lruPrev![slot], next = _lruNext![slot];
        if (prev >= 0)
        {
            _lruNext[prev] = next;
        }
        else
        {
            _lruHead = next;
        }

        if (next >= 0)
        {
            _lruPrev[next] = prev;
        }
        else
        {
            _lruTail = prev;
        }
    }

    private uint Hash(ReadOnlySpan<byte> key) => (uint)KeyHash.Compute(key, _seed);
}

/// <summary>
/// BPF_MAP_TYPE_HASH_OF_MAPS: a hash whose values are inner maps. The host stores a map's <see cref="BpfMap.Id"/>
/// (4 bytes); a program's lookup returns the inner map's handle, ready for map helpers.
/// </summary>
public sealed class HashOfMapsMap : HashMap
{
    internal HashOfMapsMap(MapSet owner, MapSpec spec) : base(owner, spec, programVisible: false)
    {
    }

    /// <summary>Stores <paramref name="inner"/> under <paramref name="key"/>.</summary>
    public MapResult Update(ReadOnlySpan<byte> key, BpfMap inner, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Span<byte> id = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(id, inner.Id);
        return Update(key, id, flags);
    }

    /// <summary>The inner map stored under <paramref name="key"/>, or null.</summary>
    public BpfMap? FindInner(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        var stored = StoredValue(key);
        return stored.IsEmpty ? null : Owner.FindById(BinaryPrimitives.ReadInt32LittleEndian(stored));
    }

    /// <inheritdoc/>
    public override ulong LookupForProgram(ReadOnlySpan<byte> key, int cpu) => FindInner(key)?.Handle ?? 0;

    /// <inheritdoc/>
    public override MapResult UpdateFromProgram(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu) =>
        MapResult.OperationNotSupported;

    private protected override MapResult UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags)
    {
        var check = MapOfMaps.CheckInner(Owner, Spec, BinaryPrimitives.ReadInt32LittleEndian(value));
        return check != MapResult.Success ? check : UpdateElement(key, value, flags, cpu: -1);
    }
}
