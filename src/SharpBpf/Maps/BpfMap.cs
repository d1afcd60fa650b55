using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpBpf.Runtime;

namespace SharpBpf.Maps;

/// <summary>
/// A BPF map living in the VM: the host reaches it through the syscall-like methods here (the style of
/// cilium/ebpf), programs through the map helpers (<see cref="MapHelpers"/>), which see values at real
/// addresses inside pinned <see cref="MemoryRegion"/>s of the owning <see cref="MapSet"/>.
/// </summary>
/// <remarks>
/// Every method is safe from any number of threads. Results are the kernel's errnos
/// (<see cref="MapResult"/>); host misuse that the kernel could not even express (a key buffer of the wrong
/// length) throws <see cref="ArgumentException"/>. Per-CPU maps exchange values with the host as one value per
/// possible CPU, each rounded up to 8 bytes, as the kernel's user-space copies do.
/// </remarks>
public abstract class BpfMap
{
    private readonly byte[] _handleAnchor;
    private volatile bool _frozen;

    /// <summary>Creates the map's identity; the <see cref="MapSet"/> validates the spec first.</summary>
    private protected BpfMap(MapSet owner, MapSpec spec)
    {
        Owner = owner;
        Spec = spec;

        // The handle is the address of a small pinned block that is never registered as a region: unique among
        // every address a program can see, and any dereference of it by a program is a clean fault.
        _handleAnchor = GC.AllocateArray<byte>(16, pinned: true);
        Handle = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(_handleAnchor, 0);
    }

    /// <summary>The set that owns the map (its memory, its handles, its CPU count).</summary>
    public MapSet Owner { get; }

    /// <summary>The definition the map was created from.</summary>
    public MapSpec Spec { get; }

    /// <summary>The map type.</summary>
    public MapType Type => Spec.Type;

    /// <summary>The map's name.</summary>
    public string Name => Spec.Name;

    /// <summary>The key size in bytes.</summary>
    public int KeySize => Spec.KeySize;

    /// <summary>The value size in bytes (one CPU's value for per-CPU maps).</summary>
    public int ValueSize => Spec.ValueSize;

    /// <summary>The maximum number of elements.</summary>
    public int MaxEntries => Spec.MaxEntries;

    /// <summary>The creation flags.</summary>
    public MapFlags Flags => Spec.Flags;

    /// <summary>The map's id in its set (1, 2, ...): what <c>lddw src=1</c> (a map "fd") and map-in-map values name.</summary>
    public int Id { get; internal set; }

    /// <summary>The map's position in its set (0, 1, ...): what <c>lddw src=5</c> names.</summary>
    public int Index { get; internal set; }

    /// <summary>The opaque 64-bit value a program holds for this map (what <c>lddw src=1/5</c> loads).</summary>
    public ulong Handle { get; }

    /// <summary>Whether each element has one value per CPU.</summary>
    public virtual bool IsPerCpu => false;

    /// <summary>The number of possible CPUs of the owning set.</summary>
    public int PossibleCpus => Owner.PossibleCpus;

    /// <summary>The size of a value buffer the host passes: the value size, or for per-CPU maps one 8-byte-rounded value per CPU.</summary>
    public int UserValueSize => IsPerCpu ? PossibleCpus * RoundUp8(ValueSize) : ValueSize;

    /// <summary>The region holding the values programs see, or null for maps whose values are not program memory.</summary>
    public MemoryRegion? ValueRegion { get; private protected set; }

    /// <summary>Whether the host froze the map (BPF_MAP_FREEZE): host writes then fail with -EPERM.</summary>
    public bool IsFrozen => _frozen;

    /// <summary>Freezes the map against host writes, as BPF_MAP_FREEZE (programs may still write unless the map is BPF_F_RDONLY_PROG).</summary>
    public void Freeze() => _frozen = true;

    /// <inheritdoc/>
    public override string ToString() => $"map {Id} '{Name}' ({Type}, key {KeySize}, value {ValueSize}, max {MaxEntries})";

    // ---------------------------------------------------------------- host API (bytes)

    /// <summary>Copies the value of <paramref name="key"/> into <paramref name="value"/> (<see cref="UserValueSize"/> bytes).</summary>
    /// <param name="key">The key (<see cref="KeySize"/> bytes).</param>
    /// <param name="value">Receives the value.</param>
    /// <param name="flags"><see cref="MapUpdateFlags.Lock"/> to copy under the value's spin lock; nothing else is valid.</param>
    public MapResult Lookup(ReadOnlySpan<byte> key, Span<byte> value, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        CheckKey(key);
        CheckUserValue(value.Length);
        if ((Flags & MapFlags.WriteOnly) != 0)
        {
            return MapResult.NotPermitted;
        }

        if ((flags & ~MapUpdateFlags.Lock) != 0 || ((flags & MapUpdateFlags.Lock) != 0 && Spec.SpinLockOffset is null))
        {
            return MapResult.Invalid;
        }

        return LookupCore(key, value, flags);
    }

    /// <summary>Creates or replaces the element of <paramref name="key"/> (BPF_MAP_UPDATE_ELEM).</summary>
    /// <param name="key">The key (<see cref="KeySize"/> bytes; empty for queues, stacks and bloom filters, where this pushes).</param>
    /// <param name="value">The value (<see cref="UserValueSize"/> bytes).</param>
    /// <param name="flags">BPF_ANY, BPF_NOEXIST or BPF_EXIST, optionally with BPF_F_LOCK.</param>
    public MapResult Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        CheckKey(key);
        CheckUserValue(value.Length);
        if (!HostMayWrite)
        {
            return MapResult.NotPermitted;
        }

        if ((flags & MapUpdateFlags.Lock) != 0 && Spec.SpinLockOffset is null)
        {
            return MapResult.Invalid;
        }

        return UpdateCore(key, value, flags);
    }

    /// <summary>Deletes the element of <paramref name="key"/> (BPF_MAP_DELETE_ELEM).</summary>
    public MapResult Delete(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        return HostMayWrite ? DeleteCore(key) : MapResult.NotPermitted;
    }

    /// <summary>Copies out and deletes the element of <paramref name="key"/> (BPF_MAP_LOOKUP_AND_DELETE_ELEM; pops queues and stacks).</summary>
    public MapResult LookupAndDelete(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckKey(key);
        CheckUserValue(value.Length);
        return HostMayWrite ? LookupAndDeleteCore(key, value) : MapResult.NotPermitted;
    }

    /// <summary>
    /// The key after <paramref name="key"/> in the map's iteration order, or the first key when
    /// <paramref name="key"/> is empty (BPF_MAP_GET_NEXT_KEY); -ENOENT after the last.
    /// </summary>
    public MapResult GetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        if (!key.IsEmpty)
        {
            CheckKey(key);
        }

        if (nextKey.Length != KeySize)
        {
            throw new ArgumentException($"map '{Name}': the next-key buffer is {nextKey.Length} bytes, the key size is {KeySize}", nameof(nextKey));
        }

        return GetNextKeyCore(key, nextKey);
    }

    /// <summary>The keys, in the map's iteration order (a snapshot-free walk with <see cref="GetNextKey"/>, as user space does).</summary>
    public IEnumerable<byte[]> Keys()
    {
        byte[]? previous = null;
        long limit = (long)MaxEntries + 1;
        for (long i = 0; i < limit; i++)
        {
            var next = new byte[KeySize];
            if (GetNextKey(previous ?? [], next) != MapResult.Success)
            {
                yield break;
            }

            yield return next;
            previous = next;
        }
    }

    /// <summary>The elements (key, value as <see cref="UserValueSize"/> bytes); keys deleted during the walk are skipped.</summary>
    public IEnumerable<KeyValuePair<byte[], byte[]>> Entries()
    {
        foreach (var key in Keys())
        {
            var value = new byte[UserValueSize];
            if (Lookup(key, value) == MapResult.Success)
            {
                yield return new KeyValuePair<byte[], byte[]>(key, value);
            }
        }
    }

    // ---------------------------------------------------------------- batches

    /// <summary>
    /// Copies up to <c>keys.Length / KeySize</c> elements, continuing after <paramref name="cursor"/> (BPF_MAP_LOOKUP_BATCH).
    /// Returns -ENOENT once the walk reached the end (with <paramref name="count"/> possibly above 0).
    /// </summary>
    public MapResult LookupBatch(MapBatchCursor cursor, Span<byte> keys, Span<byte> values, out int count) =>
        Batch(cursor, keys, values, delete: false, out count);

    /// <summary>Like <see cref="LookupBatch"/>, deleting each element copied (BPF_MAP_LOOKUP_AND_DELETE_BATCH; not for arrays).</summary>
    public MapResult LookupAndDeleteBatch(MapBatchCursor cursor, Span<byte> keys, Span<byte> values, out int count)
    {
        if (Type is MapType.Array or MapType.PerCpuArray or MapType.ProgramArray or MapType.ArrayOfMaps or MapType.PerfEventArray)
        {
            count = 0;
            return MapResult.Invalid;
        }

        return Batch(cursor, keys, values, delete: true, out count);
    }

    /// <summary>Updates the elements pairwise (BPF_MAP_UPDATE_BATCH); stops at the first failure, which it returns.</summary>
    public MapResult UpdateBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, MapUpdateFlags flags, out int processed)
    {
        int n = BatchCount(keys.Length, values.Length);
        for (processed = 0; processed < n; processed++)
        {
            var result = Update(keys.Slice(processed * KeySize, KeySize), values.Slice(processed * UserValueSize, UserValueSize), flags);
            if (result != MapResult.Success)
            {
                return result;
            }
        }

        return MapResult.Success;
    }

    /// <summary>Deletes the keys (BPF_MAP_DELETE_BATCH); stops at the first failure, which it returns.</summary>
    public MapResult DeleteBatch(ReadOnlySpan<byte> keys, out int processed)
    {
        if (KeySize == 0 || keys.Length % KeySize != 0)
        {
            throw new ArgumentException($"map '{Name}': the key buffer is not a whole number of {KeySize}-byte keys", nameof(keys));
        }

        int n = keys.Length / KeySize;
        for (processed = 0; processed < n; processed++)
        {
            var result = Delete(keys.Slice(processed * KeySize, KeySize));
            if (result != MapResult.Success)
            {
                return result;
            }
        }

        return MapResult.Success;
    }

    private MapResult Batch(MapBatchCursor cursor, Span<byte> keys, Span<byte> values, bool delete, out int count)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        int n = BatchCount(keys.Length, values.Length);
        count = 0;
        if (cursor.Done)
        {
            return MapResult.NotFound;
        }

        byte[] next = new byte[KeySize];
        while (count < n)
        {
            // After a delete the walk restarts from the first key: the deleted key cannot be a position any more.
            var previous = delete ? [] : cursor.LastKey ?? [];
            var found = GetNextKey(previous, next);
            if (found == MapResult.NotFound)
            {
                cursor.Done = true;
                return MapResult.NotFound;
            }

            if (found != MapResult.Success)
            {
                return found;
            }

            var keySlot = keys.Slice(count * KeySize, KeySize);
            var valueSlot = values.Slice(count * UserValueSize, UserValueSize);
            next.CopyTo(keySlot);
            cursor.LastKey = (byte[])next.Clone();
            var result = delete ? LookupAndDelete(next, valueSlot) : Lookup(next, valueSlot);
            if (result == MapResult.Success)
            {
                count++;
            }
            else if (result != MapResult.NotFound)
            {
                return result;
            }
        }

        return MapResult.Success;
    }

    private int BatchCount(int keyBytes, int valueBytes)
    {
        if (KeySize == 0 || keyBytes % KeySize != 0 || valueBytes % UserValueSize != 0 || keyBytes / KeySize != valueBytes / UserValueSize)
        {
            throw new ArgumentException(
                $"map '{Name}': batch buffers must hold the same number of {KeySize}-byte keys and {UserValueSize}-byte values");
        }

        return keyBytes / KeySize;
    }

    // ---------------------------------------------------------------- queue, stack and bloom filter

    /// <summary>Pushes a value (queue, stack; adds to a bloom filter). BPF_EXIST on a full queue or stack drops the oldest value.</summary>
    public MapResult Push(ReadOnlySpan<byte> value, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        CheckValue(value.Length);
        return HostMayWrite ? PushCore(value, flags) : MapResult.NotPermitted;
    }

    /// <summary>Removes the next value into <paramref name="value"/> (queue: the oldest; stack: the newest); -ENOENT when empty.</summary>
    public MapResult Pop(Span<byte> value)
    {
        CheckValue(value.Length);
        return HostMayWrite ? PopCore(value) : MapResult.NotPermitted;
    }

    /// <summary>Copies the next value without removing it; for a bloom filter, tests <paramref name="value"/> (0 = maybe present, -ENOENT = absent).</summary>
    public MapResult Peek(Span<byte> value)
    {
        CheckValue(value.Length);
        return PeekCore(value);
    }

    // ---------------------------------------------------------------- typed host API

    /// <summary>Updates the element with typed key and value (both must have the map's exact sizes).</summary>
    public MapResult Update<TKey, TValue>(in TKey key, in TValue value, MapUpdateFlags flags = MapUpdateFlags.Any)
        where TKey : unmanaged
        where TValue : unmanaged
    {
        CheckTypedValue<TValue>(perCpu: false);
        return Update(KeyBytes(in key), MemoryMarshal.AsBytes(new ReadOnlySpan<TValue>(in value)), flags);
    }

    /// <summary>Looks up a typed value; false when the key is absent (or the lookup failed).</summary>
    public bool TryLookup<TKey, TValue>(in TKey key, out TValue value)
        where TKey : unmanaged
        where TValue : unmanaged
    {
        CheckTypedValue<TValue>(perCpu: false);
        value = default;
        return Lookup(KeyBytes(in key), MemoryMarshal.AsBytes(new Span<TValue>(ref value))) == MapResult.Success;
    }

    /// <summary>Looks up a typed value.</summary>
    /// <exception cref="MapException">The key is absent (<see cref="MapResult.NotFound"/>) or the lookup failed.</exception>
    public TValue Lookup<TKey, TValue>(in TKey key)
        where TKey : unmanaged
        where TValue : unmanaged
    {
        CheckTypedValue<TValue>(perCpu: false);
        TValue value = default;
        var result = Lookup(KeyBytes(in key), MemoryMarshal.AsBytes(new Span<TValue>(ref value)));
        return result == MapResult.Success ? value : throw new MapException(result, $"map '{Name}': lookup failed");
    }

    /// <summary>Deletes a typed key.</summary>
    public MapResult Delete<TKey>(in TKey key)
        where TKey : unmanaged => Delete(KeyBytes(in key));

    /// <summary>Looks up the value of every CPU of a per-CPU map; false when the key is absent.</summary>
    public bool TryLookupPerCpu<TKey, TValue>(in TKey key, out TValue[] values)
        where TKey : unmanaged
        where TValue : unmanaged
    {
        CheckTypedValue<TValue>(perCpu: true);
        var buffer = new byte[UserValueSize];
        values = [];
        if (Lookup(KeyBytes(in key), buffer) != MapResult.Success)
        {
            return false;
        }

        int stride = RoundUp8(ValueSize);
        values = new TValue[PossibleCpus];
        for (int cpu = 0; cpu < values.Length; cpu++)
        {
            values[cpu] = MemoryMarshal.Read<TValue>(buffer.AsSpan(cpu * stride, ValueSize));
        }

        return true;
    }

    /// <summary>Updates every CPU's value of a per-CPU map (<paramref name="values"/> has one value per possible CPU).</summary>
    public MapResult UpdatePerCpu<TKey, TValue>(in TKey key, ReadOnlySpan<TValue> values, MapUpdateFlags flags = MapUpdateFlags.Any)
        where TKey : unmanaged
        where TValue : unmanaged
    {
        CheckTypedValue<TValue>(perCpu: true);
        if (values.Length != PossibleCpus)
        {
            throw new ArgumentException($"map '{Name}': {values.Length} values given for {PossibleCpus} possible CPUs", nameof(values));
        }

        var buffer = new byte[UserValueSize];
        int stride = RoundUp8(ValueSize);
        for (int cpu = 0; cpu < values.Length; cpu++)
        {
            MemoryMarshal.Write(buffer.AsSpan(cpu * stride, ValueSize), in values[cpu]);
        }

        return Update(KeyBytes(in key), buffer, flags);
    }

    /// <summary>The elements as typed pairs (non-per-CPU maps).</summary>
    public IEnumerable<KeyValuePair<TKey, TValue>> Entries<TKey, TValue>()
        where TKey : unmanaged
        where TValue : unmanaged
    {
        CheckTypedValue<TValue>(perCpu: false);
        if (Unsafe.SizeOf<TKey>() != KeySize)
        {
            throw new ArgumentException($"map '{Name}': {typeof(TKey).Name} is {Unsafe.SizeOf<TKey>()} bytes, the key size is {KeySize}");
        }

        foreach (var pair in Entries())
        {
            yield return new KeyValuePair<TKey, TValue>(MemoryMarshal.Read<TKey>(pair.Key), MemoryMarshal.Read<TValue>(pair.Value));
        }
    }

    /// <summary>Pushes a typed value (queue, stack, bloom filter).</summary>
    public MapResult Push<TValue>(in TValue value, MapUpdateFlags flags = MapUpdateFlags.Any)
        where TValue : unmanaged
    {
        CheckTypedValue<TValue>(perCpu: false);
        return Push(MemoryMarshal.AsBytes(new ReadOnlySpan<TValue>(in value)), flags);
    }

    /// <summary>Pops a typed value; false when empty.</summary>
    public bool TryPop<TValue>(out TValue value)
        where TValue : unmanaged
    {
        CheckTypedValue<TValue>(perCpu: false);
        value = default;
        return Pop(MemoryMarshal.AsBytes(new Span<TValue>(ref value))) == MapResult.Success;
    }

    /// <summary>Peeks a typed value; false when empty.</summary>
    public bool TryPeek<TValue>(out TValue value)
        where TValue : unmanaged
    {
        CheckTypedValue<TValue>(perCpu: false);
        value = default;
        return Peek(MemoryMarshal.AsBytes(new Span<TValue>(ref value))) == MapResult.Success;
    }

    // ---------------------------------------------------------------- program side (used by the helpers and engines)

    /// <summary>
    /// bpf_map_lookup_elem as a program sees it: the address of the value of <paramref name="key"/> for
    /// <paramref name="cpu"/> (per-CPU maps), or 0 when absent. For maps of maps, the inner map's handle.
    /// </summary>
    public virtual ulong LookupForProgram(ReadOnlySpan<byte> key, int cpu) => 0;

    /// <summary>bpf_map_update_elem from a program: per-CPU maps write <paramref name="cpu"/>'s value only.</summary>
    public virtual MapResult UpdateFromProgram(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu) =>
        MapResult.OperationNotSupported;

    /// <summary>bpf_map_delete_elem from a program.</summary>
    public virtual MapResult DeleteFromProgram(ReadOnlySpan<byte> key) => DeleteCore(key);

    /// <summary>bpf_map_push_elem from a program.</summary>
    public MapResult PushFromProgram(ReadOnlySpan<byte> value, MapUpdateFlags flags) => PushCore(value, flags);

    /// <summary>bpf_map_pop_elem from a program.</summary>
    public MapResult PopFromProgram(Span<byte> value) => PopCore(value);

    /// <summary>bpf_map_peek_elem from a program.</summary>
    public MapResult PeekFromProgram(Span<byte> value) => PeekCore(value);

    // ---------------------------------------------------------------- implementation hooks

    /// <summary>Copies a value out for the host (sizes checked).</summary>
    private protected virtual MapResult LookupCore(ReadOnlySpan<byte> key, Span<byte> value, MapUpdateFlags flags) => MapResult.OperationNotSupported;

    /// <summary>Writes a value from the host (sizes and permissions checked).</summary>
    private protected virtual MapResult UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags) => MapResult.OperationNotSupported;

    /// <summary>Deletes an element.</summary>
    private protected virtual MapResult DeleteCore(ReadOnlySpan<byte> key) => MapResult.OperationNotSupported;

    /// <summary>Copies out and deletes.</summary>
    private protected virtual MapResult LookupAndDeleteCore(ReadOnlySpan<byte> key, Span<byte> value) => MapResult.OperationNotSupported;

    /// <summary>The next key, or the first when <paramref name="key"/> is empty.</summary>
    private protected virtual MapResult GetNextKeyCore(ReadOnlySpan<byte> key, Span<byte> nextKey) => MapResult.OperationNotSupported;

    /// <summary>Pushes.</summary>
    private protected virtual MapResult PushCore(ReadOnlySpan<byte> value, MapUpdateFlags flags) => MapResult.Invalid;

    /// <summary>Pops.</summary>
    private protected virtual MapResult PopCore(Span<byte> value) => MapResult.Invalid;

    /// <summary>Peeks.</summary>
    private protected virtual MapResult PeekCore(Span<byte> value) => MapResult.Invalid;

    /// <summary>The size the host's value buffers must have, when it differs from <see cref="UserValueSize"/>.</summary>
    private protected virtual int HostValueSize => UserValueSize;

    private bool HostMayWrite => (Flags & MapFlags.ReadOnly) == 0 && !_frozen;

    // ---------------------------------------------------------------- shared utilities

    /// <summary>Rounds up to a multiple of 8.</summary>
    internal static int RoundUp8(int size) => (size + 7) & ~7;

    private protected void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"map '{Name}': the key is {key.Length} bytes, the key size is {KeySize}", nameof(key));
        }
    }

    private void CheckUserValue(int length)
    {
        if (length != HostValueSize)
        {
            throw new ArgumentException($"map '{Name}': the value buffer is {length} bytes, this map exchanges {HostValueSize}-byte values");
        }
    }

    private void CheckValue(int length)
    {
        if (length != ValueSize)
        {
            throw new ArgumentException($"map '{Name}': the value is {length} bytes, the value size is {ValueSize}");
        }
    }

    private void CheckTypedValue<TValue>(bool perCpu)
        where TValue : unmanaged
    {
        if (perCpu != IsPerCpu)
        {
            throw new InvalidOperationException(perCpu
                ? $"map '{Name}' ({Type}) is not a per-CPU map"
                : $"map '{Name}' ({Type}) is a per-CPU map: use the PerCpu overloads");
        }

        int expected = perCpu ? ValueSize : HostValueSize;
        if (Unsafe.SizeOf<TValue>() != expected)
        {
            throw new ArgumentException($"map '{Name}': {typeof(TValue).Name} is {Unsafe.SizeOf<TValue>()} bytes, the value size is {expected}");
        }
    }

    private ReadOnlySpan<byte> KeyBytes<TKey>(in TKey key)
        where TKey : unmanaged
    {
        if (Unsafe.SizeOf<TKey>() != KeySize)
        {
            throw new ArgumentException($"map '{Name}': {typeof(TKey).Name} is {Unsafe.SizeOf<TKey>()} bytes, the key size is {KeySize}", nameof(key));
        }

        return MemoryMarshal.AsBytes(new ReadOnlySpan<TKey>(in key));
    }

    /// <summary>Copies a value, leaving the spin lock word of the destination alone (as the kernel's copy_map_value).</summary>
    private protected void CopyValue(Span<byte> destination, ReadOnlySpan<byte> source)
    {
        if (Spec.SpinLockOffset is int offset)
        {
            source[..offset].CopyTo(destination);
            source[(offset + 4)..].CopyTo(destination[(offset + 4)..]);
        }
        else
        {
            source.CopyTo(destination);
        }
    }

    /// <summary>Copies a value under its spin lock when <see cref="MapUpdateFlags.Lock"/> is given.</summary>
    private protected void CopyValue(Span<byte> destination, ReadOnlySpan<byte> source, MapUpdateFlags flags, bool lockDestination)
    {
        if ((flags & MapUpdateFlags.Lock) == 0 || Spec.SpinLockOffset is not int offset)
        {
            CopyValue(destination, source);
            return;
        }

        var lockWord = lockDestination ? destination.Slice(offset, 4) : source.Slice(offset, 4);
        ref int word = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<byte, int>(lockWord));
        SpinLock32.Acquire(ref word);
        try
        {
            CopyValue(destination, source);
            if (!lockDestination)
            {
                destination.Slice(offset, 4).Clear();
            }
        }
        finally
        {
            SpinLock32.Release(ref word);
        }
    }
}

/// <summary>Where a batch walk continues (the kernel's in_batch/out_batch token).</summary>
public sealed class MapBatchCursor
{
    /// <summary>The last key handed out, or null before the first batch.</summary>
    internal byte[]? LastKey { get; set; }

    /// <summary>Whether the walk reached the end.</summary>
    public bool Done { get; internal set; }
}

/// <summary>The <c>struct bpf_spin_lock</c> word shared by programs (bpf_spin_lock) and BPF_F_LOCK copies.</summary>
internal static class SpinLock32
{
    public static void Acquire(ref int word)
    {
        var spin = default(SpinWait);
        while (Interlocked.CompareExchange(ref word, 1, 0) != 0)
        {
            spin.SpinOnce();
        }
    }

    public static void Release(ref int word) => Volatile.Write(ref word, 0);
}
