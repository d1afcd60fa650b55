using SharpBpf.Isa;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Calls;

namespace SharpBpf.Fuzzing;

/// <summary>
/// Builds random, structurally valid programs that exercise every instruction family: ALU of both widths and
/// every operation (div/mod/sdiv/smod, movsx, bswap/le/be), forward branches of every kind, counted loops with
/// backward branches, stack and input loads/stores of every size, atomics on aligned slots, legacy packet loads,
/// helper calls, local calls and callx (to helpers and to functions), bpf_loop callbacks and tail calls, plus a few
/// deliberately bad accesses.
/// </summary>
/// <remarks>
/// Register conventions keep most programs meaningful: r1 always holds the input pointer and r9 is reserved for
/// loop counters. Function pointers only ever pass through r0 right before a callx (or r2 for bpf_loop, overwritten
/// right after), and every function writes r0 first, so the address of the code (different for each engine's image)
/// never reaches a result.
/// </remarks>
/// <param name="random">The source of randomness (seed it for reproducible programs).</param>
/// <param name="inputLength">The size of the input region programs may access through r1.</param>
public sealed class RandomProgramGenerator(Random random, int inputLength)
{
    /// <summary>Helper id of "mix": a pure function of r1-r5.</summary>
    public const int MixHelper = 1;

    /// <summary>Helper id of "touch": flips the bytes of (r1, r2 &amp; 0xff) through checked access.</summary>
    public const int TouchHelper = 2;

    /// <summary>Helper id of "maybe_stop": stops the program when r3 &amp; 7 is 0.</summary>
    public const int MaybeStopHelper = 3;

    /// <summary>
    /// Helper id of "tail_call_self": a tail call into the running program itself when r3 &amp; 3 is not 0 and the run
    /// has made fewer than <see cref="MaxSelfTailCalls"/>, a failed one otherwise.
    /// </summary>
    public const int TailCallSelfHelper = 4;

    /// <summary>How many self tail calls one run may make: each reruns the program, so few keep the runs short.</summary>
    public const int MaxSelfTailCalls = 3;

    private static readonly byte[] Writable = [0, 2, 3, 4, 5, 6, 7, 8];
    private static readonly int[] SpecialImmediates = [0, 1, -1, 2, 7, 8, 16, 31, 32, 63, 64, int.MinValue, int.MaxValue, 0x7f, 0x80, 0xff, -128, 0x12345678];
    private static readonly AluOperation[] AluOperations =
    [
        AluOperation.Add, AluOperation.Sub, AluOperation.Mul, AluOperation.Div, AluOperation.Or, AluOperation.And,
        AluOperation.Lsh, AluOperation.Rsh, AluOperation.Neg, AluOperation.Mod, AluOperation.Xor, AluOperation.Mov,
        AluOperation.Arsh, AluOperation.End,
    ];

    private static readonly JumpOperation[] Conditions =
    [
        JumpOperation.Jeq, JumpOperation.Jgt, JumpOperation.Jge, JumpOperation.Jset, JumpOperation.Jne, JumpOperation.Jsgt,
        JumpOperation.Jsge, JumpOperation.Jlt, JumpOperation.Jle, JumpOperation.Jslt, JumpOperation.Jsle,
    ];

    private static readonly AtomicOperation[] AtomicOperations =
    [
        AtomicOperation.Add, AtomicOperation.Or, AtomicOperation.And, AtomicOperation.Xor, AtomicOperation.FetchAdd,
        AtomicOperation.FetchOr, AtomicOperation.FetchAnd, AtomicOperation.FetchXor, AtomicOperation.Xchg, AtomicOperation.CmpXchg,
    ];

    /// <summary>The helpers the generated programs call (deterministic, so both engines see the same effects).</summary>
    public static HelperTable Helpers()
    {
        var table = new HelperTable();
        table.Register(MixHelper, "mix", static (_, a, b, c, d, e) => (a * 31) ^ (b * 17) ^ (c << 3) ^ (d >> 2) ^ (e * 0x9e3779b97f4a7c15));
        table.Register(TouchHelper, "touch", static (ctx, ptr, len, _, _, _) =>
        {
            var bytes = ctx.GetSpan(ptr, (int)(len & 0xff), MemoryAccess.ReadWrite);
            foreach (ref byte b in bytes)
            {
                b ^= 0x5a;
            }

            return (ulong)bytes.Length;
        });
        table.Register(MaybeStopHelper, "maybe_stop", static (ctx, _, _, c, _, _) =>
        {
            if ((c & 7) == 0)
            {
                ctx.Stop(c ^ 0x77);
            }

            return c + 1;
        });
        table.Register(TailCallSelfHelper, "tail_call_self", static (ctx, _, _, c, _, _) =>
        {
            bool proceeds = (c & 3) != 0 && ctx.TailCallCount < MaxSelfTailCalls;
            if (proceeds)
            {
                ctx.CountTailCall();
            }

            ctx.RequestTailCall(proceeds ? ctx.RunningProgram : null);
            return 0;
        });
        return LoopHelper.Register(table);
    }

    // One item: one instruction (or an lddw pair) and, for jumps and calls, the target item or function.
    private sealed class Item(Instruction[] slots)
    {
        public Instruction[] Slots { get; } = slots;
        public int JumpTo { get; init; } = -1;
        public int CallFunction { get; init; } = -1;
        public bool FunctionPointer { get; init; }
        public bool NoJumpTarget { get; set; }
    }

    private List<Item> _items = [];
    private int _functionCount;
    private int _currentFunction;
    private bool _allowRecursion;

    /// <summary>A new program: a main function and up to two sub-functions.</summary>
    public Instruction[] Next()
    {
        _functionCount = 1 + random.Next(3);
        _allowRecursion = random.Next(30) == 0;
        var functions = new List<List<Item>>();
        for (int f = 0; f < _functionCount; f++)
        {
            _currentFunction = f;
            _items = [];
            GenerateFunction(f);
            functions.Add(_items);
        }

        return Layout(functions);
    }

    private void GenerateFunction(int function)
    {
        // Every function writes r0 first (see the class remarks); main seeds the other registers.
        Add(Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0, immediate: Immediate()));
        if (function == 0)
        {
            foreach (byte r in new byte[] { 3, 4, 5, 6, 7, 8, 9 })
            {
                if (random.Next(4) != 0)
                {
                    var (first, second) = Instruction.LoadImm64(r, (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40));
                    _items.Add(new Item([first, second]));
                }
            }
        }

        int count = random.Next(4, 28);
        var pendingJumps = new List<int>();
        for (int i = 0; i < count; i++)
        {
            int kind = random.Next(100);
            if (kind < 30)
            {
                Alu();
            }
            else if (kind < 45)
            {
                pendingJumps.Add(_items.Count);
                _items.Add(null!); // a forward jump, resolved once the targets exist
            }
            else if (kind < 65)
            {
                Memory();
            }
            else if (kind < 72)
            {
                Atomic();
            }
            else if (kind < 77)
            {
                LegacyLoad();
            }
            else if (kind < 85)
            {
                Call();
            }
            else if (kind < 92)
            {
                Loop();
            }
            else
            {
                Alu();
            }
        }

        Add(Instruction.Exit);
        foreach (int index in pendingJumps)
        {
            int target = index + 1 + random.Next(Math.Min(8, _items.Count - index - 1));
            while (_items[target] is { NoJumpTarget: true })
            {
                target++;
            }

            _items[index] = new Item([ConditionalJump()]) { JumpTo = target };
        }
    }

    private void Add(Instruction insn) => _items.Add(new Item([insn]));

    private int Immediate() => random.Next(3) switch
    {
        0 => SpecialImmediates[random.Next(SpecialImmediates.Length)],
        1 => random.Next(-300, 300),
        _ => random.Next(int.MinValue, int.MaxValue),
    };

    private byte AnySource() => (byte)random.Next(11);

    private byte WritableRegister() => Writable[random.Next(Writable.Length)];

    private void Alu()
    {
        bool is64 = random.Next(2) == 0;
        var op = AluOperations[random.Next(AluOperations.Length)];
        bool useRegister = random.Next(2) == 0;
        byte dst = WritableRegister();
        switch (op)
        {
            case AluOperation.Neg:
                Add(Instruction.Alu(is64, op, OperandSource.Immediate, dst));
                return;
            case AluOperation.End:
            {
                int width = new[] { 16, 32, 64 }[random.Next(3)];
                var source = is64 ? OperandSource.Immediate : (random.Next(2) == 0 ? OperandSource.Immediate : OperandSource.Register);
                Add(Instruction.Alu(is64, op, source, dst, immediate: width));
                return;
            }

            case AluOperation.Mov when useRegister:
            {
                short[] offsets = is64 ? [0, 0, 8, 16, 32] : [0, 0, 8, 16];
                Add(Instruction.Alu(is64, op, OperandSource.Register, dst, AnySource(), offset: offsets[random.Next(offsets.Length)]));
                return;
            }

            case AluOperation.Div:
            case AluOperation.Mod:
            {
                short signed = (short)random.Next(2);
                Add(useRegister
                    ? Instruction.Alu(is64, op, OperandSource.Register, dst, AnySource(), offset: signed)
                    : Instruction.Alu(is64, op, OperandSource.Immediate, dst, immediate: Immediate(), offset: signed));
                return;
            }
        }

        Add(useRegister
            ? Instruction.Alu(is64, op, OperandSource.Register, dst, AnySource())
            : Instruction.Alu(is64, op, OperandSource.Immediate, dst, immediate: Immediate()));
    }

    private Instruction ConditionalJump()
    {
        bool is32 = random.Next(3) == 0;
        var op = Conditions[random.Next(Conditions.Length)];
        return random.Next(2) == 0
            ? Instruction.Jump(is32, op, OperandSource.Register, (byte)random.Next(11), AnySource(), 0, 0)
            : Instruction.Jump(is32, op, OperandSource.Immediate, (byte)random.Next(11), 0, Immediate(), 0);
    }

    private static readonly MemorySize[] Sizes = [MemorySize.Byte, MemorySize.Half, MemorySize.Word, MemorySize.DoubleWord];

    /// <summary>A base register and offset: mostly a valid stack or input slot, sometimes a wild one.</summary>
    private (byte Base, short Offset) Slot(int size, bool aligned)
    {
        int pick = random.Next(50);
        if (pick == 0)
        {
            return (AnySource(), (short)random.Next(-600, 600)); // probably faults
        }

        if (pick == 1)
        {
            return (1, (short)(inputLength - size + 1 + random.Next(8))); // past the end of the input
        }

        if (random.Next(2) == 0)
        {
            int slots = 512 / size;
            int offset = aligned ? -size * random.Next(1, slots + 1) : -random.Next(size, 513);
            return (10, (short)offset);
        }

        int inputOffset = aligned ? size * random.Next(inputLength / size) : random.Next(inputLength - size + 1);
        return (1, (short)inputOffset);
    }

    private void Memory()
    {
        var size = Sizes[random.Next(Sizes.Length)];
        int bytes = Instruction.BytesOf(size);
        int kind = random.Next(3);
        if (kind == 0)
        {
            var (b, off) = Slot(bytes, aligned: false);
            var mode = size != MemorySize.DoubleWord && random.Next(3) == 0 ? MemoryMode.MemSx : MemoryMode.Mem;
            Add(Instruction.Memory(InstructionClass.Ldx, mode, size, WritableRegister(), b, off));
        }
        else if (kind == 1)
        {
            var (b, off) = Slot(bytes, aligned: false);
            Add(Instruction.Memory(InstructionClass.Stx, MemoryMode.Mem, size, b, AnySource(), off));
        }
        else
        {
            var (b, off) = Slot(bytes, aligned: false);
            Add(Instruction.Memory(InstructionClass.St, MemoryMode.Mem, size, b, 0, off, Immediate()));
        }
    }

    private void Atomic()
    {
        var size = random.Next(2) == 0 ? MemorySize.Word : MemorySize.DoubleWord;
        int bytes = Instruction.BytesOf(size);
        var (b, off) = Slot(bytes, aligned: random.Next(20) != 0);
        var op = AtomicOperations[random.Next(AtomicOperations.Length)];
        byte src = WritableRegister();
        Add(Instruction.Memory(InstructionClass.Stx, MemoryMode.Atomic, size, b, src, off, (int)op));
    }

    private void LegacyLoad()
    {
        var size = new[] { MemorySize.Byte, MemorySize.Half, MemorySize.Word }[random.Next(3)];
        bool inBounds = random.Next(15) != 0;
        int offset = inBounds ? random.Next(inputLength - Instruction.BytesOf(size) + 1) : inputLength + random.Next(-2, 10);
        if (random.Next(2) == 0)
        {
            Add(Instruction.Memory(InstructionClass.Ld, MemoryMode.Abs, size, 0, 0, 0, offset));
        }
        else
        {
            // ldind: r_src + imm, with r_src made small first so the load usually lands in the packet.
            byte src = WritableRegister();
            Add(Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, src, immediate: random.Next(4)));
            Add(Instruction.Memory(InstructionClass.Ld, MemoryMode.Ind, size, 0, src, 0, offset - random.Next(4)));
        }
    }

    private void Call()
    {
        int kind = random.Next(10);
        bool canCallFunction = _currentFunction + 1 < _functionCount || _allowRecursion;
        if (kind < 5 || !canCallFunction)
        {
            int helper = random.Next(1, 4);
            if (random.Next(16) == 0)
            {
                // r3 picks success or failure; the target is the program itself, from pc 0.
                Add(Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 3, immediate: random.Next(4)));
                Add(new Instruction(Opcode.Call, 0, (byte)CallKind.Helper, 0, TailCallSelfHelper));
                return;
            }

            if (helper == TouchHelper)
            {
                Add(Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 2, immediate: random.Next(-1, 20)));
            }

            if (random.Next(4) == 0)
            {
                // callx with a helper id in r0.
                Add(Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0, immediate: random.Next(8) == 0 ? 9 : helper));
                Add(new Instruction(Opcode.CallX, 0, 0, 0, 0));
            }
            else
            {
                Add(new Instruction(Opcode.Call, 0, (byte)CallKind.Helper, 0, helper));
            }

            return;
        }

        // A later function (or, rarely, this one: recursion until the frame limit).
        int target = _currentFunction + 1 < _functionCount ? random.Next(_currentFunction + 1, _functionCount) : _currentFunction;
        if (target != _currentFunction && random.Next(5) == 0)
        {
            // Not for recursion: nested loops would multiply the work.
            BpfLoop(target);
            return;
        }

        if (random.Next(3) == 0)
        {
            var (first, second) = Instruction.LoadImm64(0, 0, Imm64Source.Function);
            _items.Add(new Item([first, second]) { CallFunction = target, FunctionPointer = true });
            Add(new Instruction(Opcode.CallX, 0, 0, 0, 0));
        }
        else
        {
            _items.Add(new Item([new Instruction(Opcode.Call, 0, (byte)CallKind.Local, 0, 0)]) { CallFunction = target });
        }
    }

    /// <summary>
    /// bpf_loop(r1 = 0-4 iterations, r2 = the function, r3 = the input pointer, r4 = flags, mostly 0); r2 is overwritten
    /// right after so that the code address never reaches a result, and r1 gets the input pointer back. Nothing jumps
    /// into the sequence.
    /// </summary>
    private void BpfLoop(int target)
    {
        int first = _items.Count;
        Add(Instruction.Alu(true, AluOperation.Mov, OperandSource.Register, 3, 1));
        Add(Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 1, immediate: random.Next(5)));
        var (load, second) = Instruction.LoadImm64(2, 0, Imm64Source.Function);
        _items.Add(new Item([load, second]) { CallFunction = target, FunctionPointer = true });
        Add(Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 4, immediate: random.Next(10) == 0 ? 1 : 0));
        Add(new Instruction(Opcode.Call, 0, (byte)CallKind.Helper, 0, LoopHelper.Loop));
        Add(Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 2, immediate: Immediate()));

        // r1 carries the input pointer everywhere else: put it back.
        Add(Instruction.Alu(true, AluOperation.Mov, OperandSource.Register, 1, 3));
        for (int i = first + 1; i < _items.Count; i++)
        {
            _items[i].NoJumpTarget = true;
        }
    }

    private void Loop()
    {
        // r9 = n; body: ...; r9 -= 1; if r9 != 0 goto body. Nothing else writes r9, and nothing jumps into the body.
        Add(Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 9, immediate: random.Next(1, 6)));
        int bodyStart = _items.Count;
        int length = random.Next(1, 5);
        for (int i = 0; i < length; i++)
        {
            switch (random.Next(4))
            {
                case 0: Memory(); break;
                case 1: Atomic(); break;
                case 2 when _currentFunction + 1 < _functionCount: Call(); break;
                default: Alu(); break;
            }
        }

        Add(Instruction.Alu(true, AluOperation.Sub, OperandSource.Immediate, 9, immediate: 1));
        _items.Add(new Item([Instruction.Jump(false, JumpOperation.Jne, OperandSource.Immediate, 9, 0, 0, 0)]) { JumpTo = bodyStart });
        for (int i = bodyStart; i < _items.Count; i++)
        {
            _items[i].NoJumpTarget = true;
        }
    }

    private static Instruction[] Layout(List<List<Item>> functions)
    {
        // Slot index of every item, and the first slot of every function.
        var starts = new int[functions.Count];
        var itemSlots = new List<int[]>();
        int slot = 0;
        for (int f = 0; f < functions.Count; f++)
        {
            starts[f] = slot;
            var positions = new int[functions[f].Count + 1];
            for (int i = 0; i < functions[f].Count; i++)
            {
                positions[i] = slot;
                slot += functions[f][i].Slots.Length;
            }

            positions[^1] = slot;
            itemSlots.Add(positions);
        }

        var code = new List<Instruction>(slot);
        for (int f = 0; f < functions.Count; f++)
        {
            for (int i = 0; i < functions[f].Count; i++)
            {
                var item = functions[f][i];
                int pc = itemSlots[f][i];
                var first = item.Slots[0];
                if (item.JumpTo >= 0)
                {
                    first = first.WithOffset((short)(itemSlots[f][item.JumpTo] - (pc + 1)));
                }
                else if (item.CallFunction >= 0)
                {
                    first = first.WithImmediate(starts[item.CallFunction] - (pc + 1));
                }

                code.Add(first);
                for (int s = 1; s < item.Slots.Length; s++)
                {
                    code.Add(item.Slots[s]);
                }
            }
        }

        return [.. code];
    }
}
