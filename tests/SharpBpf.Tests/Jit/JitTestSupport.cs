using SharpBpf.Conformance;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Fuzzing;
using SharpBpf.Runtime;

namespace SharpBpf.Tests.Jit;

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
        var comparison = EngineComparison.Compare(reference, jit, input, helpers, budget, stackSeed);
        if (comparison.Difference is { } difference)
        {
            Assert.Fail($"{what}\n{difference}");
        }

        return comparison.Reference;
    }
}
