using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Runtime;

namespace SharpBpf.Conformance;

/// <summary>The outcome of one conformance case.</summary>
/// <param name="Case">The case.</param>
/// <param name="Passed">Whether the engine did what the case expects.</param>
/// <param name="Actual">r0 when the program exited normally.</param>
/// <param name="Error">The error when the program could not be built or faulted.</param>
public sealed record ConformanceResult(ConformanceCase Case, bool Passed, ulong? Actual, string? Error)
{
    /// <summary>"expected X, got Y" for a failure, or "passed".</summary>
    public string Describe()
    {
        string expected = Case.ExpectedResult is { } r ? $"0x{r:x}" : $"error '{Case.ExpectedError}'";
        string actual = Actual is { } a ? $"0x{a:x}" : $"error: {Error}";
        return Passed ? "passed" : $"expected {expected}, got {actual}";
    }
}

/// <summary>Runs conformance cases on an engine, with the cases' runtime contract.</summary>
/// <remarks>
/// r1 = the address of the input memory (0 without memory), r2 = its length; r10 = the top of a 512-byte
/// frame; helpers 0-5 as in <see cref="ConformanceHelpers"/>. The input memory is also the packet of legacy
/// packet loads. A case expecting an error passes when assembly, validation or execution fails: error texts
/// are specific to each runtime, so the runner reports ours beside the expected one rather than comparing them.
/// </remarks>
public static class ConformanceRunner
{
    /// <summary>Assembles, prepares and runs a case.</summary>
    /// <param name="testCase">The case.</param>
    /// <param name="prepare">Builds an engine for the program (the interpreter, the JIT...).</param>
    /// <param name="instructionBudget">The instruction budget of the run.</param>
    public static ConformanceResult Run(ConformanceCase testCase, Func<BpfProgram, ExecutableProgram> prepare, long instructionBudget = 10_000_000)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        ArgumentNullException.ThrowIfNull(prepare);
        ulong result;
        try
        {
            var instructions = Assembler.Assemble(testCase.Assembly, AssemblySyntax.Ubpf);
            var program = BpfProgram.Create(instructions, testCase.Name);
            result = Execute(prepare(program), testCase.Memory, instructionBudget);
        }
        catch (BpfException e)
        {
            return new ConformanceResult(testCase, testCase.ExpectedError is not null, null, e.Message);
        }

        return new ConformanceResult(testCase, testCase.ExpectedResult == result, result, null);
    }

    /// <summary>
    /// Runs a prepared program with the conformance contract: the input memory in a read-write region that is
    /// also the legacy packet, r1 = its address (0 when empty), r2 = its length, helpers 0-5.
    /// </summary>
    /// <returns>r0.</returns>
    /// <exception cref="BpfExecutionException">The program faulted.</exception>
    public static ulong Execute(ExecutableProgram executable, ReadOnlySpan<byte> memory, long instructionBudget = 10_000_000)
    {
        ArgumentNullException.ThrowIfNull(executable);
        var context = new BpfExecutionContext(ConformanceHelpers.Create()) { InstructionBudget = instructionBudget };
        if (memory.IsEmpty)
        {
            return executable.Run(context);
        }

        var input = MemoryRegion.FromBytes(memory, MemoryAccess.ReadWrite, MemoryRegionKind.Input, "input");
        context.AddRegion(input);
        context.LegacyPacket = input;
        return executable.Run(context, input.Start, (ulong)memory.Length);
    }
}
