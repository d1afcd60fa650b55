using System.Runtime.InteropServices;
using SharpBpf.Isa;
using SharpBpf.Maps;
using SharpBpf.Runtime;
using static SharpBpf.Tests.Maps.MapTestSupport;

namespace SharpBpf.Tests.Maps;

public class ArrayMapTests
{
    [Fact]
    public void ElementsExistZeroedAndUpdateFlagsFollowTheKernel()
    {
        var set = NewSet();
        var map = set.Create(Spec(MapType.Array, 4, 8, 4));
        var value = new byte[8];
        Assert.Equal(MapResult.Success, map.Lookup(U32(3), value));
        Assert.Equal(new byte[8], value);

        Assert.Equal(MapResult.Success, map.Update(U32(1), U64(42), MapUpdateFlags.Exist));
        Assert.Equal(MapResult.Success, map.Update(U32(1), U64(43)));
        Assert.Equal(MapResult.Exists, map.Update(U32(1), U64(44), MapUpdateFlags.NoExist));
        Assert.Equal(43UL, map.Lookup<uint, ulong>(1));

        Assert.Equal(MapResult.TooBig, map.Update(U32(4), U64(1)));
        Assert.Equal(MapResult.NotFound, map.Lookup(U32(4), value));
        Assert.Equal(MapResult.Invalid, map.Delete(U32(1)));
        Assert.Equal(MapResult.Invalid, map.Update(U32(1), U64(1), (MapUpdateFlags)3));
        Assert.Equal(MapResult.Invalid, map.Update(U32(1), U64(1), MapUpdateFlags.Lock)); // no bpf_spin_lock in the value
    }

    [Fact]
    public void NextKeyWalksIndexesAndRestartsForAnOutOfRangeKey()
    {
        var set = NewSet();
        var map = set.Create(Spec(MapType.Array, 4, 4, 3));
        var next = new byte[4];
        Assert.Equal(MapResult.Success, map.GetNextKey([], next));
        Assert.Equal(0u, BitConverter.ToUInt32(next));
        Assert.Equal(MapResult.Success, map.GetNextKey(U32(1), next));
        Assert.Equal(2u, BitConverter.ToUInt32(next));
        Assert.Equal(MapResult.NotFound, map.GetNextKey(U32(2), next));
        Assert.Equal(MapResult.Success, map.GetNextKey(U32(77), next));
        Assert.Equal(0u, BitConverter.ToUInt32(next));
        Assert.Equal([0u, 1u, 2u], map.Keys().Select(k => BitConverter.ToUInt32(k)).ToArray());
    }

    [Fact]
    public void ValuesAreRegisteredProgramMemoryWithEightByteStride()
    {
        var set = NewSet();
        var map = (ArrayMap)set.Create(Spec(MapType.Array, 4, 12, 3));
        Assert.NotNull(map.ValueRegion);
        Assert.Equal(16UL, map.ElementAddress(1) - map.ElementAddress(0));
        Assert.Same(map.ValueRegion, set.Memory.Find(map.ElementAddress(2), 12));
        map.GetValueSpan(2)[0] = 9;
        var value = new byte[12];
        map.Lookup(U32(2), value);
        Assert.Equal(9, value[0]);
    }

    [Fact]
    public void PerCpuArrayExchangesOneRoundedValuePerCpu()
    {
        var set = NewSet(cpus: 3);
        var map = set.Create(Spec(MapType.PerCpuArray, 4, 4, 2));
        Assert.True(map.IsPerCpu);
        Assert.Equal(3 * 8, map.UserValueSize);
        Assert.Equal(MapResult.Success, map.UpdatePerCpu<uint, uint>(1, [10u, 20u, 30u]));
        Assert.True(map.TryLookupPerCpu<uint, uint>(1, out var values));
        Assert.Equal([10u, 20u, 30u], values);

        var raw = new byte[24];
        Assert.Equal(MapResult.Success, map.Lookup(U32(1), raw));
        Assert.Equal(20u, BitConverter.ToUInt32(raw, 8));
        Assert.Equal(0u, BitConverter.ToUInt32(raw, 12)); // padding is zero

        Assert.Equal(MapResult.Invalid, map.Update(U32(1), raw, MapUpdateFlags.Lock));
        Assert.Throws<InvalidOperationException>(() => map.TryLookup<uint, uint>(1, out _));
    }

    [Fact]
    public void GlobalDataResolvesToTheValueAddressOfASingleElementArray()
    {
        var set = NewSet();
        var data = (ArrayMap)set.Create(Spec(MapType.Array, 4, 16, 1, name: ".data"));
        var multi = set.Create(Spec(MapType.Array, 4, 16, 2, name: "multi"));
        ulong address = set.ResolveImm64(0, Imm64Source.MapIndexValue, 0, 8);
        Assert.Equal(data.ElementAddress(0) + 8, address);
        Assert.Equal(data.ElementAddress(0) + 4, set.ResolveImm64(0, Imm64Source.MapValue, data.Id, 4));
        Assert.Throws<BpfException>(() => set.ResolveImm64(3, Imm64Source.MapIndexValue, multi.Index, 0));
        Assert.Throws<BpfException>(() => set.ResolveImm64(3, Imm64Source.MapIndexValue, 0, 16));
        Assert.Throws<BpfException>(() => set.ResolveImm64(3, Imm64Source.MapFd, 99, 0));

        // A program writes a global through the resolved address: r0 = old value, then 7 is stored.
        data.GetValueSpan(0)[8] = 5;
        ulong r0 = Run(set, """
            r1 = map[idx:0]+8 ll
            r0 = *(u8 *)(r1 + 0)
            *(u8 *)(r1 + 0) = 7
            exit
            """);
        Assert.Equal(5UL, r0);
        Assert.Equal(7, data.GetValueSpan(0)[8]);
    }

    [Fact]
    public void ReadOnlyProgramMapsHaveReadOnlyValueMemory()
    {
        var set = NewSet();
        var rodata = (ArrayMap)set.Create(Spec(MapType.Array, 4, 8, 1, MapFlags.ReadOnlyProgram, ".rodata"));
        rodata.GetValueSpan(0)[0] = 3;
        Assert.Equal(3UL, Run(set, "r1 = map[idx:0]+0 ll\nr0 = *(u8 *)(r1 + 0)\nexit"));
        var ex = Assert.Throws<BpfExecutionException>(() => Run(set, "r1 = map[idx:0]+0 ll\n*(u8 *)(r1 + 0) = 1\nr0 = 0\nexit"));
        Assert.Equal(FaultKind.MemoryAccess, ex.Fault.Kind);
    }

    [Fact]
    public void FrozenAndReadOnlyMapsRefuseHostWrites()
    {
        var set = NewSet();
        var map = set.Create(Spec(MapType.Array, 4, 4, 1));
        map.Freeze();
        Assert.Equal(MapResult.NotPermitted, map.Update(U32(0), U32(1)));
        var readOnly = set.Create(Spec(MapType.Array, 4, 4, 1, MapFlags.ReadOnly));
        Assert.Equal(MapResult.NotPermitted, readOnly.Update(U32(0), U32(1)));
        var writeOnly = set.Create(Spec(MapType.Array, 4, 4, 1, MapFlags.WriteOnly));
        Assert.Equal(MapResult.NotPermitted, writeOnly.Lookup(U32(0), new byte[4]));
    }

    [Fact]
    public void TypedOverloadsCheckSizes()
    {
        var set = NewSet();
        var map = set.Create(Spec(MapType.Array, 4, 8, 2));
        Assert.Throws<ArgumentException>(() => map.Update<ulong, ulong>(1UL, 2UL));
        Assert.Throws<ArgumentException>(() => map.Update<uint, uint>(1u, 2u));
        Assert.Throws<ArgumentException>(() => map.Lookup(new byte[3], new byte[8]));
        var pair = new Pair { A = 1, B = 2 };
        Assert.Equal(MapResult.Success, map.Update(1u, pair));
        Assert.True(map.TryLookup<uint, Pair>(1u, out var back));
        Assert.Equal(pair, back);
        Assert.Equal([0u, 1u], map.Entries<uint, Pair>().Select(e => e.Key).ToArray());
    }

    [StructLayout(LayoutKind.Sequential)]
    private record struct Pair
    {
        public int A;
        public int B;
    }
}
