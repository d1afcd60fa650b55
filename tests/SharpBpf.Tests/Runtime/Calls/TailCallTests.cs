using SharpBpf.Maps;
using SharpBpf.Runtime;

namespace SharpBpf.Tests.Runtime.Calls;

/// <summary>bpf_tail_call (helper 12) on both engines and across them: kernel semantics of success, failure and the limit.</summary>
public class TailCallTests
{
    // Tail-calls slot r3 of the program array (map index 0); on failure returns r0 + 1000.
    private static string Caller(int slot) => $"""
        r0 = 7
        r2 = map[idx:0] ll
        r3 = {slot}
        call 12
        r0 += 1000
        exit
        """;

    private static ProgramArrayMap NewArray(CallsVm vm, int slots = 4) =>
        (ProgramArrayMap)vm.Maps.Create(new MapSpec(MapType.ProgramArray, 4, 4, slots, Name: "jmp"));

    [Theory]
    [MemberData(nameof(CallsVm.EnginePairs), MemberType = typeof(CallsVm))]
    public void SuccessfulTailCallReplacesTheProgramWithTheSameContext(EngineKind callerEngine, EngineKind targetEngine)
    {
        var vm = new CallsVm();
        var array = NewArray(vm);
        Assert.Equal(MapResult.Success, array.SetProgram(1, vm.Prepare("r0 = *(u64 *)(r1 + 0)\nr0 += 5\nexit", targetEngine, "target")));
        var caller = vm.Prepare(Caller(1), callerEngine, "caller");
        var context = vm.NewContext();
        var input = MemoryRegion.FromBytes(BitConverter.GetBytes(37UL), MemoryAccess.Read, MemoryRegionKind.Context, "ctx");
        context.AddRegion(input);

        Assert.Equal(42UL, caller.Run(context, input.Start));

        // Caller: 5 instructions up to and including the call (lddw counts once); target: 3.
        Assert.Equal(4 + 3, context.InstructionsExecuted);
    }

    [Theory]
    [MemberData(nameof(CallsVm.BothEngines), MemberType = typeof(CallsVm))]
    public void FailedTailCallsContinueAfterTheCallWithR0Unchanged(EngineKind engine)
    {
        var vm = new CallsVm();
        var array = NewArray(vm);
        array.SetProgram(0, vm.Prepare("r0 = 1\nexit", engine));
        var context = vm.NewContext();

        Assert.Equal(1UL, vm.Prepare(Caller(0), engine).Run(context));
        Assert.Equal(1007UL, vm.Prepare(Caller(2), engine).Run(context));   // empty slot
        Assert.Equal(1007UL, vm.Prepare(Caller(4), engine).Run(context));   // index == max_entries
        Assert.Equal(1007UL, vm.Prepare(Caller(-1), engine).Run(context));  // 0xffffffff as a u32
    }

    [Theory]
    [MemberData(nameof(CallsVm.BothEngines), MemberType = typeof(CallsVm))]
    public void TheIndexIsTheLow32BitsOfR3(EngineKind engine)
    {
        var vm = new CallsVm();
        NewArray(vm).SetProgram(1, vm.Prepare("r0 = 55\nexit", engine));
        const string source = """
            r2 = map[idx:0] ll
            r3 = 0x100000001 ll
            call 12
            r0 = 9
            exit
            """;
        Assert.Equal(55UL, vm.Prepare(source, engine).Run(vm.NewContext()));
    }

    /// <summary>Program i returns i when it is the end of the chain, else tail-calls slot i + 1 and returns 1000 + i if that fails.</summary>
    private static string ChainLink(int i) => $"""
        r2 = map[idx:0] ll
        r3 = {i + 1}
        call 12
        r0 = {1000 + i}
        exit
        """;

    [Theory]
    [MemberData(nameof(CallsVm.EnginePairs), MemberType = typeof(CallsVm))]
    public void AChainOf34ProgramsStopsAtTheKernelLimitOf33TailCalls(EngineKind first, EngineKind rest)
    {
        var vm = new CallsVm();
        var array = NewArray(vm, 40);
        var programs = new ExecutableProgram[36];
        for (int i = 0; i < programs.Length; i++)
        {
            programs[i] = vm.Prepare(ChainLink(i), i % 2 == 0 ? first : rest, $"link{i}");
            array.SetProgram(i, programs[i]);
        }

        // From program 0, 33 tail calls reach program 33 (the 34th program); its call to the (filled) slot 34 fails.
        var context = vm.NewContext();
        Assert.Equal(1033UL, programs[0].Run(context));
        Assert.Equal((33 * 3) + 5, context.InstructionsExecuted);

        // Each run starts counting afresh; starting further along the chain reaches its end.
        Assert.Equal(1035UL, programs[3].Run(context));
    }

    [Theory]
    [MemberData(nameof(CallsVm.BothEngines), MemberType = typeof(CallsVm))]
    public void TailCallsToAnEmptySlotCountTowardsTheLimit(EngineKind engine)
    {
        var vm = new CallsVm();
        var array = NewArray(vm);
        array.SetProgram(1, vm.Prepare("r0 = 1\nexit", engine));

        // 33 calls to the empty slot 0 each fail but count; the 34th, to the filled slot 1, fails on the count.
        const string source = """
            r6 = 0
            again:
            r2 = map[idx:0] ll
            r3 = 0
            call 12
            r6 += 1
            if r6 < 33 goto again
            r2 = map[idx:0] ll
            r3 = 1
            call 12
            r0 = 77
            exit
            """;
        Assert.Equal(77UL, vm.Prepare(source, engine).Run(vm.NewContext()));
        Assert.Equal(1UL, vm.Prepare(source.Replace("r6 < 33", "r6 < 32", StringComparison.Ordinal), engine).Run(vm.NewContext()));
    }

    [Theory]
    [MemberData(nameof(CallsVm.EnginePairs), MemberType = typeof(CallsVm))]
    public void ATailCallFromASubprogramReturnsToTheSubprogramsCaller(EngineKind callerEngine, EngineKind targetEngine)
    {
        var vm = new CallsVm();
        var array = NewArray(vm);

        // The target runs in the subprogram's frame: it sees the stack the subprogram wrote (same r10).
        array.SetProgram(0, vm.Prepare("r0 = *(u64 *)(r10 - 8)\nr0 += 5\nexit", targetEngine, "target"));
        const string source = """
            r6 = 100
            *(u64 *)(r10 - 8) = 1
            call sub
            r0 += r6
            r1 = *(u64 *)(r10 - 8)
            r0 += r1
            exit
            sub:
            r6 = 5000
            *(u64 *)(r10 - 8) = 20
            r2 = map[idx:0] ll
            r3 = 0
            call 12
            r0 = 9999
            exit
            """;
        var context = vm.NewContext();

        // 25 from the target (20 + 5), r6 = 100 restored for main, and main's own stack slot still 1.
        Assert.Equal(126UL, vm.Prepare(source, callerEngine).Run(context));
    }

    [Theory]
    [MemberData(nameof(CallsVm.EnginePairs), MemberType = typeof(CallsVm))]
    public void AFaultInTheTargetNamesTheTargetsInstructionAndCountsBothPrograms(EngineKind callerEngine, EngineKind targetEngine)
    {
        var vm = new CallsVm();
        NewArray(vm).SetProgram(0, vm.Prepare("r1 = 0\nr0 = *(u32 *)(r1 + 16)\nexit", targetEngine, "target"));
        var context = vm.NewContext();
        var fault = Assert.Throws<BpfExecutionException>(() => vm.Prepare(Caller(0), callerEngine).Run(context)).Fault;
        Assert.Equal(FaultKind.MemoryAccess, fault.Kind);
        Assert.Equal(1, fault.Pc);
        Assert.StartsWith("pc 1 (w0 = *(u32 *)(r1 + 0x10))", fault.Message, StringComparison.Ordinal);
        Assert.Equal(4 + 2, context.InstructionsExecuted);

        // The context is usable again, and faults of the caller itself name the caller's instructions.
        var own = Assert.Throws<BpfExecutionException>(() => vm.Prepare("r0 = 1\nr0 = *(u64 *)(r0 + 0)\nexit", callerEngine).Run(context)).Fault;
        Assert.StartsWith("pc 1 (r0 = *(u64 *)(r0 + 0x0))", own.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(CallsVm.EnginePairs), MemberType = typeof(CallsVm))]
    public void TheBudgetCoversTheWholeChain(EngineKind callerEngine, EngineKind targetEngine)
    {
        var vm = new CallsVm();
        NewArray(vm).SetProgram(0, vm.Prepare("r0 = 0\nloop:\nr0 += 1\nif r0 < 100 goto loop\nexit", targetEngine, "target"));
        var context = vm.NewContext(budget: 50);
        var fault = Assert.Throws<BpfExecutionException>(() => vm.Prepare(Caller(0), callerEngine).Run(context)).Fault;
        Assert.Equal(FaultKind.InstructionBudgetExhausted, fault.Kind);
        Assert.Equal(50, context.InstructionsExecuted);
    }

    [Theory]
    [MemberData(nameof(CallsVm.BothEngines), MemberType = typeof(CallsVm))]
    public void R2MustBeAProgramArray(EngineKind engine)
    {
        var vm = new CallsVm();
        vm.Maps.Create(new MapSpec(MapType.Array, 4, 8, 1, Name: "plain"));
        var outcome = CallsVm.Run(vm.Prepare(Caller(0), engine), vm.NewContext());
        Assert.Equal(FaultKind.HelperError, outcome.Fault?.Kind);
        Assert.Contains("not a program array", outcome.Fault!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnginesAgreeOnTailCallsMixedWithCallsAndStops()
    {
        var vm = new CallsVm();
        var array = NewArray(vm);
        vm.Helpers.Register(200, "stop_with_r1", static (ctx, r1, _, _, _, _) =>
        {
            ctx.Stop(r1);
            return 0;
        });

        // The target stops the whole run from a subprogram.
        array.SetProgram(0, vm.Prepare("call f\nr0 = 3\nexit\nf:\nr1 = 0x5151\ncall 200\nr0 = 1\nexit", EngineKind.Interpreter, "stopper"));
        var stopped = vm.RunBoth(Caller(0));
        Assert.Equal(0x5151UL, stopped.Result);
        Assert.Equal(4 + 3, stopped.Instructions);

        // Frames: main, sub (whose frame the target takes over) and 7 nested calls of the target need 9 frames.
        array.SetProgram(1, vm.Prepare("call a\nexit\na:\ncall b\nexit\nb:\ncall c\nexit\nc:\ncall d\nexit\nd:\ncall e\nexit\ne:\ncall f\nexit\nf:\ncall g\nexit\ng:\nr0 = 1\nexit", EngineKind.Jit, "deep"));
        var deep = vm.RunBoth("call sub\nexit\nsub:\nr2 = map[idx:0] ll\nr3 = 1\ncall 12\nexit");
        Assert.Equal(FaultKind.CallDepthExceeded, deep.Fault?.Kind);
    }
}
