using System.Globalization;

namespace SharpBpf.Isa.Formatting;

/// <summary>
/// Formats instructions exactly as <c>llvm-objdump-19 -d --mcpu=v4</c> prints them, including
/// which encodings it decodes and which it calls <c>&lt;unknown&gt;</c>.
/// </summary>
/// <remarks>
/// LLVM's decoder only checks the bits its instruction definitions fix; fields an instruction
/// does not use are ignored rather than rejected (an ALU immediate form with a non-zero source
/// register still prints, <c>exit</c> with a non-zero offset still prints). Register fields
/// it does read accept 0 to 11 (r11 is LLVM's internal register) and reject 12 to 15.
/// The rules below were derived from LLVM's instruction tables and checked against
/// llvm-objdump-19 on the fixture corpora in the tests.
/// </remarks>
internal static class LlvmFormatter
{
    /// <summary>What llvm-objdump prints for bytes it cannot decode.</summary>
    internal const string Unknown = "<unknown>";

    private const int MaxRegister = 11;

    /// <summary>
    /// Formats the instruction at <paramref name="pc"/>. Returns null when llvm-objdump prints
    /// <c>&lt;unknown&gt;</c>; <paramref name="slots"/> is how many slots the text covers (2 for a
    /// decoded <c>lddw</c>, otherwise 1). <paramref name="truncated"/> is set for an <c>lddw</c>
    /// that decodes but whose second slot is missing.
    /// </summary>
    internal static string? Format(ReadOnlySpan<Instruction> program, int pc, Func<long, string?>? labelFor, out int slots, out bool truncated)
    {
        slots = 1;
        truncated = false;
        var insn = program[pc];
        switch (insn.Class)
        {
            case InstructionClass.Alu:
            case InstructionClass.Alu64:
                return FormatAlu(insn);
            case InstructionClass.Jmp:
            case InstructionClass.Jmp32:
                return FormatJump(insn, pc, labelFor);
            case InstructionClass.Ld:
                return FormatLd(program, pc, out slots, out truncated);
            case InstructionClass.Ldx:
                return FormatLdx(insn);
            case InstructionClass.St:
                return FormatSt(insn);
            default:
                return FormatStx(insn);
        }
    }

    /// <summary>Formats a signed value the way LLVM's hex immediate printing does: <c>0x1f</c>, <c>-0x8</c>.</summary>
    internal static string Hex(long value)
    {
        if (value >= 0)
        {
            return "0x" + value.ToString("x", CultureInfo.InvariantCulture);
        }

        return value == long.MinValue
            ? "-0x8000000000000000"
            : "-0x" + (-value).ToString("x", CultureInfo.InvariantCulture);
    }

    private static string Reg(int number, bool is32) =>
        (is32 ? "w" : "r") + number.ToString(CultureInfo.InvariantCulture);

    private static string Address(int baseRegister, short offset) =>
        offset >= 0 ? $"r{baseRegister} + {Hex(offset)}" : $"r{baseRegister} - {Hex(-(int)offset)}";

    private static string Branch(long offset) => offset >= 0 ? "+" + Hex(offset) : Hex(offset);

    private static string BranchTarget(int pc, long offset, Func<long, string?>? labelFor) =>
        labelFor?.Invoke(pc + 1 + offset) ?? Branch(offset);

    private static string SizeName(MemorySize size, bool signed) => size switch
    {
        MemorySize.Word => signed ? "s32" : "u32",
        MemorySize.Half => signed ? "s16" : "u16",
        MemorySize.Byte => signed ? "s8" : "u8",
        _ => signed ? "s64" : "u64",
    };

    private static string? FormatAlu(Instruction insn)
    {
        bool is32 = insn.Class == InstructionClass.Alu;
        bool isReg = insn.Source == OperandSource.Register;
        int dst = insn.Dst;
        int src = insn.Src;
        var op = insn.AluOperation;

        switch (op)
        {
            case AluOperation.Neg:
                // Only dst is decoded; the source bit must be clear.
                if (isReg || dst > MaxRegister)
                {
                    return null;
                }

                return $"{Reg(dst, is32)} = -{Reg(dst, is32)}";
            case AluOperation.End:
                return FormatEnd(insn, is32, isReg);
            case AluOperation.Mov:
                return FormatMov(insn, is32, isReg);
            case (AluOperation)0xe0:
            case (AluOperation)0xf0:
                return null;
        }

        string? symbol = op switch
        {
            AluOperation.Add => "+=",
            AluOperation.Sub => "-=",
            AluOperation.Mul => "*=",
            AluOperation.Div => insn.Offset == 1 ? "s/=" : "/=",
            AluOperation.Or => "|=",
            AluOperation.And => "&=",
            AluOperation.Lsh => "<<=",
            AluOperation.Rsh => ">>=",
            AluOperation.Mod => insn.Offset == 1 ? "s%=" : "%=",
            AluOperation.Xor => "^=",
            _ => "s>>=", // Arsh
        };

        bool signedForm = op is AluOperation.Div or AluOperation.Mod;
        if (insn.Offset != 0 && !(signedForm && insn.Offset == 1))
        {
            return null;
        }

        if (dst > MaxRegister)
        {
            return null;
        }

        if (isReg)
        {
            return src > MaxRegister ? null : $"{Reg(dst, is32)} {symbol} {Reg(src, is32)}";
        }

        return $"{Reg(dst, is32)} {symbol} {Hex(insn.Immediate)}";
    }

    private static string? FormatMov(Instruction insn, bool is32, bool isReg)
    {
        int dst = insn.Dst;
        int src = insn.Src;
        if (dst > MaxRegister)
        {
            return null;
        }

        if (!isReg)
        {
            return insn.Offset == 0 ? $"{Reg(dst, is32)} = {Hex(insn.Immediate)}" : null;
        }

        if (src > MaxRegister)
        {
            return null;
        }

        switch (insn.Offset)
        {
            case 0:
                return $"{Reg(dst, is32)} = {Reg(src, is32)}";
            case 8:
            case 16:
                return $"{Reg(dst, is32)} = (s{insn.Offset}){Reg(src, is32)}";
            case 32 when !is32:
                return $"r{dst} = (s32)r{src}";
            case 1 when !is32:
                // LLVM's arena address-space cast: imm holds the destination (high 16 bits)
                // and source (low 16 bits) address spaces.
                uint imm = unchecked((uint)insn.Immediate);
                return $"r{dst} = addr_space_cast(r{src}, {Hex(imm >> 16)}, {Hex(imm & 0xffff)})";
            default:
                return null;
        }
    }

    private static string? FormatEnd(Instruction insn, bool is32, bool isReg)
    {
        // ALU|K = le, ALU|X = be, ALU64|K = bswap; ALU64|X is undefined. Registers print as rN
        // in every case, and src and offset are not decoded.
        string name;
        if (is32)
        {
            name = isReg ? "be" : "le";
        }
        else if (!isReg)
        {
            name = "bswap";
        }
        else
        {
            return null;
        }

        if (insn.Immediate is not (16 or 32 or 64) || insn.Dst > MaxRegister)
        {
            return null;
        }

        return $"r{insn.Dst} = {name}{insn.Immediate} r{insn.Dst}";
    }

    private static string? FormatJump(Instruction insn, int pc, Func<long, string?>? labelFor)
    {
        bool is32 = insn.Class == InstructionClass.Jmp32;
        bool isReg = insn.Source == OperandSource.Register;
        var op = insn.JumpOperation;
        switch (op)
        {
            case JumpOperation.Ja:
                if (isReg)
                {
                    return null;
                }

                // goto uses the offset; gotol (JMP32) the immediate. Nothing else is decoded.
                return is32
                    ? "gotol " + BranchTarget(pc, insn.Immediate, labelFor)
                    : "goto " + BranchTarget(pc, insn.Offset, labelFor);
            case JumpOperation.Call:
                if (is32)
                {
                    return null;
                }

                if (isReg)
                {
                    return insn.Dst > MaxRegister ? null : $"callx r{insn.Dst}";
                }

                // Helper, local and kfunc calls all print the raw immediate.
                return "call " + Hex(insn.Immediate);
            case JumpOperation.Exit:
                return !is32 && !isReg && insn.Immediate == 0 ? "exit" : null;
            case (JumpOperation)0xe0:
                // may_goto, LLVM's encoding of the kernel's BPF_JCOND.
                return !is32 && !isReg ? "may_goto " + BranchTarget(pc, insn.Offset, labelFor) : null;
            case (JumpOperation)0xf0:
                return null;
        }

        string symbol = op switch
        {
            JumpOperation.Jeq => "==",
            JumpOperation.Jgt => ">",
            JumpOperation.Jge => ">=",
            JumpOperation.Jset => "&",
            JumpOperation.Jne => "!=",
            JumpOperation.Jsgt => "s>",
            JumpOperation.Jsge => "s>=",
            JumpOperation.Jlt => "<",
            JumpOperation.Jle => "<=",
            JumpOperation.Jslt => "s<",
            _ => "s<=", // Jsle
        };

        if (insn.Dst > MaxRegister || (isReg && insn.Src > MaxRegister))
        {
            return null;
        }

        string right = isReg ? Reg(insn.Src, is32) : Hex(insn.Immediate);
        return $"if {Reg(insn.Dst, is32)} {symbol} {right} goto {BranchTarget(pc, insn.Offset, labelFor)}";
    }

    private static string? FormatLd(ReadOnlySpan<Instruction> program, int pc, out int slots, out bool truncated)
    {
        slots = 1;
        truncated = false;
        var insn = program[pc];
        var size = insn.MemorySize;
        switch (insn.MemoryMode)
        {
            case MemoryMode.Imm when size == MemorySize.DoubleWord:
                if (insn.Offset != 0 || insn.Dst > MaxRegister)
                {
                    return null;
                }

                if (pc + 1 >= program.Length)
                {
                    truncated = true;
                    return null;
                }

                slots = 2;
                uint low = unchecked((uint)insn.Immediate);
                if (insn.Src == 0)
                {
                    // The second slot is not checked at all; only its immediate is read.
                    long value = unchecked((long)(((ulong)(uint)program[pc + 1].Immediate << 32) | low));
                    return $"r{insn.Dst} = {Hex(value)} ll";
                }

                // LLVM merges the high half into the pseudo-source operand, which it then prints
                // truncated to 32 bits, so the second slot never shows. The tab is LLVM's.
                return $"ld_pseudo\tr{insn.Dst}, {Hex(insn.Src)}, {Hex(low)}";
            case MemoryMode.Abs when size != MemorySize.DoubleWord:
                return $"r0 = *({SizeName(size, false)} *)skb[{Hex(insn.Immediate)}]";
            case MemoryMode.Ind when size != MemorySize.DoubleWord:
                // The immediate of an indirect packet load is not printed.
                return insn.Src > MaxRegister ? null : $"r0 = *({SizeName(size, false)} *)skb[r{insn.Src}]";
            default:
                return null;
        }
    }

    private static string? FormatLdx(Instruction insn)
    {
        var size = insn.MemorySize;
        if (insn.Dst > MaxRegister || insn.Src > MaxRegister)
        {
            return null;
        }

        switch (insn.MemoryMode)
        {
            case MemoryMode.Mem:
                // With ALU32 (mcpu v3 and later), loads narrower than 64 bits target wN.
                return $"{Reg(insn.Dst, size != MemorySize.DoubleWord)} = *({SizeName(size, false)} *)({Address(insn.Src, insn.Offset)})";
            case MemoryMode.MemSx when size != MemorySize.DoubleWord:
                return $"r{insn.Dst} = *({SizeName(size, true)} *)({Address(insn.Src, insn.Offset)})";
            default:
                return null;
        }
    }

    private static string? FormatSt(Instruction insn)
    {
        if (insn.MemoryMode != MemoryMode.Mem || insn.Dst > MaxRegister)
        {
            return null;
        }

        return $"*({SizeName(insn.MemorySize, false)} *)({Address(insn.Dst, insn.Offset)}) = {Hex(insn.Immediate)}";
    }

    private static string? FormatStx(Instruction insn)
    {
        var size = insn.MemorySize;
        if (insn.Dst > MaxRegister || insn.Src > MaxRegister)
        {
            return null;
        }

        bool is32 = size != MemorySize.DoubleWord;
        string address = Address(insn.Dst, insn.Offset);
        if (insn.MemoryMode == MemoryMode.Mem)
        {
            return $"*({SizeName(size, false)} *)({address}) = {Reg(insn.Src, is32)}";
        }

        if (insn.MemoryMode != MemoryMode.Atomic || (size != MemorySize.Word && size != MemorySize.DoubleWord))
        {
            return null;
        }

        // Only the low byte of the immediate is decoded: bits 4-7 pick the operation and
        // bits 0-3 equal to 1 (BPF_FETCH) select the fetching form.
        int operation = (insn.Immediate >> 4) & 0xf;
        bool fetch = (insn.Immediate & 0xf) == 1;
        string src = Reg(insn.Src, is32);
        string width = is32 ? "u32" : "u64";
        string? name = operation switch
        {
            0x0 => "add",
            0x4 => "or",
            0x5 => "and",
            0xa => "xor",
            _ => null,
        };

        if (fetch)
        {
            if (name is not null)
            {
                return $"{src} = atomic_fetch_{name}(({width} *)({address}), {src})";
            }

            if (operation == 0xe)
            {
                return is32 ? $"{src} = xchg32_32({address}, {src})" : $"{src} = xchg_64({address}, {src})";
            }

            if (operation == 0xf)
            {
                return is32 ? $"w0 = cmpxchg32_32({address}, w0, {src})" : $"r0 = cmpxchg_64({address}, r0, {src})";
            }
        }

        string? symbol = operation switch
        {
            0x0 => "+=",
            0x4 => "|=",
            0x5 => "&=",
            0xa => "^=",
            _ => null,
        };

        return symbol is null ? null : $"lock *({width} *)({address}) {symbol} {src}";
    }
}
