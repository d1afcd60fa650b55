using System.Globalization;
using SharpBpf.Isa;

namespace SharpBpf.Verification.Explain;

/// <summary>
/// Walks the failing path backwards from the offending register: the instruction that last wrote it, then what that
/// instruction read, and so on (registers, stack slots written through r10, a callee's r0, a caller's arguments),
/// with the conditional jumps that tested a value between its definition and its use.
/// </summary>
/// <param name="steps">The failing path: pc, instruction, frame and recorded state of each step; the last is the failing instruction.</param>
/// <param name="lookup">A location's value in a state: (state, frame, slot) to text, or null.</param>
/// <param name="maxSteps">The most chain steps to produce.</param>
internal sealed class ProvenanceTracer(IReadOnlyList<(int Pc, Instruction Insn, int Frame, int State)> steps, Func<int, int, string, string?> lookup, int maxSteps)
{
    private const int MaxDepth = 12;
    private readonly List<ProvenanceStep> _chain = [];
    private readonly HashSet<(int Step, int Frame, string Slot)> _seen = [];

    public IReadOnlyList<ProvenanceStep> Trace(string register, int frame)
    {
        int last = steps.Count - 1;
        _chain.Add(new ProvenanceStep(last, steps[last].Pc, 0, register, frame, ProvenanceRole.Used, lookup(steps[last].State, frame, register)));
        Explain(frame, register, last, 1);
        return _chain;
    }

    private void Add(int step, int depth, string slot, int frame, ProvenanceRole role)
    {
        // The value after the step is the state before the next one; for an entry, and for the r0 an exit returns
        // (its frame is gone after it), the state before the step.
        int after = role == ProvenanceRole.Entry || IsExit(steps[step].Insn) ? step : step + 1;
        string? value = after < steps.Count ? lookup(steps[after].State, frame, slot) : null;
        _chain.Add(new ProvenanceStep(step, steps[step].Pc, depth, slot, frame, role, value));
    }

    private void Explain(int frame, string slot, int before, int depth)
    {
        if (depth > MaxDepth || _chain.Count >= maxSteps || !_seen.Add((before, frame, slot)))
        {
            return;
        }

        for (int j = before - 1; j >= 0; j--)
        {
            if (_chain.Count >= maxSteps)
            {
                return;
            }

            var (_, insn, f, _) = steps[j];
            if (f > frame)
            {
                // A callee's steps: only its exit matters, when tracing the r0 it returns.
                if (f == frame + 1 && slot == "R0" && IsExit(insn))
                {
                    Add(j, depth, slot, f, ProvenanceRole.Defined);
                    Explain(f, "R0", j, depth + 1);
                    return;
                }

                continue;
            }

            if (f < frame)
            {
                // Walked back out of the function: this is the call that entered it; arguments come from the caller.
                if (IsLocalCall(insn) && slot is "R1" or "R2" or "R3" or "R4" or "R5")
                {
                    Add(j, depth, slot, f, ProvenanceRole.Defined);
                    Explain(f, slot, j, depth + 1);
                }
                else
                {
                    Add(j + 1, depth, slot, frame, ProvenanceRole.Entry);
                }

                return;
            }

            if (IsConditionalJump(insn) && Reads(insn, slot))
            {
                if (!_chain.Any(c => c.Step == j && c.Location == slot))
                {
                    Add(j, depth, slot, f, ProvenanceRole.Tested);
                }

                continue;
            }

            if (Writes(insn, slot))
            {
                // A definition already in the chain (two operands with a common origin) is not repeated.
                if (_chain.Any(c => c.Step == j && c.Location == slot && c.Role == ProvenanceRole.Defined))
                {
                    return;
                }

                Add(j, depth, slot, f, ProvenanceRole.Defined);
                foreach (string input in Inputs(insn, slot))
                {
                    Explain(f, input, j, depth + 1);
                }

                return;
            }
        }

        Add(0, depth, slot, frame, ProvenanceRole.Entry);
    }

    private static string R(int n) => "R" + n.ToString(CultureInfo.InvariantCulture);

    /// <summary>The kernel's name of the 8-byte stack slot holding <c>r10 + off</c>.</summary>
    internal static string StackSlot(int off) => "fp" + (-(((-off - 1) / 8) + 1) * 8).ToString(CultureInfo.InvariantCulture);

    private static bool IsExit(Instruction insn) => insn.Class is InstructionClass.Jmp && insn.JumpOperation == JumpOperation.Exit;

    private static bool IsLocalCall(Instruction insn) => insn.Opcode == Opcode.Call && insn.CallKind == CallKind.Local;

    private static bool IsConditionalJump(Instruction insn) =>
        insn.Class is InstructionClass.Jmp or InstructionClass.Jmp32 && insn.JumpOperation is not (JumpOperation.Ja or JumpOperation.Call or JumpOperation.Exit);

    private static bool Reads(Instruction insn, string slot) =>
        slot == R(insn.Dst) || (insn.Source == OperandSource.Register && slot == R(insn.Src));

    private static bool Writes(Instruction insn, string slot)
    {
        switch (insn.Class)
        {
            case InstructionClass.Alu or InstructionClass.Alu64 or InstructionClass.Ldx:
                return slot == R(insn.Dst);
            case InstructionClass.Ld:
                return insn.IsLoadImm64 ? slot == R(insn.Dst) : slot is "R0" or "R1" or "R2" or "R3" or "R4" or "R5";
            case InstructionClass.St:
                return insn.Dst == 10 && insn.Offset < 0 && slot == StackSlot(insn.Offset);
            case InstructionClass.Stx:
                if (insn.Dst == 10 && insn.Offset < 0 && slot == StackSlot(insn.Offset))
                {
                    return true;
                }

                if (insn.MemoryMode == MemoryMode.Atomic)
                {
                    var op = (AtomicOperation)insn.Immediate;
                    return (op == AtomicOperation.CmpXchg && slot == "R0") || ((insn.Immediate & 1) != 0 && op != AtomicOperation.CmpXchg && slot == R(insn.Src));
                }

                return false;
            default:
                return insn.Opcode == Opcode.Call && insn.CallKind != CallKind.Local && slot is "R0" or "R1" or "R2" or "R3" or "R4" or "R5";
        }
    }

    private static IEnumerable<string> Inputs(Instruction insn, string slot)
    {
        switch (insn.Class)
        {
            case InstructionClass.Alu or InstructionClass.Alu64:
                if (insn.AluOperation == AluOperation.Mov)
                {
                    return insn.Source == OperandSource.Register ? [R(insn.Src)] : [];
                }

                return insn.Source == OperandSource.Register && insn.AluOperation is not (AluOperation.Neg or AluOperation.End) ? [R(insn.Dst), R(insn.Src)] : [R(insn.Dst)];
            case InstructionClass.Ldx:
                return insn.Src == 10 && insn.Offset < 0 ? [StackSlot(insn.Offset)] : [R(insn.Src)];
            case InstructionClass.Stx:
                return slot.StartsWith("fp", StringComparison.Ordinal) ? [R(insn.Src)] : [R(insn.Dst)];
            default:
                return [];
        }
    }
}
