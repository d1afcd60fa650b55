using SharpBpf.Maps;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Helpers;

namespace SharpBpf.Tests.Runtime.Calls;

/// <summary>bpf_loop (helper 181) and the callback mechanism, on both engines (each test asserts that they agree).</summary>
public class LoopHelperTests
{
    // bpf_loop(r1 = count, callback, &sum at r10 - 8, flags): returns (result << 32) | sum.
    private static string SumLoop(string count, string callbackBody, ulong flags = 0) => $"""
        *(u64 *)(r10 - 8) = 0
        r1 = {count}
        r2 = subprog[callback] ll
        r3 = r10
        r3 += -8
        r4 = {flags}
        call 181
        r0 <<= 32
        r1 = *(u64 *)(r10 - 8)
        r0 |= r1
        exit
        callback:
        {callbackBody}
        """;

    // Adds the index to *ctx and continues.
    private const string AddIndex = """
        r3 = *(u64 *)(r2 + 0)
        r3 += r1
        *(u64 *)(r2 + 0) = r3
        r0 = 0
        exit
        """;

    [Fact]
    public void CallsTheCallbackOncePerIterationAndReturnsTheCount()
    {
        var vm = new CallsVm();
        var outcome = vm.RunBoth(SumLoop("10", AddIndex));
        Assert.Equal((10UL << 32) | 45, outcome.Result);

        // 10 instructions of main (lddw once) + 5 per callback.
        Assert.Equal(11 + (10 * 5), outcome.Instructions);
    }

    [Fact]
    public void ACallbackReturningNonZeroStopsTheLoopAndCountsThatIteration()
    {
        var vm = new CallsVm();
        const string stopAtThree = """
            r3 = *(u64 *)(r2 + 0)
            r3 += r1
            *(u64 *)(r2 + 0) = r3
            r0 = 0
            if r1 != 3 goto out
            r0 = 1
            out:
            exit
            """;
        Assert.Equal((4UL << 32) | 6, vm.RunBoth(SumLoop("10", stopAtThree)).Result);
    }

    [Fact]
    public void FlagsAndTheLoopLimitAreCheckedAsInTheKernel()
    {
        var vm = new CallsVm();
        Assert.Equal((unchecked((ulong)Errno.EINVAL) << 32) | 0, vm.RunBoth(SumLoop("10", AddIndex, flags: 1)).Result);
        Assert.Equal((unchecked((ulong)Errno.E2BIG) << 32) | 0, vm.RunBoth(SumLoop("0x800001", AddIndex)).Result);
        Assert.Equal(0UL, vm.RunBoth(SumLoop("0", AddIndex)).Result);

        // nr_loops is a u32: the upper half of r1 is ignored.
        Assert.Equal((3UL << 32) | 3, vm.RunBoth(SumLoop("0x700000003 ll", AddIndex)).Result);
    }

    [Fact]
    public void NestedLoopsRunEachCallbackInItsOwnFrame()
    {
        var vm = new CallsVm();

        // outer(i): inner loop of 4 adding 10 * i + j to *ctx; each frame keeps its own stack slot at r10 - 8.
        const string source = """
            *(u64 *)(r10 - 8) = 0
            r1 = 3
            r2 = subprog[outer] ll
            r3 = r10
            r3 += -8
            r4 = 0
            call 181
            r6 = r0
            r0 = *(u64 *)(r10 - 8)
            r6 <<= 32
            r0 |= r6
            exit
            outer:
            *(u64 *)(r10 - 8) = r2
            r1 *= 10
            *(u64 *)(r10 - 16) = r1
            r1 = 4
            r2 = subprog[inner] ll
            r3 = r10
            r3 += -16
            r4 = 0
            call 181
            r0 = 0
            exit
            inner:
            r3 = *(u64 *)(r2 + 0)
            r3 += r1
            r4 = *(u64 *)(r2 + 8)
            r5 = *(u64 *)(r4 + 0)
            r5 += r3
            *(u64 *)(r4 + 0) = r5
            r0 = 0
            exit
            """;

        // sum over i < 3, j < 4 of 10 i + j = 120 + 18.
        Assert.Equal((3UL << 32) | 138, vm.RunBoth(source).Result);
    }

    [Fact]
    public void CallbacksCountTowardsTheFrameLimit()
    {
        var vm = new CallsVm();

        // Each callback starts another bpf_loop with itself: frames 1, 2, ... until the limit of 8.
        const string source = """
            r1 = 1
            r2 = subprog[again] ll
            r3 = 0
            r4 = 0
            call 181
            exit
            again:
            r1 = 1
            r2 = subprog[again] ll
            r3 = 0
            r4 = 0
            call 181
            r0 = 0
            exit
            """;
        var outcome = vm.RunBoth(source);
        Assert.Equal(FaultKind.CallDepthExceeded, outcome.Fault?.Kind);
        Assert.Equal(12, outcome.Fault!.Pc);
        Assert.Contains("beyond the limit of 8 frames", outcome.Fault.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARunawayCallbackExhaustsTheRunsBudget()
    {
        var vm = new CallsVm();
        var outcome = vm.RunBoth(SumLoop("1000", "r0 = 0\nspin:\nr0 += 1\nif r0 != 0 goto spin\nexit"), budget: 5000);
        Assert.Equal(FaultKind.InstructionBudgetExhausted, outcome.Fault?.Kind);
        Assert.Equal(5000, outcome.Instructions);
    }

    [Fact]
    public void TheCallbackMustBeAFunctionOfTheProgram()
    {
        var vm = new CallsVm();
        const string source = """
            r1 = 2
            r2 = 12345
            r3 = 0
            r4 = 0
            call 181
            exit
            """;
        var outcome = vm.RunBoth(source);
        Assert.Equal(FaultKind.InvalidCallTarget, outcome.Fault?.Kind);
        Assert.Equal(4, outcome.Fault!.Pc);
    }

    [Fact]
    public void FaultsInsideACallbackNameTheCallbacksInstruction()
    {
        var vm = new CallsVm();
        var outcome = vm.RunBoth(SumLoop("5", "r0 = *(u64 *)(r1 + 0)\nexit"));
        Assert.Equal(FaultKind.MemoryAccess, outcome.Fault?.Kind);
        Assert.Equal(12, outcome.Fault!.Pc);
        Assert.StartsWith("pc 12 (r0 = *(u64 *)(r1 + 0x0))", outcome.Fault.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AStopInsideACallbackEndsTheWholeRun()
    {
        var vm = new CallsVm();
        vm.Helpers.Register(200, "stop_at_2", static (ctx, r1, _, _, _, _) =>
        {
            if (r1 == 2)
            {
                ctx.Stop(0xabc);
            }

            return 0;
        });
        var outcome = vm.RunBoth(SumLoop("10", "call 200\nr0 = 0\nexit"));
        Assert.Equal(0xabcUL, outcome.Result);
        Assert.Equal(7 + (3 * 3) - 2, outcome.Instructions);
    }

    [Fact]
    public void ATailCallInsideACallbackReturnsToTheLoop()
    {
        var vm = new CallsVm();
        var array = (ProgramArrayMap)vm.Maps.Create(new MapSpec(MapType.ProgramArray, 4, 4, 1, Name: "jmp"));

        // A tail call keeps r1-r5 as the call left them: the callback passes ctx in r4 and the index in r5. The target
        // adds 100 to *ctx and stops the loop after index 1; its r0 is the callback's.
        array.SetProgram(0, vm.Prepare("r3 = *(u64 *)(r4 + 0)\nr3 += 100\n*(u64 *)(r4 + 0) = r3\nr0 = 0\nif r5 != 1 goto out\nr0 = 1\nout:\nexit", EngineKind.Jit, "target"));
        const string callback = """
            r4 = r2
            r5 = r1
            r2 = map[idx:0] ll
            r3 = 0
            call 12
            r0 = 1
            exit
            """;
        Assert.Equal((2UL << 32) | 200, vm.RunBoth(SumLoop("5", callback)).Result);
    }

    [Fact]
    public void CallbacksNeedARunningProgram()
    {
        var context = new BpfExecutionContext();
        Assert.Throws<InvalidOperationException>(() => context.InvokeCallback(0x1000));
    }
}
