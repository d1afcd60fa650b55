using SharpBpf.Conformance;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Runtime;

namespace SharpBpf.Tests.Jit;

/// <summary>What one engine did with a program: r0 or the fault, the instruction count and the memory afterwards.</summary>
internal sealed record EngineOutcome(ulong? Result, ExecutionFault? Fault, long Instructions, byte[] Input, byte[] Stack)
{
    public string Describe() => Fault is null
        ? $"r0 = 0x{Result:x}, {Instructions} insns"
        : $"fault {Fault.Kind} at pc {Fault.Pc}: {Fault.Message} ({Instructions} insns)";
}

/// <summary>Runs the same program on the interpreter and the JIT with identical inputs.</summary>
internal static class Engines
{
    public static BpfProgram Assemble(string source, AssemblySyntax syntax = AssemblySyntax.Ubpf) =>
        BpfProgram.Create(Assembler.Assemble(source, syntax));

    /// <summary>
    /// Runs both engines on one context (so the stack and input have the same addresses for both): each run starts
    /// from the same stack bytes (seeded) and input bytes; the input is a read-write region (r1 = its address,
    /// r2 = its length) and the legacy packet. Asserts they agree on r0, fault (kind, pc, message), instruction
    /// count and the memory afterwards; returns the interpreter's outcome.
    /// </summary>
    public static EngineOutcome Compare(BpfProgram program, byte[] input, HelperTable helpers, long budget, int stackSeed, string what)
    {
        var interpreter = new Interpreter(program);
        var jit = new SharpBpf.Jit.JittedProgram(program);
        return Compare(interpreter, jit, input, helpers, budget, stackSeed, what);
    }

    /// <summary>The same, for programs already prepared.</summary>
    public static EngineOutcome Compare(
        ExecutableProgram reference, ExecutableProgram jit, byte[] input, HelperTable helpers, long budget, int stackSeed, string what)
    {
        var context = new BpfExecutionContext(helpers) { InstructionBudget = budget };
        var stack = new byte[context.Stack.Length];
        new Random(stackSeed).NextBytes(stack);
        var region = MemoryRegion.FromBytes(input, MemoryAccess.ReadWrite, MemoryRegionKind.Input, "input");
        context.AddRegion(region);
        context.LegacyPacket = region;
        var expected = Run(reference, context, region, input, stack);
        var actual = Run(jit, context, region, input, stack);
        AssertSame(expected, actual, what);
        return expected;
    }

    private static EngineOutcome Run(ExecutableProgram program, BpfExecutionContext context, MemoryRegion region, byte[] input, byte[] stack)
    {
        stack.CopyTo(context.Stack.AsSpan());
        input.CopyTo(region.AsSpan());
        ulong? result = null;
        ExecutionFault? fault = null;
        try
        {
            result = program.Run(context, region.Start, (ulong)input.Length);
        }
        catch (BpfExecutionException e)
        {
            fault = e.Fault;
        }

        return new EngineOutcome(result, fault, context.InstructionsExecuted, region.AsSpan().ToArray(), context.Stack.AsSpan().ToArray());
    }

    /// <summary>Asserts both engines agree on r0, fault (kind, pc, message), instruction count and memory.</summary>
    public static void AssertSame(EngineOutcome expected, EngineOutcome actual, string what)
    {
        if (expected.Result != actual.Result || (expected.Fault is null) != (actual.Fault is null)
            || (expected.Fault is not null && (expected.Fault.Kind != actual.Fault!.Kind || expected.Fault.Pc != actual.Fault.Pc || expected.Fault.Message != actual.Fault.Message))
            || expected.Instructions != actual.Instructions)
        {
            Assert.Fail($"{what}\ninterpreter: {expected.Describe()}\njit:         {actual.Describe()}");
        }

        if (!expected.Input.AsSpan().SequenceEqual(actual.Input))
        {
            Assert.Fail($"{what}\ninput memory differs after the run ({expected.Describe()})");
        }

        if (!expected.Stack.AsSpan().SequenceEqual(actual.Stack))
        {
            Assert.Fail($"{what}\nstack differs after the run ({expected.Describe()})");
        }
    }
}
