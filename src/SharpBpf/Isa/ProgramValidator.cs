using System.Collections.Immutable;

namespace SharpBpf.Isa;

/// <summary>An instruction sequence that breaks the encoding or control-flow rules, with the offending pc.</summary>
public sealed class BpfValidationException : BpfException
{
    /// <summary>Creates the exception.</summary>
    public BpfValidationException(int pc, Instruction instruction, string reason)
        : base($"invalid program at pc {pc} ({Describe(instruction)}): {reason}")
    {
        Pc = pc;
        Instruction = instruction;
        Reason = reason;
    }

    /// <summary>Creates the exception for an error that has no instruction (an empty program).</summary>
    public BpfValidationException(string reason) : base($"invalid program: {reason}")
    {
        Pc = -1;
        Reason = reason;
    }

    // Assembly text when the slot has one, the raw fields otherwise.
    private static string Describe(Instruction instruction)
    {
        string text = Formatting.Disassembler.Format(instruction);
        return text == "<unknown>" ? instruction.ToString() : text;
    }

    /// <summary>The index of the offending instruction slot, or -1.</summary>
    public int Pc { get; }

    /// <summary>The offending instruction.</summary>
    public Instruction Instruction { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Reason { get; }
}

/// <summary>
/// The structural rules a program must meet before any engine runs it: every slot valid
/// (<see cref="InstructionRules"/>), <c>lddw</c> complete, jump and call targets inside the
/// program and never into the second slot of an <c>lddw</c>, jumps staying inside their function,
/// and every function ending in <c>exit</c> or <c>ja</c> so control cannot fall off its end.
/// </summary>
/// <remarks>
/// These are the checks of the kernel verifier's first pass (check_subprogs); they say nothing about
/// memory safety, which the engines' checked mode (or, later, the verifier) provides.
/// </remarks>
public static class ProgramValidator
{
    /// <summary>The kernel's limit on the size of a privileged program.</summary>
    public const int MaxInstructions = 1_000_000;

    /// <summary>Validates the program and returns the start of each function (pc 0 first, ascending).</summary>
    /// <exception cref="BpfValidationException">The program breaks a rule.</exception>
    public static ImmutableArray<int> Validate(ReadOnlySpan<Instruction> program)
    {
        if (program.Length == 0)
        {
            throw new BpfValidationException("the program has no instructions");
        }

        if (program.Length > MaxInstructions)
        {
            throw new BpfValidationException($"program of {program.Length} instructions is too large (limit {MaxInstructions})");
        }

        var isSecondSlot = new bool[program.Length];
        var functionStarts = new SortedSet<int> { 0 };
        for (int pc = 0; pc < program.Length; pc++)
        {
            var insn = program[pc];
            Instruction? next = pc + 1 < program.Length ? program[pc + 1] : null;
            if (InstructionRules.Check(insn, next) is { } reason)
            {
                throw new BpfValidationException(pc, insn, reason);
            }

            if (insn.IsLoadImm64)
            {
                isSecondSlot[pc + 1] = true;
                if (insn.Imm64Source == Imm64Source.Function)
                {
                    functionStarts.Add(CheckTarget(program, isSecondSlot, pc, (long)pc + 1 + insn.Immediate, "function pointer"));
                }

                pc++;
                continue;
            }

            if (insn.Opcode == Opcode.Call && insn.CallKind == CallKind.Local)
            {
                functionStarts.Add(CheckTarget(program, isSecondSlot, pc, (long)pc + 1 + insn.Immediate, "call"));
            }
        }

        // Targets are checked against second slots only after the whole scan has marked them.
        var starts = functionStarts.ToImmutableArray();
        for (int f = 0; f < starts.Length; f++)
        {
            int start = starts[f];
            int end = f + 1 < starts.Length ? starts[f + 1] : program.Length;
            if (isSecondSlot[start])
            {
                throw new BpfValidationException(start, program[start], "function starts in the middle of an lddw");
            }

            for (int pc = start; pc < end; pc++)
            {
                if (isSecondSlot[pc])
                {
                    continue;
                }

                var insn = program[pc];
                if (insn.Class is not (InstructionClass.Jmp or InstructionClass.Jmp32))
                {
                    continue;
                }

                var op = insn.JumpOperation;
                if (op is JumpOperation.Call or JumpOperation.Exit)
                {
                    continue;
                }

                long target = insn.Opcode == Opcode.Ja32 ? (long)pc + 1 + insn.Immediate : (long)pc + 1 + insn.Offset;
                if (target < start || target >= end)
                {
                    throw new BpfValidationException(pc, insn, $"jump out of range from insn {pc} to {target}");
                }

                if (isSecondSlot[target])
                {
                    throw new BpfValidationException(pc, insn, $"jump from insn {pc} into the middle of the lddw at {target - 1}");
                }
            }

            int last = end - 1;
            var lastInsn = program[last];
            bool endsFunction = !isSecondSlot[last] && (lastInsn.Opcode == Opcode.Exit || lastInsn.Opcode == Opcode.Ja || lastInsn.Opcode == Opcode.Ja32);
            if (!endsFunction)
            {
                throw new BpfValidationException(last, lastInsn, "last insn is not an exit or jmp");
            }
        }

        return starts;
    }

    private static int CheckTarget(ReadOnlySpan<Instruction> program, bool[] isSecondSlot, int pc, long target, string what)
    {
        if (target < 0 || target >= program.Length)
        {
            throw new BpfValidationException(pc, program[pc], $"{what} target out of range from insn {pc} to {target}");
        }

        // A target before pc is already known to be or not be a second slot; a later one is checked
        // when its function is scanned (a function cannot start inside an lddw).
        if (target <= pc && isSecondSlot[target])
        {
            throw new BpfValidationException(pc, program[pc], $"{what} from insn {pc} into the middle of the lddw at {target - 1}");
        }

        return (int)target;
    }
}
