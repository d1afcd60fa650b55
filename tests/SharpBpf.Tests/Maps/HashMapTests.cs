using SharpBpf.Maps;
using static SharpBpf.Tests.Maps.MapTestSupport;

namespace SharpBpf.Tests.Maps;

public class HashMapTests
{
    [Fact]
    public void UpdateFlagsAndErrnosFollowTheKernel()
    {
        var set = NewSet();
        var map = set.Create(Spec(MapType.Hash, 4, 8, 2));
        var value = new byte[8];
        Assert.Equal(MapResult.NotFound, map.Lookup(U32(1), value));
        Assert.Equal(MapResult.NotFound, map.Update(U32(1), U64(1), MapUpdateFlags.Exist));
        Assert.Equal(MapResult.Success, map.Update(U32(1), U64(1), MapUpdateFlags.NoExist));
        Assert.Equal(MapResult.Exists, map.Update(U32(1), U64(2), MapUpdateFlags.NoExist));
        Assert.Equal(MapResult.Success, map.Update(U32(1), U64(3), MapUpdateFlags.Exist));
        Assert.Equal(3UL, map.Lookup<uint, ulong>(1));
        Assert.Equal(MapResult.Success, map.Update(U32(2), U64(4)));

        // Full: a new key is -E2BIG, replacing an existing one still works.
        Assert.Equal(MapResult.TooBig, map.Update(U32(3), U64(5)));
        Assert.Equal(MapResult.Success, map.Update(U32(2), U64(6)));
        Assert.Equal(6UL, map.Lookup<uint, ulong>(2));

        Assert.Equal(MapResult.Invalid, map.Update(U32(1), U64(1), (MapUpdateFlags)3));
        Assert.Equal(MapResult.Invalid, map.Update(U32(1), U64(1), MapUpdateFlags.Lock));
        Assert.Equal(MapResult.Success, map.Delete(U32(1)));
        Assert.Equal(MapResult.NotFound, map.Delete(U32(1)));
        Assert.Equal(MapResult.Success, map.Update(U32(3), U64(5)));
        Assert.Equal(2, ((HashMap)map).Count);
    }

    [Fact]
    public void IterationVisitsEveryKeyOnceAndAMissingKeyRestarts()
    {
        var set = NewSet();
        var map = set.Create(Spec(MapType.Hash, 8, 4, 100));
        for (ulong k = 0; k < 50; k++)
        {
            Assert.Equal(MapResult.Success, map.Update(k * 1000, (uint)k));
        }

        var keys = map.Keys().Select(k => BitConverter.ToUInt64(k)).OrderBy(k => k).ToArray();
        Assert.Equal(Enumerable.Range(0, 50).Select(k => (ulong)k * 1000).ToArray(), keys);
        var entries = map.Entries<ulong, uint>().ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal(49u, entries[49_000]);

        var first = new byte[8];
        var afterMissing = new byte[8];
        Assert.Equal(MapResult.Success, map.GetNextKey([], first));
        Assert.Equal(MapResult.Success, map.GetNextKey(U64(123_456_789), afterMissing));
        Assert.Equal(first, afterMissing);

        var empty = set.Create(Spec(MapType.Hash, 8, 4, 10));
        Assert.Equal(MapResult.NotFound, empty.GetNextKey([], first));
    }

    [Fact]
    public void BatchesCoverTheMapAndEndWithNotFound()
    {
        var set = NewSet();
        var map = set.Create(Spec(MapType.Hash, 4, 4, 64));
        var keys = new byte[10 * 4];
        var values = new byte[10 * 4];
        for (uint i = 0; i < 10; i++)
        {
            BitConverter.TryWriteBytes(keys.AsSpan((int)i * 4), i);
            BitConverter.TryWriteBytes(values.AsSpan((int)i * 4), i * i);
        }

        Assert.Equal(MapResult.Success, map.UpdateBatch(keys, values, MapUpdateFlags.Any, out int processed));
        Assert.Equal(10, processed);

        var cursor = new MapBatchCursor();
        var seen = new Dictionary<uint, uint>();
        var outKeys = new byte[4 * 4];
        var outValues = new byte[4 * 4];
        MapResult result;
        do
        {
            result = map.LookupBatch(cursor, outKeys, outValues, out int count);
            for (int i = 0; i < count; i++)
            {
                seen.Add(BitConverter.ToUInt32(outKeys, i * 4), BitConverter.ToUInt32(outValues, i * 4));
            }
        }
        while (result == MapResult.Success);

        Assert.Equal(MapResult.NotFound, result);
        Assert.Equal(10, seen.Count);
        Assert.All(seen, pair => Assert.Equal(pair.Key * pair.Key, pair.Value));

        Assert.Equal(MapResult.Success, map.DeleteBatch(keys.AsSpan(0, 12), out processed));
        Assert.Equal(3, processed);
        Assert.Equal(MapResult.NotFound, map.DeleteBatch(keys.AsSpan(0, 4), out processed));
        Assert.Equal(0, processed);

        var drain = new MapBatchCursor();
        Assert.Equal(MapResult.NotFound, map.LookupAndDeleteBatch(drain, new byte[40], new byte[40], out int drained));
        Assert.Equal(7, drained);
        Assert.Empty(map.Keys());
    }

    [Fact]
    public void LookupAndDeleteReturnsTheValue()
    {
        var set = NewSet();
        var map = set.Create(Spec(MapType.Hash, 4, 4, 4));
        map.Update(7u, 70u);
        var value = new byte[4];
        Assert.Equal(MapResult.Success, map.LookupAndDelete(U32(7), value));
        Assert.Equal(70u, BitConverter.ToUInt32(value));
        Assert.Equal(MapResult.NotFound, map.LookupAndDelete(U32(7), value));
    }

    [Fact]
    public void AValuePointerStaysValidMemoryAfterDelete()
    {
        var set = NewSet();
        var map = set.Create(Spec(MapType.Hash, 4, 8, 4));
        map.Update(1u, 5UL);
        ulong address = map.LookupForProgram(U32(1), 0);
        Assert.NotEqual(0UL, address);
        map.Delete(U32(1));
        Assert.Equal(0UL, map.LookupForProgram(U32(1), 0));
        Assert.NotNull(set.Memory.Find(address, 8));
    }

    [Fact]
    public void PerCpuHashKeepsOneValuePerCpuAndProgramsWriteTheirOwn()
    {
        var set = NewSet(cpus: 4);
        var map = set.Create(Spec(MapType.PerCpuHash, 4, 4, 8));
        Assert.Equal(MapResult.Success, map.UpdatePerCpu<uint, uint>(9, [1u, 2u, 3u, 4u]));
        Assert.True(map.TryLookupPerCpu<uint, uint>(9, out var values));
        Assert.Equal([1u, 2u, 3u, 4u], values);

        // From a program on CPU 2: an existing element changes only CPU 2's value.
        Assert.Equal(MapResult.Success, map.UpdateFromProgram(U32(9), U32(30), MapUpdateFlags.Any, 2));
        map.TryLookupPerCpu<uint, uint>(9, out values);
        Assert.Equal([1u, 2u, 30u, 4u], values);

        // A new element from a program starts zeroed on the other CPUs.
        Assert.Equal(MapResult.Success, map.UpdateFromProgram(U32(5), U32(50), MapUpdateFlags.Any, 1));
        map.TryLookupPerCpu<uint, uint>(5, out values);
        Assert.Equal([0u, 50u, 0u, 0u], values);

        Assert.NotEqual(map.LookupForProgram(U32(5), 0), map.LookupForProgram(U32(5), 1));
        Assert.Equal(MapResult.Invalid, map.Update(U32(5), new byte[32], MapUpdateFlags.Lock));
    }

    [Fact]
    public void LruEvictsTheLeastRecentlyUsedInsteadOfFailing()
    {
        var set = NewSet();
        var map = set.Create(Spec(MapType.LruHash, 4, 4, 4));
        for (uint k = 1; k <= 4; k++)
        {
            Assert.Equal(MapResult.Success, map.Update(k, k * 10));
        }

        // A program touches keys 1 and 2, so 3 is the least recently used unreferenced key.
        Assert.NotEqual(0UL, map.LookupForProgram(U32(1), 0));
        Assert.NotEqual(0UL, map.LookupForProgram(U32(2), 0));
        Assert.Equal(MapResult.Success, map.Update(5u, 50u));
        Assert.False(map.TryLookup<uint, uint>(3u, out _));
        Assert.True(map.TryLookup<uint, uint>(1u, out var one));
        Assert.Equal(10u, one);
        Assert.True(map.TryLookup<uint, uint>(5u, out _));
        Assert.Equal(4, ((HashMap)map).Count);

        // Keep inserting: the map never fails and never exceeds max_entries.
        for (uint k = 100; k < 200; k++)
        {
            Assert.Equal(MapResult.Success, map.Update(k, k));
        }

        Assert.Equal(4, map.Keys().Count());
        Assert.True(map.TryLookup<uint, uint>(199u, out _));
    }

    [Fact]
    public void LruPerCpuHashWorks()
    {
        var set = NewSet(cpus: 2);
        var map = set.Create(Spec(MapType.LruPerCpuHash, 4, 8, 2));
        Assert.Equal(MapResult.Success, map.UpdatePerCpu<uint, ulong>(1, [1UL, 2UL]));
        Assert.Equal(MapResult.Success, map.UpdatePerCpu<uint, ulong>(2, [3UL, 4UL]));
        Assert.Equal(MapResult.Success, map.UpdatePerCpu<uint, ulong>(3, [5UL, 6UL]));
        Assert.Equal(2, map.Keys().Count());
        Assert.True(map.TryLookupPerCpu<uint, ulong>(3, out var values));
        Assert.Equal([5UL, 6UL], values);
    }
}
