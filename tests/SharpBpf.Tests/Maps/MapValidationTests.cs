using SharpBpf.Maps;
using static SharpBpf.Tests.Maps.MapTestSupport;

namespace SharpBpf.Tests.Maps;

public class MapValidationTests
{
    public static TheoryData<MapSpec, MapResult> Cases => new()
    {
        { Spec(MapType.Array, 4, 0, 1), MapResult.Invalid },
        { Spec(MapType.Array, 8, 4, 1), MapResult.Invalid },
        { Spec(MapType.Array, 4, 4, 0), MapResult.Invalid },
        { Spec(MapType.Array, 4, 4, 1, MapFlags.NoPrealloc), MapResult.Invalid },
        { Spec(MapType.Array, 4, 4, 1, MapFlags.Mmapable), MapResult.Success },
        { Spec(MapType.PerCpuArray, 4, 4, 1, MapFlags.Mmapable), MapResult.Invalid },
        { Spec(MapType.Array, 4, 4, 1, MapFlags.PreserveElements), MapResult.Invalid },
        { Spec(MapType.PerfEventArray, 4, 4, 1, MapFlags.PreserveElements), MapResult.Success },
        { Spec(MapType.PerCpuArray, 4, 32 * 1024 + 1, 1), MapResult.TooBig },
        { Spec(MapType.ProgramArray, 4, 8, 1), MapResult.Invalid },
        { Spec(MapType.Array, 4, 4, 1, MapFlags.ReadOnly | MapFlags.WriteOnly), MapResult.Invalid },
        { Spec(MapType.Hash, 0, 4, 1), MapResult.Invalid },
        { Spec(MapType.Hash, 4, 0, 1), MapResult.Invalid },
        { Spec(MapType.Hash, 4, 4, 0), MapResult.Invalid },
        { Spec(MapType.Hash, 513, 4, 1), MapResult.TooBig },
        { Spec(MapType.Hash, 4, 4, 1, MapFlags.NoCommonLru), MapResult.Invalid },
        { Spec(MapType.LruHash, 4, 4, 1, MapFlags.NoPrealloc), MapResult.NotSupported },
        { Spec(MapType.LruHash, 4, 4, 1, MapFlags.NoCommonLru), MapResult.Success },
        { Spec(MapType.Hash, 4, 4, 1, MapFlags.Mmapable), MapResult.Invalid },
        { Spec(MapType.Hash, 4, 4, 1, MapFlags.NoPrealloc | MapFlags.ZeroSeed), MapResult.Success },
        { Spec(MapType.LpmTrie, 8, 4, 1), MapResult.Invalid },
        { Spec(MapType.LpmTrie, 8, 4, 1, MapFlags.NoPrealloc), MapResult.Success },
        { Spec(MapType.LpmTrie, 4, 4, 1, MapFlags.NoPrealloc), MapResult.Invalid },
        { Spec(MapType.LpmTrie, 4 + 257, 4, 1, MapFlags.NoPrealloc), MapResult.Invalid },
        { Spec(MapType.LpmTrie, 8, 0, 1, MapFlags.NoPrealloc), MapResult.Invalid },
        { Spec(MapType.Queue, 4, 4, 1), MapResult.Invalid },
        { Spec(MapType.Stack, 0, 0, 1), MapResult.Invalid },
        { Spec(MapType.Queue, 0, 4, 1), MapResult.Success },
        { Spec(MapType.BloomFilter, 4, 4, 1), MapResult.Invalid },
        { Spec(MapType.BloomFilter, 0, 4, 1) with { MapExtra = 16 }, MapResult.Invalid },
        { Spec(MapType.RingBuffer, 0, 0, 4096), MapResult.Success },
        { Spec(MapType.RingBuffer, 0, 0, 4096 * 3), MapResult.Invalid },
        { Spec(MapType.RingBuffer, 0, 0, 2048), MapResult.Invalid },
        { Spec(MapType.RingBuffer, 4, 0, 4096), MapResult.Invalid },
        { Spec(MapType.ArrayOfMaps, 4, 4, 1), MapResult.BadDescriptor },
        { Spec(MapType.SockMap, 4, 4, 1), MapResult.OperationNotSupported },
        { Spec(MapType.PerCpuHash, 4, 8, 1) with { SpinLockOffset = 0 }, MapResult.OperationNotSupported },
        { Spec(MapType.Array, 4, 8, 1) with { SpinLockOffset = 6 }, MapResult.Invalid },
        { Spec(MapType.Array, 4, 8, 1) with { SpinLockOffset = 4 }, MapResult.Success },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void CreationChecksGiveTheKernelsErrno(MapSpec spec, MapResult expected)
    {
        Assert.Equal(expected, MapSet.Validate(spec, out string reason));
        if (expected == MapResult.Success)
        {
            Assert.NotNull(NewSet().Create(spec));
        }
        else
        {
            Assert.NotEmpty(reason);
            var ex = Assert.Throws<MapException>(() => NewSet().Create(spec));
            Assert.Equal(expected, ex.Result);
        }
    }

    [Fact]
    public void MemoryIsBoundedByTheSetsLimit()
    {
        var set = new MapSet(new MapSetOptions { PossibleCpus = 2, MaxMemoryBytes = 1 << 20 });
        var ex = Assert.Throws<MapException>(() => set.Create(Spec(MapType.Array, 4, 4096, 1024)));
        Assert.Equal(MapResult.NoMemory, ex.Result);
        Assert.Throws<MapException>(() => set.Create(Spec(MapType.Hash, 4, 8, int.MaxValue)));
        Assert.NotNull(set.Create(Spec(MapType.Array, 4, 8, 16)));
        Assert.True(set.ReservedBytes < 1 << 20);
    }

    [Fact]
    public void HandlesIdsAndIndexesResolve()
    {
        var set = NewSet();
        var a = set.Create(Spec(MapType.Hash, 4, 4, 4, name: "a"));
        var b = set.Create(Spec(MapType.Array, 4, 4, 4, name: "b"));
        Assert.Equal((1, 0, 2, 1), (a.Id, a.Index, b.Id, b.Index));
        Assert.NotEqual(a.Handle, b.Handle);
        Assert.Same(b, set.FindByHandle(b.Handle));
        Assert.Null(set.FindByHandle(b.Handle + 1));
        Assert.Same(a, set.FindByName("a"));
        Assert.Equal(b.Handle, set.ResolveImm64(0, SharpBpf.Isa.Imm64Source.MapFd, 2, 0));
        Assert.Equal(a.Handle, set.ResolveImm64(0, SharpBpf.Isa.Imm64Source.MapIndex, 0, 0));
        Assert.Null(set.Memory.Find(a.Handle, 1));
    }
}
