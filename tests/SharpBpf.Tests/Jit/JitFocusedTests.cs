using SharpBpf.Conformance;
using SharpBpf.Isa;
using SharpBpf.Jit;
using SharpBpf.Runtime;

namespace SharpBpf.Tests.Jit;

/// <summary>
/// The JIT's behaviour on the paths where it leans on the run-time: budget, calls, callx, Stop, legacy loads and
/// faults. Each test checks the expected behaviour directly and, where it applies, that the interpreter agrees.
/// </summary>
public class JitFocusedTests
{
    private static ulong Run(BpfProgram program, byte[]? memory = null, HelperTable? helpers = null, long budget = 1_000_000)
    {
        var context = new BpfExecutionContext(helpers ?? ConformanceHelpers.Create()) { InstructionBudget = budget };
        return new JittedProgram(program).RunOnMemory(context, memory ?? []);
    }

    private static ExecutionFault Fault(BpfProgram program, byte[]? memory = null, HelperTable? helpers = null, long budget = 1_000_000) =>
        Assert.Throws<BpfExecutionException>(() => Run(program, memory, helpers, budget)).Fault;

    [Fact]
    public void BudgetRunsOutAtTheSameInstructionAsInTheInterpreter()
    {
        // pc 0 runs once, then pc 1-3 loop: with budget B the fault is at instruction B of that sequence.
        var program = Engines.Assemble("""
            mov %r0, 0
            loop:
            add %r0, 1
            stxdw [%r10-8], %r0
            ja loop
            """);
        for (int budget = 0; budget < 40; budget++)
        {
            var fault = Fault(program, budget: budget);
            int expectedPc = budget == 0 ? 0 : 1 + ((budget - 1) % 3);
            Assert.Equal(FaultKind.InstructionBudgetExhausted, fault.Kind);
            Assert.Equal(expectedPc, fault.Pc);
            Assert.Contains($"budget of {budget} instructions", fault.Message);
            Engines.Compare(program, new byte[8], ConformanceHelpers.Create(), budget, budget, $"budget {budget}");
        }
    }

    [Fact]
    public void InstructionsExecutedIsExactOnNormalExit()
    {
        var program = Engines.Assemble("""
            mov %r0, 0
            mov %r1, 10
            loop:
            add %r0, %r1
            sub %r1, 1
            jne %r1, 0, loop
            exit
            """);
        var context = new BpfExecutionContext { InstructionBudget = 1000 };
        Assert.Equal(55UL, new JittedProgram(program).Run(context));
        Assert.Equal(2 + (10 * 3) + 1, context.InstructionsExecuted);
    }

    [Fact]
    public void BudgetRunsOutInsideACallee()
    {
        var program = Engines.Assemble("""
            mov %r6, 3
            call local f
            exit
            f:
            mov %r0, 1
            loop:
            add %r0, 1
            ja loop
            """);
        for (int budget = 0; budget < 12; budget++)
        {
            Engines.Compare(program, new byte[8], ConformanceHelpers.Create(), budget, 1, $"budget {budget}");
        }
    }

    // f(n) = n == 0 ? 100 : f(n - 1) + 1, each level in a new frame.
    private const string Recursive = """
        call local f
        exit
        f:
        jeq %r1, 0, base
        sub %r1, 1
        call local f
        add %r0, 1
        exit
        base:
        mov %r0, 100
        exit
        """;

    [Fact]
    public void CallsUseAllEightFramesAndFaultBeyond()
    {
        var program = Engines.Assemble(Recursive);

        // r1 = n when the input is empty is 0, so pass n through a first instruction instead.
        ulong Depth(int n) => new JittedProgram(program).Run(new BpfExecutionContext(), (ulong)n);

        // main + 7 nested calls = 8 frames.
        Assert.Equal(106UL, Depth(6));
        var fault = Assert.Throws<BpfExecutionException>(() => Depth(7)).Fault;
        Assert.Equal(FaultKind.CallDepthExceeded, fault.Kind);
        Assert.Equal(4, fault.Pc);

        var interpreterFault = Assert.Throws<BpfExecutionException>(() => new Interpreter(program).Run(new BpfExecutionContext(), 7)).Fault;
        Assert.Equal(interpreterFault.Message, fault.Message);
        Assert.Equal(interpreterFault.Pc, fault.Pc);
    }

    [Fact]
    public void EachFrameHasItsOwnStackAndCalleeSavedRegisters()
    {
        var program = Engines.Assemble("""
            mov %r6, 6
            stxdw [%r10-8], %r6
            mov %r1, 5
            call local f
            ldxdw %r2, [%r10-8]
            add %r0, %r2
            add %r0, %r6
            exit
            f:
            mov %r6, 1000
            stxdw [%r10-8], %r6
            ldxdw %r0, [%r10-8]
            add %r0, %r1
            exit
            """);
        Assert.Equal(1005UL + 6 + 6, Run(program));
    }

    [Fact]
    public void CallxReachesHelpersAndFunctionsAndRejectsOtherTargets()
    {
        // r2 = helper 0 (gather_bytes) by id.
        var helperCall = Engines.Assemble("""
            mov %r1, 1
            mov %r2, 0
            mov %r3, 3
            mov %r4, 4
            mov %r5, 5
            mov %r6, 0
            call %r6
            exit
            """);
        Assert.Equal(0x0100030405UL, Run(helperCall));

        // lddw r2 = &f; callx r2.
        var (first, second) = Instruction.LoadImm64(2, 0, Imm64Source.Function);
        var functionCall = BpfProgram.Create(
        [
            first.WithImmediate(4), second,              // pc 0-1: r2 = function at pc 0 + 1 + 4 = 5
            new Instruction(Opcode.CallX, 2, 0, 0, 0),  // pc 2
            Instruction.Alu(true, AluOperation.Add, OperandSource.Immediate, 0, immediate: 1),
            Instruction.Exit,
            Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0, immediate: 41), // pc 5: f
            Instruction.Exit,
        ]);
        Assert.Equal(42UL, Run(functionCall));

        var badTarget = Engines.Assemble("""
            mov %r2, 77
            call %r2
            exit
            """);
        var fault = Fault(badTarget);
        Assert.Equal(FaultKind.InvalidCallTarget, fault.Kind);
        Assert.Equal(1, fault.Pc);
        Engines.Compare(badTarget, [], ConformanceHelpers.Create(), 100, 0, "bad callx");

        // An address inside the program that is not a function start is no target either.
        var (inside, insideHigh) = Instruction.LoadImm64(2, 0, Imm64Source.Function);
        var notAStart = BpfProgram.Create(
        [
            inside.WithImmediate(4), insideHigh,        // r2 = function at pc 0 + 1 + 4 = 5
            Instruction.Alu(true, AluOperation.Add, OperandSource.Immediate, 2, immediate: 8), // now points at pc 6
            new Instruction(Opcode.CallX, 2, 0, 0, 0),
            Instruction.Exit,
            Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0, immediate: 1),
            Instruction.Exit,
        ]);
        Assert.Equal(FaultKind.InvalidCallTarget, Fault(notAStart).Kind);
    }

    [Fact]
    public void UnknownHelperAndKfuncFaultLikeTheInterpreter()
    {
        var unknown = Engines.Assemble("""
            mov %r0, 1
            call 99
            exit
            """);
        var fault = Fault(unknown);
        Assert.Equal(FaultKind.UnknownHelper, fault.Kind);
        Assert.Equal(1, fault.Pc);
        Engines.Compare(unknown, [], ConformanceHelpers.Create(), 100, 0, "unknown helper");

        var kfunc = BpfProgram.Create([new Instruction(Opcode.Call, 0, (byte)CallKind.Kfunc, 0, 1234), Instruction.Exit]);
        Assert.Equal(FaultKind.Unsupported, Fault(kfunc).Kind);
        Engines.Compare(kfunc, [], ConformanceHelpers.Create(), 100, 0, "kfunc");
    }

    [Fact]
    public void StopInANestedCallEndsTheWholeProgram()
    {
        var helpers = new HelperTable().Register(7, "stop42", static (ctx, _, _, _, _, _) =>
        {
            ctx.Stop(42);
            return 0;
        });
        var program = Engines.Assemble("""
            mov %r0, 1
            call local f
            stxdw [%r1+0], %r0
            mov %r0, 2
            exit
            f:
            call local g
            mov %r0, 3
            exit
            g:
            call 7
            mov %r0, 4
            exit
            """);
        var memory = new byte[8];
        var context = new BpfExecutionContext(helpers);
        Assert.Equal(42UL, new JittedProgram(program).RunOnMemory(context, memory));
        Assert.Equal(new byte[8], memory); // the store after the call never ran
        Assert.Equal(4, context.InstructionsExecuted); // mov, call f, call g, call 7
        Engines.Compare(program, new byte[8], helpers, 100, 0, "stop");
    }

    [Fact]
    public void LegacyLoadsReadBigEndianAndEndTheProgramWhenOutOfBounds()
    {
        byte[] packet = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc];
        var inBounds = Engines.Assemble("""
            ldabsw 0
            mov %r6, %r0
            mov %r7, 1
            ldindh %r7, 3
            lsh %r6, 16
            or %r0, %r6
            exit
            """);
        var context = new BpfExecutionContext();
        var region = MemoryRegion.FromBytes(packet, MemoryAccess.Read, MemoryRegionKind.Packet, "packet");
        context.LegacyPacket = region;
        Assert.Equal(0x123456789abcUL, new JittedProgram(inBounds).Run(context));

        // Out of bounds: r0 = 0 and nothing after the load runs (the store would have faulted).
        var outOfBounds = Engines.Assemble("""
            mov %r0, 5
            ldabsb 6
            stdw [%r0+0], 1
            exit
            """);
        Assert.Equal(0UL, new JittedProgram(outOfBounds).Run(context));
        Assert.Equal(2, context.InstructionsExecuted);
        var negative = Engines.Assemble("""
            mov %r1, -8
            ldindb %r1, 2
            mov %r0, 9
            exit
            """);
        Assert.Equal(0UL, new JittedProgram(negative).Run(context));

        // No packet at all: the interpreter's Unsupported fault.
        var fault = Assert.Throws<BpfExecutionException>(() => new JittedProgram(inBounds).Run(new BpfExecutionContext())).Fault;
        Assert.Equal(FaultKind.Unsupported, fault.Kind);
        Assert.Equal(0, fault.Pc);
        foreach (var program in new[] { inBounds, outOfBounds, negative })
        {
            Engines.Compare(program, packet, new HelperTable(), 100, 0, "legacy");
        }
    }

    [Fact]
    public void MemoryFaultsNameTheSameInstructionAddressAndRegion()
    {
        var program = Engines.Assemble("""
            mov %r0, 0
            ldxw %r0, [%r1+0]
            ldxw %r2, [%r1+6]
            exit
            """);
        var fault = Fault(program, new byte[8]);
        Assert.Equal(FaultKind.MemoryAccess, fault.Kind);
        Assert.Equal(2, fault.Pc);
        Assert.Equal(4, fault.Size);
        Assert.Contains("runs past the end of region 'input'", fault.Message);
        Engines.Compare(program, new byte[8], new HelperTable(), 100, 0, "memory fault");

        // Read-only regions refuse stores and atomics but allow loads.
        var store = Engines.Assemble("""
            ldxdw %r0, [%r1+0]
            stxdw [%r1+0], %r0
            exit
            """);
        var context = new BpfExecutionContext();
        var readOnly = MemoryRegion.FromBytes(new byte[16], MemoryAccess.Read, MemoryRegionKind.Context, "ctx");
        context.AddRegion(readOnly);
        var storeFault = Assert.Throws<BpfExecutionException>(() => new JittedProgram(store).Run(context, readOnly.Start)).Fault;
        Assert.Equal(1, storeFault.Pc);
        Assert.Contains("does not allow it", storeFault.Message);
    }

    [Theory]
    [InlineData(-8, false)]
    [InlineData(-512, false)]
    [InlineData(-600, false)] // below the frame, still inside the stack region: allowed, as in the interpreter
    [InlineData(-4, true)] // runs past the top of the stack
    [InlineData(0, true)]
    public void StackAccessesAreCheckedOutsideTheFrame(short offset, bool faults)
    {
        var program = BpfProgram.Create(
        [
            Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0, immediate: 7),
            Instruction.Memory(InstructionClass.Stx, MemoryMode.Mem, MemorySize.DoubleWord, 10, 0, offset),
            Instruction.Memory(InstructionClass.Ldx, MemoryMode.Mem, MemorySize.DoubleWord, 0, 10, offset),
            Instruction.Exit,
        ]);
        var outcome = Engines.Compare(program, [], new HelperTable(), 100, 0, $"offset {offset}");
        Assert.Equal(faults, outcome.Fault is not null);
        if (faults)
        {
            Assert.Equal(1, outcome.Fault!.Pc);
        }
        else
        {
            Assert.Equal(7UL, outcome.Result);
        }
    }

    [Fact]
    public void RegionsRemovedByAHelperAreNoLongerReachable()
    {
        // The first load caches the input region; helper 9 removes it; the second load must fault.
        var helpers = new HelperTable().Register(9, "drop", static (ctx, ptr, _, _, _, _) =>
        {
            ctx.RemoveRegion(ctx.FindRegion(ptr, 1, MemoryAccess.Read)!);
            return 0;
        });
        var program = Engines.Assemble("""
            mov %r6, %r1
            ldxdw %r0, [%r6+0]
            call 9
            ldxdw %r0, [%r6+8]
            exit
            """);
        foreach (var engine in new Func<BpfProgram, ExecutableProgram>[] { p => new Interpreter(p), p => new JittedProgram(p) })
        {
            var context = new BpfExecutionContext(helpers);
            var input = MemoryRegion.Allocate(16, MemoryAccess.ReadWrite, MemoryRegionKind.Input, "input");
            context.AddRegion(input);
            var fault = Assert.Throws<BpfExecutionException>(() => engine(program).Run(context, input.Start)).Fault;
            Assert.Equal(FaultKind.MemoryAccess, fault.Kind);
            Assert.Equal(3, fault.Pc);
            Assert.Equal(4, context.InstructionsExecuted);
        }
    }

    [Fact]
    public void MisalignedAtomicsFault()
    {
        var program = Engines.Assemble("""
            mov %r0, 1
            stxdw [%r10-16], %r0
            lock add [%r10-12], %r0
            exit
            """);
        var fault = Fault(program);
        Assert.Equal(FaultKind.MisalignedAtomic, fault.Kind);
        Assert.Equal(2, fault.Pc);
        Engines.Compare(program, [], new HelperTable(), 100, 0, "misaligned");
    }

    [Fact]
    public void UncheckedModeIsRefusedForUnverifiedPrograms()
    {
        var program = Engines.Assemble("mov %r0, 0\nexit");
        Assert.Throws<BpfException>(() => JitCompiler.Compile(program, new EngineOptions { Safety = SafetyMode.Unchecked }));
    }

    [Fact]
    public void OneCompiledProgramRunsOnManyThreadsAtOnce()
    {
        var program = Engines.Assemble("""
            mov %r0, 0
            mov %r6, 0
            loop:
            stxdw [%r10-8], %r6
            ldxdw %r2, [%r10-8]
            add %r0, %r2
            add %r6, 1
            jlt %r6, 20000, loop
            exit
            """);
        var jit = new JittedProgram(program);
        var results = new ulong[4];
        Parallel.For(0, results.Length, i =>
        {
            var context = new BpfExecutionContext();
            for (int k = 0; k < 20; k++)
            {
                results[i] = jit.Run(context);
            }
        });
        Assert.All(results, r => Assert.Equal(19999UL * 20000 / 2, r));
    }
}
