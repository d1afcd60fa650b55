using SharpBpf.Maps;
using SharpBpf.Runtime;
using static SharpBpf.Tests.Maps.MapTestSupport;

namespace SharpBpf.Tests.Maps;

/// <summary>Map helpers called from real programs run by the checked interpreter.</summary>
public class MapHelperProgramTests
{
    // Looks up key r1 (as u32) in map 0 and returns the u64 value it points to, or 0xffff when absent.
    private const string LookupValue = """
        *(u32 *)(r10 - 4) = r1
        r1 = map[idx:0] ll
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto missing
        r0 = *(u64 *)(r0 + 0)
        exit
        missing:
        r0 = 0xffff
        exit
        """;

    [Fact]
    public void UpdateLookupAndDeleteFromAProgram()
    {
        var set = NewSet();
        var map = set.Create(Spec(MapType.Hash, 4, 8, 4));
        const string updateThenDelete = """
            *(u32 *)(r10 - 4) = 7
            *(u64 *)(r10 - 16) = 99
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -4
            r3 = r10
            r3 += -16
            r4 = 1
            call 2
            r6 = r0
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -4
            r3 = r10
            r3 += -16
            r4 = 1
            call 2
            r7 = r0
            r0 = r6
            r0 <<= 32
            r7 &= 0xffff
            r0 |= r7
            exit
            """;

        // First update succeeds (0); the second with BPF_NOEXIST returns -EEXIST (-17).
        ulong r0 = Run(set, updateThenDelete);
        Assert.Equal(0UL, r0 >> 32);
        Assert.Equal(unchecked((ulong)(ushort)-17), r0 & 0xffff);
        Assert.Equal(99UL, map.Lookup<uint, ulong>(7));

        Assert.Equal(99UL, Run(set, LookupValue, r1: 7));
        Assert.Equal(0xffffUL, Run(set, LookupValue, r1: 8));

        const string delete = """
            *(u32 *)(r10 - 4) = 7
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -4
            call 3
            exit
            """;
        Assert.Equal(0UL, Run(set, delete));
        Assert.Equal(unchecked((ulong)-2L), Run(set, delete));
        Assert.False(map.TryLookup<uint, ulong>(7, out _));
    }

    [Fact]
    public void AProgramWritesThroughTheLookedUpPointerWithAtomics()
    {
        var set = NewSet();
        var map = set.Create(Spec(MapType.Array, 4, 8, 2));
        const string increment = """
            *(u32 *)(r10 - 4) = 1
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -4
            call 1
            if r0 == 0 goto out
            r1 = 5
            lock *(u64 *)(r0 + 0) += r1
            r0 = 0
            out:
            exit
            """;
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(0UL, Run(set, increment));
        }

        Assert.Equal(15UL, map.Lookup<uint, ulong>(1));
    }

    [Fact]
    public void AccessPastTheValueFaultsUnlessItHitsAnotherValueOfTheArena()
    {
        var set = NewSet();
        set.Create(Spec(MapType.Array, 4, 8, 1));
        var ex = Assert.Throws<BpfExecutionException>(() => Run(set, """
            *(u32 *)(r10 - 4) = 0
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -4
            call 1
            if r0 == 0 goto out
            r0 = *(u64 *)(r0 + 64)
            out:
            exit
            """));
        Assert.Equal(FaultKind.MemoryAccess, ex.Fault.Kind);
    }

    [Fact]
    public void BadKeyPointersAndBadMapHandlesFaultCleanly()
    {
        var set = NewSet();
        set.Create(Spec(MapType.Hash, 4, 8, 4));
        var badKey = Assert.Throws<BpfExecutionException>(() => Run(set, """
            r1 = map[idx:0] ll
            r2 = 16
            call 1
            exit
            """));
        Assert.Equal(FaultKind.MemoryAccess, badKey.Fault.Kind);

        var badMap = Assert.Throws<BpfExecutionException>(() => Run(set, """
            r1 = r10
            r2 = r10
            r2 += -8
            call 1
            exit
            """));
        Assert.Equal(FaultKind.HelperError, badMap.Fault.Kind);

        // The handle itself is not memory a program can read.
        var deref = Assert.Throws<BpfExecutionException>(() => Run(set, "r1 = map[idx:0] ll\nr0 = *(u64 *)(r1 + 0)\nexit"));
        Assert.Equal(FaultKind.MemoryAccess, deref.Fault.Kind);
    }

    [Fact]
    public void PerCpuLookupsUseTheContextsProcessorId()
    {
        var set = NewSet(cpus: 3);
        var map = set.Create(Spec(MapType.PerCpuArray, 4, 8, 1));
        map.UpdatePerCpu<uint, ulong>(0, [100UL, 200UL, 300UL]);
        Assert.Equal(200UL, Run(set, LookupValue, cpu: 1, r1: 0));
        Assert.Equal(300UL, Run(set, LookupValue, cpu: 2, r1: 0));
        var ex = Assert.Throws<BpfExecutionException>(() => Run(set, LookupValue, cpu: 3, r1: 0));
        Assert.Equal(FaultKind.HelperError, ex.Fault.Kind);

        // bpf_map_lookup_percpu_elem reads another CPU's value; an impossible CPU gives NULL.
        const string otherCpu = """
            *(u32 *)(r10 - 4) = 0
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -4
            r3 = r6
            call 195
            if r0 == 0 goto out
            r0 = *(u64 *)(r0 + 0)
            out:
            exit
            """;
        Assert.Equal(300UL, Run(set, "r6 = 2\n" + otherCpu));
        Assert.Equal(0UL, Run(set, "r6 = 3\n" + otherCpu));
    }

    [Fact]
    public void QueuePushPopPeekFromAProgram()
    {
        var set = NewSet();
        var queue = set.Create(Spec(MapType.Queue, 0, 8, 4));
        queue.Push(11UL);
        queue.Push(22UL);
        // peek (11), pop (11), pop (22), pop (-ENOENT): returns peek + pop + pop, and the last error in r9.
        const string program = """
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -8
            call 89
            r6 = *(u64 *)(r10 - 8)
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -8
            call 88
            r7 = *(u64 *)(r10 - 8)
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -8
            call 88
            r8 = *(u64 *)(r10 - 8)
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -8
            call 88
            r0 = r6
            r0 += r7
            r0 += r8
            r0 <<= 16
            r9 = r0
            exit
            """;
        Assert.Equal((11UL + 11 + 22) << 16, Run(set, program));

        const string push = """
            *(u64 *)(r10 - 8) = 5
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -8
            r3 = 0
            call 87
            exit
            """;
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(0UL, Run(set, push));
        }

        Assert.Equal(unchecked((ulong)-7L), Run(set, push)); // full: -E2BIG
    }

    [Fact]
    public void BloomFilterPeekFromAProgramReadsTheValue()
    {
        var set = NewSet();
        var bloom = set.Create(Spec(MapType.BloomFilter, 0, 8, 100));
        bloom.Push(42UL);
        string check(ulong v) => $"""
            *(u64 *)(r10 - 8) = {v}
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -8
            call 89
            exit
            """;
        Assert.Equal(0UL, Run(set, check(42)));
        Assert.Equal(unchecked((ulong)-2L), Run(set, check(43)));
    }

    [Fact]
    public void MapInMapLookupReturnsAnInnerHandleUsableWithHelpers()
    {
        var set = NewSet();
        var innerSpec = Spec(MapType.Array, 4, 8, 2, name: "inner");
        var outer = (ArrayOfMapsMap)set.Create(Spec(MapType.ArrayOfMaps, 4, 4, 2, name: "outer") with { InnerMap = innerSpec });
        var inner = set.Create(innerSpec);
        inner.Update(1u, 777UL);
        Assert.Equal(MapResult.Success, outer.SetInner(1, inner));
        const string program = """
            *(u32 *)(r10 - 4) = 1
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -4
            call 1
            if r0 == 0 goto out
            r1 = r0
            r2 = r10
            r2 += -4
            call 1
            if r0 == 0 goto out
            r0 = *(u64 *)(r0 + 0)
            out:
            exit
            """;
        Assert.Equal(777UL, Run(set, program));
        outer.Clear(1);
        Assert.Equal(0UL, Run(set, program));
    }
}
