namespace SharpBpf.Linux;

/// <summary>
/// A map in the kernel, with element operations over byte spans. Keys are <see cref="KeySize"/> bytes; values are
/// <see cref="ValueBufferSize"/> bytes, which for per-CPU maps is one 8-byte-aligned slot per possible CPU.
/// </summary>
public sealed class KernelMap : IDisposable
{
    private KernelMap(MapHandle handle, MapInfo info)
    {
        Handle = handle;
        Type = info.Type;
        Id = info.Id;
        KeySize = (int)info.KeySize;
        ValueSize = (int)info.ValueSize;
        MaxEntries = info.MaxEntries;
        Flags = info.Flags;
        Name = info.Name;
    }

    /// <summary>The map's descriptor.</summary>
    public MapHandle Handle { get; }

    /// <summary>The map type.</summary>
    public MapType Type { get; }

    /// <summary>The kernel-wide id.</summary>
    public uint Id { get; }

    /// <summary>The key size in bytes.</summary>
    public int KeySize { get; }

    /// <summary>The value size in bytes (of one CPU's slot for per-CPU maps).</summary>
    public int ValueSize { get; }

    /// <summary>The capacity.</summary>
    public uint MaxEntries { get; }

    /// <summary>The creation flags.</summary>
    public MapCreateFlags Flags { get; }

    /// <summary>The object name.</summary>
    public string Name { get; }

    /// <summary>Whether values are per CPU.</summary>
    public bool IsPerCpu => Type is MapType.PerCpuArray or MapType.PerCpuHash or MapType.LruPerCpuHash or MapType.PerCpuCgroupStorage;

    /// <summary>The bytes a value occupies in user space: per-CPU maps round each CPU's value up to 8 bytes.</summary>
    public int ValueBufferSize => IsPerCpu ? ((ValueSize + 7) & ~7) * LinuxSystem.PossibleCpuCount : ValueSize;

    /// <summary>Creates a map.</summary>
    /// <exception cref="BpfSyscallException">The kernel refused (EINVAL for a bad shape, EPERM without privilege...).</exception>
    public static KernelMap Create(MapCreateOptions options) => FromHandle(BpfSyscall.MapCreate(options));

    /// <summary>Creates a map from its shape.</summary>
    public static KernelMap Create(MapType type, int keySize, int valueSize, uint maxEntries, string? name = null, MapCreateFlags flags = MapCreateFlags.None) =>
        Create(new MapCreateOptions
        {
            Type = type,
            KeySize = checked((uint)keySize),
            ValueSize = checked((uint)valueSize),
            MaxEntries = maxEntries,
            Name = name,
            Flags = flags,
        });

    /// <summary>Wraps a map descriptor, taking ownership, and reads its shape from the kernel.</summary>
    public static KernelMap FromHandle(MapHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        try
        {
            return new KernelMap(handle, BpfObjectInfo.GetMapInfo(handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Opens a map by id.</summary>
    public static KernelMap FromId(uint id) => FromHandle(BpfSyscall.MapGetFdById(id));

    /// <summary>Opens a map pinned on bpffs.</summary>
    public static KernelMap FromPin(string path) => FromHandle(BpfSyscall.GetPinnedMap(path));

    /// <summary>Copies the value of <paramref name="key"/> into <paramref name="value"/>; false when absent.</summary>
    public bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value, ulong flags = 0)
    {
        CheckKey(key);
        CheckValue(value.Length);
        return BpfSyscall.MapLookupElem(Handle, key, value, flags);
    }

    /// <summary>The value of <paramref name="key"/>, or null when absent.</summary>
    public byte[]? Lookup(ReadOnlySpan<byte> key)
    {
        var value = new byte[ValueBufferSize];
        return TryLookup(key, value) ? value : null;
    }

    /// <summary>Creates or replaces an element as <paramref name="flags"/> allow (EEXIST / ENOENT otherwise).</summary>
    public void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        CheckKey(key);
        CheckValue(value.Length);
        BpfSyscall.MapUpdateElem(Handle, key, value, flags);
    }

    /// <summary>Removes an element; false when it was absent.</summary>
    public bool Delete(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        return BpfSyscall.MapDeleteElem(Handle, key);
    }

    /// <summary>Reads and removes an element (for queues and stacks, pass an empty key to pop); false when absent or empty.</summary>
    public bool TryLookupAndDelete(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckKey(key);
        CheckValue(value.Length);
        return BpfSyscall.MapLookupAndDeleteElem(Handle, key, value);
    }

    /// <summary>Writes the key after <paramref name="key"/> (the first key when empty); false at the end.</summary>
    public bool TryGetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        if (!key.IsEmpty)
        {
            CheckKey(key);
        }

        if (nextKey.Length != KeySize)
        {
            throw new ArgumentException($"the next-key buffer must be {KeySize} bytes, not {nextKey.Length}", nameof(nextKey));
        }

        return BpfSyscall.MapGetNextKey(Handle, key, nextKey);
    }

    /// <summary>
    /// Iterates the keys with BPF_MAP_GET_NEXT_KEY. Concurrent deletion can make the kernel restart from the first
    /// key, so the walk stops after <see cref="MaxEntries"/> keys to stay bounded.
    /// </summary>
    public IEnumerable<byte[]> Keys()
    {
        byte[] previous = [];
        for (long seen = 0; seen < MaxEntries; seen++)
        {
            var next = new byte[KeySize];
            if (!BpfSyscall.MapGetNextKey(Handle, previous, next))
            {
                yield break;
            }

            yield return next;
            previous = next;
        }
    }

    /// <summary>Makes the map read-only from user space, permanently.</summary>
    public void Freeze() => BpfSyscall.MapFreeze(Handle);

    /// <summary>Reads every element with BPF_MAP_LOOKUP_BATCH, <paramref name="chunk"/> at a time.</summary>
    public List<KeyValuePair<byte[], byte[]>> LookupBatch(uint chunk = 64) => ReadAllBatched(chunk, delete: false);

    /// <summary>Reads and removes every element with BPF_MAP_LOOKUP_AND_DELETE_BATCH.</summary>
    public List<KeyValuePair<byte[], byte[]>> LookupAndDeleteBatch(uint chunk = 64) => ReadAllBatched(chunk, delete: true);

    /// <summary>Writes packed keys and values with BPF_MAP_UPDATE_BATCH; returns how many were written.</summary>
    public int UpdateBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        int count = CountOf(keys);
        if (values.Length != count * ValueBufferSize)
        {
            throw new ArgumentException($"{count} key(s) need {count * ValueBufferSize} value bytes, not {values.Length}", nameof(values));
        }

        uint done = (uint)count;
        BpfSyscall.MapUpdateBatch(Handle, keys, values, ref done, flags);
        return (int)done;
    }

    /// <summary>Removes packed keys with BPF_MAP_DELETE_BATCH; returns how many were removed, stopping at the first absent key.</summary>
    public int DeleteBatch(ReadOnlySpan<byte> keys)
    {
        uint done = (uint)CountOf(keys);
        BpfSyscall.MapDeleteBatch(Handle, keys, ref done);
        return (int)done;
    }

    /// <summary>Asks the kernel for the map's current description.</summary>
    public MapInfo GetInfo() => BpfObjectInfo.GetMapInfo(Handle);

    /// <summary>Pins the map on bpffs.</summary>
    public void Pin(string path) => BpfSyscall.ObjectPin(Handle, path);

    /// <summary>Closes the descriptor.</summary>
    public void Dispose() => Handle.Dispose();

    private List<KeyValuePair<byte[], byte[]>> ReadAllBatched(uint chunk, bool delete)
    {
        ArgumentOutOfRangeException.ThrowIfZero(chunk);
        var result = new List<KeyValuePair<byte[], byte[]>>();
        int tokenSize = Math.Max(KeySize, 8);
        byte[] inBatch = [];
        var outBatch = new byte[tokenSize];
        uint capacity = Math.Min(chunk, Math.Max(1, MaxEntries));
        while (true)
        {
            var keys = new byte[capacity * KeySize];
            var values = new byte[capacity * ValueBufferSize];
            uint count = capacity;
            bool more;
            try
            {
                more = delete
                    ? BpfSyscall.MapLookupAndDeleteBatch(Handle, inBatch, outBatch, keys, values, ref count)
                    : BpfSyscall.MapLookupBatch(Handle, inBatch, outBatch, keys, values, ref count);
            }
            catch (BpfSyscallException e) when (e.ErrorNumber == Errno.ENOSPC && count == 0 && capacity < MaxEntries)
            {
                // A hash bucket holds more elements than the chunk: retry the same position with more room.
                capacity = Math.Min(capacity * 2, MaxEntries);
                continue;
            }

            for (int i = 0; i < count; i++)
            {
                result.Add(new(keys.AsSpan(i * KeySize, KeySize).ToArray(), values.AsSpan(i * ValueBufferSize, ValueBufferSize).ToArray()));
            }

            if (!more || result.Count > MaxEntries * 2L)
            {
                return result;
            }

            inBatch = (byte[])outBatch.Clone();
        }
    }

    private int CountOf(ReadOnlySpan<byte> keys)
    {
        if (KeySize == 0 || keys.Length % KeySize != 0)
        {
            throw new ArgumentException($"packed keys must be a multiple of the {KeySize}-byte key size, not {keys.Length} bytes", nameof(keys));
        }

        return keys.Length / KeySize;
    }

    private void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize && !(KeySize == 0 && key.IsEmpty))
        {
            throw new ArgumentException($"the key must be {KeySize} bytes, not {key.Length}", nameof(key));
        }
    }

    private void CheckValue(int length)
    {
        if (length != ValueBufferSize)
        {
            throw new ArgumentException($"the value must be {ValueBufferSize} bytes, not {length}");
        }
    }
}
