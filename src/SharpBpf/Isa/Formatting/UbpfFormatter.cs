using System.Globalization;

namespace SharpBpf.Isa.Formatting;

/// <summary>
/// Formats instructions in the uBPF / bpf_conformance mnemonic dialect. Every text it produces
/// names all the bits of the instruction, so assembling it gives back the same bytes; a slot
/// with a field the dialect cannot express (a reserved field that is not zero, an unknown
/// opcode, a register above r10, an LLVM-only extension) is written as <c>.8byte 0x...</c>.
/// </summary>
internal static class UbpfFormatter
{
    private const string Raw64Prefix = ".8byte 0x";

    /// <summary>
    /// Formats the instruction at <paramref name="pc"/>; <paramref name="slots"/> is 2 for a
    /// complete <c>lddw</c>, otherwise 1.
    /// </summary>
    internal static string Format(ReadOnlySpan<Instruction> program, int pc, Func<long, string?>? labelFor, out int slots)
    {
        slots = 1;
        var insn = program[pc];
        string? text = insn.Class switch
        {
            InstructionClass.Alu or InstructionClass.Alu64 => FormatAlu(insn),
            InstructionClass.Jmp or InstructionClass.Jmp32 => FormatJump(insn, pc, labelFor),
            InstructionClass.Ld => FormatLd(program, pc, labelFor, out slots),
            InstructionClass.Ldx => FormatLdx(insn),
            InstructionClass.St => FormatSt(insn),
            _ => FormatStx(insn),
        };

        if (text is null || NamesInvalidRegister(text))
        {
            slots = 1;
            return Raw(insn);
        }

        return text;
    }

    /// <summary>
    /// Whether the text names a register above r10. The dialect has only r0 to r10, so such a
    /// slot is written raw like any other field the dialect cannot express.
    /// </summary>
    private static bool NamesInvalidRegister(string text)
    {
        for (int i = text.IndexOf("%r1", StringComparison.Ordinal); i >= 0; i = text.IndexOf("%r1", i + 1, StringComparison.Ordinal))
        {
            if (i + 3 < text.Length && text[i + 3] is >= '1' and <= '5')
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The raw form: the slot's 8 bytes as one little-endian 64-bit number.</summary>
    internal static string Raw(Instruction insn)
    {
        Span<byte> bytes = stackalloc byte[Instruction.Size];
        insn.WriteTo(bytes);
        ulong value = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return Raw64Prefix + value.ToString("x16", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// An immediate as bpf_conformance writes it: decimal when negative or at most 10,
    /// otherwise hexadecimal (INT_MIN is written 0x80000000).
    /// </summary>
    internal static string Imm(int value)
    {
        if ((value < 0 && value != int.MinValue) || (value >= 0 && value <= 10))
        {
            return value.ToString(CultureInfo.InvariantCulture);
        }

        return "0x" + unchecked((uint)value).ToString("x", CultureInfo.InvariantCulture);
    }

    private static string Reg(int number) => "%r" + number.ToString(CultureInfo.InvariantCulture);

    private static string Memory(int register, short offset) => offset switch
    {
        0 => $"[{Reg(register)}]",
        > 0 => $"[{Reg(register)}+{offset.ToString(CultureInfo.InvariantCulture)}]",
        _ => $"[{Reg(register)}{offset.ToString(CultureInfo.InvariantCulture)}]",
    };

    private static string Offset(long offset) =>
        (offset >= 0 ? "+" : string.Empty) + offset.ToString(CultureInfo.InvariantCulture);

    private static string Target(int pc, long offset, Func<long, string?>? labelFor) =>
        labelFor?.Invoke(pc + 1 + offset) ?? Offset(offset);

    private static string SizeSuffix(MemorySize size) => size switch
    {
        MemorySize.Word => "w",
        MemorySize.Half => "h",
        MemorySize.Byte => "b",
        _ => "dw",
    };

    private static string? FormatAlu(Instruction insn)
    {
        bool is32 = insn.Class == InstructionClass.Alu;
        bool isReg = insn.Source == OperandSource.Register;
        string suffix = is32 ? "32" : string.Empty;
        var op = insn.AluOperation;
        switch (op)
        {
            case AluOperation.Neg:
                return !isReg && insn.Src == 0 && insn.Offset == 0 && insn.Immediate == 0
                    ? $"neg{suffix} {Reg(insn.Dst)}"
                    : null;
            case AluOperation.End:
                if (insn.Src != 0 || insn.Offset != 0 || insn.Immediate is not (16 or 32 or 64) || (!is32 && isReg))
                {
                    return null;
                }

                string name = is32 ? (isReg ? "be" : "le") : "bswap";
                return $"{name}{insn.Immediate} {Reg(insn.Dst)}";
            case AluOperation.Mov when isReg && insn.Offset != 0:
                bool extends = insn.Offset is 8 or 16 || (insn.Offset == 32 && !is32);
                return extends && insn.Immediate == 0
                    ? $"movsx{insn.Offset}{(is32 ? "32" : "64")} {Reg(insn.Dst)}, {Reg(insn.Src)}"
                    : null;
            case (AluOperation)0xe0:
            case (AluOperation)0xf0:
                return null;
        }

        string mnemonic = op switch
        {
            AluOperation.Add => "add",
            AluOperation.Sub => "sub",
            AluOperation.Mul => "mul",
            AluOperation.Div => insn.Offset == 1 ? "sdiv" : "div",
            AluOperation.Or => "or",
            AluOperation.And => "and",
            AluOperation.Lsh => "lsh",
            AluOperation.Rsh => "rsh",
            AluOperation.Mod => insn.Offset == 1 ? "smod" : "mod",
            AluOperation.Xor => "xor",
            AluOperation.Mov => "mov",
            _ => "arsh",
        };

        bool signedForm = op is AluOperation.Div or AluOperation.Mod;
        if (insn.Offset != 0 && !(signedForm && insn.Offset == 1))
        {
            return null;
        }

        if (isReg)
        {
            return insn.Immediate == 0 ? $"{mnemonic}{suffix} {Reg(insn.Dst)}, {Reg(insn.Src)}" : null;
        }

        return insn.Src == 0 ? $"{mnemonic}{suffix} {Reg(insn.Dst)}, {Imm(insn.Immediate)}" : null;
    }

    private static string? FormatJump(Instruction insn, int pc, Func<long, string?>? labelFor)
    {
        bool is32 = insn.Class == InstructionClass.Jmp32;
        bool isReg = insn.Source == OperandSource.Register;
        string suffix = is32 ? "32" : string.Empty;
        var op = insn.JumpOperation;
        switch (op)
        {
            case JumpOperation.Ja:
                if (isReg || insn.Dst != 0 || insn.Src != 0)
                {
                    return null;
                }

                if (is32)
                {
                    return insn.Offset == 0 ? "ja32 " + Target(pc, insn.Immediate, labelFor) : null;
                }

                return insn.Immediate == 0 ? "ja " + Target(pc, insn.Offset, labelFor) : null;
            case JumpOperation.Call:
                return is32 ? null : FormatCall(insn, pc, isReg, labelFor);
            case JumpOperation.Exit:
                return !is32 && !isReg && insn.Dst == 0 && insn.Src == 0 && insn.Offset == 0 && insn.Immediate == 0
                    ? "exit"
                    : null;
            case (JumpOperation)0xe0:
            case (JumpOperation)0xf0:
                return null;
        }

        string mnemonic = op switch
        {
            JumpOperation.Jeq => "jeq",
            JumpOperation.Jgt => "jgt",
            JumpOperation.Jge => "jge",
            JumpOperation.Jset => "jset",
            JumpOperation.Jne => "jne",
            JumpOperation.Jsgt => "jsgt",
            JumpOperation.Jsge => "jsge",
            JumpOperation.Jlt => "jlt",
            JumpOperation.Jle => "jle",
            JumpOperation.Jslt => "jslt",
            _ => "jsle",
        };

        string target = Target(pc, insn.Offset, labelFor);
        if (isReg)
        {
            return insn.Immediate == 0 ? $"{mnemonic}{suffix} {Reg(insn.Dst)}, {Reg(insn.Src)}, {target}" : null;
        }

        return insn.Src == 0 ? $"{mnemonic}{suffix} {Reg(insn.Dst)}, {Imm(insn.Immediate)}, {target}" : null;
    }

    private static string? FormatCall(Instruction insn, int pc, bool isReg, Func<long, string?>? labelFor)
    {
        if (isReg)
        {
            // callx: the register holding the target address is in dst.
            return insn.Src == 0 && insn.Offset == 0 && insn.Immediate == 0 ? $"call {Reg(insn.Dst)}" : null;
        }

        if (insn.Dst != 0)
        {
            return null;
        }

        switch ((CallKind)insn.Src)
        {
            case CallKind.Helper:
                return insn.Offset == 0 ? "call " + Imm(insn.Immediate) : null;
            case CallKind.Local:
                return insn.Offset == 0 ? "call local " + Target(pc, insn.Immediate, labelFor) : null;
            case CallKind.Kfunc:
                // The offset, when set, selects the module BTF the kfunc id belongs to.
                return insn.Offset == 0
                    ? "call kfunc " + Imm(insn.Immediate)
                    : $"call kfunc {Imm(insn.Immediate)}, {insn.Offset.ToString(CultureInfo.InvariantCulture)}";
            default:
                return null;
        }
    }

    private static string? FormatLd(ReadOnlySpan<Instruction> program, int pc, Func<long, string?>? labelFor, out int slots)
    {
        slots = 1;
        var insn = program[pc];
        var size = insn.MemorySize;
        switch (insn.MemoryMode)
        {
            case MemoryMode.Imm when size == MemorySize.DoubleWord:
                if (insn.Offset != 0 || insn.Src > (byte)Imm64Source.MapIndexValue || pc + 1 >= program.Length)
                {
                    return null;
                }

                var second = program[pc + 1];
                if (second.Opcode != 0 || second.RegisterByte != 0 || second.Offset != 0)
                {
                    return null;
                }

                slots = 2;
                uint low = unchecked((uint)insn.Immediate);
                if (insn.Src == 0)
                {
                    ulong value = ((ulong)(uint)second.Immediate << 32) | low;
                    return $"lddw {Reg(insn.Dst)}, 0x{value.ToString("x", CultureInfo.InvariantCulture)}";
                }

                // The pseudo sources in the spelling bpftool uses (and the assembler reads). Only
                // the value forms carry something in the second slot: an offset into the value.
                string first = Imm(insn.Immediate);
                string offset = Imm(second.Immediate);
                bool secondUnused = second.Immediate == 0;
                string? operand = (Imm64Source)insn.Src switch
                {
                    Imm64Source.MapFd when secondUnused => $"map[fd:{first}]",
                    Imm64Source.MapValue => $"map[fd:{first}]+{offset}",
                    Imm64Source.BtfId when secondUnused => $"btf_id[{first}]",
                    Imm64Source.Function when secondUnused => $"subprog[{Target(pc, insn.Immediate, labelFor)}]",
                    Imm64Source.MapIndex when secondUnused => $"map[idx:{first}]",
                    Imm64Source.MapIndexValue => $"map[idx:{first}]+{offset}",
                    _ => null,
                };

                return operand is null ? null : $"lddw {Reg(insn.Dst)}, {operand}";
            case MemoryMode.Abs when size != MemorySize.DoubleWord:
                return insn.Dst == 0 && insn.Src == 0 && insn.Offset == 0
                    ? $"ldabs{SizeSuffix(size)} {Imm(insn.Immediate)}"
                    : null;
            case MemoryMode.Ind when size != MemorySize.DoubleWord:
                return insn.Dst == 0 && insn.Offset == 0
                    ? $"ldind{SizeSuffix(size)} {Reg(insn.Src)}, {Imm(insn.Immediate)}"
                    : null;
            default:
                return null;
        }
    }

    private static string? FormatLdx(Instruction insn)
    {
        var size = insn.MemorySize;
        if (insn.Immediate != 0)
        {
            return null;
        }

        return insn.MemoryMode switch
        {
            MemoryMode.Mem => $"ldx{SizeSuffix(size)} {Reg(insn.Dst)}, {Memory(insn.Src, insn.Offset)}",
            MemoryMode.MemSx when size != MemorySize.DoubleWord =>
                $"ldxs{SizeSuffix(size)} {Reg(insn.Dst)}, {Memory(insn.Src, insn.Offset)}",
            _ => null,
        };
    }

    private static string? FormatSt(Instruction insn)
    {
        return insn.MemoryMode == MemoryMode.Mem && insn.Src == 0
            ? $"st{SizeSuffix(insn.MemorySize)} {Memory(insn.Dst, insn.Offset)}, {Imm(insn.Immediate)}"
            : null;
    }

    private static string? FormatStx(Instruction insn)
    {
        var size = insn.MemorySize;
        string memory = Memory(insn.Dst, insn.Offset);
        if (insn.MemoryMode == MemoryMode.Mem)
        {
            return insn.Immediate == 0 ? $"stx{SizeSuffix(size)} {memory}, {Reg(insn.Src)}" : null;
        }

        if (insn.MemoryMode != MemoryMode.Atomic || (size != MemorySize.Word && size != MemorySize.DoubleWord))
        {
            return null;
        }

        string width = size == MemorySize.Word ? "32" : string.Empty;
        string? operation = (AtomicOperation)insn.Immediate switch
        {
            AtomicOperation.Add => "add",
            AtomicOperation.Or => "or",
            AtomicOperation.And => "and",
            AtomicOperation.Xor => "xor",
            AtomicOperation.FetchAdd => "fetch add",
            AtomicOperation.FetchOr => "fetch or",
            AtomicOperation.FetchAnd => "fetch and",
            AtomicOperation.FetchXor => "fetch xor",
            AtomicOperation.Xchg => "xchg",
            AtomicOperation.CmpXchg => "cmpxchg",
            _ => null,
        };

        return operation is null ? null : $"lock {operation}{width} {memory}, {Reg(insn.Src)}";
    }
}
