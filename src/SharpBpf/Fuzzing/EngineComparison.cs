using SharpBpf.Runtime;

namespace SharpBpf.Fuzzing;

/// <summary>What one engine did with a program: r0 or the fault, the instruction count and the memory afterwards.</summary>
/// <param name="Result">r0 when the program exited.</param>
/// <param name="Fault">The fault when it did not.</param>
/// <param name="Instructions">Instructions executed.</param>
/// <param name="Input">The input region's bytes after the run.</param>
/// <param name="Stack">The stack's bytes after the run.</param>
public sealed record EngineOutcome(ulong? Result, ExecutionFault? Fault, long Instructions, byte[] Input, byte[] Stack)
{
    /// <summary>r0 or the fault, and the instruction count.</summary>
    public string Describe() => Fault is null
        ? $"r0 = 0x{Result:x}, {Instructions} insns"
        : $"fault {Fault.Kind} at pc {Fault.Pc}: {Fault.Message} ({Instructions} insns)";
}

/// <summary>Both engines' outcomes and, when they disagree, how.</summary>
/// <param name="Reference">The reference engine's outcome (the interpreter).</param>
/// <param name="Candidate">The other engine's outcome.</param>
/// <param name="Difference">Null when they agree on everything; otherwise what differs.</param>
public sealed record EngineComparisonResult(EngineOutcome Reference, EngineOutcome Candidate, string? Difference);

/// <summary>
/// Runs one program on two engines with identical inputs and compares everything observable: r0, the fault
/// (kind, pc, message), the instruction count, and the input and stack memory afterwards.
/// </summary>
public static class EngineComparison
{
    /// <summary>
    /// Runs both engines on one context (so the stack and input have the same addresses for both). Each run starts
    /// from the same stack bytes (from <paramref name="stackSeed"/>) and input bytes; the input is a read-write region
    /// (r1 = its address, r2 = its length) and the legacy packet.
    /// </summary>
    public static EngineComparisonResult Compare(
        ExecutableProgram reference, ExecutableProgram candidate, byte[] input, HelperTable helpers, long budget, int stackSeed)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(input);
        var context = new BpfExecutionContext(helpers) { InstructionBudget = budget };
        var stack = new byte[context.Stack.Length];
        new Random(stackSeed).NextBytes(stack);
        var region = MemoryRegion.FromBytes(input, MemoryAccess.ReadWrite, MemoryRegionKind.Input, "input");
        context.AddRegion(region);
        context.LegacyPacket = region;
        var expected = Run(reference, context, region, input, stack);
        var actual = Run(candidate, context, region, input, stack);
        return new EngineComparisonResult(expected, actual, Differences(expected, actual));
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

    private static string? Differences(EngineOutcome expected, EngineOutcome actual)
    {
        bool sameFault = expected.Fault is null
            ? actual.Fault is null
            : actual.Fault is not null && expected.Fault.Kind == actual.Fault.Kind && expected.Fault.Pc == actual.Fault.Pc
                && expected.Fault.Message == actual.Fault.Message;
        if (expected.Result != actual.Result || !sameFault || expected.Instructions != actual.Instructions)
        {
            return $"reference: {expected.Describe()}\ncandidate: {actual.Describe()}";
        }

        if (!expected.Input.AsSpan().SequenceEqual(actual.Input))
        {
            return $"input memory differs after the run ({expected.Describe()})";
        }

        return expected.Stack.AsSpan().SequenceEqual(actual.Stack) ? null : $"stack differs after the run ({expected.Describe()})";
    }
}
