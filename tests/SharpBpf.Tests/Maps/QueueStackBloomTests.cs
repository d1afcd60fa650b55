using SharpBpf.Maps;
using static SharpBpf.Tests.Maps.MapTestSupport;

namespace SharpBpf.Tests.Maps;

public class QueueStackBloomTests
{
    [Fact]
    public void QueueIsFifoAndDropsTheOldestWithExist()
    {
        var map = NewSet().Create(Spec(MapType.Queue, 0, 4, 3));
        Assert.False(map.TryPop(out uint _));
        Assert.Equal(MapResult.NotFound, map.Peek(new byte[4]));
        for (uint i = 1; i <= 3; i++)
        {
            Assert.Equal(MapResult.Success, map.Push(i));
        }

        Assert.Equal(MapResult.TooBig, map.Push(4u));
        Assert.Equal(MapResult.Success, map.Push(4u, MapUpdateFlags.Exist));
        Assert.Equal(MapResult.Invalid, map.Push(5u, MapUpdateFlags.NoExist));
        Assert.True(map.TryPeek(out uint peeked));
        Assert.Equal(2u, peeked);
        var popped = new List<uint>();
        while (map.TryPop(out uint v))
        {
            popped.Add(v);
        }

        Assert.Equal([2u, 3u, 4u], popped);

        // The syscall forms: update pushes, lookup peeks, lookup-and-delete pops; delete and next-key are -EINVAL.
        Assert.Equal(MapResult.Success, map.Update([], U32(9)));
        var value = new byte[4];
        Assert.Equal(MapResult.Success, map.Lookup([], value));
        Assert.Equal(MapResult.Success, map.LookupAndDelete([], value));
        Assert.Equal(9u, BitConverter.ToUInt32(value));
        Assert.Equal(MapResult.Invalid, map.Delete([]));
    }

    [Fact]
    public void StackIsLifoAndDropsTheOldestWithExist()
    {
        var map = NewSet().Create(Spec(MapType.Stack, 0, 8, 3));
        for (ulong i = 1; i <= 3; i++)
        {
            map.Push(i);
        }

        Assert.Equal(MapResult.TooBig, map.Push(4UL));
        Assert.Equal(MapResult.Success, map.Push(4UL, MapUpdateFlags.Exist));
        var popped = new List<ulong>();
        while (map.TryPop(out ulong v))
        {
            popped.Add(v);
        }

        Assert.Equal([4UL, 3UL, 2UL], popped);
    }

    [Fact]
    public void BloomFilterHasNoFalseNegativesAndFewFalsePositives()
    {
        var map = (BloomFilterMap)NewSet().Create(Spec(MapType.BloomFilter, 0, 8, 1000) with { MapExtra = 3 });
        Assert.Equal(3, map.HashFunctions);
        Assert.Equal(8192, map.BitCount); // roundup_pow_of_two(1000 * 3 / 5 * 7 = 4200)
        for (ulong i = 0; i < 1000; i++)
        {
            Assert.Equal(MapResult.Success, map.Push(i * 7919));
        }

        for (ulong i = 0; i < 1000; i++)
        {
            Assert.Equal(MapResult.Success, map.Peek(U64(i * 7919)));
        }

        int falsePositives = 0;
        for (ulong i = 0; i < 10_000; i++)
        {
            if (map.Peek(U64(1_000_000_007 + i)) == MapResult.Success)
            {
                falsePositives++;
            }
        }

        Assert.InRange(falsePositives, 0, 2000);
        Assert.Equal(MapResult.Invalid, map.Push(1UL, MapUpdateFlags.NoExist));
        Assert.Equal(MapResult.OperationNotSupported, map.Pop(new byte[8]));
        Assert.Equal(MapResult.OperationNotSupported, map.Delete([]));
        var small = (BloomFilterMap)NewSet().Create(Spec(MapType.BloomFilter, 0, 4, 10));
        Assert.Equal(5, small.HashFunctions);
        Assert.Equal(128, small.BitCount); // 10 * 5 / 5 * 7 = 70 bits, rounded up
        Assert.Equal(64, ((BloomFilterMap)NewSet().Create(Spec(MapType.BloomFilter, 0, 4, 5))).BitCount); // 35 bits: the 64-bit minimum

    }
}
