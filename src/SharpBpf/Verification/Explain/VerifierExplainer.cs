using SharpBpf.Isa;

namespace SharpBpf.Verification.Explain;

/// <summary>The verdict and, beside it, the model of everything the verifier saw (for the explain page).</summary>
/// <param name="Result">The verifier's result, as <see cref="Verifier.Verify(ReadOnlySpan{Instruction}, VerifierOptions, string)"/> gives it.</param>
/// <param name="Report">Every state seen at each instruction, the failing path and the offending register's provenance.</param>
public sealed record ExplainOutcome(VerifierResult Result, ExplainReport Report);

/// <summary>Verifies a program while recording every state the verifier sees: the first-hand source of the explain page.</summary>
public static class VerifierExplainer
{
    /// <summary>Verifies <paramref name="instructions"/> as <see cref="Verifier"/> does, recording the states (bounded by <paramref name="explainOptions"/>).</summary>
    public static ExplainOutcome Explain(ReadOnlySpan<Instruction> instructions, VerifierOptions options, string name = "prog", ExplainOptions? explainOptions = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var recorder = new VerifierRecorder(explainOptions ?? new ExplainOptions(), options.Maps);
        var result = Verifier.Verify(instructions, options, name, recorder);
        var listing = Listing(instructions, options.SourceLines);
        return new ExplainOutcome(result, recorder.Finish(new BpfProgramView(name, listing, options.MaxProcessedInstructions), result));
    }

    /// <summary>The program as the report lists it: each instruction's log text and source line (an lddw's second slot omitted).</summary>
    internal static List<ExplainInstruction> Listing(ReadOnlySpan<Instruction> instructions, IReadOnlyList<SourceLine> sourceLines)
    {
        var listing = new List<ExplainInstruction>(instructions.Length);
        for (int pc = 0; pc < instructions.Length; pc++)
        {
            var insn = instructions[pc];
            Instruction? next = insn.IsLoadImm64 && pc + 1 < instructions.Length ? instructions[pc + 1] : null;
            listing.Add(new ExplainInstruction(pc, VerifierFormat.Instruction(insn, next), insn, SourceLine.Find(sourceLines, pc)));
            if (next is not null)
            {
                pc++;
            }
        }

        return listing;
    }
}
