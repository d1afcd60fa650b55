using System.Buffers.Binary;
using System.Reflection;
using System.Reflection.Emit;
using SharpBpf.Isa;
using SharpBpf.Runtime;

namespace SharpBpf.Jit;

/// <summary>
/// Translates one BPF function into the IL of a <see cref="DynamicMethod"/> with the signature of
/// <see cref="JitFunction"/>.
/// </summary>
/// <remarks>
/// <para>
/// Registers r0-r10 are IL locals; memory is reached through native-int pointers; jumps are IL branches. Budget:
/// the function is cut into basic blocks (ending at jumps, calls and exit) and each block subtracts its length on
/// entry; when that goes negative the interpreter finishes the block from its first instruction with the budget
/// left, reaching the same fault at the same pc.
/// </para>
/// <para>
/// Checked accesses compare the address against one cached region for loads and one for stores (both primed
/// with the stack, reset after calls), like the interpreter; a miss looks the region up (in line, so that the
/// method has no backward jumps but the program's own) and, when none allows the access, jumps to a cold path
/// after the body that hands the instruction to the interpreter to fault.
/// </para>
/// </remarks>
internal sealed class FunctionEmitter
{
    private static readonly MethodInfo FindHelperMethod = Method(typeof(JitRuntime), nameof(JitRuntime.FindHelper));
    private static readonly MethodInfo InvokeHelperMethod = Method(typeof(JitRuntime), nameof(JitRuntime.InvokeHelper));
    private static readonly MethodInfo InvokeHelperByIdMethod = Method(typeof(JitRuntime), nameof(JitRuntime.InvokeHelperById));
    private static readonly MethodInfo CheckAccessMethod = Method(typeof(JitRuntime), nameof(JitRuntime.CheckAccess));
    private static readonly MethodInfo LookupMethod = Method(typeof(JitRuntime), nameof(JitRuntime.Lookup));
    private static readonly MethodInfo LegacyLoadMethod = Method(typeof(JitRuntime), nameof(JitRuntime.TryLegacyLoad));
    private static readonly MethodInfo FunctionIndexAtMethod = Method(typeof(JitRuntime), nameof(JitRuntime.FunctionIndexAt));
    private static readonly MethodInfo CallDepthFaultMethod = Method(typeof(JitRuntime), nameof(JitRuntime.CallDepthFault));
    private static readonly MethodInfo FallbackMethod = Method(typeof(JitRuntime), nameof(JitRuntime.Fallback));
    private static readonly MethodInfo Div64Method = Method(typeof(Interpreter), nameof(Interpreter.Div64));
    private static readonly MethodInfo Mod64Method = Method(typeof(Interpreter), nameof(Interpreter.Mod64));
    private static readonly MethodInfo Div32Method = Method(typeof(Interpreter), nameof(Interpreter.Div32));
    private static readonly MethodInfo Mod32Method = Method(typeof(Interpreter), nameof(Interpreter.Mod32));
    private static readonly MethodInfo Atomic64Method = Method(typeof(Interpreter), nameof(Interpreter.Atomic64));
    private static readonly MethodInfo Atomic32Method = Method(typeof(Interpreter), nameof(Interpreter.Atomic32));
    private static readonly MethodInfo Swap16Method = typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(ushort)])!;
    private static readonly MethodInfo Swap32Method = typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(uint)])!;
    private static readonly MethodInfo Swap64Method = typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(ulong)])!;
    private static readonly MethodInfo FramePointerMethod = typeof(BpfExecutionContext).GetMethod(nameof(BpfExecutionContext.FramePointer))!;

    // Argument indexes of a JitFunction.
    private const short ImageArg = 0;
    private const short ContextArg = 1;
    private const short SlotsArg = 2;
    private const short DepthArg = 3;

    private readonly ProgramImage _image;
    private readonly Instruction[] _code;
    private readonly int _start;
    private readonly int _end;
    private readonly DynamicMethod[] _functions;
    private readonly bool _usesCaches;

    // A piece of a split function: all its pieces, this one's index, its entries and the labels of the exits to
    // other pieces, per target pc. Null for a function compiled whole.
    private readonly FunctionPiece[]? _pieces;
    private readonly int _pieceIndex;
    private readonly int[] _entries;
    private readonly Dictionary<int, Label> _leavingLabels = [];

    // Whether blocks count instructions against the budget (checked mode; unchecked runs verified programs without).
    private readonly bool _counts;

    // The BPF registers the function reads or writes. The others stay in their slots (which the interpreter's
    // fallback and callees use as the register file anyway): no local, so fewer values compete for machine registers.
    private readonly bool[] _used;

    // Per pc (from _start): the registers (bit i for ri) that may still hold their value from entry, and those that
    // may have been assigned since. A register not assigned since entry still equals its slot, so the stores to the
    // slots (fallback, exit, calls) skip it; its entry load is needed only where it is read, or stored, unassigned.
    private ushort[] _mayBeUnassigned = [];
    private ushort[] _mayBeAssigned = [];
    private ushort _storedAtFallback;
    private ushort _loadedAtEntry;
    private Dictionary<int, long> _windows = [];
    private readonly ILGenerator _il;
    private readonly List<Action> _coldPaths = [];
    private readonly Dictionary<int, Label> _blockLabels = [];
    private readonly LocalBuilder[] _reg = new LocalBuilder[11];
    private LocalBuilder _budget = null!;
    private LocalBuilder _readStart = null!, _readLength = null!, _writeStart = null!, _writeLength = null!;
    private LocalBuilder _address = null!, _fallbackPc = null!, _fallbackBudget = null!;
    private LocalBuilder _status = null!, _legacyValue = null!, _helper = null!;
    private Label _fallback;
    private Label _ended;
    private Label _helperEnded;

    // The block being emitted: its first pc, its length in instructions, and the index of the current instruction in it.
    private int _blockStart;
    private int _blockLength;
    private int _indexInBlock;

    /// <summary>An emitter for a whole function, or for one piece of it (<paramref name="pieces"/> non-null).</summary>
    public FunctionEmitter(
        ProgramImage image, DynamicMethod method, int functionIndex, FunctionPiece[]? pieces, int pieceIndex, DynamicMethod[] functions, bool countInstructions)
    {
        _counts = countInstructions;
        _image = image;
        _code = image.Code;
        var starts = image.Program.FunctionStarts;
        _pieces = pieces;
        _pieceIndex = pieceIndex;
        if (pieces is null)
        {
            _start = starts[functionIndex];
            _end = functionIndex + 1 < starts.Length ? starts[functionIndex + 1] : _code.Length;
            _entries = [_start];
        }
        else
        {
            (_start, _end, _entries) = pieces[pieceIndex];
        }

        _functions = functions;
        _usesCaches = HasCheckedAccess();
        _used = UsedRegisters();
        _il = method.GetILGenerator(Math.Max(256, (_end - _start) * 48));
    }

    /// <summary>
    /// Emits the dispatcher of a split function: it calls the piece at its start, then, while a piece left for
    /// another (its number plus one in <see cref="JitRuntime.NextPieceSlot"/>, the entry's index in
    /// <see cref="JitRuntime.EntrySlot"/>), that piece; the last one's r0 is the function's.
    /// </summary>
    public static void EmitDispatcher(DynamicMethod dispatcher, DynamicMethod[] pieces)
    {
        var il = dispatcher.GetILGenerator(64 + pieces.Length * 16);
        var piece = il.DeclareLocal(typeof(int));
        var r0 = il.DeclareLocal(typeof(ulong));
        var loop = il.DefineLabel();
        var called = il.DefineLabel();
        var done = il.DefineLabel();
        var cases = pieces.Select(_ => il.DefineLabel()).ToArray();
        StoreSlotConstant(il, JitRuntime.EntrySlot, 0);
        il.Emit(OpCodes.Ldc_I4_0);
        il.Emit(OpCodes.Stloc, piece);
        il.MarkLabel(loop);
        il.Emit(OpCodes.Ldloc, piece);
        il.Emit(OpCodes.Switch, cases);
        for (int i = 0; i < pieces.Length; i++)
        {
            il.MarkLabel(cases[i]);
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldarg_1);
            il.Emit(OpCodes.Ldarg_2);
            il.Emit(OpCodes.Ldarg_3);
            il.Emit(OpCodes.Call, pieces[i]);
            il.Emit(OpCodes.Stloc, r0);
            il.Emit(OpCodes.Br, called);
        }

        il.MarkLabel(called);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Ldc_I4, JitRuntime.NextPieceSlot * 8);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ldind_I8);
        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Stloc, piece);
        il.Emit(OpCodes.Ldloc, piece);
        il.Emit(OpCodes.Brfalse, done);
        StoreSlotConstant(il, JitRuntime.NextPieceSlot, 0);
        il.Emit(OpCodes.Ldloc, piece);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.Sub);
        il.Emit(OpCodes.Stloc, piece);
        il.Emit(OpCodes.Br, loop);
        il.MarkLabel(done);
        il.Emit(OpCodes.Ldloc, r0);
        il.Emit(OpCodes.Ret);
    }

    private bool[] UsedRegisters()
    {
        var used = new bool[16];
        used[InstructionRules.FramePointer] = true;
        for (int pc = _start; pc < _end; pc++)
        {
            var insn = _code[pc];
            used[insn.Dst & 0x0f] = true;
            switch (insn.Class)
            {
                case InstructionClass.Jmp or InstructionClass.Jmp32 when insn.JumpOperation is JumpOperation.Call or JumpOperation.Exit:
                    // Arguments, results and what calls hand back: r0-r5 (and a callx target, dst above). Before a
                    // bpf-to-bpf call all of r0-r9 go to the slots, so that a callee that reads r6-r9 before writing
                    // them sees this function's values (as in the interpreter) and not what a deeper call left there.
                    bool localCall = insn.Opcode == Opcode.CallX || (insn.JumpOperation == JumpOperation.Call && insn.CallKind == CallKind.Local);
                    Array.Fill(used, true, 0, localCall ? 10 : 6);
                    break;
                case InstructionClass.Ld when !insn.IsLoadImm64:
                    used[0] = true; // legacy packet loads write r0
                    used[insn.Src & 0x0f] = true;
                    break;
                case InstructionClass.Stx when insn.MemoryMode == MemoryMode.Atomic:
                    used[0] = true; // cmpxchg compares with r0
                    used[insn.Src & 0x0f] = true;
                    break;
                default:
                    used[insn.Src & 0x0f] = true;
                    break;
            }

            if (insn.IsLoadImm64)
            {
                pc++;
            }
        }

        return used;
    }

    // Whether any access of the function needs a region check (then the caches are kept up to date).
    private bool HasCheckedAccess()
    {
        for (int pc = _start; pc < _end; pc++)
        {
            var insn = _code[pc];
            if (insn.IsLoadImm64)
            {
                pc++;
            }
            else if (insn.Class is InstructionClass.Ldx or InstructionClass.St or InstructionClass.Stx && NeedsCheck(pc, insn))
            {
                return true;
            }
        }

        return false;
    }

    // Whether the access at pc needs a region check: not when unchecked mode has it proven, and not for r10 + offset
    // with -512 <= offset <= -size, which lies in the current frame, always inside the stack region (read-write,
    // first in every lookup): the interpreter's check would pass.
    private bool NeedsCheck(int pc, Instruction insn)
    {
        int size = insn.MemoryMode == MemoryMode.Atomic && insn.MemorySize != MemorySize.DoubleWord ? 4 : Instruction.BytesOf(insn.MemorySize);
        int baseRegister = insn.Class == InstructionClass.Ldx ? insn.Src : insn.Dst;
        return !_image.IsProven(pc) &&
            !(baseRegister == InstructionRules.FramePointer && insn.Offset >= -BpfExecutionContext.FrameStackSize && insn.Offset <= -size);
    }

    /// <summary>Creates the dynamic method of a function (its body is emitted by <see cref="Emit"/>).</summary>
    public static DynamicMethod Declare(string name) =>
        new(name, typeof(ulong), [typeof(ProgramImage), typeof(BpfExecutionContext), typeof(ulong*), typeof(int)],
            typeof(FunctionEmitter).Module, skipVisibility: true)
        {
            InitLocals = false,
        };

    /// <summary>Emits the whole function.</summary>
    public void Emit()
    {
        var leaders = FindBlockStarts();
        _windows = _counts ? BudgetWindows(leaders) : [];
        AnalyzeAssignments();
        DeclareLocals();
        EmitPrologue();

        for (int pc = _start; pc < _end; pc++)
        {
            if (leaders[pc - _start])
            {
                BeginBlock(pc, leaders);
            }

            var insn = _code[pc];
            EmitInstruction(pc, insn);
            _indexInBlock++;
            if (insn.IsLoadImm64)
            {
                pc++;
            }

            if (pc + 1 == _end && _pieces is not null && FallsThrough(insn))
            {
                _il.Emit(OpCodes.Br, LeavingLabel(_end));
            }
        }

        // Control never falls off the end of a function (validation); the cold paths follow the body.
        foreach (var cold in _coldPaths)
        {
            cold();
        }

        EmitSharedExits();
    }

    private bool[] FindBlockStarts()
    {
        var leaders = new bool[_end - _start];
        foreach (int entry in _entries)
        {
            leaders[entry - _start] = true;
        }

        for (int pc = _start; pc < _end; pc++)
        {
            var insn = _code[pc];
            if (insn.IsLoadImm64)
            {
                pc++;
                continue;
            }

            if (insn.Class is not (InstructionClass.Jmp or InstructionClass.Jmp32))
            {
                continue;
            }

            if (pc + 1 < _end)
            {
                leaders[pc + 1 - _start] = true;
            }

            if (insn.JumpOperation is JumpOperation.Call or JumpOperation.Exit)
            {
                continue;
            }

            int target = JumpTarget(pc, insn);
            if (target >= _start && target < _end)
            {
                leaders[target - _start] = true;
            }
        }

        for (int i = 0; i < leaders.Length; i++)
        {
            if (leaders[i])
            {
                _blockLabels[_start + i] = _il.DefineLabel();
            }
        }

        return leaders;
    }

    /// <summary>
    /// The blocks that test the budget, with the most instructions a run can execute from their start before it
    /// reaches the next such block or an exit: the function's entry, the targets of backward jumps (every loop passes
    /// one) and the blocks after calls (which use budget of their own). Other blocks only subtract their length: the
    /// window tested at the last check covers them, so the budget cannot run out there.
    /// </summary>
    private Dictionary<int, long> BudgetWindows(bool[] leaders)
    {
        var blocks = new List<(int Start, int Length, int Last)>();
        int blockStart = _start, length = 0, last = _start;
        for (int pc = _start; pc < _end; pc++)
        {
            if (pc != _start && leaders[pc - _start])
            {
                blocks.Add((blockStart, length, last));
                blockStart = pc;
                length = 0;
            }

            length++;
            last = pc;
            if (_code[pc].IsLoadImm64)
            {
                pc++;
            }
        }

        blocks.Add((blockStart, length, last));
        var checks = new HashSet<int>(_entries);
        foreach (var block in blocks)
        {
            var insn = _code[block.Last];
            if (insn.Class is not (InstructionClass.Jmp or InstructionClass.Jmp32) || insn.JumpOperation == JumpOperation.Exit)
            {
                continue;
            }

            if (insn.JumpOperation == JumpOperation.Call)
            {
                checks.Add(block.Last + 1);
            }
            else if (JumpTarget(block.Last, insn) <= block.Last && JumpTarget(block.Last, insn) >= _start)
            {
                checks.Add(JumpTarget(block.Last, insn));
            }
        }

        // Longest paths, in reverse order: successors that are not checks lie further on (forward edges only).
        var longest = new Dictionary<int, long>();
        for (int i = blocks.Count - 1; i >= 0; i--)
        {
            var (start, count, lastPc) = blocks[i];
            var insn = _code[lastPc];
            int next = lastPc + (insn.IsLoadImm64 ? 2 : 1);
            long tail = 0;
            void Follow(int successor)
            {
                if (successor > lastPc && successor < _end && !checks.Contains(successor))
                {
                    tail = Math.Max(tail, longest[successor]);
                }
            }

            if (insn.Class is InstructionClass.Jmp or InstructionClass.Jmp32)
            {
                if (insn.JumpOperation is not (JumpOperation.Exit or JumpOperation.Call))
                {
                    Follow(JumpTarget(lastPc, insn));
                    if (insn.JumpOperation != JumpOperation.Ja)
                    {
                        Follow(next);
                    }
                }
            }
            else
            {
                Follow(next);
            }

            longest[start] = count + tail;
        }

        return checks.Where(pc => pc < _end).ToDictionary(pc => pc, pc => longest[pc]);
    }

    private const ushort None = 0;
    private const ushort R0 = 1;
    private const ushort ArgumentRegisters = 0x3f; // r0-r5
    private const ushort CallerRegisters = 0x3ff; // r0-r9

    /// <summary>
    /// Fills <see cref="_mayBeUnassigned"/> and <see cref="_mayBeAssigned"/> (forward, to a fixed point) and from them
    /// the registers the fallback stores and the prologue loads.
    /// </summary>
    private void AnalyzeAssignments()
    {
        int count = _end - _start;
        var unassigned = new ushort[count];
        var assigned = new ushort[count];
        var reached = new bool[count];
        var work = new Stack<int>();
        // At every entry all registers still equal their slots.
        foreach (int entry in _entries)
        {
            unassigned[entry - _start] = 0x7ff;
            reached[entry - _start] = true;
            work.Push(entry);
        }

        while (work.Count > 0)
        {
            int pc = work.Pop();
            var insn = _code[pc];
            var (must, may) = Assignments(insn);
            ushort outUnassigned = (ushort)(unassigned[pc - _start] & ~must);
            ushort outAssigned = (ushort)(assigned[pc - _start] | may | must);
            foreach (int next in Successors(pc, insn))
            {
                if (next < _start || next >= _end)
                {
                    continue;
                }

                int i = next - _start;
                ushort u = (ushort)(unassigned[i] | outUnassigned), a = (ushort)(assigned[i] | outAssigned);
                if (!reached[i] || u != unassigned[i] || a != assigned[i])
                {
                    reached[i] = true;
                    unassigned[i] = u;
                    assigned[i] = a;
                    work.Push(next);
                }
            }
        }

        _mayBeUnassigned = unassigned;
        _mayBeAssigned = assigned;
        ushort stored = 0, loaded = 0;

        // Edges to other pieces leave through the fallback's stores: the registers that may have been assigned on
        // the way go to the slots too.
        var leavingUnassigned = new List<ushort>();
        for (int pc = _start; pc < _end; pc++)
        {
            var insn = _code[pc];
            int i = pc - _start;
            if (reached[i])
            {
                var (must, may) = Assignments(insn);
                ushort outUnassigned = (ushort)(unassigned[i] & ~must);
                ushort outAssigned = (ushort)(assigned[i] | may | must);
                foreach (int next in Successors(pc, insn, toOtherPieces: true))
                {
                    if (next < _start || next >= _end)
                    {
                        leavingUnassigned.Add(outUnassigned);
                        stored |= outAssigned;
                    }
                }
            }

            if (insn.IsLoadImm64)
            {
                pc++;
            }
        }

        for (int pc = _start; pc < _end; pc++)
        {
            var insn = _code[pc];
            int i = pc - _start;
            if (MayFallBack(pc, insn))
            {
                stored |= assigned[i];
            }

            loaded |= (ushort)(Reads(insn) & unassigned[i]);
            if (insn.IsLoadImm64)
            {
                pc++;
            }
        }

        // Where the fallback stores a register that may be unassigned, the stored local must hold the entry value.
        // In a whole function a register that is surely unassigned there may be stored as it is: the rest of the
        // function, which the interpreter runs, writes it before any read (else the read would load it). From a piece,
        // the interpreter or the next piece may run code this analysis does not see: all must hold the entry value.
        ushort unassignedMatters = (ushort)(_pieces is null ? 0 : 0xffff);
        for (int pc = _start; pc < _end; pc++)
        {
            var insn = _code[pc];
            int i = pc - _start;
            ushort fallbackStores = (ushort)(MayFallBack(pc, insn) ? stored : 0);
            loaded |= (ushort)(fallbackStores & unassigned[i] & (assigned[i] | unassignedMatters));
            loaded |= (ushort)(SlotStores(insn) & assigned[i] & unassigned[i]);
            if (insn.IsLoadImm64)
            {
                pc++;
            }
        }

        foreach (ushort edgeUnassigned in leavingUnassigned)
        {
            loaded |= (ushort)(stored & edgeUnassigned);
        }

        _storedAtFallback = stored;
        _loadedAtEntry = loaded;
    }

    /// <summary>Whether the register must go to its slot at pc: it may have been assigned since entry.</summary>
    private bool MayBeAssigned(int pc, int register) => (_mayBeAssigned[pc - _start] & (1 << register)) != 0;

    private IEnumerable<int> Successors(int pc, Instruction insn, bool toOtherPieces = false)
    {
        int next = pc + (insn.IsLoadImm64 ? 2 : 1);
        if (insn.Class is InstructionClass.Jmp or InstructionClass.Jmp32)
        {
            var op = insn.JumpOperation;
            if (op == JumpOperation.Exit)
            {
                yield break;
            }

            if (op != JumpOperation.Call)
            {
                yield return JumpTarget(pc, insn);
                if (op == JumpOperation.Ja)
                {
                    yield break;
                }
            }
        }

        if (next < _end || (toOtherPieces && _pieces is not null && next < _pieces[^1].End))
        {
            yield return next;
        }
    }

    /// <summary>Whether control may go on to the next instruction after this one.</summary>
    private static bool FallsThrough(Instruction insn) =>
        insn.Class is not (InstructionClass.Jmp or InstructionClass.Jmp32) || insn.JumpOperation is not (JumpOperation.Exit or JumpOperation.Ja);

    /// <summary>The label of the jump target <paramref name="to"/>.</summary>
    private Label TargetLabel(int to) => to >= _start && to < _end ? _blockLabels[to] : LeavingLabel(to);

    /// <summary>
    /// A label whose cold path leaves this piece for the one holding <paramref name="to"/>: through the fallback's
    /// stores (the registers that may have been assigned go to the slots), then the budget, and the target piece
    /// and entry (encoded, negative, in the fallback pc) to their slots for the dispatcher.
    /// </summary>
    private Label LeavingLabel(int to)
    {
        if (_leavingLabels.TryGetValue(to, out var existing))
        {
            return existing;
        }

        var pieces = _pieces!;
        int targetPiece = FunctionPieces.PieceIndex(pieces.Select(p => p.Start).ToArray(), to);
        int entry = Array.IndexOf(pieces[targetPiece].Entries, to);
        var label = _il.DefineLabel();
        _leavingLabels[to] = label;
        _coldPaths.Add(() =>
        {
            _il.MarkLabel(label);
            _il.Emit(OpCodes.Ldc_I4, ~((targetPiece << 16) | entry));
            _il.Emit(OpCodes.Stloc, _fallbackPc);
            _il.Emit(OpCodes.Br, _fallback);
        });
        return label;
    }

    private static void StoreSlotConstant(ILGenerator il, int slot, int value)
    {
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Ldc_I4, slot * 8);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ldc_I4, value);
        il.Emit(OpCodes.Conv_I8);
        il.Emit(OpCodes.Stind_I8);
    }

    /// <summary>
    /// The registers whose locals an instruction always assigns, and those it may assign or whose slots it may change
    /// (a bpf-to-bpf call: the callee's fallback stores its own r0-r9 into the shared slots).
    /// </summary>
    private static (ushort Must, ushort May) Assignments(Instruction insn)
    {
        ushort dst = (ushort)(1 << (insn.Dst & 0x0f)), src = (ushort)(1 << (insn.Src & 0x0f));
        switch (insn.Class)
        {
            case InstructionClass.Alu or InstructionClass.Alu64 or InstructionClass.Ldx:
                return (dst, None);
            case InstructionClass.Ld:
                return insn.IsLoadImm64 ? (dst, None) : (R0, None);
            case InstructionClass.Stx when insn.MemoryMode == MemoryMode.Atomic:
                var operation = (AtomicOperation)insn.Immediate;
                return operation == AtomicOperation.CmpXchg ? (R0, None) : (((int)operation & 0x01) != 0 ? src : None, None);
            case InstructionClass.Jmp or InstructionClass.Jmp32 when insn.JumpOperation == JumpOperation.Call:
                if (insn.Opcode == Opcode.CallX)
                {
                    return (R0, CallerRegisters);
                }

                return insn.CallKind switch
                {
                    CallKind.Helper => (R0, None),
                    CallKind.Local => (ArgumentRegisters, CallerRegisters),
                    _ => (None, None),
                };
            default:
                return (None, None);
        }
    }

    /// <summary>The registers whose locals an instruction's code may read (a superset).</summary>
    private static ushort Reads(Instruction insn)
    {
        ushort dst = (ushort)(1 << (insn.Dst & 0x0f)), src = (ushort)(1 << (insn.Src & 0x0f));
        switch (insn.Class)
        {
            case InstructionClass.Alu or InstructionClass.Alu64 when insn.AluOperation == AluOperation.Mov:
                return insn.Source == OperandSource.Register ? src : (ushort)0;
            case InstructionClass.Ldx:
                return src;
            case InstructionClass.Ld:
                return insn.IsLoadImm64 ? (ushort)0 : src;
            case InstructionClass.Jmp or InstructionClass.Jmp32 when insn.JumpOperation is JumpOperation.Call or JumpOperation.Exit:
                return (ushort)(ArgumentRegisters | dst);
            default:
                return (ushort)(dst | src | 1);
        }
    }

    /// <summary>The registers stored to their slots at an instruction, besides the fallback's (exit and local calls).</summary>
    private static ushort SlotStores(Instruction insn) =>
        insn.Class is InstructionClass.Jmp or InstructionClass.Jmp32 && insn.JumpOperation == JumpOperation.Exit ? ArgumentRegisters
        : insn.Class is InstructionClass.Jmp or InstructionClass.Jmp32 && insn.JumpOperation == JumpOperation.Call ? CallerRegisters
        : (ushort)0;

    /// <summary>Whether the code of an instruction may hand over to the interpreter (a superset).</summary>
    private bool MayFallBack(int pc, Instruction insn)
    {
        if (_windows.ContainsKey(pc))
        {
            return true;
        }

        return insn.Class switch
        {
            InstructionClass.Alu or InstructionClass.Alu64 => insn.AluOperation is not (
                AluOperation.Mov or AluOperation.Add or AluOperation.Sub or AluOperation.Mul or AluOperation.Or
                or AluOperation.And or AluOperation.Xor or AluOperation.Lsh or AluOperation.Rsh or AluOperation.Arsh
                or AluOperation.Neg or AluOperation.End or AluOperation.Div or AluOperation.Mod),
            InstructionClass.Jmp or InstructionClass.Jmp32 => insn.JumpOperation is JumpOperation.Call or JumpOperation.Exit
                || !Enum.IsDefined(insn.JumpOperation),
            InstructionClass.Ld => !insn.IsLoadImm64,
            _ => true,
        };
    }

    private static int JumpTarget(int pc, Instruction insn) =>
        insn.Opcode == Opcode.Ja32 ? pc + 1 + insn.Immediate : pc + 1 + insn.Offset;

    private void DeclareLocals()
    {
        for (int i = 0; i < _reg.Length; i++)
        {
            _reg[i] = _il.DeclareLocal(typeof(ulong));
        }

        _budget = _il.DeclareLocal(typeof(long));
        _readStart = _il.DeclareLocal(typeof(ulong));
        _readLength = _il.DeclareLocal(typeof(ulong));
        _writeStart = _il.DeclareLocal(typeof(ulong));
        _writeLength = _il.DeclareLocal(typeof(ulong));
        _address = _il.DeclareLocal(typeof(ulong));
        _fallbackPc = _il.DeclareLocal(typeof(int));
        _fallbackBudget = _il.DeclareLocal(typeof(long));
        _status = _il.DeclareLocal(typeof(int));
        _legacyValue = _il.DeclareLocal(typeof(ulong));
        _helper = _il.DeclareLocal(typeof(HelperRegistration));
        _fallback = _il.DefineLabel();
        _ended = _il.DefineLabel();
        _helperEnded = _il.DefineLabel();
    }

    private void EmitPrologue()
    {
        // r0-r9 come from the slots (the caller's values, as in the interpreter's shared register file).
        for (int i = 0; i < 10; i++)
        {
            if (!_used[i] || (_loadedAtEntry & (1 << i)) == 0)
            {
                continue;
            }

            LoadSlot(i);
            _il.Emit(OpCodes.Stloc, _reg[i]);
        }

        _il.Emit(OpCodes.Ldarg, ContextArg);
        _il.Emit(OpCodes.Ldarg, DepthArg);
        _il.Emit(OpCodes.Call, FramePointerMethod);
        _il.Emit(OpCodes.Stloc, _reg[10]);
        ReloadBudget();
        ResetCaches();
        if (_pieces is null)
        {
            return;
        }

        // A piece starts at the entry its index in the slot names; an index out of range (-1) only returns, which
        // lets the machine code of a piece be generated without running it.
        LoadSlot(JitRuntime.EntrySlot);
        _il.Emit(OpCodes.Conv_I4);
        _il.Emit(OpCodes.Switch, _entries.Select(pc => _blockLabels[pc]).ToArray());
        _il.Emit(OpCodes.Ldc_I4_0);
        _il.Emit(OpCodes.Conv_I8);
        _il.Emit(OpCodes.Ret);
    }

    // Without counting the budget never changes in generated code: it stays in its slot, and no local holds it.
    private void LoadBudget()
    {
        if (_counts)
        {
            _il.Emit(OpCodes.Ldloc, _budget);
        }
        else
        {
            LoadSlot(JitRuntime.BudgetSlot);
        }
    }

    private void ReloadBudget()
    {
        if (_counts)
        {
            LoadSlot(JitRuntime.BudgetSlot);
            _il.Emit(OpCodes.Stloc, _budget);
        }
    }

    /// <summary>
    /// Resets the caches (locals) to the stack. A piece's caches are in the slots, always some region that allows the
    /// access: a run starts them at the stack and whatever may change the regions (helpers, the interpreter's
    /// fallback) resets them; pieces and calls only pass them on.
    /// </summary>
    private void ResetCaches()
    {
        if (!_usesCaches || _pieces is not null)
        {
            return;
        }

        LoadSlot(JitRuntime.StackStartSlot);
        _il.Emit(OpCodes.Dup);
        _il.Emit(OpCodes.Stloc, _readStart);
        _il.Emit(OpCodes.Stloc, _writeStart);
        LoadSlot(JitRuntime.StackLengthSlot);
        _il.Emit(OpCodes.Dup);
        _il.Emit(OpCodes.Stloc, _readLength);
        _il.Emit(OpCodes.Stloc, _writeLength);
    }

    private void BeginBlock(int pc, bool[] leaders)
    {
        int length = 0;
        for (int p = pc; p < _end; p++)
        {
            if (p != pc && leaders[p - _start])
            {
                break;
            }

            length++;
            if (_code[p].IsLoadImm64)
            {
                p++;
            }
        }

        _blockStart = pc;
        _blockLength = length;
        _indexInBlock = 0;
        _il.MarkLabel(_blockLabels[pc]);
        if (!_counts)
        {
            return;
        }

        // At a check: if (budget < window) the interpreter takes over from here with what is left (it faults where the
        // budget runs out, or finishes the function). Every block: budget -= length. Testing before subtracting keeps
        // one copy of the budget in a loop (a test after it made the runtime's compiler copy it on every iteration).
        if (_windows.TryGetValue(pc, out long window))
        {
            var exhausted = _il.DefineLabel();
            _il.Emit(OpCodes.Ldloc, _budget);
            _il.Emit(OpCodes.Ldc_I8, window);
            _il.Emit(OpCodes.Blt, exhausted);
            _coldPaths.Add(() =>
            {
                _il.MarkLabel(exhausted);
                _il.Emit(OpCodes.Ldloc, _budget);
                _il.Emit(OpCodes.Stloc, _fallbackBudget);
                _il.Emit(OpCodes.Ldc_I4, pc);
                _il.Emit(OpCodes.Stloc, _fallbackPc);
                _il.Emit(OpCodes.Br, _fallback);
            });
        }

        _il.Emit(OpCodes.Ldloc, _budget);
        _il.Emit(OpCodes.Ldc_I8, (long)length);
        _il.Emit(OpCodes.Sub);
        _il.Emit(OpCodes.Stloc, _budget);
    }

    /// <summary>A label whose cold path hands the current instruction to the interpreter (which faults or ends the run).</summary>
    private Label FallbackHere(int pc)
    {
        var label = _il.DefineLabel();
        long before = _counts ? _blockLength - _indexInBlock : 0;
        _coldPaths.Add(() =>
        {
            _il.MarkLabel(label);
            EmitFallbackJump(pc, before);
        });
        return label;
    }

    private void EmitFallbackJump(int pc, long budgetCorrection)
    {
        // The budget before this instruction: the block's subtraction counted it and the rest of the block.
        LoadBudget();
        _il.Emit(OpCodes.Ldc_I8, budgetCorrection);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, _fallbackBudget);
        _il.Emit(OpCodes.Ldc_I4, pc);
        _il.Emit(OpCodes.Stloc, _fallbackPc);
        _il.Emit(OpCodes.Br, _fallback);
    }

    private void EmitSharedExits()
    {
        // Fallback: spill r0-r10 into the slots and let the interpreter run from the recorded pc.
        _il.MarkLabel(_fallback);
        for (int i = 0; i <= 10; i++)
        {
            if (!_used[i] || (i < 10 && (_storedAtFallback & (1 << i)) == 0))
            {
                continue;
            }

            StoreSlot(i, _reg[i]);
        }

        if (_pieces is not null)
        {
            // A negative pc leaves for another piece: ~(piece << 16 | entry).
            var interpret = _il.DefineLabel();
            _il.Emit(OpCodes.Ldloc, _fallbackPc);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Bge, interpret);
            StoreBudget();
            StoreLeavingField(JitRuntime.NextPieceSlot, OpCodes.Shr, 16, 1);
            StoreLeavingField(JitRuntime.EntrySlot, OpCodes.And, 0xffff, 0);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Conv_I8);
            _il.Emit(OpCodes.Ret);
            _il.MarkLabel(interpret);
        }

        _il.Emit(OpCodes.Ldarg, ContextArg);
        _il.Emit(OpCodes.Ldarg, ImageArg);
        _il.Emit(OpCodes.Ldarg, SlotsArg);
        _il.Emit(OpCodes.Ldloc, _fallbackPc);
        _il.Emit(OpCodes.Ldloc, _fallbackBudget);
        _il.Emit(OpCodes.Ldarg, DepthArg);
        _il.Emit(OpCodes.Call, FallbackMethod);
        _il.Emit(OpCodes.Ret);

        // After a helper call that ended the run or made a tail call: a tail call returns the target's r0 (its
        // r0-r5 and the budget are already in the slots); anything else unwinds.
        _il.MarkLabel(_helperEnded);
        if (_pieces is not null)
        {
            // No such helper: the interpreter faults at the call (the last instruction of its block).
            var found = _il.DefineLabel();
            LoadSlot(JitRuntime.EndedSlot);
            _il.Emit(OpCodes.Ldc_I8, (long)JitRuntime.HelperMissing);
            _il.Emit(OpCodes.Bne_Un, found);
            StoreSlotConstant(_il, JitRuntime.EndedSlot, 0);
            LoadSlot(JitRuntime.EndValueSlot);
            _il.Emit(OpCodes.Conv_I4);
            _il.Emit(OpCodes.Stloc, _fallbackPc);
            LoadBudget();
            _il.Emit(OpCodes.Ldc_I8, _counts ? 1L : 0L);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stloc, _fallbackBudget);
            _il.Emit(OpCodes.Br, _fallback);
            _il.MarkLabel(found);
        }

        LoadSlot(JitRuntime.EndedSlot);
        _il.Emit(OpCodes.Ldc_I8, (long)JitRuntime.TailCalled);
        _il.Emit(OpCodes.Bne_Un, _ended);
        _il.Emit(OpCodes.Ldarg, SlotsArg);
        _il.Emit(OpCodes.Ldc_I4, JitRuntime.EndedSlot * 8);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Ldc_I8, 0L);
        _il.Emit(OpCodes.Stind_I8);
        LoadSlot(0);
        _il.Emit(OpCodes.Ret);

        // The run has ended inside a callee or a helper: unwind to the entry.
        _il.MarkLabel(_ended);
        _il.Emit(OpCodes.Ldc_I8, 0L);
        _il.Emit(OpCodes.Ret);
    }

    /// <summary>slots[slot] = ((~fallback pc) op operand) + add: the piece or the entry an exit to another piece encoded.</summary>
    private void StoreLeavingField(int slot, OpCode op, int operand, int add)
    {
        _il.Emit(OpCodes.Ldarg_2);
        _il.Emit(OpCodes.Ldc_I4, slot * 8);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Ldloc, _fallbackPc);
        _il.Emit(OpCodes.Not);
        _il.Emit(OpCodes.Ldc_I4, operand);
        _il.Emit(op);
        _il.Emit(OpCodes.Ldc_I4, add);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Conv_I8);
        _il.Emit(OpCodes.Stind_I8);
    }

    private void LoadSlot(int slot)
    {
        _il.Emit(OpCodes.Ldarg, SlotsArg);
        if (slot != 0)
        {
            _il.Emit(OpCodes.Ldc_I4, slot * 8);
            _il.Emit(OpCodes.Add);
        }

        _il.Emit(OpCodes.Ldind_I8);
    }

    private void StoreSlot(int slot, LocalBuilder local)
    {
        _il.Emit(OpCodes.Ldarg, SlotsArg);
        if (slot != 0)
        {
            _il.Emit(OpCodes.Ldc_I4, slot * 8);
            _il.Emit(OpCodes.Add);
        }

        _il.Emit(OpCodes.Ldloc, local);
        _il.Emit(OpCodes.Stind_I8);
    }

    private void EmitInstruction(int pc, Instruction insn)
    {
        switch (insn.Class)
        {
            case InstructionClass.Alu64:
            case InstructionClass.Alu:
                EmitAlu(pc, insn);
                break;
            case InstructionClass.Jmp:
            case InstructionClass.Jmp32:
                EmitJump(pc, insn);
                break;
            case InstructionClass.Ldx:
                EmitLoad(pc, insn);
                break;
            case InstructionClass.St:
            case InstructionClass.Stx:
                if (insn.MemoryMode == MemoryMode.Atomic && insn.Class == InstructionClass.Stx)
                {
                    EmitAtomic(pc, insn);
                }
                else
                {
                    EmitStore(pc, insn);
                }

                break;
            default: // Ld: lddw and the legacy packet loads
                if (insn.IsLoadImm64)
                {
                    _il.Emit(OpCodes.Ldc_I8, (long)_image.Imm64(pc));
                    _il.Emit(OpCodes.Stloc, _reg[insn.Dst]);
                }
                else if (insn.MemoryMode is MemoryMode.Abs or MemoryMode.Ind)
                {
                    EmitLegacyLoad(pc, insn);
                }
                else
                {
                    _il.Emit(OpCodes.Br, FallbackHere(pc));
                }

                break;
        }
    }

    // ---------------------------------------------------------------- arithmetic

    private void EmitAlu(int pc, Instruction insn)
    {
        bool is64 = insn.Class == InstructionClass.Alu64;
        bool useRegister = insn.Source == OperandSource.Register;
        var dst = _reg[insn.Dst];
        var op = insn.AluOperation;
        switch (op)
        {
            case AluOperation.Mov:
                EmitMov(insn, is64, useRegister, dst);
                return;
            case AluOperation.Neg:
                _il.Emit(OpCodes.Ldloc, dst);
                if (!is64)
                {
                    _il.Emit(OpCodes.Conv_U4);
                }

                _il.Emit(OpCodes.Neg);
                StoreResult(dst, is64);
                return;
            case AluOperation.End:
                EmitEndian(insn, is64, dst);
                return;
            case AluOperation.Div:
            case AluOperation.Mod:
                EmitDivMod(insn, is64, useRegister, dst);
                return;
            case AluOperation.Lsh:
            case AluOperation.Rsh:
            case AluOperation.Arsh:
                EmitShift(insn, is64, useRegister, dst);
                return;
        }

        OpCode code;
        switch (op)
        {
            case AluOperation.Add: code = OpCodes.Add; break;
            case AluOperation.Sub: code = OpCodes.Sub; break;
            case AluOperation.Mul: code = OpCodes.Mul; break;
            case AluOperation.Or: code = OpCodes.Or; break;
            case AluOperation.And: code = OpCodes.And; break;
            case AluOperation.Xor: code = OpCodes.Xor; break;
            default:
                _il.Emit(OpCodes.Br, FallbackHere(pc));
                return;
        }

        _il.Emit(OpCodes.Ldloc, dst);
        if (!is64)
        {
            _il.Emit(OpCodes.Conv_U4);
        }

        EmitOperand(insn, is64, useRegister);
        _il.Emit(code);
        StoreResult(dst, is64);
    }

    /// <summary>The source operand: a register or the sign-extended immediate, at the operation's width.</summary>
    private void EmitOperand(Instruction insn, bool is64, bool useRegister)
    {
        if (useRegister)
        {
            _il.Emit(OpCodes.Ldloc, _reg[insn.Src]);
            if (!is64)
            {
                _il.Emit(OpCodes.Conv_U4);
            }
        }
        else if (is64)
        {
            _il.Emit(OpCodes.Ldc_I8, (long)insn.Immediate);
        }
        else
        {
            _il.Emit(OpCodes.Ldc_I4, insn.Immediate);
        }
    }

    /// <summary>Stores the value on the stack into a register; 32-bit results are zero-extended.</summary>
    private void StoreResult(LocalBuilder dst, bool is64)
    {
        if (!is64)
        {
            _il.Emit(OpCodes.Conv_U8);
        }

        _il.Emit(OpCodes.Stloc, dst);
    }

    private void EmitMov(Instruction insn, bool is64, bool useRegister, LocalBuilder dst)
    {
        if (!useRegister)
        {
            if (is64)
            {
                _il.Emit(OpCodes.Ldc_I8, (long)insn.Immediate);
            }
            else
            {
                _il.Emit(OpCodes.Ldc_I8, (long)(uint)insn.Immediate);
            }

            _il.Emit(OpCodes.Stloc, dst);
            return;
        }

        _il.Emit(OpCodes.Ldloc, _reg[insn.Src]);
        switch (insn.Offset)
        {
            case 8:
                _il.Emit(OpCodes.Conv_I1);
                break;
            case 16:
                _il.Emit(OpCodes.Conv_I2);
                break;
            case 32 when is64:
                _il.Emit(OpCodes.Conv_I4);
                break;
            default:
                if (!is64)
                {
                    _il.Emit(OpCodes.Conv_U4);
                }

                break;
        }

        // The sign-extending forms leave an int32 on the stack: widen it to 64 bits (signed) or zero-extend 32.
        if (insn.Offset is 8 or 16 || (is64 && insn.Offset == 32))
        {
            _il.Emit(is64 ? OpCodes.Conv_I8 : OpCodes.Conv_U8);
            _il.Emit(OpCodes.Stloc, dst);
            return;
        }

        StoreResult(dst, is64);
    }

    private void EmitEndian(Instruction insn, bool is64, LocalBuilder dst)
    {
        // 0xd4 (le) truncates; 0xdc (be) and 0xd7 (bswap) swap, on a little-endian host.
        bool swap = is64 || insn.Source == OperandSource.Register;
        _il.Emit(OpCodes.Ldloc, dst);
        switch (insn.Immediate)
        {
            case 16:
                _il.Emit(OpCodes.Conv_U2);
                if (swap)
                {
                    _il.Emit(OpCodes.Call, Swap16Method);
                }

                _il.Emit(OpCodes.Conv_U8);
                break;
            case 32:
                _il.Emit(OpCodes.Conv_U4);
                if (swap)
                {
                    _il.Emit(OpCodes.Call, Swap32Method);
                }

                _il.Emit(OpCodes.Conv_U8);
                break;
            default:
                if (swap)
                {
                    _il.Emit(OpCodes.Call, Swap64Method);
                }

                break;
        }

        _il.Emit(OpCodes.Stloc, dst);
    }

    private void EmitDivMod(Instruction insn, bool is64, bool useRegister, LocalBuilder dst)
    {
        bool isDiv = insn.AluOperation == AluOperation.Div;
        bool signed = insn.Offset != 0;

        // A constant divisor other than 0 and -1 has no corner case: plain IL division.
        if (!useRegister && insn.Immediate != 0 && insn.Immediate != -1)
        {
            _il.Emit(OpCodes.Ldloc, dst);
            if (!is64)
            {
                _il.Emit(OpCodes.Conv_U4);
            }

            EmitOperand(insn, is64, useRegister: false);
            _il.Emit(isDiv ? (signed ? OpCodes.Div : OpCodes.Div_Un) : (signed ? OpCodes.Rem : OpCodes.Rem_Un));
            StoreResult(dst, is64);
            return;
        }

        _il.Emit(OpCodes.Ldloc, dst);
        if (!is64)
        {
            _il.Emit(OpCodes.Conv_U4);
        }

        EmitOperand(insn, is64, useRegister);
        _il.Emit(OpCodes.Ldc_I4, (int)insn.Offset);
        _il.Emit(OpCodes.Call, is64 ? (isDiv ? Div64Method : Mod64Method) : (isDiv ? Div32Method : Mod32Method));
        _il.Emit(OpCodes.Stloc, dst);
    }

    private void EmitShift(Instruction insn, bool is64, bool useRegister, LocalBuilder dst)
    {
        int mask = is64 ? 63 : 31;
        var op = insn.AluOperation;
        _il.Emit(OpCodes.Ldloc, dst);
        if (!is64)
        {
            _il.Emit(OpCodes.Conv_U4);
        }

        if (useRegister)
        {
            _il.Emit(OpCodes.Ldloc, _reg[insn.Src]);
            _il.Emit(OpCodes.Conv_I4);
            _il.Emit(OpCodes.Ldc_I4, mask);
            _il.Emit(OpCodes.And);
        }
        else
        {
            _il.Emit(OpCodes.Ldc_I4, insn.Immediate & mask);
        }

        _il.Emit(op == AluOperation.Lsh ? OpCodes.Shl : op == AluOperation.Rsh ? OpCodes.Shr_Un : OpCodes.Shr);
        StoreResult(dst, is64);
    }

    // ---------------------------------------------------------------- jumps, calls, exit

    private void EmitJump(int pc, Instruction insn)
    {
        bool is32 = insn.Class == InstructionClass.Jmp32;
        var op = insn.JumpOperation;
        if (op == JumpOperation.Exit)
        {
            EmitExit(pc);
            return;
        }

        if (op == JumpOperation.Call)
        {
            if (insn.Opcode == Opcode.CallX)
            {
                EmitCallx(pc, insn);
            }
            else if (insn.CallKind == CallKind.Helper)
            {
                EmitHelperCall(pc, insn);
            }
            else if (insn.CallKind == CallKind.Local)
            {
                EmitLocalCall(pc, insn, _image.Program.FunctionStarts.IndexOf(pc + 1 + insn.Immediate));
            }
            else
            {
                // kfuncs: the interpreter reports them as unsupported.
                _il.Emit(OpCodes.Br, FallbackHere(pc));
            }

            return;
        }

        var target = TargetLabel(JumpTarget(pc, insn));
        if (op == JumpOperation.Ja)
        {
            _il.Emit(OpCodes.Br, target);
            return;
        }

        bool useRegister = insn.Source == OperandSource.Register;
        _il.Emit(OpCodes.Ldloc, _reg[insn.Dst]);
        if (is32)
        {
            _il.Emit(OpCodes.Conv_U4);
        }

        EmitOperand(insn, !is32, useRegister);
        switch (op)
        {
            case JumpOperation.Jeq: _il.Emit(OpCodes.Beq, target); break;
            case JumpOperation.Jne: _il.Emit(OpCodes.Bne_Un, target); break;
            case JumpOperation.Jgt: _il.Emit(OpCodes.Bgt_Un, target); break;
            case JumpOperation.Jge: _il.Emit(OpCodes.Bge_Un, target); break;
            case JumpOperation.Jlt: _il.Emit(OpCodes.Blt_Un, target); break;
            case JumpOperation.Jle: _il.Emit(OpCodes.Ble_Un, target); break;
            case JumpOperation.Jsgt: _il.Emit(OpCodes.Bgt, target); break;
            case JumpOperation.Jsge: _il.Emit(OpCodes.Bge, target); break;
            case JumpOperation.Jslt: _il.Emit(OpCodes.Blt, target); break;
            case JumpOperation.Jsle: _il.Emit(OpCodes.Ble, target); break;
            case JumpOperation.Jset:
                _il.Emit(OpCodes.And);
                _il.Emit(OpCodes.Brtrue, target);
                break;
            default:
                _il.Emit(OpCodes.Pop);
                _il.Emit(OpCodes.Pop);
                _il.Emit(OpCodes.Br, FallbackHere(pc));
                break;
        }
    }

    private void EmitExit(int pc)
    {
        // r0-r5 go back through the slots: after a call the caller sees the callee's r1-r5, as in the interpreter.
        for (int i = 0; i <= 5; i++)
        {
            if (!_used[i] || !MayBeAssigned(pc, i))
            {
                continue;
            }

            StoreSlot(i, _reg[i]);
        }

        StoreBudget();
        _il.Emit(OpCodes.Ldloc, _reg[0]);
        _il.Emit(OpCodes.Ret);
    }

    private void StoreBudget()
    {
        if (!_counts)
        {
            return;
        }

        _il.Emit(OpCodes.Ldarg, SlotsArg);
        _il.Emit(OpCodes.Ldc_I4, JitRuntime.BudgetSlot * 8);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Ldloc, _budget);
        _il.Emit(OpCodes.Stind_I8);
    }

    private void EmitHelperCall(int pc, Instruction insn)
    {
        if (_pieces is not null)
        {
            // One call: fewer blocks and calls for the runtime's compiler, which pieces (large programs) are full of.
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldc_I8, (long)insn.Immediate);
            EmitHelperArguments(pc, InvokeHelperByIdMethod);
            return;
        }

        _il.Emit(OpCodes.Ldarg, ContextArg);
        _il.Emit(OpCodes.Ldc_I8, (long)insn.Immediate);
        _il.Emit(OpCodes.Call, FindHelperMethod);
        _il.Emit(OpCodes.Stloc, _helper);
        _il.Emit(OpCodes.Ldloc, _helper);
        _il.Emit(OpCodes.Brfalse, FallbackHere(pc));
        EmitInvokeHelper(pc);
    }

    /// <summary>Calls the helper in the helper local with r1-r5; ends the function when the helper stopped the run.</summary>
    private void EmitInvokeHelper(int pc)
    {
        _il.Emit(OpCodes.Ldarg, ContextArg);
        _il.Emit(OpCodes.Ldloc, _helper);
        EmitHelperArguments(pc, InvokeHelperMethod);
    }

    /// <summary>The pc, r0-r5, budget, slots and depth, the call, r0, and what follows a helper call.</summary>
    private void EmitHelperArguments(int pc, MethodInfo invoke)
    {
        _il.Emit(OpCodes.Ldc_I4, pc);
        for (int i = 0; i <= 5; i++)
        {
            _il.Emit(OpCodes.Ldloc, _reg[i]);
        }

        LoadBudget();
        _il.Emit(OpCodes.Ldarg, SlotsArg);
        _il.Emit(OpCodes.Ldarg, DepthArg);
        _il.Emit(OpCodes.Call, invoke);
        _il.Emit(OpCodes.Stloc, _reg[0]);

        // Callbacks run by the helper used budget.
        ReloadBudget();
        LoadSlot(JitRuntime.EndedSlot);
        _il.Emit(OpCodes.Brtrue, _helperEnded);

        // A helper may have changed the regions.
        ResetCaches();
    }

    private void BranchIfEnded()
    {
        LoadSlot(JitRuntime.EndedSlot);
        _il.Emit(OpCodes.Brtrue, _ended);
    }

    private void EmitLocalCall(int pc, Instruction insn, int functionIndex)
    {
        // The frame limit, as the interpreter checks it.
        var tooDeep = _il.DefineLabel();
        _il.Emit(OpCodes.Ldarg, DepthArg);
        _il.Emit(OpCodes.Ldc_I4, BpfExecutionContext.MaxFrames - 1);
        _il.Emit(OpCodes.Bge, tooDeep);
        _coldPaths.Add(() =>
        {
            _il.MarkLabel(tooDeep);
            _il.Emit(OpCodes.Ldarg, ContextArg);
            _il.Emit(OpCodes.Ldc_I4, pc);
            _il.Emit(OpCodes.Ldarg, DepthArg);
            LoadBudget();
            _il.Emit(OpCodes.Call, CallDepthFaultMethod);
            _il.Emit(OpCodes.Throw);
        });

        for (int i = 0; i <= 9; i++)
        {
            if (!_used[i] || !MayBeAssigned(pc, i))
            {
                continue;
            }

            StoreSlot(i, _reg[i]);
        }

        StoreBudget();
        _il.Emit(OpCodes.Ldarg, ImageArg);
        _il.Emit(OpCodes.Ldarg, ContextArg);
        _il.Emit(OpCodes.Ldarg, SlotsArg);
        _il.Emit(OpCodes.Ldarg, DepthArg);
        _il.Emit(OpCodes.Ldc_I4_1);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Call, _functions[functionIndex]);
        _il.Emit(OpCodes.Pop);
        BranchIfEnded();
        for (int i = 0; i <= 5; i++)
        {
            if (!_used[i])
            {
                continue;
            }

            LoadSlot(i);
            _il.Emit(OpCodes.Stloc, _reg[i]);
        }

        ReloadBudget();
        ResetCaches();
    }

    private void EmitCallx(int pc, Instruction insn)
    {
        var notHelper = _il.DefineLabel();
        var done = _il.DefineLabel();
        var target = _reg[insn.Dst];

        // A registered helper id first, then a function address, else the interpreter's invalid-target fault.
        _il.Emit(OpCodes.Ldarg, ContextArg);
        _il.Emit(OpCodes.Ldloc, target);
        _il.Emit(OpCodes.Call, FindHelperMethod);
        _il.Emit(OpCodes.Stloc, _helper);
        _il.Emit(OpCodes.Ldloc, _helper);
        _il.Emit(OpCodes.Brfalse, notHelper);
        EmitInvokeHelper(pc);
        _il.Emit(OpCodes.Br, done);

        _il.MarkLabel(notHelper);
        int count = _image.Program.FunctionStarts.Length;
        var cases = new Label[count];
        for (int i = 0; i < count; i++)
        {
            cases[i] = _il.DefineLabel();
        }

        _il.Emit(OpCodes.Ldarg, ImageArg);
        _il.Emit(OpCodes.Ldloc, target);
        _il.Emit(OpCodes.Call, FunctionIndexAtMethod);
        _il.Emit(OpCodes.Switch, cases);
        _il.Emit(OpCodes.Br, FallbackHere(pc));
        for (int i = 0; i < count; i++)
        {
            _il.MarkLabel(cases[i]);
            EmitLocalCall(pc, insn, i);
            _il.Emit(OpCodes.Br, done);
        }

        _il.MarkLabel(done);
    }

    // ---------------------------------------------------------------- memory

    /// <summary>address = base + offset, into the address local.</summary>
    private void EmitAddress(LocalBuilder baseRegister, short offset)
    {
        _il.Emit(OpCodes.Ldloc, baseRegister);
        if (offset != 0)
        {
            _il.Emit(OpCodes.Ldc_I8, (long)offset);
            _il.Emit(OpCodes.Add);
        }

        _il.Emit(OpCodes.Stloc, _address);
    }

    /// <summary>
    /// The checked-mode test of the address local against the load or store cache, with the out-of-line miss path
    /// (look the region up, refill the cache, or fall back to the interpreter to fault).
    /// </summary>
    private void EmitCheck(int pc, int size, MemoryAccess access)
    {
        if (!NeedsCheck(pc, _code[pc]))
        {
            return;
        }

        bool forRead = access == MemoryAccess.Read;
        if (_pieces is not null)
        {
            EmitSlotCacheCheck(pc, size, access);
            return;
        }

        var start = forRead ? _readStart : _writeStart;
        var length = forRead ? _readLength : _writeLength;
        var resume = _il.DefineLabel();

        // (address - start) <= (length - size), unsigned: cached regions have length >= 8, so no wrap.
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Ldloc, start);
        _il.Emit(OpCodes.Sub);
        _il.Emit(OpCodes.Ldloc, length);
        _il.Emit(OpCodes.Ldc_I8, (long)size);
        _il.Emit(OpCodes.Sub);
        _il.Emit(OpCodes.Ble_Un, resume);

        // The miss path stays in line: a jump back from the end of the method would look like a loop to the
        // runtime's compiler, and hundreds of those make compilation much slower.
        _il.Emit(OpCodes.Ldarg, ContextArg);
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Ldc_I4, size);
        _il.Emit(OpCodes.Ldc_I4, (int)access);
        _il.Emit(OpCodes.Ldarg, SlotsArg);
        _il.Emit(OpCodes.Call, LookupMethod);
        _il.Emit(OpCodes.Stloc, _status);
        _il.Emit(OpCodes.Ldloc, _status);
        _il.Emit(OpCodes.Brfalse, FallbackHere(pc));
        _il.Emit(OpCodes.Ldloc, _status);
        _il.Emit(OpCodes.Ldc_I4, JitRuntime.AccessAllowed);
        _il.Emit(OpCodes.Beq, resume);
        LoadSlot(JitRuntime.CacheStartSlot);
        _il.Emit(OpCodes.Stloc, start);
        LoadSlot(JitRuntime.CacheLengthSlot);
        _il.Emit(OpCodes.Stloc, length);
        _il.MarkLabel(resume);
    }

    /// <summary>
    /// The check of a piece, against the caches in the slots; a miss is one call (which refills the cache) and, when
    /// no region allows the access, the jump to the interpreter's fault.
    /// </summary>
    private void EmitSlotCacheCheck(int pc, int size, MemoryAccess access)
    {
        int cache = access == MemoryAccess.Read ? JitRuntime.ReadCacheSlot : JitRuntime.WriteCacheSlot;
        var resume = _il.DefineLabel();
        _il.Emit(OpCodes.Ldloc, _address);
        LoadSlot(cache);
        _il.Emit(OpCodes.Sub);
        LoadSlot(cache + 1);
        _il.Emit(OpCodes.Ldc_I4_S, (sbyte)size);
        _il.Emit(OpCodes.Conv_I8);
        _il.Emit(OpCodes.Sub);
        _il.Emit(OpCodes.Ble_Un_S, resume);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Ldc_I4, size | ((int)access << 8));
        _il.Emit(OpCodes.Ldarg_2);
        _il.Emit(OpCodes.Call, CheckAccessMethod);
        _il.Emit(OpCodes.Brtrue_S, resume);
        _il.Emit(OpCodes.Br, FallbackHere(pc));
        _il.MarkLabel(resume);
    }

    private void EmitLoad(int pc, Instruction insn)
    {
        int size = Instruction.BytesOf(insn.MemorySize);
        bool signExtend = insn.MemoryMode == MemoryMode.MemSx;
        if (insn.MemoryMode is not (MemoryMode.Mem or MemoryMode.MemSx))
        {
            _il.Emit(OpCodes.Br, FallbackHere(pc));
            return;
        }

        EmitAddress(_reg[insn.Src], insn.Offset);
        EmitCheck(pc, size, MemoryAccess.Read);
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Conv_U);
        if (size > 1)
        {
            _il.Emit(OpCodes.Unaligned, (byte)1);
        }

        switch (size)
        {
            case 1:
                _il.Emit(signExtend ? OpCodes.Ldind_I1 : OpCodes.Ldind_U1);
                _il.Emit(signExtend ? OpCodes.Conv_I8 : OpCodes.Conv_U8);
                break;
            case 2:
                _il.Emit(signExtend ? OpCodes.Ldind_I2 : OpCodes.Ldind_U2);
                _il.Emit(signExtend ? OpCodes.Conv_I8 : OpCodes.Conv_U8);
                break;
            case 4:
                _il.Emit(signExtend ? OpCodes.Ldind_I4 : OpCodes.Ldind_U4);
                _il.Emit(signExtend ? OpCodes.Conv_I8 : OpCodes.Conv_U8);
                break;
            default:
                _il.Emit(OpCodes.Ldind_I8);
                break;
        }

        _il.Emit(OpCodes.Stloc, _reg[insn.Dst]);
    }

    private void EmitStore(int pc, Instruction insn)
    {
        int size = Instruction.BytesOf(insn.MemorySize);
        if (insn.MemoryMode != MemoryMode.Mem)
        {
            _il.Emit(OpCodes.Br, FallbackHere(pc));
            return;
        }

        EmitAddress(_reg[insn.Dst], insn.Offset);
        EmitCheck(pc, size, MemoryAccess.Write);
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Conv_U);
        if (insn.Class == InstructionClass.St)
        {
            if (size == 8)
            {
                _il.Emit(OpCodes.Ldc_I8, (long)insn.Immediate);
            }
            else
            {
                _il.Emit(OpCodes.Ldc_I4, insn.Immediate);
            }
        }
        else
        {
            _il.Emit(OpCodes.Ldloc, _reg[insn.Src]);
            if (size != 8)
            {
                _il.Emit(OpCodes.Conv_U4);
            }
        }

        if (size > 1)
        {
            _il.Emit(OpCodes.Unaligned, (byte)1);
        }

        _il.Emit(size switch
        {
            1 => OpCodes.Stind_I1,
            2 => OpCodes.Stind_I2,
            4 => OpCodes.Stind_I4,
            _ => OpCodes.Stind_I8,
        });
    }

    private void EmitAtomic(int pc, Instruction insn)
    {
        int size = insn.MemorySize == MemorySize.DoubleWord ? 8 : 4;
        EmitAddress(_reg[insn.Dst], insn.Offset);
        EmitCheck(pc, size, MemoryAccess.ReadWrite);

        // Misaligned: the interpreter raises the fault.
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Ldc_I8, (long)(size - 1));
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Brtrue, FallbackHere(pc));

        // The interpreter's own atomic helper, on the slots as its register file.
        int src = insn.Src;
        var operation = (AtomicOperation)insn.Immediate;
        StoreSlot(src, _reg[src]);
        if (operation == AtomicOperation.CmpXchg && src != 0)
        {
            StoreSlot(0, _reg[0]);
        }

        _il.Emit(OpCodes.Ldarg, SlotsArg);
        _il.Emit(OpCodes.Ldc_I4, src);
        _il.Emit(OpCodes.Ldc_I4, insn.Immediate);
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Conv_U);
        _il.Emit(OpCodes.Call, size == 8 ? Atomic64Method : Atomic32Method);
        if (operation == AtomicOperation.CmpXchg)
        {
            LoadSlot(0);
            _il.Emit(OpCodes.Stloc, _reg[0]);
        }
        else if (((int)operation & 0x01) != 0)
        {
            LoadSlot(src);
            _il.Emit(OpCodes.Stloc, _reg[src]);
        }
    }

    private void EmitLegacyLoad(int pc, Instruction insn)
    {
        int size = Instruction.BytesOf(insn.MemorySize);
        _il.Emit(OpCodes.Ldarg, ContextArg);
        if (insn.MemoryMode == MemoryMode.Abs)
        {
            _il.Emit(OpCodes.Ldc_I8, (long)insn.Immediate);
        }
        else
        {
            // (int)((uint)src + (uint)imm), widened with its sign.
            _il.Emit(OpCodes.Ldloc, _reg[insn.Src]);
            _il.Emit(OpCodes.Conv_U4);
            _il.Emit(OpCodes.Ldc_I4, insn.Immediate);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Conv_I8);
        }

        _il.Emit(OpCodes.Ldc_I4, size);
        _il.Emit(OpCodes.Call, LegacyLoadMethod);
        _il.Emit(OpCodes.Stloc, _legacyValue);
        _il.Emit(OpCodes.Ldloc, _legacyValue);
        _il.Emit(OpCodes.Ldc_I8, unchecked((long)JitRuntime.LegacyLoadFailed));
        _il.Emit(OpCodes.Beq, FallbackHere(pc));
        _il.Emit(OpCodes.Ldloc, _legacyValue);
        _il.Emit(OpCodes.Stloc, _reg[0]);
    }

    private static MethodInfo Method(Type type, string name) =>
        type.GetMethod(name, BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
        ?? throw new InvalidOperationException($"{type.Name}.{name} not found");
}
