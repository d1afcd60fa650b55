namespace SharpBpf.Isa.Assembly;

/// <summary>
/// Parses one statement of the uBPF / bpf_conformance dialect: a mnemonic and comma-separated
/// operands, registers written <c>%rN</c> and memory operands <c>[%rN+off]</c>.
/// </summary>
internal static class UbpfParser
{
    private const string MnemonicExpected = "a uBPF mnemonic";

    private static readonly Dictionary<string, AluOperation> AluOperations = new(StringComparer.Ordinal)
    {
        ["add"] = AluOperation.Add,
        ["sub"] = AluOperation.Sub,
        ["mul"] = AluOperation.Mul,
        ["div"] = AluOperation.Div,
        ["sdiv"] = AluOperation.Div,
        ["or"] = AluOperation.Or,
        ["and"] = AluOperation.And,
        ["lsh"] = AluOperation.Lsh,
        ["rsh"] = AluOperation.Rsh,
        ["neg"] = AluOperation.Neg,
        ["mod"] = AluOperation.Mod,
        ["smod"] = AluOperation.Mod,
        ["xor"] = AluOperation.Xor,
        ["mov"] = AluOperation.Mov,
        ["arsh"] = AluOperation.Arsh,
    };

    private static readonly Dictionary<string, JumpOperation> JumpOperations = new(StringComparer.Ordinal)
    {
        ["jeq"] = JumpOperation.Jeq,
        ["jgt"] = JumpOperation.Jgt,
        ["jge"] = JumpOperation.Jge,
        ["jset"] = JumpOperation.Jset,
        ["jne"] = JumpOperation.Jne,
        ["jsgt"] = JumpOperation.Jsgt,
        ["jsge"] = JumpOperation.Jsge,
        ["jlt"] = JumpOperation.Jlt,
        ["jle"] = JumpOperation.Jle,
        ["jslt"] = JumpOperation.Jslt,
        ["jsle"] = JumpOperation.Jsle,
    };

    private static readonly Dictionary<string, MemorySize> Sizes = new(StringComparer.Ordinal)
    {
        ["b"] = MemorySize.Byte,
        ["h"] = MemorySize.Half,
        ["w"] = MemorySize.Word,
        ["dw"] = MemorySize.DoubleWord,
    };

    private static readonly Dictionary<string, AtomicOperation> AtomicOperations = new(StringComparer.Ordinal)
    {
        ["add"] = AtomicOperation.Add,
        ["or"] = AtomicOperation.Or,
        ["and"] = AtomicOperation.And,
        ["xor"] = AtomicOperation.Xor,
        ["xchg"] = AtomicOperation.Xchg,
        ["cmpxchg"] = AtomicOperation.CmpXchg,
    };

    /// <summary>Whether <paramref name="word"/> is a uBPF mnemonic (used to detect the syntax of a line).</summary>
    public static bool IsMnemonic(string word) =>
        word is "exit" or "call" or "callx" or "ja" or "ja32" or "lock" or "lddw"
        || TrySplitSized(word, "ldx", out _) || TrySplitSized(word, "stx", out _) || TrySplitSized(word, "st", out _)
        || TrySplitSignedLoad(word, out _) || TrySplitSized(word, "ldabs", out _) || TrySplitSized(word, "ldind", out _)
        || Operands.TryByteSwap(word, acceptSwapAlias: true, out _, out _) || TryMovSx(word, out _, out _)
        || TrySplitWidth(word, out var baseName, out _, allow64: true) && AluOperations.ContainsKey(baseName)
        || TrySplitWidth(word, out baseName, out _, allow64: false) && JumpOperations.ContainsKey(baseName);

    /// <summary>Parses the statement at the cursor.</summary>
    public static Statement Parse(LineCursor c)
    {
        c.SkipSpaces();
        int start = c.Position;
        var mnemonic = c.PeekIdentifier() ?? throw c.Error(MnemonicExpected);
        c.Position += mnemonic.Length;
        var statement = ParseMnemonic(c, mnemonic, start);
        c.ExpectEnd();
        return statement;
    }

    private static Statement ParseMnemonic(LineCursor c, string mnemonic, int start)
    {
        switch (mnemonic)
        {
            case "exit":
                return new Statement(Instruction.Exit);
            case "call":
                return Operands.ReadCallOperands(c);
            case "callx":
                return new Statement(new Instruction(Opcode.CallX, Operands.ReadUbpfRegister(c), 0, 0, 0));
            case "ja":
            {
                var target = Operands.ReadJumpTarget(c, wide: false);
                return new Statement(
                    new Instruction(Opcode.Ja, 0, 0, (short)target.Value, 0), target.Reference(FixupKind.Offset16));
            }

            case "ja32":
            {
                var target = Operands.ReadJumpTarget(c, wide: true);
                return new Statement(
                    new Instruction(Opcode.Ja32, 0, 0, 0, target.Value), target.Reference(FixupKind.Immediate32));
            }

            case "lock":
                return ParseLock(c);
            case "lddw":
            {
                byte dst = Operands.ReadUbpfRegister(c);
                c.Expect(",");
                return Operands.TryReadPseudoImm64(c, dst) ?? Operands.LoadImm64(dst, c.ReadImm64());
            }
        }

        if (TrySplitSignedLoad(mnemonic, out var size))
        {
            return ParseLoad(c, MemoryMode.MemSx, size);
        }

        if (TrySplitSized(mnemonic, "ldx", out size))
        {
            return ParseLoad(c, MemoryMode.Mem, size);
        }

        if (TrySplitSized(mnemonic, "stx", out size))
        {
            var (dst, offset) = ReadMemory(c);
            c.Expect(",");
            byte src = Operands.ReadUbpfRegister(c);
            return new Statement(Instruction.Memory(InstructionClass.Stx, MemoryMode.Mem, size, dst, src, offset));
        }

        if (TrySplitSized(mnemonic, "st", out size))
        {
            var (dst, offset) = ReadMemory(c);
            c.Expect(",");
            int imm = c.ReadImm32();
            return new Statement(Instruction.Memory(InstructionClass.St, MemoryMode.Mem, size, dst, 0, offset, imm));
        }

        if (TrySplitSized(mnemonic, "ldabs", out size) && size != MemorySize.DoubleWord)
        {
            int imm = c.ReadImm32();
            return new Statement(Instruction.Memory(InstructionClass.Ld, MemoryMode.Abs, size, 0, 0, 0, imm));
        }

        if (TrySplitSized(mnemonic, "ldind", out size) && size != MemorySize.DoubleWord)
        {
            byte src = Operands.ReadUbpfRegister(c);
            c.Expect(",");
            int imm = c.ReadImm32();
            return new Statement(Instruction.Memory(InstructionClass.Ld, MemoryMode.Ind, size, 0, src, 0, imm));
        }

        if (Operands.TryByteSwap(mnemonic, acceptSwapAlias: true, out var opcode, out int width))
        {
            byte dst = Operands.ReadUbpfRegister(c);
            return new Statement(new Instruction(opcode, dst, 0, 0, width));
        }

        if (TryMovSx(mnemonic, out bool movsx64, out short bits))
        {
            byte dst = Operands.ReadUbpfRegister(c);
            c.Expect(",");
            byte src = Operands.ReadUbpfRegister(c);
            return new Statement(Instruction.Alu(movsx64, AluOperation.Mov, OperandSource.Register, dst, src, 0, bits));
        }

        if (TrySplitWidth(mnemonic, out var baseName, out bool is32, allow64: true) && AluOperations.TryGetValue(baseName, out var aluOp))
        {
            return ParseAlu(c, baseName, aluOp, !is32);
        }

        if (TrySplitWidth(mnemonic, out baseName, out is32, allow64: false) && JumpOperations.TryGetValue(baseName, out var jumpOp))
        {
            return ParseConditionalJump(c, jumpOp, is32);
        }

        throw c.ErrorAt(start, MnemonicExpected);
    }

    private static Statement ParseAlu(LineCursor c, string name, AluOperation op, bool is64)
    {
        byte dst = Operands.ReadUbpfRegister(c);
        if (op == AluOperation.Neg)
        {
            return new Statement(Instruction.Alu(is64, op, OperandSource.Immediate, dst));
        }

        short offset = (short)(name is "sdiv" or "smod" ? 1 : 0);
        c.Expect(",");
        if (Operands.AtUbpfRegister(c))
        {
            byte src = Operands.ReadUbpfRegister(c);
            return new Statement(Instruction.Alu(is64, op, OperandSource.Register, dst, src, 0, offset));
        }

        if (!c.AtNumber())
        {
            throw c.Error("a register (%r0 to %r10) or an immediate");
        }

        int imm = c.ReadImm32();
        return new Statement(Instruction.Alu(is64, op, OperandSource.Immediate, dst, 0, imm, offset));
    }

    private static Statement ParseConditionalJump(LineCursor c, JumpOperation op, bool is32)
    {
        byte dst = Operands.ReadUbpfRegister(c);
        c.Expect(",");
        byte src = 0;
        int imm = 0;
        var source = OperandSource.Immediate;
        if (Operands.AtUbpfRegister(c))
        {
            src = Operands.ReadUbpfRegister(c);
            source = OperandSource.Register;
        }
        else if (c.AtNumber())
        {
            imm = c.ReadImm32();
        }
        else
        {
            throw c.Error("a register (%r0 to %r10) or an immediate");
        }

        c.Expect(",");
        var target = Operands.ReadJumpTarget(c, wide: false);
        return new Statement(
            Instruction.Jump(is32, op, source, dst, src, imm, (short)target.Value), target.Reference(FixupKind.Offset16));
    }

    private static Statement ParseLoad(LineCursor c, MemoryMode mode, MemorySize size)
    {
        byte dst = Operands.ReadUbpfRegister(c);
        c.Expect(",");
        var (src, offset) = ReadMemory(c);
        return new Statement(Instruction.Memory(InstructionClass.Ldx, mode, size, dst, src, offset));
    }

    /// <summary><c>lock [fetch] op[32] [%rD+off], %rS</c>; xchg and cmpxchg always fetch.</summary>
    private static Statement ParseLock(LineCursor c)
    {
        bool fetch = c.TryConsumeWord("fetch");
        c.SkipSpaces();
        int opStart = c.Position;
        var word = c.ReadIdentifier("an atomic operation (add, or, and, xor, xchg, cmpxchg)");
        bool is32 = word.EndsWith("32", StringComparison.Ordinal);
        var name = is32 ? word[..^2] : word;
        if (!AtomicOperations.TryGetValue(name, out var op))
        {
            throw c.ErrorAt(opStart, "an atomic operation (add, or, and, xor, xchg, cmpxchg)");
        }

        int imm = (int)op | (fetch ? 0x01 : 0);
        var (dst, offset) = ReadMemory(c);
        c.Expect(",");
        byte src = Operands.ReadUbpfRegister(c);
        var size = is32 ? MemorySize.Word : MemorySize.DoubleWord;
        return new Statement(Instruction.Memory(InstructionClass.Stx, MemoryMode.Atomic, size, dst, src, offset, imm));
    }

    /// <summary>Reads <c>[%rN]</c>, <c>[%rN+off]</c> or <c>[%rN-off]</c>.</summary>
    private static (byte Register, short Offset) ReadMemory(LineCursor c) =>
        Operands.ReadAddress(c, '[', ']', Operands.ReadUbpfRegister, "a memory operand '[%rN+offset]'");

    private static bool TrySplitSized(string word, string prefix, out MemorySize size)
    {
        size = default;
        return word.StartsWith(prefix, StringComparison.Ordinal) && Sizes.TryGetValue(word[prefix.Length..], out size);
    }

    private static bool TrySplitSignedLoad(string word, out MemorySize size) =>
        TrySplitSized(word, "ldxs", out size) && size != MemorySize.DoubleWord;

    /// <summary>Splits an optional "32" or "64" width suffix; no suffix means 64 bits.</summary>
    private static bool TrySplitWidth(string word, out string baseName, out bool is32, bool allow64)
    {
        is32 = word.EndsWith("32", StringComparison.Ordinal);
        bool is64 = allow64 && word.EndsWith("64", StringComparison.Ordinal);
        baseName = is32 || is64 ? word[..^2] : word;
        return baseName.Length > 0;
    }

    /// <summary>movsx864, movsx832, movsx1664, movsx1632, movsx3264: source bits then destination width.</summary>
    private static bool TryMovSx(string word, out bool is64, out short bits)
    {
        (is64, bits) = word switch
        {
            "movsx864" => (true, (short)8),
            "movsx832" => (false, (short)8),
            "movsx1664" => (true, (short)16),
            "movsx1632" => (false, (short)16),
            "movsx3264" => (true, (short)32),
            _ => (false, (short)0),
        };
        return bits != 0;
    }
}
