using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Jit;
using SharpBpf.Maps;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Calls;

namespace SharpBpf.Tests.Runtime.Calls;

/// <summary>The engine a test prepares a program with.</summary>
public enum EngineKind
{
    /// <summary>The interpreter.</summary>
    Interpreter,
    /// <summary>The JIT (checked).</summary>
    Jit,
}

/// <summary>What one run did: r0 or the fault, and the instruction count.</summary>
internal sealed record RunOutcome(ulong? Result, ExecutionFault? Fault, long Instructions)
{
    public override string ToString() => Fault is null ? $"r0 = 0x{Result:x} ({Instructions} insns)" : $"{Fault.Kind}: {Fault.Message} ({Instructions} insns)";
}

/// <summary>Assembles LLVM-syntax programs against a map set and runs them on either engine.</summary>
internal sealed class CallsVm
{
    public CallsVm(int cpus = 2)
    {
        Maps = new MapSet(new MapSetOptions { PossibleCpus = cpus });
        Helpers = LoopHelper.Register(Maps.CreateHelperTable());
    }

    public MapSet Maps { get; }

    public HelperTable Helpers { get; }

    public static IEnumerable<object[]> BothEngines => [[EngineKind.Interpreter], [EngineKind.Jit]];

    public static IEnumerable<object[]> EnginePairs =>
    [
        [EngineKind.Interpreter, EngineKind.Interpreter], [EngineKind.Interpreter, EngineKind.Jit],
        [EngineKind.Jit, EngineKind.Interpreter], [EngineKind.Jit, EngineKind.Jit],
    ];

    public static BpfProgram Assemble(string source, string name = "prog") =>
        BpfProgram.Create(Assembler.Assemble(source, AssemblySyntax.Llvm), name);

    public ExecutableProgram Prepare(string source, EngineKind engine, string name = "prog") => Prepare(Assemble(source, name), engine);

    public ExecutableProgram Prepare(BpfProgram program, EngineKind engine)
    {
        var options = new EngineOptions { ResolveImm64 = Maps.CreateImm64Resolver() };
        return engine == EngineKind.Jit ? new JittedProgram(program, options) : new Interpreter(program, options);
    }

    public BpfExecutionContext NewContext(long budget = BpfExecutionContext.DefaultInstructionBudget, int cpu = 0) =>
        new(Helpers, Maps.Memory) { InstructionBudget = budget, ProcessorId = cpu };

    /// <summary>Runs and captures r0 or the fault.</summary>
    public static RunOutcome Run(ExecutableProgram program, BpfExecutionContext context, ulong r1 = 0)
    {
        try
        {
            ulong r0 = program.Run(context, r1);
            return new RunOutcome(r0, null, context.InstructionsExecuted);
        }
        catch (BpfExecutionException e)
        {
            return new RunOutcome(null, e.Fault, context.InstructionsExecuted);
        }
    }

    /// <summary>
    /// Runs <paramref name="source"/> on both engines (one context, so addresses match; <paramref name="reset"/> before
    /// each run), asserts that they agree on r0, the fault (kind, pc, message) and the instruction count, and returns
    /// the outcome.
    /// </summary>
    public RunOutcome RunBoth(string source, Action? reset = null, long budget = BpfExecutionContext.DefaultInstructionBudget, ulong r1 = 0, int cpu = 0)
    {
        var context = NewContext(budget, cpu);
        reset?.Invoke();
        var expected = Run(Prepare(source, EngineKind.Interpreter), context, r1);
        reset?.Invoke();
        var actual = Run(Prepare(source, EngineKind.Jit), context, r1);
        AssertSame(expected, actual);
        return expected;
    }

    public static void AssertSame(RunOutcome expected, RunOutcome actual)
    {
        Assert.Equal(expected.Result, actual.Result);
        Assert.Equal(expected.Instructions, actual.Instructions);
        Assert.Equal(expected.Fault?.Kind, actual.Fault?.Kind);
        Assert.Equal(expected.Fault?.Pc, actual.Fault?.Pc);
        Assert.Equal(expected.Fault?.Message, actual.Fault?.Message);
    }
}
