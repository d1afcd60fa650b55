using System.Globalization;
using SharpBpf.Isa;

namespace SharpBpf.Verification;

/// <summary>
/// The static passes before the walk: the control-flow check (<c>check_cfg</c>: every instruction reachable), the
/// prune points where states are compared, and register liveness (which registers a later instruction may read).
/// </summary>
internal sealed class ProgramAnalysis
{
    private readonly Instruction[] _insns;
    private readonly bool[] _prunePoint;
    private readonly bool[] _callbackPoint;
    private readonly bool[] _secondSlot;
    private readonly ushort[] _liveIn;
    private readonly int[] _subprogOf;

    public sealed class CfgRejection(int pc, string message) : Exception(message)
    {
        public int Pc { get; } = pc;
    }

    public ProgramAnalysis(BpfProgram program)
    {
        _insns = program.RawInstructions;
        int n = _insns.Length;
        _prunePoint = new bool[n];
        _callbackPoint = new bool[n];
        _secondSlot = new bool[n];
        _liveIn = new ushort[n];
        _subprogOf = new int[n];
        Starts = [.. program.FunctionStarts];
        for (int f = 0; f < Starts.Length; f++)
        {
            int end = f + 1 < Starts.Length ? Starts[f + 1] : n;
            for (int pc = Starts[f]; pc < end; pc++)
            {
                _subprogOf[pc] = f;
            }
        }

        for (int pc = 0; pc < n; pc++)
        {
            if (_insns[pc].IsLoadImm64)
            {
                _secondSlot[pc + 1] = true;
                pc++;
            }
        }

        MarkPrunePoints();
        ComputeLiveness();
    }

    /// <summary>The first instruction of each subprogram.</summary>
    public int[] Starts { get; }

    /// <summary>The subprogram an instruction belongs to.</summary>
    public int SubprogOf(int pc) => _subprogOf[pc];

    /// <summary>Whether this is the second half of an <c>lddw</c> (not an instruction of its own).</summary>
    public bool IsSecondSlot(int pc) => _secondSlot[pc];

    /// <summary>Whether states are compared (and checkpoints made) at this instruction.</summary>
    public bool IsPrunePoint(int pc) => _prunePoint[pc];

    /// <summary>Whether this instruction calls a callback (a loop of the callback is pruned against states still on the path).</summary>
    public bool IsCallbackPoint(int pc) => _callbackPoint[pc];

    /// <summary>The registers (bit i for Ri) a path starting at <paramref name="pc"/> may read before writing.</summary>
    public int LiveIn(int pc) => _liveIn[pc];

    /// <summary>
    /// The strongly connected component (loop) of each instruction as the kernel's <c>compute_scc</c> numbers them: by
    /// Tarjan's algorithm over the instructions' successors (fall-through first, then the jump target; a call's callee is
    /// not a successor), depth first from instruction 0 and then from each instruction not yet reached, a component
    /// numbered when it has several instructions, an edge to itself or is a call that calls a callback; 0 otherwise.
    /// </summary>
    public int[] LoopComponents()
    {
        int n = _insns.Length;
        var scc = new int[n];
        var pre = new int[n];
        var low = new int[n];
        var onStack = new bool[n];
        var stack = new Stack<int>();
        var dfs = new Stack<(int Node, int NextSuccessor)>();
        int preorder = 0, nextScc = 1;
        for (int root = 0; root < n; root++)
        {
            if (pre[root] != 0)
            {
                continue;
            }

            dfs.Push((root, 0));
            pre[root] = low[root] = ++preorder;
            stack.Push(root);
            onStack[root] = true;
            while (dfs.Count > 0)
            {
                var (w, next) = dfs.Pop();
                var successors = LoopSuccessors(w);
                if (next < successors.Count)
                {
                    dfs.Push((w, next + 1));
                    int s = successors[next];
                    if (pre[s] == 0)
                    {
                        pre[s] = low[s] = ++preorder;
                        stack.Push(s);
                        onStack[s] = true;
                        dfs.Push((s, 0));
                    }
                    else if (onStack[s])
                    {
                        low[w] = Math.Min(low[w], pre[s]);
                    }

                    continue;
                }

                if (dfs.Count > 0)
                {
                    int parent = dfs.Peek().Node;
                    low[parent] = Math.Min(low[parent], low[w]);
                }

                if (low[w] != pre[w])
                {
                    continue;
                }

                bool numbered = stack.Peek() != w || successors.Contains(w) || CallsCallback(_insns[w]);
                int t;
                do
                {
                    t = stack.Pop();
                    onStack[t] = false;
                    if (numbered)
                    {
                        scc[t] = nextScc;
                    }
                }
                while (t != w);

                if (numbered)
                {
                    nextScc++;
                }
            }
        }

        return scc;
    }

    // The kernel's insn_successors: where control goes next within the function, fall-through first.
    private List<int> LoopSuccessors(int pc)
    {
        var insn = _insns[pc];
        var list = new List<int>(2);
        foreach (int next in Successors(pc))
        {
            if (next >= 0 && next < _insns.Length && !(insn.Opcode == Opcode.Call && next != pc + 1))
            {
                list.Add(next);
            }
        }

        return list;
    }

    /// <summary>Helpers that take a callback (bpf_loop, for_each_map_elem...).</summary>
    public static bool CallsCallback(Instruction insn) =>
        insn.Opcode == Opcode.Call && insn.CallKind == CallKind.Helper && insn.Immediate is 181 or 164;

    private IEnumerable<int> Successors(int pc)
    {
        var insn = _insns[pc];
        int next = pc + (insn.IsLoadImm64 ? 2 : 1);
        if (insn.Class is InstructionClass.Jmp or InstructionClass.Jmp32)
        {
            var op = insn.JumpOperation;
            if (op == JumpOperation.Exit && insn.Class == InstructionClass.Jmp)
            {
                yield break;
            }

            if (op == JumpOperation.Call && insn.Class == InstructionClass.Jmp)
            {
                yield return next;
                if (insn.CallKind == CallKind.Local)
                {
                    yield return pc + 1 + insn.Immediate;
                }

                yield break;
            }

            if (op == JumpOperation.Ja)
            {
                yield return insn.Opcode == Opcode.Ja32 ? pc + 1 + insn.Immediate : pc + 1 + insn.Offset;
                yield break;
            }

            yield return next;
            yield return pc + 1 + insn.Offset;
            yield break;
        }

        if (insn.IsLoadImm64 && insn.Imm64Source == Imm64Source.Function)
        {
            yield return next;
            yield return pc + 1 + insn.Immediate;
            yield break;
        }

        yield return next;
    }

    private void MarkPrunePoints()
    {
        void Mark(int pc)
        {
            if (pc >= 0 && pc < _insns.Length)
            {
                _prunePoint[pc] = true;
            }
        }

        for (int pc = 0; pc < _insns.Length; pc++)
        {
            if (_secondSlot[pc])
            {
                continue;
            }

            var insn = _insns[pc];
            if (insn.IsLoadImm64 && insn.Imm64Source == Imm64Source.Function)
            {
                // Like a call: the next instruction, the instruction itself and the function.
                Mark(pc + 2);
                Mark(pc);
                Mark(pc + 1 + insn.Immediate);
                continue;
            }

            if (insn.Class is not (InstructionClass.Jmp or InstructionClass.Jmp32))
            {
                continue;
            }

            var op = insn.JumpOperation;
            if (op == JumpOperation.Exit)
            {
                continue;
            }

            if (op == JumpOperation.Call)
            {
                Mark(pc + 1);
                if (insn.CallKind == CallKind.Local)
                {
                    Mark(pc);
                    Mark(pc + 1 + insn.Immediate);
                }

                if (CallsCallback(insn))
                {
                    Mark(pc);
                    _callbackPoint[pc] = true;
                }

                continue;
            }

            if (op == JumpOperation.Ja)
            {
                Mark(insn.Opcode == Opcode.Ja32 ? pc + 1 + insn.Immediate : pc + 1 + insn.Offset);
                continue;
            }

            Mark(pc);
            Mark(pc + 1 + insn.Offset);
        }
    }

    /// <summary>Every instruction must be reachable from the entry (through calls too).</summary>
    public void CheckControlFlow()
    {
        int n = _insns.Length;
        var seen = new bool[n];
        var work = new Stack<int>();
        work.Push(0);
        seen[0] = true;
        while (work.Count > 0)
        {
            int pc = work.Pop();
            foreach (int next in Successors(pc))
            {
                if (next < 0 || next >= n)
                {
                    throw new CfgRejection(pc, string.Create(CultureInfo.InvariantCulture, $"jump out of range from insn {pc} to {next}"));
                }

                if (_secondSlot[next])
                {
                    throw new CfgRejection(pc, string.Create(CultureInfo.InvariantCulture, $"jump into the middle of ldimm64 insn {next - 1}"));
                }

                if (!seen[next])
                {
                    seen[next] = true;
                    work.Push(next);
                }
            }
        }

        for (int pc = 0; pc < n; pc++)
        {
            if (!seen[pc] && !_secondSlot[pc])
            {
                throw new CfgRejection(pc, string.Create(CultureInfo.InvariantCulture, $"unreachable insn {pc}"));
            }
        }
    }

    private const int ArgRegs = 0b11_1110;
    private const int AllRegs = 0xffff;
    private const int LoadAcquire = 0x100;
    private const int StoreRelease = 0x110;
    private const int CallerSaved = 0b11_1111;

    private (int Use, int Def) UseDef(int pc)
    {
        var insn = _insns[pc];
        int dst = 1 << insn.Dst, src = 1 << insn.Src;
        switch (insn.Class)
        {
            case InstructionClass.Alu:
            case InstructionClass.Alu64:
            {
                var op = insn.AluOperation;
                if (op == AluOperation.Mov)
                {
                    return (insn.Source == OperandSource.Register ? src : 0, dst);
                }

                if (op is AluOperation.Neg or AluOperation.End)
                {
                    return (dst, dst);
                }

                return ((insn.Source == OperandSource.Register ? src : 0) | dst, dst);
            }

            case InstructionClass.Ldx:
                return (src, dst);
            case InstructionClass.St:
                return (dst, 0);
            case InstructionClass.Stx:
                if (insn.MemoryMode == MemoryMode.Atomic)
                {
                    int imm = insn.Immediate;
                    if (imm == (int)AtomicOperation.CmpXchg)
                    {
                        return (dst | src | 1, 1);
                    }

                    // Load-acquire reads through src into dst; store-release writes src through dst.
                    if (imm == LoadAcquire)
                    {
                        return (src, dst);
                    }

                    if (imm == StoreRelease)
                    {
                        return (dst | src, 0);
                    }

                    return (dst | src, (imm & 1) != 0 ? src : 0);
                }

                return (dst | src, 0);
            case InstructionClass.Ld:
                if (insn.IsLoadImm64)
                {
                    return (0, dst);
                }

                // Legacy packet loads: as the kernel's compute_insn_live_regs, every register is taken as read and none
                // as written (they read R6 and may abort the program, and the kernel counts them conservatively).
                return (AllRegs, 0);
            default:
            {
                var op = insn.JumpOperation;
                if (op == JumpOperation.Call)
                {
                    return (CallArguments(insn), CallerSaved);
                }

                if (op == JumpOperation.Exit)
                {
                    return (1, 0);
                }

                if (op == JumpOperation.Ja)
                {
                    return (0, 0);
                }

                return (dst | (insn.Source == OperandSource.Register ? src : 0), 0);
            }
        }
    }

    /// <summary>The registers a call reads: a helper's prototype arguments, as the kernel's liveness pass counts them; R1-R5 otherwise.</summary>
    private static int CallArguments(Instruction insn)
    {
        if (insn.CallKind != CallKind.Helper || HelperPrototypes.Find(insn.Immediate) is not { } proto)
        {
            return ArgRegs;
        }

        int count = 0;
        for (int i = 0; i < proto.Arguments.Length; i++)
        {
            if (proto.Arguments[i] != HelperArgument.None)
            {
                count = i + 1;
            }
        }

        return ArgRegs & ((1 << (count + 1)) - 1);
    }

    private void ComputeLiveness()
    {
        int n = _insns.Length;
        var preds = new List<int>[n];
        var useDef = new (int Use, int Def)[n];
        for (int pc = 0; pc < n; pc++)
        {
            preds[pc] = [];
        }

        for (int pc = 0; pc < n; pc++)
        {
            if (_secondSlot[pc])
            {
                continue;
            }

            useDef[pc] = UseDef(pc);
            foreach (int next in Successors(pc))
            {
                // A call's edge into the callee does not carry the caller's registers: liveness flows along the return edge.
                var insn = _insns[pc];
                if (next >= 0 && next < n && !(insn.Opcode == Opcode.Call && next != pc + 1) && !(insn.IsLoadImm64 && next != pc + 2))
                {
                    preds[next].Add(pc);
                }
            }
        }

        var work = new Queue<int>();
        var queued = new bool[n];
        for (int pc = n - 1; pc >= 0; pc--)
        {
            if (!_secondSlot[pc])
            {
                work.Enqueue(pc);
                queued[pc] = true;
            }
        }

        while (work.Count > 0)
        {
            int pc = work.Dequeue();
            queued[pc] = false;
            int liveOut = 0;
            var insn = _insns[pc];
            foreach (int next in Successors(pc))
            {
                if (next >= 0 && next < n && !(insn.Opcode == Opcode.Call && next != pc + 1) && !(insn.IsLoadImm64 && next != pc + 2))
                {
                    liveOut |= _liveIn[next];
                }
            }

            var (use, def) = useDef[pc];
            int liveIn = use | (liveOut & ~def);
            if (liveIn != _liveIn[pc])
            {
                _liveIn[pc] = (ushort)liveIn;
                foreach (int p in preds[pc])
                {
                    if (!queued[p])
                    {
                        queued[p] = true;
                        work.Enqueue(p);
                    }
                }
            }
        }
    }
}
