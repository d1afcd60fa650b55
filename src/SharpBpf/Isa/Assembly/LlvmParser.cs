namespace SharpBpf.Isa.Assembly;

/// <summary>
/// Parses one statement of the C-like syntax of <c>llvm-objdump</c> / <c>llvm-mc</c>, including the
/// variations <c>bpftool prog dump xlated</c> prints (the kernel's <c>r10 -8</c>, <c>goto pc+3</c>,
/// <c>call name#1</c>, <c>atomic64_fetch_add(...)</c>, <c>map[id:N]</c>).
/// </summary>
internal static class LlvmParser
{
    private const string StatementExpected =
        "an instruction (a register assignment, a store, 'if', 'goto', 'gotol', 'call', 'callx', 'exit', 'lock' or 'ld_pseudo')";

    private static readonly (string Text, AluOperation Op, bool Signed)[] CompoundAssignments =
    [
        ("s>>=", AluOperation.Arsh, false),
        ("<<=", AluOperation.Lsh, false),
        (">>=", AluOperation.Rsh, false),
        ("s/=", AluOperation.Div, true),
        ("s%=", AluOperation.Mod, true),
        ("+=", AluOperation.Add, false),
        ("-=", AluOperation.Sub, false),
        ("*=", AluOperation.Mul, false),
        ("/=", AluOperation.Div, false),
        ("%=", AluOperation.Mod, false),
        ("|=", AluOperation.Or, false),
        ("&=", AluOperation.And, false),
        ("^=", AluOperation.Xor, false),
    ];

    private static readonly (string Text, JumpOperation Op)[] Comparisons =
    [
        ("s>=", JumpOperation.Jsge),
        ("s<=", JumpOperation.Jsle),
        ("s>", JumpOperation.Jsgt),
        ("s<", JumpOperation.Jslt),
        ("==", JumpOperation.Jeq),
        ("!=", JumpOperation.Jne),
        (">=", JumpOperation.Jge),
        ("<=", JumpOperation.Jle),
        (">", JumpOperation.Jgt),
        ("<", JumpOperation.Jlt),
        ("&", JumpOperation.Jset),
    ];

    private static readonly (string Text, AtomicOperation Op)[] LockOperations =
    [
        ("+=", AtomicOperation.Add),
        ("|=", AtomicOperation.Or),
        ("&=", AtomicOperation.And),
        ("^=", AtomicOperation.Xor),
    ];

    /// <summary>Parses the statement at the cursor.</summary>
    /// <param name="c">The cursor.</param>
    /// <param name="opcodeHint">The opcode from a bpftool <c>(hh)</c> prefix, which tells <c>lddw</c> from <c>mov</c>.</param>
    public static Statement Parse(LineCursor c, byte? opcodeHint)
    {
        var statement = ParseStatement(c, opcodeHint);
        c.ExpectEnd();
        return statement;
    }

    private static Statement ParseStatement(LineCursor c, byte? opcodeHint)
    {
        if (c.Peek() == '*')
        {
            return ParseStore(c);
        }

        var word = c.PeekIdentifier() ?? throw c.Error(StatementExpected);
        if (Operands.LooksLikeRegister(word))
        {
            return ParseAssignment(c, opcodeHint);
        }

        c.Position += word.Length;
        switch (word)
        {
            case "exit":
                return new Statement(Instruction.Exit);
            case "call":
                return Operands.ReadCallOperands(c);
            case "callx":
                return new Statement(new Instruction(Opcode.CallX, Operands.ReadBaseRegister(c), 0, 0, 0));
            case "goto":
            {
                var target = Operands.ReadJumpTarget(c, wide: false);
                return new Statement(new Instruction(Opcode.Ja, 0, 0, (short)target.Value, 0), target.Reference(FixupKind.Offset16));
            }

            case "gotol":
            {
                var target = Operands.ReadJumpTarget(c, wide: true);
                return new Statement(new Instruction(Opcode.Ja32, 0, 0, 0, target.Value), target.Reference(FixupKind.Immediate32));
            }

            case "may_goto":
            {
                // BPF_JMP | BPF_JCOND with src BPF_MAY_GOTO (0): a bounded-loop escape hatch.
                var target = Operands.ReadJumpTarget(c, wide: false);
                return new Statement(new Instruction(0xe5, 0, 0, (short)target.Value, 0), target.Reference(FixupKind.Offset16));
            }

            case "if":
                return ParseConditionalJump(c);
            case "lock":
                return ParseLock(c);
            case "ld_pseudo":
            {
                // llvm's "ld_pseudo r1, SRC, IMM": a 64-bit load with a pseudo source and a 32-bit value.
                byte dst = Operands.ReadLlvmRegister(c, want32: false);
                c.Expect(",");
                byte source = (byte)c.ReadIntegerInRange(0, 15, "a pseudo source (0 to 15)");
                c.Expect(",");
                int imm = c.ReadImm32();
                var (first, second) = Instruction.LoadImm64(dst, unchecked((uint)imm), (Imm64Source)source);
                return new Statement(first, second);
            }

            default:
                c.Position -= word.Length;
                throw c.Error(StatementExpected);
        }
    }

    /// <summary><c>if rD OP rS|imm goto target</c>.</summary>
    private static Statement ParseConditionalJump(LineCursor c)
    {
        byte dst = Operands.ReadLlvmRegister(c, out bool is32);
        c.SkipSpaces();
        JumpOperation? op = null;
        foreach (var (text, candidate) in Comparisons)
        {
            if (c.TryConsume(text))
            {
                op = candidate;
                break;
            }
        }

        if (op is null)
        {
            throw c.Error("a comparison (==, !=, >, >=, <, <=, s>, s>=, s<, s<=, &)");
        }

        byte src = 0;
        int imm = 0;
        var source = OperandSource.Immediate;
        if (Operands.AtLlvmRegister(c))
        {
            src = Operands.ReadLlvmRegister(c, is32);
            source = OperandSource.Register;
        }
        else if (c.AtNumber())
        {
            imm = c.ReadImm32();
        }
        else
        {
            throw c.Error(is32 ? "a register (w0 to w10) or an immediate" : "a register (r0 to r10) or an immediate");
        }

        c.ExpectWord("goto");
        var target = Operands.ReadJumpTarget(c, wide: false);
        return new Statement(
            Instruction.Jump(is32, op.Value, source, dst, src, imm, (short)target.Value), target.Reference(FixupKind.Offset16));
    }

    /// <summary><c>lock *(u32|u64 *)(rD + off) OP= rS</c>.</summary>
    private static Statement ParseLock(LineCursor c)
    {
        c.SkipSpaces();
        int castStart = c.Position;
        var size = ReadPointerCast(c, out bool signed, requireStar: true);
        if (signed || (size != MemorySize.Word && size != MemorySize.DoubleWord))
        {
            throw c.ErrorAt(castStart, "an atomic access '*(u32 *)' or '*(u64 *)'");
        }

        var (dst, offset) = ReadParenthesizedAddress(c);
        c.SkipSpaces();
        AtomicOperation? op = null;
        foreach (var (text, candidate) in LockOperations)
        {
            if (c.TryConsume(text))
            {
                op = candidate;
                break;
            }
        }

        if (op is null)
        {
            throw c.Error("an atomic operation (+=, |=, &=, ^=)");
        }

        byte src = Operands.ReadLlvmRegister(c, out _);
        return new Statement(Instruction.Memory(InstructionClass.Stx, MemoryMode.Atomic, size, dst, src, offset, (int)op.Value));
    }

    /// <summary><c>*(uN *)(rD + off) = rS | imm</c>.</summary>
    private static Statement ParseStore(LineCursor c)
    {
        c.SkipSpaces();
        int castStart = c.Position;
        var size = ReadPointerCast(c, out bool signed, requireStar: true);
        if (signed)
        {
            throw c.ErrorAt(castStart, "a store of type u8, u16, u32 or u64");
        }

        var (dst, offset) = ReadParenthesizedAddress(c);
        c.Expect("=");
        if (Operands.AtLlvmRegister(c))
        {
            byte src = Operands.ReadLlvmRegister(c, out _);
            return new Statement(Instruction.Memory(InstructionClass.Stx, MemoryMode.Mem, size, dst, src, offset));
        }

        if (!c.AtNumber())
        {
            throw c.Error("a register or an immediate");
        }

        int imm = c.ReadImm32();
        return new Statement(Instruction.Memory(InstructionClass.St, MemoryMode.Mem, size, dst, 0, offset, imm));
    }

    /// <summary>Every statement that starts with a destination register.</summary>
    private static Statement ParseAssignment(LineCursor c, byte? opcodeHint)
    {
        c.SkipSpaces();
        int dstStart = c.Position;
        byte dst = Operands.ReadLlvmRegister(c, out bool is32);
        bool is64 = !is32;
        c.SkipSpaces();
        foreach (var (text, op, signed) in CompoundAssignments)
        {
            if (!c.TryConsume(text))
            {
                continue;
            }

            short offset = (short)(signed ? 1 : 0);
            if (Operands.AtLlvmRegister(c))
            {
                byte src = Operands.ReadLlvmRegister(c, is32);
                return new Statement(Instruction.Alu(is64, op, OperandSource.Register, dst, src, 0, offset));
            }

            if (!c.AtNumber())
            {
                throw c.Error(is32 ? "a register (w0 to w10) or an immediate" : "a register (r0 to r10) or an immediate");
            }

            int imm = c.ReadImm32();
            return new Statement(Instruction.Alu(is64, op, OperandSource.Immediate, dst, 0, imm, offset));
        }

        if (c.Peek() != '=' || c.PeekRaw(1) == '=')
        {
            throw c.Error("an assignment operator (=, +=, -=, *=, /=, s/=, %=, s%=, |=, &=, ^=, <<=, >>=, s>>=)");
        }

        c.Position++;
        return ParseAssignedValue(c, dst, dstStart, is32, opcodeHint);
    }

    /// <summary>The right-hand side of <c>rD = ...</c>.</summary>
    private static Statement ParseAssignedValue(LineCursor c, byte dst, int dstStart, bool is32, byte? opcodeHint)
    {
        bool is64 = !is32;
        char next = c.Peek();
        if (next == '-' && !char.IsAsciiDigit(c.PeekRaw(1)))
        {
            // r0 = -r0: negation (the operand must be the destination itself).
            c.Position++;
            ExpectSameRegister(c, dst, is32);
            return new Statement(Instruction.Alu(is64, AluOperation.Neg, OperandSource.Immediate, dst));
        }

        if (c.AtNumber())
        {
            return ParseConstant(c, dst, is32, opcodeHint);
        }

        if (next == '*')
        {
            return ParseLoad(c, dst, is32);
        }

        if (next == '(')
        {
            // r1 = (s8)r2: sign-extending move.
            c.Position++;
            var type = c.ReadIdentifier("a sign-extension type (s8, s16, s32)");
            short bits = type switch
            {
                "s8" => 8,
                "s16" => 16,
                "s32" when is64 => 32,
                _ => 0,
            };
            if (bits == 0)
            {
                c.Position -= type.Length;
                throw c.Error(is64 ? "a sign-extension type (s8, s16, s32)" : "a sign-extension type (s8, s16)");
            }

            c.Expect(")");
            byte src = Operands.ReadLlvmRegister(c, is32);
            return new Statement(Instruction.Alu(is64, AluOperation.Mov, OperandSource.Register, dst, src, 0, bits));
        }

        var word = c.PeekIdentifier() ?? throw c.Error("a register, an immediate or an expression");
        if (Operands.LooksLikeRegister(word))
        {
            byte src = Operands.ReadLlvmRegister(c, is32);
            return new Statement(Instruction.Alu(is64, AluOperation.Mov, OperandSource.Register, dst, src));
        }

        if (Operands.TryByteSwap(word, acceptSwapAlias: false, out byte opcode, out int width))
        {
            if (is32)
            {
                throw c.Error("a 64-bit destination register for a byte swap");
            }

            c.Position += word.Length;
            ExpectSameRegister(c, dst, is32);
            return new Statement(new Instruction(opcode, dst, 0, 0, width));
        }

        if (word == "addr_space_cast")
        {
            // r1 = addr_space_cast(r2, dst_as, src_as): a mov with offset 1, address spaces in imm.
            c.Position += word.Length;
            c.Expect("(");
            byte src = Operands.ReadLlvmRegister(c, want32: false);
            c.Expect(",");
            int destinationSpace = (int)c.ReadIntegerInRange(0, ushort.MaxValue, "an address space (0 to 65535)");
            c.Expect(",");
            int sourceSpace = (int)c.ReadIntegerInRange(0, ushort.MaxValue, "an address space (0 to 65535)");
            c.Expect(")");
            return new Statement(Instruction.Alu(true, AluOperation.Mov, OperandSource.Register, dst, src, (destinationSpace << 16) | sourceSpace, 1));
        }

        if (Operands.TryReadPseudoImm64(c, dst) is { } pseudo)
        {
            if (is32)
            {
                throw c.ErrorAt(c.Position, "a 64-bit destination register for a 64-bit load");
            }

            SkipLl(c);
            return pseudo;
        }

        if (TryAtomicFunction(c, word, dst, dstStart, is32) is { } atomic)
        {
            return atomic;
        }

        throw c.Error("a register, an immediate or an expression");
    }

    /// <summary><c>rD = imm</c>, <c>rD = imm ll</c> (lddw) or, after a bpftool (18) prefix, lddw without ll.</summary>
    private static Statement ParseConstant(LineCursor c, byte dst, bool is32, byte? opcodeHint)
    {
        c.SkipSpaces();
        int start = c.Position;
        var value = c.ReadInteger("an immediate");
        int end = c.Position;
        bool wide = c.TryConsumeWord("ll") || opcodeHint == Opcode.LoadImm64;
        if (wide)
        {
            if (is32)
            {
                throw new AssemblyException(c.LineNumber, start + 1, "a 64-bit destination register for a 64-bit immediate", c.Text[start..end]);
            }

            if (value < long.MinValue || value > ulong.MaxValue)
            {
                throw new AssemblyException(c.LineNumber, start + 1, "a 64-bit immediate", c.Text[start..end]);
            }

            return Operands.LoadImm64(dst, (ulong)(value & ulong.MaxValue));
        }

        if (value < int.MinValue || value > uint.MaxValue)
        {
            throw new AssemblyException(
                c.LineNumber, start + 1, "a 32-bit immediate (-2147483648 to 0xffffffff; add 'll' for a 64-bit load)", c.Text[start..end]);
        }

        int imm = unchecked((int)(uint)(ulong)(value & uint.MaxValue));
        return new Statement(Instruction.Alu(!is32, AluOperation.Mov, OperandSource.Immediate, dst, 0, imm));
    }

    private static void SkipLl(LineCursor c) => c.TryConsumeWord("ll");

    /// <summary><c>rD = *(uN *)(rS + off)</c>, <c>*(sN *)</c> (sign-extending) and <c>*(uN *)skb[...]</c>.</summary>
    private static Statement ParseLoad(LineCursor c, byte dst, bool is32)
    {
        var size = ReadPointerCast(c, out bool signed, requireStar: true);
        if (c.TryConsumeWord("skb"))
        {
            return ParsePacketLoad(c, dst, size, signed);
        }

        if (signed && size == MemorySize.DoubleWord)
        {
            throw c.Error("a sign-extending load of type s8, s16 or s32");
        }

        if (is32 && (signed || size == MemorySize.DoubleWord))
        {
            throw c.Error("a 64-bit destination register (r0 to r10) for this load");
        }

        var (src, offset) = ReadParenthesizedAddress(c);
        var mode = signed ? MemoryMode.MemSx : MemoryMode.Mem;
        return new Statement(Instruction.Memory(InstructionClass.Ldx, mode, size, dst, src, offset));
    }

    /// <summary><c>r0 = *(uN *)skb[imm]</c> (LD ABS) and <c>r0 = *(uN *)skb[rS + imm]</c> (LD IND).</summary>
    private static Statement ParsePacketLoad(LineCursor c, byte dst, MemorySize size, bool signed)
    {
        if (dst != 0 || signed || size == MemorySize.DoubleWord)
        {
            throw c.ErrorAt(c.Position - 3, "a packet load 'r0 = *(u8|u16|u32 *)skb[...]'");
        }

        c.Expect("[");
        if (Operands.AtLlvmRegister(c))
        {
            byte src = Operands.ReadLlvmRegister(c, want32: false);
            int imm = 0;
            char sign = c.Peek();
            if (sign == '+' || sign == '-')
            {
                c.Position++;
                int start = c.Position;
                var magnitude = c.ReadInteger("an offset", allowSign: false);
                var value = sign == '-' ? -magnitude : magnitude;
                if (value < int.MinValue || value > int.MaxValue)
                {
                    throw new AssemblyException(c.LineNumber, start, "a 32-bit offset", c.Text[(start - 1)..c.Position]);
                }

                imm = (int)value;
            }

            c.Expect("]");
            return new Statement(Instruction.Memory(InstructionClass.Ld, MemoryMode.Ind, size, 0, src, 0, imm));
        }

        int absolute = c.ReadImm32("a packet offset");
        c.Expect("]");
        return new Statement(Instruction.Memory(InstructionClass.Ld, MemoryMode.Abs, size, 0, 0, 0, absolute));
    }

    /// <summary>
    /// The atomic read-modify-write forms that assign a register:
    /// llvm's <c>atomic_fetch_add((u64 *)(r10 - 8), r0)</c>, <c>xchg_64(r10 - 8, r1)</c>, <c>xchg32_32</c>,
    /// <c>cmpxchg_64(r10 - 8, r0, r1)</c>, <c>cmpxchg32_32</c>, and the kernel's <c>atomic[64]_fetch_OP</c>,
    /// <c>atomic[64]_xchg</c>, <c>atomic[64]_cmpxchg</c> with a typed pointer.
    /// </summary>
    private static Statement? TryAtomicFunction(LineCursor c, string word, byte dst, int dstStart, bool is32)
    {
        MemorySize? impliedSize = null;
        bool typedPointer;
        AtomicOperation op;
        string name = word;
        bool kernel64 = false;
        if (name.StartsWith("atomic64_", StringComparison.Ordinal))
        {
            kernel64 = true;
            name = "atomic_" + name["atomic64_".Length..];
        }

        switch (name)
        {
            case "atomic_fetch_add": op = AtomicOperation.FetchAdd; typedPointer = true; break;
            case "atomic_fetch_or": op = AtomicOperation.FetchOr; typedPointer = true; break;
            case "atomic_fetch_and": op = AtomicOperation.FetchAnd; typedPointer = true; break;
            case "atomic_fetch_xor": op = AtomicOperation.FetchXor; typedPointer = true; break;
            case "atomic_xchg": op = AtomicOperation.Xchg; typedPointer = true; break;
            case "atomic_cmpxchg": op = AtomicOperation.CmpXchg; typedPointer = true; break;
            case "xchg_64" when !kernel64: op = AtomicOperation.Xchg; typedPointer = false; impliedSize = MemorySize.DoubleWord; break;
            case "xchg32_32" when !kernel64: op = AtomicOperation.Xchg; typedPointer = false; impliedSize = MemorySize.Word; break;
            case "cmpxchg_64" when !kernel64: op = AtomicOperation.CmpXchg; typedPointer = false; impliedSize = MemorySize.DoubleWord; break;
            case "cmpxchg32_32" when !kernel64: op = AtomicOperation.CmpXchg; typedPointer = false; impliedSize = MemorySize.Word; break;
            default: return null;
        }

        c.Position += word.Length;
        c.Expect("(");
        MemorySize size;
        byte baseRegister;
        short offset;
        if (typedPointer)
        {
            c.Expect("(");
            int castStart = c.Position;
            size = ReadPointerCast(c, out bool signed, requireStar: false);
            bool sizeOk = !signed && (size == MemorySize.DoubleWord || (size == MemorySize.Word && !kernel64));
            if (!sizeOk)
            {
                throw c.ErrorAt(castStart, kernel64 ? "'u64 *'" : "'u32 *' or 'u64 *'");
            }

            c.Expect(")");
            (baseRegister, offset) = ReadParenthesizedAddress(c);
        }
        else
        {
            size = impliedSize!.Value;
            baseRegister = Operands.ReadBaseRegister(c);
            offset = 0;
            char sign = c.Peek();
            if (sign == '+' || sign == '-')
            {
                offset = Operands.ReadDisplacement(c);
            }
        }

        c.Expect(",");
        if (op == AtomicOperation.CmpXchg)
        {
            if (dst != 0)
            {
                throw c.ErrorAt(dstStart, is32 ? "'w0' (cmpxchg always returns in r0)" : "'r0' (cmpxchg always returns in r0)");
            }

            ExpectSameRegister(c, 0, is32, allowOtherWidth: true);
            c.Expect(",");
            byte src = Operands.ReadLlvmRegister(c, out _);
            c.Expect(")");
            return new Statement(Instruction.Memory(InstructionClass.Stx, MemoryMode.Atomic, size, baseRegister, src, offset, (int)op));
        }

        // The fetched value lands in the source register, so it must be the destination.
        ExpectSameRegister(c, dst, is32, allowOtherWidth: true);
        c.Expect(")");
        return new Statement(Instruction.Memory(InstructionClass.Stx, MemoryMode.Atomic, size, baseRegister, dst, offset, (int)op));
    }

    /// <summary>Reads a register that must be <paramref name="expected"/> (negation, byte swaps, atomics).</summary>
    private static void ExpectSameRegister(LineCursor c, byte expected, bool is32, bool allowOtherWidth = false)
    {
        var word = c.PeekIdentifier();
        if (word is not null && Operands.IsRegisterName(word, out byte number, out bool width32)
            && number == expected && (allowOtherWidth || width32 == is32))
        {
            c.Position += word.Length;
            return;
        }

        throw c.Error($"'{(is32 ? 'w' : 'r')}{expected}' (the destination register)");
    }

    /// <summary>Reads <c>*(u32 *)</c> (or, without the leading star, <c>u32 *</c> inside parentheses already open).</summary>
    private static MemorySize ReadPointerCast(LineCursor c, out bool signed, bool requireStar)
    {
        const string typeExpected = "a type (u8, u16, u32, u64, s8, s16, s32)";
        if (requireStar)
        {
            c.Expect("*");
            c.Expect("(");
        }

        c.SkipSpaces();
        int typeStart = c.Position;
        var type = c.ReadIdentifier(typeExpected);
        (MemorySize size, signed, bool ok) = type switch
        {
            "u8" => (MemorySize.Byte, false, true),
            "u16" => (MemorySize.Half, false, true),
            "u32" => (MemorySize.Word, false, true),
            "u64" => (MemorySize.DoubleWord, false, true),
            "s8" => (MemorySize.Byte, true, true),
            "s16" => (MemorySize.Half, true, true),
            "s32" => (MemorySize.Word, true, true),
            _ => (MemorySize.Word, false, false),
        };
        if (!ok)
        {
            throw c.ErrorAt(typeStart, typeExpected);
        }

        c.Expect("*");
        if (requireStar)
        {
            c.Expect(")");
        }

        return size;
    }

    /// <summary>Reads <c>(rN + off)</c>, <c>(rN - off)</c>, <c>(rN +off)</c> or <c>(rN)</c>.</summary>
    private static (byte Register, short Offset) ReadParenthesizedAddress(LineCursor c) =>
        Operands.ReadAddress(c, '(', ')', Operands.ReadBaseRegister, "'('");
}
