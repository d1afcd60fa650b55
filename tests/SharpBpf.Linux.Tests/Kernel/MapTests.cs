using System.Buffers.Binary;

namespace SharpBpf.Linux.Tests.Kernel;

public class MapTests
{
    private static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    private static byte[] U64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return b;
    }

    [KernelFact]
    public void HashMapElementOperationsMapErrnos()
    {
        using var map = KernelMap.Create(MapType.Hash, 4, 8, 4, "sb_hash");
        Assert.Equal(MapType.Hash, map.Type);
        Assert.Equal("sb_hash", map.Name);
        Assert.Null(map.Lookup(U32(1)));

        map.Update(U32(1), U64(100), MapUpdateFlags.NoExist);
        Assert.Equal(U64(100), map.Lookup(U32(1)));

        var exists = Assert.Throws<BpfSyscallException>(() => map.Update(U32(1), U64(5), MapUpdateFlags.NoExist));
        Assert.Equal("EEXIST", exists.ErrorName);
        Assert.Equal(Errno.EEXIST, exists.ErrorNumber);
        Assert.Equal(BpfCommand.MapUpdateElem, exists.Command);
        Assert.Contains("BPF_MAP_UPDATE_ELEM", exists.Message, StringComparison.Ordinal);
        Assert.Contains("EEXIST", exists.Message, StringComparison.Ordinal);

        var missing = Assert.Throws<BpfSyscallException>(() => map.Update(U32(2), U64(5), MapUpdateFlags.Exist));
        Assert.Equal("ENOENT", missing.ErrorName);

        map.Update(U32(1), U64(101), MapUpdateFlags.Exist);
        Assert.Equal(U64(101), map.Lookup(U32(1)));

        for (uint k = 2; k <= 4; k++)
        {
            map.Update(U32(k), U64(k * 10));
        }

        var full = Assert.Throws<BpfSyscallException>(() => map.Update(U32(5), U64(0)));
        Assert.Equal("E2BIG", full.ErrorName);

        var keys = map.Keys().Select(k => BinaryPrimitives.ReadUInt32LittleEndian(k)).Order().ToArray();
        Assert.Equal([1u, 2u, 3u, 4u], keys);

        var value = new byte[8];
        Assert.True(map.TryLookupAndDelete(U32(3), value));
        Assert.Equal(U64(30), value);
        Assert.False(map.TryLookupAndDelete(U32(3), value));

        Assert.True(map.Delete(U32(2)));
        Assert.False(map.Delete(U32(2)));
        Assert.Equal(2, map.Keys().Count());

        Assert.Throws<ArgumentException>(() => map.Update(U32(1), new byte[3]));
    }

    [KernelFact(RequiresBpftool = true)]
    public void ContentsWrittenHereAreWhatBpftoolDumps()
    {
        using var map = KernelMap.Create(MapType.Hash, 4, 8, 16, "sb_dump");
        for (uint k = 1; k <= 5; k++)
        {
            map.Update(U32(k), U64(k * 1000 + 7));
        }

        var dump = Bpftool.Json("map", "dump", "id", map.Id.ToString());
        var pairs = dump.EnumerateArray()
            .ToDictionary(e => BinaryPrimitives.ReadUInt32LittleEndian(Bpftool.Bytes(e.GetProperty("key"))),
                          e => BinaryPrimitives.ReadUInt64LittleEndian(Bpftool.Bytes(e.GetProperty("value"))));
        Assert.Equal(5, pairs.Count);
        for (uint k = 1; k <= 5; k++)
        {
            Assert.Equal(k * 1000 + 7, pairs[k]);
        }

        var show = Bpftool.Json("map", "show", "id", map.Id.ToString());
        Assert.Equal("hash", show.GetProperty("type").GetString());
        Assert.Equal("sb_dump", show.GetProperty("name").GetString());
        Assert.Equal(4, show.GetProperty("bytes_key").GetInt32());
        Assert.Equal(8, show.GetProperty("bytes_value").GetInt32());
        Assert.Equal(16, show.GetProperty("max_entries").GetInt32());
    }

    [KernelFact]
    public void ArrayMapHasFixedSlots()
    {
        using var map = KernelMap.Create(MapType.Array, 4, 4, 3, "sb_array");
        Assert.Equal(new byte[4], map.Lookup(U32(2)));
        Assert.Null(map.Lookup(U32(3)));
        map.Update(U32(2), U32(0xdeadbeef));
        Assert.Equal(U32(0xdeadbeef), map.Lookup(U32(2)));

        Assert.Equal("EEXIST", Assert.Throws<BpfSyscallException>(() => map.Update(U32(0), U32(1), MapUpdateFlags.NoExist)).ErrorName);
        Assert.Equal("E2BIG", Assert.Throws<BpfSyscallException>(() => map.Update(U32(3), U32(1))).ErrorName);
        Assert.Equal("EINVAL", Assert.Throws<BpfSyscallException>(() => map.Delete(U32(0))).ErrorName);
        Assert.Equal([0u, 1u, 2u], map.Keys().Select(k => BinaryPrimitives.ReadUInt32LittleEndian(k)));
    }

    [KernelFact]
    public void PerCpuMapsHoldOneSlotPerPossibleCpu()
    {
        using var array = KernelMap.Create(MapType.PerCpuArray, 4, 4, 1, "sb_pcpu");
        int cpus = LinuxSystem.PossibleCpuCount;
        Assert.Equal(8 * cpus, array.ValueBufferSize);
        var value = new byte[array.ValueBufferSize];
        for (int cpu = 0; cpu < cpus; cpu++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(cpu * 8), (uint)(cpu + 41));
        }

        array.Update(U32(0), value);
        var read = array.Lookup(U32(0))!;
        for (int cpu = 0; cpu < cpus; cpu++)
        {
            Assert.Equal((uint)(cpu + 41), BinaryPrimitives.ReadUInt32LittleEndian(read.AsSpan(cpu * 8)));
        }

        using var hash = KernelMap.Create(MapType.PerCpuHash, 4, 16, 4, "sb_pcpu_hash");
        Assert.Equal(16 * cpus, hash.ValueBufferSize);
        hash.Update(U32(9), new byte[hash.ValueBufferSize]);
        Assert.NotNull(hash.Lookup(U32(9)));
    }

    [KernelFact]
    public void LruHashEvictsInsteadOfFailing()
    {
        using var map = KernelMap.Create(MapType.LruHash, 4, 4, 64, "sb_lru");
        for (uint k = 0; k < 1000; k++)
        {
            map.Update(U32(k), U32(k));
        }

        int count = map.Keys().Count();
        Assert.InRange(count, 1, 64 + 2 * LinuxSystem.PossibleCpuCount * 64);
        Assert.True(count < 1000);
    }

    [KernelFact]
    public void QueueAndStackPopInTheirOrder()
    {
        using var queue = KernelMap.Create(MapType.Queue, 0, 4, 8, "sb_queue");
        using var stack = KernelMap.Create(MapType.Stack, 0, 4, 8, "sb_stack");
        foreach (uint v in new uint[] { 1, 2, 3 })
        {
            queue.Update([], U32(v));
            stack.Update([], U32(v));
        }

        var peek = new byte[4];
        Assert.True(queue.TryLookup([], peek));
        Assert.Equal(U32(1), peek);

        var popped = new List<uint>();
        var value = new byte[4];
        while (queue.TryLookupAndDelete([], value))
        {
            popped.Add(BinaryPrimitives.ReadUInt32LittleEndian(value));
        }

        Assert.Equal([1u, 2u, 3u], popped);
        popped.Clear();
        while (stack.TryLookupAndDelete([], value))
        {
            popped.Add(BinaryPrimitives.ReadUInt32LittleEndian(value));
        }

        Assert.Equal([3u, 2u, 1u], popped);
    }

    [KernelFact]
    public void LpmTrieFindsTheLongestPrefix()
    {
        using var trie = KernelMap.Create(new MapCreateOptions
        {
            Type = MapType.LpmTrie, KeySize = 8, ValueSize = 4, MaxEntries = 16, Name = "sb_lpm", Flags = MapCreateFlags.NoPrealloc,
        });
        static byte[] Key(uint prefix, byte a, byte b, byte c, byte d) => [.. U32(prefix), a, b, c, d];
        trie.Update(Key(8, 10, 0, 0, 0), U32(8));
        trie.Update(Key(24, 10, 1, 2, 0), U32(24));
        Assert.Equal(U32(24), trie.Lookup(Key(32, 10, 1, 2, 3)));
        Assert.Equal(U32(8), trie.Lookup(Key(32, 10, 9, 9, 9)));
        Assert.Null(trie.Lookup(Key(32, 11, 0, 0, 0)));
    }

    [KernelFact]
    public void BloomFilterRemembersPushedValues()
    {
        using var bloom = KernelMap.Create(new MapCreateOptions
        {
            Type = MapType.BloomFilter, KeySize = 0, ValueSize = 4, MaxEntries = 100, Name = "sb_bloom", MapExtra = 3,
        });
        bloom.Update([], U32(77));
        var probe = U32(77);
        Assert.True(bloom.TryLookup([], probe));
        Assert.Equal(3ul, bloom.GetInfo().MapExtra);
    }

    [KernelFact]
    public void MapInMapTakesAnInnerTemplate()
    {
        using var inner = KernelMap.Create(MapType.Array, 4, 4, 1, "sb_inner");
        using var outer = KernelMap.Create(new MapCreateOptions
        {
            Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 2, Name = "sb_outer", InnerMap = inner.Handle,
        });
        outer.Update(U32(0), U32((uint)inner.Handle.Fd));
        // Lookups from user space return the inner map's id.
        Assert.Equal(U32(inner.Id), outer.Lookup(U32(0)));
    }

    [KernelFact]
    public void RingBufferCreatesWithPageMultipleSize()
    {
        using var ring = KernelMap.Create(MapType.RingBuffer, 0, 0, 4096 * 4, "sb_ring");
        Assert.Equal(MapType.RingBuffer, ring.GetInfo().Type);
        var bad = Assert.Throws<BpfSyscallException>(() => KernelMap.Create(MapType.RingBuffer, 0, 0, 1000));
        Assert.Equal("EINVAL", bad.ErrorName);
        Assert.Equal(BpfCommand.MapCreate, bad.Command);
    }

    [KernelFact(RequiresBpftool = true)]
    public void FrozenMapRefusesUserUpdates()
    {
        using var map = KernelMap.Create(MapType.Array, 4, 4, 1, "sb_frozen");
        map.Update(U32(0), U32(5));
        map.Freeze();
        Assert.Equal("EPERM", Assert.Throws<BpfSyscallException>(() => map.Update(U32(0), U32(6))).ErrorName);
        Assert.Equal(U32(5), map.Lookup(U32(0)));
        Assert.Equal(1, Bpftool.Json("map", "show", "id", map.Id.ToString()).GetProperty("frozen").GetInt32());
    }

    [KernelFact]
    public void BatchOperationsMoveManyElements()
    {
        using var map = KernelMap.Create(MapType.Hash, 4, 8, 256, "sb_batch");
        var keys = new byte[100 * 4];
        var values = new byte[100 * 8];
        for (int i = 0; i < 100; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(keys.AsSpan(i * 4), (uint)i);
            BinaryPrimitives.WriteUInt64LittleEndian(values.AsSpan(i * 8), (ulong)i * 3);
        }

        Assert.Equal(100, map.UpdateBatch(keys, values));
        Assert.Equal(100, map.Keys().Count());

        var all = map.LookupBatch(chunk: 7);
        Assert.Equal(100, all.Count);
        foreach (var (k, v) in all)
        {
            Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(k) * 3ul, BinaryPrimitives.ReadUInt64LittleEndian(v));
        }

        Assert.Equal(10, map.DeleteBatch(keys.AsSpan(0, 10 * 4)));
        Assert.Null(map.Lookup(U32(5)));
        // Keys 10 and 11 exist, key 0 is gone: the batch stops there after two deletions.
        byte[] partial = [.. U32(10), .. U32(11), .. U32(0), .. U32(12)];
        Assert.Equal(2, map.DeleteBatch(partial));
        Assert.NotNull(map.Lookup(U32(12)));
        map.UpdateBatch([.. U32(10), .. U32(11)], [.. U64(30), .. U64(33)]);
        Assert.Equal(90, map.LookupBatch().Count);

        var drained = map.LookupAndDeleteBatch(chunk: 16);
        Assert.Equal(90, drained.Count);
        Assert.Empty(map.Keys());

        // Batch element flags accept only BPF_F_LOCK (kernel/bpf/syscall.c), so NOEXIST is an invalid argument here.
        var noexist = Assert.Throws<BpfSyscallException>(() => map.UpdateBatch(keys.AsSpan(0, 4), values.AsSpan(0, 8), MapUpdateFlags.NoExist));
        Assert.Equal("EINVAL", noexist.ErrorName);
        Assert.Equal(BpfCommand.MapUpdateBatch, noexist.Command);

        using var array = KernelMap.Create(MapType.Array, 4, 4, 10, "sb_batch_arr");
        Assert.Equal(10, array.LookupBatch(chunk: 3).Count);
    }

    [KernelFact(RequiresBpftool = true)]
    public void MapInfoAgreesWithBpftool()
    {
        using var map = KernelMap.Create(MapType.Hash, 8, 12, 32, "sb_info", MapCreateFlags.NoPrealloc);
        var info = map.GetInfo();
        var show = Bpftool.Json("map", "show", "id", info.Id.ToString());
        Assert.Equal((long)info.Id, show.GetProperty("id").GetInt64());
        Assert.Equal(info.Name, show.GetProperty("name").GetString());
        Assert.Equal((long)info.Flags, show.GetProperty("flags").GetInt64());
        Assert.Equal(8u, info.KeySize);
        Assert.Equal(12u, info.ValueSize);
        Assert.Equal(MapCreateFlags.NoPrealloc, info.Flags);

        Assert.Contains(info.Id, BpfSyscall.EnumerateIds(BpfObjectKind.Map));
        var gone = Assert.Throws<BpfSyscallException>(() => KernelMap.FromId(int.MaxValue - 5));
        Assert.Equal("ENOENT", gone.ErrorName);
        Assert.Equal(BpfCommand.MapGetFdById, gone.Command);

        using var again = KernelMap.FromId(info.Id);
        Assert.Equal(info.Id, again.Id);
        Assert.Equal(8, again.KeySize);
    }

    [KernelFact]
    public void InvalidNamesAreRefusedBeforeTheCall()
    {
        Assert.Throws<ArgumentException>(() => KernelMap.Create(MapType.Array, 4, 4, 1, "has space"));
        Assert.Throws<ArgumentException>(() => KernelMap.Create(MapType.Array, 4, 4, 1, "sixteen_chars_xx"));
    }
}
