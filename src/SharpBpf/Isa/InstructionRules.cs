namespace SharpBpf.Isa;

/// <summary>
/// The encoding rules of RFC 9669 for a single instruction slot: which opcodes exist and which
/// fields must be zero. Program-level rules (jump targets, function boundaries) are in
/// <see cref="ProgramValidator"/>.
/// </summary>
public static class InstructionRules
{
    /// <summary>The number of general registers, r0 to r10.</summary>
    public const int RegisterCount = 11;

    /// <summary>The read-only frame pointer register.</summary>
    public const byte FramePointer = 10;

    /// <summary>
    /// Checks one instruction slot (for <c>lddw</c>, the first slot; <paramref name="next"/> is
    /// the second slot, or null when the program ends there).
    /// </summary>
    /// <returns>Null when the slot is valid, otherwise what is wrong with it.</returns>
    public static string? Check(in Instruction insn, Instruction? next = null)
    {
        switch (insn.Class)
        {
            case InstructionClass.Alu:
            case InstructionClass.Alu64:
                return CheckAlu(insn);
            case InstructionClass.Jmp:
            case InstructionClass.Jmp32:
                return CheckJump(insn);
            case InstructionClass.Ld:
                return CheckLd(insn, next);
            case InstructionClass.Ldx:
                return CheckLdx(insn);
            case InstructionClass.St:
                if (insn.MemoryMode != MemoryMode.Mem)
                {
                    return UnknownOpcode(insn);
                }

                return insn.Src != 0 ? "BPF_ST uses reserved fields (src must be 0)" : CheckDst(insn, write: false);
            default: // Stx
                return CheckStx(insn);
        }
    }

    private static string UnknownOpcode(in Instruction insn) => $"unknown opcode {insn.Opcode:x2}";

    private static string? CheckDst(in Instruction insn, bool write)
    {
        if (insn.Dst >= RegisterCount)
        {
            return $"R{insn.Dst} is invalid";
        }

        return write && insn.Dst == FramePointer ? "frame pointer is read only" : null;
    }

    private static string? CheckSrc(in Instruction insn) =>
        insn.Src >= RegisterCount ? $"R{insn.Src} is invalid" : null;

    private static string? CheckAlu(in Instruction insn)
    {
        bool is64 = insn.Class == InstructionClass.Alu64;
        bool isReg = insn.Source == OperandSource.Register;
        var op = insn.AluOperation;
        if ((byte)op > (byte)AluOperation.End)
        {
            return UnknownOpcode(insn);
        }

        switch (op)
        {
            case AluOperation.Neg:
                if (isReg)
                {
                    return UnknownOpcode(insn);
                }

                if (insn.Src != 0 || insn.Offset != 0 || insn.Immediate != 0)
                {
                    return "BPF_NEG uses reserved fields";
                }

                return CheckDst(insn, write: true);
            case AluOperation.End:
                if (is64 && isReg)
                {
                    return UnknownOpcode(insn);
                }

                if (insn.Src != 0 || insn.Offset != 0 || (insn.Immediate != 16 && insn.Immediate != 32 && insn.Immediate != 64))
                {
                    return "BPF_END uses reserved fields";
                }

                return CheckDst(insn, write: true);
            case AluOperation.Mov:
                if (isReg)
                {
                    if (insn.Immediate != 0)
                    {
                        return "BPF_MOV uses reserved fields";
                    }

                    bool offsetOk = insn.Offset == 0 || insn.Offset == 8 || insn.Offset == 16 || (is64 && insn.Offset == 32);
                    if (!offsetOk)
                    {
                        return "BPF_MOV uses reserved fields";
                    }

                    return CheckSrc(insn) ?? CheckDst(insn, write: true);
                }

                if (insn.Src != 0 || insn.Offset != 0)
                {
                    return "BPF_MOV uses reserved fields";
                }

                return CheckDst(insn, write: true);
            default:
                bool signedAllowed = op == AluOperation.Div || op == AluOperation.Mod;
                if (insn.Offset != 0 && !(signedAllowed && insn.Offset == 1))
                {
                    return "BPF_ALU uses reserved fields";
                }

                if (isReg)
                {
                    if (insn.Immediate != 0)
                    {
                        return "BPF_ALU uses reserved fields";
                    }

                    return CheckSrc(insn) ?? CheckDst(insn, write: true);
                }

                if (insn.Src != 0)
                {
                    return "BPF_ALU uses reserved fields";
                }

                return CheckDst(insn, write: true);
        }
    }

    private static string? CheckJump(in Instruction insn)
    {
        bool is32 = insn.Class == InstructionClass.Jmp32;
        bool isReg = insn.Source == OperandSource.Register;
        var op = insn.JumpOperation;
        if ((byte)op > (byte)JumpOperation.Jsle)
        {
            return UnknownOpcode(insn);
        }

        switch (op)
        {
            case JumpOperation.Ja:
                if (isReg)
                {
                    return UnknownOpcode(insn);
                }

                if (is32)
                {
                    return insn.Dst != 0 || insn.Src != 0 || insn.Offset != 0 ? "BPF_JA uses reserved fields" : null;
                }

                return insn.Dst != 0 || insn.Src != 0 || insn.Immediate != 0 ? "BPF_JA uses reserved fields" : null;
            case JumpOperation.Call:
                if (is32)
                {
                    return UnknownOpcode(insn);
                }

                if (isReg)
                {
                    // callx: the register holding the target is in dst.
                    if (insn.Src != 0 || insn.Offset != 0 || insn.Immediate != 0)
                    {
                        return "BPF_CALL uses reserved fields";
                    }

                    return CheckDst(insn, write: false);
                }

                if (insn.Dst != 0 || insn.Src > (byte)CallKind.Kfunc || (insn.Offset != 0 && insn.Src != (byte)CallKind.Kfunc))
                {
                    return "BPF_CALL uses reserved fields";
                }

                return null;
            case JumpOperation.Exit:
                if (is32 || isReg)
                {
                    return UnknownOpcode(insn);
                }

                return insn.Dst != 0 || insn.Src != 0 || insn.Offset != 0 || insn.Immediate != 0
                    ? "BPF_EXIT uses reserved fields"
                    : null;
            default:
                if (isReg)
                {
                    if (insn.Immediate != 0)
                    {
                        return "BPF_JMP/JMP32 uses reserved fields";
                    }

                    return CheckSrc(insn) ?? CheckDst(insn, write: false);
                }

                if (insn.Src != 0)
                {
                    return "BPF_JMP/JMP32 uses reserved fields";
                }

                return CheckDst(insn, write: false);
        }
    }

    private static string? CheckLd(in Instruction insn, Instruction? next)
    {
        var mode = insn.MemoryMode;
        var size = insn.MemorySize;
        if (mode == MemoryMode.Imm && size == MemorySize.DoubleWord)
        {
            if (next is null)
            {
                return "invalid BPF_LD_IMM insn";
            }

            var second = next.Value;
            if (second.Opcode != 0 || second.RegisterByte != 0 || second.Offset != 0)
            {
                return "invalid BPF_LD_IMM insn";
            }

            if (insn.Offset != 0 || insn.Src > (byte)Imm64Source.MapIndexValue)
            {
                return "invalid BPF_LD_IMM insn";
            }

            if (second.Immediate != 0 && insn.Src is (byte)Imm64Source.MapFd or (byte)Imm64Source.BtfId
                or (byte)Imm64Source.Function or (byte)Imm64Source.MapIndex)
            {
                return "invalid BPF_LD_IMM insn";
            }

            return CheckDst(insn, write: true);
        }

        if ((mode == MemoryMode.Abs || mode == MemoryMode.Ind) && size != MemorySize.DoubleWord)
        {
            if (insn.Dst != 0 || insn.Offset != 0 || (mode == MemoryMode.Abs && insn.Src != 0))
            {
                return "BPF_LD_[ABS|IND] uses reserved fields";
            }

            return mode == MemoryMode.Ind ? CheckSrc(insn) : null;
        }

        return UnknownOpcode(insn);
    }

    private static string? CheckLdx(in Instruction insn)
    {
        var mode = insn.MemoryMode;
        if (mode == MemoryMode.Mem || (mode == MemoryMode.MemSx && insn.MemorySize != MemorySize.DoubleWord))
        {
            if (insn.Immediate != 0)
            {
                return "BPF_LDX uses reserved fields";
            }

            return CheckSrc(insn) ?? CheckDst(insn, write: true);
        }

        return UnknownOpcode(insn);
    }

    private static string? CheckStx(in Instruction insn)
    {
        var mode = insn.MemoryMode;
        if (mode == MemoryMode.Mem)
        {
            if (insn.Immediate != 0)
            {
                return "BPF_STX uses reserved fields";
            }

            return CheckSrc(insn) ?? CheckDst(insn, write: false);
        }

        if (mode == MemoryMode.Atomic && (insn.MemorySize == MemorySize.Word || insn.MemorySize == MemorySize.DoubleWord))
        {
            if (!IsAtomicOperation(insn.Immediate))
            {
                return $"BPF_ATOMIC uses invalid atomic opcode {insn.Immediate:X2}";
            }

            if (CheckSrc(insn) is { } srcError)
            {
                return srcError;
            }

            bool fetches = (insn.Immediate & 0x01) != 0;
            if (fetches && insn.Src == FramePointer)
            {
                return "frame pointer is read only";
            }

            return CheckDst(insn, write: false);
        }

        return UnknownOpcode(insn);
    }

    /// <summary>Whether the immediate of an atomic instruction names an RFC 9669 atomic operation.</summary>
    public static bool IsAtomicOperation(int immediate) => immediate switch
    {
        0x00 or 0x40 or 0x50 or 0xa0 or 0x01 or 0x41 or 0x51 or 0xa1 or 0xe1 or 0xf1 => true,
        _ => false,
    };
}
