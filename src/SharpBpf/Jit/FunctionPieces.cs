using SharpBpf.Isa;

namespace SharpBpf.Jit;

/// <summary>
/// A contiguous range of a BPF function compiled as its own method, and the pcs where control can enter it: its
/// start (entry 0) and every target of a jump from another piece.
/// </summary>
/// <param name="Start">The first pc.</param>
/// <param name="End">The pc after the last instruction.</param>
/// <param name="Entries">The entry pcs, ascending, the first being <paramref name="Start"/>.</param>
internal sealed record FunctionPiece(int Start, int End, int[] Entries);

/// <summary>
/// Cuts large BPF functions into pieces of about <see cref="PieceLength"/> instructions, each its own
/// <see cref="System.Reflection.Emit.DynamicMethod"/>.
/// </summary>
/// <remarks>
/// The runtime compiles a dynamic method at its first call, and a method with more than about 60 KB of IL without
/// optimisation (and at a cost per IL byte that made a Cilium program's first run take tens of milliseconds). Pieces
/// keep each method small enough to be optimised, and those a run never reaches (most of a large program) are never
/// compiled. A jump from one piece to another leaves through the function's dispatcher, which calls the target piece
/// with the registers in the slots: rare enough when the pieces are large and do not cut loops.
/// </remarks>
internal static class FunctionPieces
{
    /// <summary>Functions with at most this many instructions stay one method.</summary>
    public const int SplitAbove = 1024;

    /// <summary>The length pieces aim at.</summary>
    public const int PieceLength = 256;

    /// <summary>
    /// The pieces of the function [<paramref name="start"/>, <paramref name="end"/>), or null when it has at most
    /// <paramref name="splitAbove"/> instructions and stays whole.
    /// </summary>
    public static FunctionPiece[]? Split(Instruction[] code, int start, int end, int splitAbove = SplitAbove, int pieceLength = PieceLength)
    {
        if (end - start <= splitAbove)
        {
            return null;
        }

        // Where a piece may start: block leaders, preferably outside every loop (between a backward jump's target
        // and the jump itself, a cut would send every iteration through the dispatcher).
        int length = end - start;
        var leader = new bool[length + 1];
        var loopDepth = new int[length + 1];
        leader[length] = true;
        ForEachJump(code, start, end, (pc, target) =>
        {
            leader[target - start] = true;
            if (pc + 1 < end)
            {
                leader[pc + 1 - start] = true;
            }

            if (target <= pc)
            {
                // Cuts at target+1 .. pc would split the loop.
                loopDepth[target + 1 - start]++;
                loopDepth[pc + 1 - start]--;
            }
        });

        for (int i = 1; i <= length; i++)
        {
            loopDepth[i] += loopDepth[i - 1];
        }

        var cuts = new List<int> { start };
        int pieceStart = start;
        while (end - pieceStart > pieceLength + pieceLength / 2)
        {
            int cut = -1, fallback = -1;
            for (int pc = pieceStart + pieceLength; pc < end && pc < pieceStart + 2 * pieceLength; pc++)
            {
                if (!leader[pc - start])
                {
                    continue;
                }

                fallback = fallback < 0 ? pc : fallback;
                if (loopDepth[pc - start] == 0)
                {
                    cut = pc;
                    break;
                }
            }

            cut = cut >= 0 ? cut : fallback;
            if (cut < 0 || end - cut < pieceLength / 2)
            {
                break;
            }

            cuts.Add(cut);
            pieceStart = cut;
        }

        cuts.Add(end);
        var entries = new SortedSet<int>[cuts.Count - 1];
        for (int i = 0; i < entries.Length; i++)
        {
            entries[i] = [cuts[i]];
        }

        ForEachJump(code, start, end, (pc, target) =>
        {
            int to = PieceIndex(cuts, target);
            if (to != PieceIndex(cuts, pc))
            {
                entries[to].Add(target);
            }
        });

        return [.. entries.Select((e, i) => new FunctionPiece(cuts[i], cuts[i + 1], [.. e]))];
    }

    /// <summary>The index of the piece holding <paramref name="pc"/>.</summary>
    public static int PieceIndex(IReadOnlyList<int> starts, int pc)
    {
        int low = 0, high = starts.Count - 1;
        while (low < high)
        {
            int middle = (low + high + 1) / 2;
            if (starts[middle] <= pc)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        return low;
    }

    /// <summary>The jumps (conditional or not; not calls and exits) of a function, with their targets.</summary>
    private static void ForEachJump(Instruction[] code, int start, int end, Action<int, int> visit)
    {
        for (int pc = start; pc < end; pc++)
        {
            var insn = code[pc];
            if (insn.IsLoadImm64)
            {
                pc++;
            }
            else if (insn.Class is InstructionClass.Jmp or InstructionClass.Jmp32 && insn.JumpOperation is not (JumpOperation.Call or JumpOperation.Exit))
            {
                visit(pc, insn.Opcode == Opcode.Ja32 ? pc + 1 + insn.Immediate : pc + 1 + insn.Offset);
            }
        }
    }
}
