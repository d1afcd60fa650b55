using SharpBpf.Maps;
using SharpBpf.Runtime;

namespace SharpBpf.Tests.Runtime.Calls;

/// <summary>bpf_spin_lock/bpf_spin_unlock (93/94) protect a map value across threads running either engine.</summary>
public class SpinLockTests
{
    // value = { struct bpf_spin_lock lock; u32 pad; u64 counter }: counter += 1 under the lock, with a delay between the
    // read and the write so that unprotected increments would be lost.
    private const string Increment = """
        *(u32 *)(r10 - 4) = 0
        r1 = map[idx:0] ll
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto out
        r6 = r0
        r1 = r6
        call 93
        r7 = *(u64 *)(r6 + 8)
        r8 = 40
        delay:
        r8 -= 1
        if r8 != 0 goto delay
        r7 += 1
        *(u64 *)(r6 + 8) = r7
        r1 = r6
        call 94
        out:
        r0 = 0
        exit
        """;

    [Fact]
    public void NoIncrementIsLostUnderTheLock()
    {
        var vm = new CallsVm(cpus: 4);
        var map = vm.Maps.Create(new MapSpec(MapType.Array, 4, 16, 1, Name: "locked") { SpinLockOffset = 0 });
        var programs = new[] { vm.Prepare(Increment, EngineKind.Interpreter), vm.Prepare(Increment, EngineKind.Jit) };
        const int threads = 4;
        const int runs = 3000;
        var workers = new Thread[threads];
        var errors = new List<Exception>();
        for (int t = 0; t < threads; t++)
        {
            int cpu = t;
            workers[t] = new Thread(() =>
            {
                try
                {
                    var context = vm.NewContext(cpu: cpu);
                    var program = programs[cpu % 2];
                    for (int i = 0; i < runs; i++)
                    {
                        program.Run(context);
                    }
                }
                catch (Exception e)
                {
                    lock (errors)
                    {
                        errors.Add(e);
                    }
                }
            });
            workers[t].Start();
        }

        foreach (var worker in workers)
        {
            worker.Join();
        }

        Assert.Empty(errors);
        var value = new byte[16];
        Assert.Equal(MapResult.Success, map.Lookup(BitConverter.GetBytes(0u), value));
        Assert.Equal((ulong)threads * runs, BitConverter.ToUInt64(value, 8));
        Assert.Equal(0u, BitConverter.ToUInt32(value, 0));
    }

    [Theory]
    [MemberData(nameof(CallsVm.BothEngines), MemberType = typeof(CallsVm))]
    public void UnlockingALockThatIsNotHeldIsAFault(EngineKind engine)
    {
        var vm = new CallsVm();
        vm.Maps.Create(new MapSpec(MapType.Array, 4, 16, 1, Name: "locked") { SpinLockOffset = 0 });
        var source = Increment.Replace("call 93", "r0 = 0", StringComparison.Ordinal);
        var outcome = CallsVm.Run(vm.Prepare(source, engine), vm.NewContext());
        Assert.Equal(FaultKind.HelperError, outcome.Fault?.Kind);
        Assert.Contains("not held", outcome.Fault!.Message, StringComparison.Ordinal);
    }
}
