using SharpBpf.Maps;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Helpers;

namespace SharpBpf.Tests.Runtime.Calls;

/// <summary>bpf_for_each_map_elem (helper 164) over every map type the kernel iterates, on both engines.</summary>
public class ForEachMapElemTests
{
    // for_each(map 0, callback, &acc at r10 - 16, flags) with acc = {sum, visits}; returns (result << 32) | sum.
    private static string Walk(string callbackTail, ulong flags = 0) => $"""
        *(u64 *)(r10 - 16) = 0
        *(u64 *)(r10 - 8) = 0
        r1 = map[idx:0] ll
        r2 = subprog[callback] ll
        r3 = r10
        r3 += -16
        r4 = {flags}
        call 164
        r0 <<= 32
        r1 = *(u64 *)(r10 - 16)
        r0 |= r1
        exit
        callback:
        r5 = *(u64 *)(r3 + 0)
        r0 = *(u32 *)(r2 + 0)
        r0 *= 1000
        r5 += r0
        r0 = *(u64 *)(r4 + 0)
        r0 += r5
        *(u64 *)(r4 + 0) = r0
        r0 = *(u64 *)(r4 + 8)
        r0 += 1
        *(u64 *)(r4 + 8) = r0
        {callbackTail}
        """;

    // Sums value + 1000 * key over every element.
    private static readonly string SumAll = Walk("r0 = 0\nexit");

    // The same, stopping (returning 1) at the second element.
    private static readonly string StopAtSecond = Walk("r0 = 0\nif r0 != 0 goto out\nr0 = *(u64 *)(r4 + 8)\nr0 >>= 1\nout:\nexit");

    public static IEnumerable<object[]> IterableTypes =>
    [
        [MapType.Array], [MapType.PerCpuArray], [MapType.Hash], [MapType.PerCpuHash], [MapType.LruHash], [MapType.LruPerCpuHash],
    ];

    /// <summary>Four elements: keys 0-3 for arrays, 5-8 for hashes; value 10 (key index + 1), times 100 on CPU 1 of per-CPU maps.</summary>
    private static (BpfMap Map, ulong Sum, int Count) Populate(CallsVm vm, MapType type)
    {
        var map = vm.Maps.Create(new MapSpec(type, 4, 8, 8, Name: "walked"));
        bool isArray = type is MapType.Array or MapType.PerCpuArray;
        int count = isArray ? 8 : 4;
        ulong sum = 0;
        for (uint i = 0; i < count; i++)
        {
            uint key = isArray ? i : i + 5;
            ulong value = i < 4 ? 10 * (i + 1) : 0;
            if (map.IsPerCpu)
            {
                map.Update(BitConverter.GetBytes(key), [.. BitConverter.GetBytes(value), .. BitConverter.GetBytes(value * 100)]);
                sum += (value * 100) + (1000 * key);
            }
            else
            {
                map.Update(BitConverter.GetBytes(key), BitConverter.GetBytes(value));
                sum += value + (1000 * key);
            }
        }

        return (map, sum, count);
    }

    [Theory]
    [MemberData(nameof(IterableTypes))]
    public void VisitsEveryElementWithItsKeyAndTheCpusValue(MapType type)
    {
        var vm = new CallsVm();
        var (_, sum, count) = Populate(vm, type);
        var outcome = vm.RunBoth(SumAll, cpu: 1);
        Assert.Null(outcome.Fault);
        Assert.Equal(((ulong)count << 32) | sum, outcome.Result);
    }

    [Theory]
    [MemberData(nameof(IterableTypes))]
    public void ACallbackReturningNonZeroStopsTheWalkAndCountsThatElement(MapType type)
    {
        var vm = new CallsVm();
        Populate(vm, type);
        var outcome = vm.RunBoth(StopAtSecond, cpu: 1);
        Assert.Equal(2UL, outcome.Result >> 32);
    }

    [Theory]
    [MemberData(nameof(IterableTypes))]
    public void NonZeroFlagsAreInvalid(MapType type)
    {
        var vm = new CallsVm();
        Populate(vm, type);
        Assert.Equal(unchecked((ulong)Errno.EINVAL) << 32, vm.RunBoth(Walk("r0 = 0\nexit", flags: 1)).Result);
    }

    [Fact]
    public void AnEmptyHashVisitsNothing()
    {
        var vm = new CallsVm();
        vm.Maps.Create(new MapSpec(MapType.Hash, 4, 8, 8, Name: "empty"));
        Assert.Equal(0UL, vm.RunBoth(SumAll).Result);
    }

    [Fact]
    public void ACallbackMayDeleteTheElementItIsGiven()
    {
        var vm = new CallsVm();
        var (map, _, _) = Populate(vm, MapType.Hash);
        const string deleting = """
            *(u64 *)(r10 - 8) = 0
            r1 = map[idx:0] ll
            r2 = subprog[callback] ll
            r3 = r10
            r3 += -8
            r4 = 0
            call 164
            exit
            callback:
            r6 = r4
            call 3
            r1 = *(u64 *)(r6 + 0)
            r1 += 1
            *(u64 *)(r6 + 0) = r1
            r0 = 0
            exit
            """;
        var outcome = CallsVm.Run(vm.Prepare(deleting, EngineKind.Jit), vm.NewContext());
        Assert.Equal(4UL, outcome.Result);
        Assert.Empty(map.Keys());
    }

    [Fact]
    public void TheKeyIsReadOnlyForTheCallback()
    {
        var vm = new CallsVm();
        Populate(vm, MapType.Array);
        var outcome = vm.RunBoth(Walk("*(u32 *)(r2 + 0) = 1\nr0 = 0\nexit"));
        Assert.Equal(FaultKind.MemoryAccess, outcome.Fault?.Kind);
    }

    [Fact]
    public void OtherMapTypesCannotBeWalked()
    {
        var vm = new CallsVm();
        vm.Maps.Create(new MapSpec(MapType.Queue, 0, 8, 8, Name: "queue"));
        var outcome = vm.RunBoth(SumAll);
        Assert.Equal(FaultKind.HelperError, outcome.Fault?.Kind);
        Assert.Contains("cannot be iterated", outcome.Fault!.Message, StringComparison.Ordinal);
    }
}
