using SharpBpf.Isa;

namespace SharpBpf.Verification;

internal sealed partial class VerifierRun
{
    private StepOutcome Step()
    {
        var insn = _insns[_pc];
        switch (insn.Class)
        {
            case InstructionClass.Alu:
            case InstructionClass.Alu64:
                CheckAlu(insn);
                _pc++;
                return StepOutcome.Continue;
            case InstructionClass.Ldx:
                CheckLoad(insn);
                _pc++;
                return StepOutcome.Continue;
            case InstructionClass.St:
            case InstructionClass.Stx:
                CheckStore(insn);
                _pc++;
                return StepOutcome.Continue;
            case InstructionClass.Ld:
                if (insn.IsLoadImm64)
                {
                    CheckLoadImm64(insn);
                    _pc += 2;
                    return StepOutcome.Continue;
                }

                CheckLegacyPacketLoad(insn);
                _pc++;
                return StepOutcome.Continue;
            default:
                _jmpsProcessed++;
                return CheckJump(insn);
        }
    }

    private static string AluString(AluOperation op) => op switch
    {
        AluOperation.Add => "+=",
        AluOperation.Sub => "-=",
        AluOperation.Mul => "*=",
        AluOperation.Div => "/=",
        AluOperation.Or => "|=",
        AluOperation.And => "&=",
        AluOperation.Lsh => "<<=",
        AluOperation.Rsh => ">>=",
        AluOperation.Neg => "neg",
        AluOperation.Mod => "%=",
        AluOperation.Xor => "^=",
        AluOperation.Mov => "=",
        AluOperation.Arsh => "s>>=",
        _ => "endian",
    };

    private void CheckAlu(Instruction insn)
    {
        var op = insn.AluOperation;
        bool is64 = insn.Class == InstructionClass.Alu64;
        int dst = insn.Dst;
        if (op is AluOperation.Neg or AluOperation.End)
        {
            var reg = ReadReg(dst);
            if (reg.IsPointer && !AllowPtrLeaks)
            {
                throw Reject(F($"R{dst} pointer arithmetic prohibited"));
            }

            CheckWritable(dst);
            SetReg(dst, op == AluOperation.End && reg.Type == RegisterType.Scalar ? ScalarDomain.ByteSwap(reg, insn) : RegisterState.UnknownScalar());
            return;
        }

        if (op == AluOperation.Mov)
        {
            CheckMov(insn, is64);
            return;
        }

        RegisterState src;
        if (insn.Source == OperandSource.Register)
        {
            src = ReadReg(insn.Src);
        }
        else
        {
            src = RegisterState.Known(is64 ? (ulong)(long)insn.Immediate : (uint)insn.Immediate);
        }

        var dstReg = ReadReg(dst);
        if (op is AluOperation.Div or AluOperation.Mod && insn.Source == OperandSource.Immediate && insn.Immediate == 0)
        {
            throw Reject("div by zero");
        }

        if (op is AluOperation.Lsh or AluOperation.Rsh or AluOperation.Arsh && insn.Source == OperandSource.Immediate)
        {
            int size = is64 ? 64 : 32;
            if (insn.Immediate < 0 || insn.Immediate >= size)
            {
                throw Reject(F($"invalid shift {insn.Immediate}"));
            }
        }

        CheckWritable(dst);
        if (dstReg.IsPointer || src.IsPointer)
        {
            if (dstReg.IsPointer && src.IsPointer)
            {
                if (op == AluOperation.Sub && AllowPtrLeaks)
                {
                    SetReg(dst, RegisterState.UnknownScalar());
                    return;
                }

                throw Reject(F($"R{dst} pointer {AluString(op)} pointer prohibited"));
            }

            if (insn.Source == OperandSource.Register)
            {
                MarkChainPrecision(dstReg.IsPointer ? insn.Src : dst);
            }

            var result = dstReg.IsPointer ? AdjustPointer(insn, dst, dstReg, src, ptrIsDst: true) : AdjustPointer(insn, dst, src, dstReg, ptrIsDst: false);
            SetReg(dst, result);
            return;
        }

        ScalarDomain.Alu(ref dstReg, src, op, is64);
        dstReg.Id = 0;
        dstReg.Precise = false;
        SetReg(dst, dstReg);
    }

    private static bool AllowPtrLeaks => true;

    private void CheckMov(Instruction insn, bool is64)
    {
        int dst = insn.Dst;
        if (insn.Source == OperandSource.Register)
        {
            ref var srcRef = ref ReadReg(insn.Src);
            CheckWritable(dst);
            int off = insn.Offset;
            if (is64)
            {
                if (off == 0)
                {
                    AssignScalarId(ref srcRef);
                    SetReg(dst, srcRef);
                    return;
                }

                if (srcRef.IsPointer)
                {
                    if (!AllowPtrLeaks)
                    {
                        throw Reject(F($"R{insn.Src} sign-extension part of pointer"));
                    }

                    // A privileged loader may sign-extend a pointer: the result is an unknown number.
                    SetReg(dst, RegisterState.UnknownScalar());
                    return;
                }

                bool noSext = srcRef.UMax < 1UL << (off - 1);
                if (noSext)
                {
                    AssignScalarId(ref srcRef);
                }

                var copy = srcRef;
                if (!noSext)
                {
                    copy.Id = 0;
                }

                ScalarDomain.SignExtendToSize(ref copy, off >> 3);
                ScalarDomain.Sync(ref copy);
                SetReg(dst, copy);
                return;
            }

            if (srcRef.IsPointer)
            {
                if (!AllowPtrLeaks)
                {
                    throw Reject(F($"R{insn.Src} partial copy of pointer"));
                }

                var unknown = RegisterState.UnknownScalar();
                ScalarDomain.ZeroExtend32(ref unknown);
                ScalarDomain.Sync(ref unknown);
                SetReg(dst, unknown);
                return;
            }

            RegisterState result;
            if (off == 0)
            {
                bool fits = srcRef.UMax <= uint.MaxValue;
                if (fits)
                {
                    AssignScalarId(ref srcRef);
                }

                result = srcRef;
                if (!fits)
                {
                    result.Id = 0;
                }
            }
            else
            {
                bool noSext = srcRef.UMax < 1UL << (off - 1);
                if (noSext)
                {
                    AssignScalarId(ref srcRef);
                }

                result = srcRef;
                if (!noSext)
                {
                    result.Id = 0;
                }

                ScalarDomain.SignExtendSubregToSize(ref result, off >> 3);
            }

            ScalarDomain.ZeroExtend32(ref result);
            ScalarDomain.Sync(ref result);
            SetReg(dst, result);
            return;
        }

        CheckWritable(dst);
        SetReg(dst, RegisterState.Known(is64 ? (ulong)(long)insn.Immediate : (uint)insn.Immediate));
    }

    /// <summary>Gives an unknown scalar an id before it is copied, so that what a branch learns about one copy applies to all.</summary>
    private void AssignScalarId(ref RegisterState src)
    {
        if (src.Type == RegisterType.Scalar && src.Id == 0 && !src.VarOff.IsConst)
        {
            src.Id = NewId();
        }
    }

    private static bool SaneOffset(in RegisterState reg, string typeName, out string? error)
    {
        bool known = reg.VarOff.IsConst;
        long val = (long)reg.VarOff.Value;
        error = null;
        if (known && (val >= MaxVarOff || val <= -MaxVarOff))
        {
            error = F($"math between {typeName} pointer and {val} is not allowed");
        }
        else if (reg.Off >= MaxVarOff || reg.Off <= -MaxVarOff)
        {
            error = F($"{typeName} pointer offset {reg.Off} is not allowed");
        }
        else if (reg.SMin == long.MinValue)
        {
            error = F($"math between {typeName} pointer and register with unbounded min value is not allowed");
        }
        else if (reg.SMin >= MaxVarOff || reg.SMin <= -MaxVarOff)
        {
            error = F($"value {reg.SMin} makes {typeName} pointer be out of bounds");
        }

        return error is null;
    }

    /// <summary>Pointer plus or minus a scalar (<c>adjust_ptr_min_max_vals</c>).</summary>
    private RegisterState AdjustPointer(Instruction insn, int dst, RegisterState ptr, RegisterState off, bool ptrIsDst)
    {
        var op = insn.AluOperation;
        bool known = off.VarOff.IsConst;
        if ((known && (off.SMin != off.SMax || off.UMin != off.UMax)) || off.SMin > off.SMax || off.UMin > off.UMax)
        {
            return RegisterState.UnknownScalar();
        }

        if (insn.Class != InstructionClass.Alu64)
        {
            if (op == AluOperation.Sub && AllowPtrLeaks)
            {
                return RegisterState.UnknownScalar();
            }

            throw Reject(F($"R{dst} 32-bit pointer arithmetic prohibited"));
        }

        string typeName = TypeName(ptr);
        if (ptr.MaybeNull)
        {
            throw Reject(F($"R{dst} pointer arithmetic on {typeName} prohibited, null-check it first"));
        }

        switch (ptr.Type)
        {
            case RegisterType.Context:
            case RegisterType.MapValue:
            case RegisterType.MapKey:
            case RegisterType.Stack:
            case RegisterType.PacketMeta:
            case RegisterType.Packet:
            case RegisterType.Memory:
            case RegisterType.Function:
            case RegisterType.BtfId:
                break;
            case RegisterType.MapPointer when known && off.SMin == 0 && op == AluOperation.Add:
                break;
            default:
                throw Reject(F($"R{dst} pointer arithmetic on {typeName} prohibited"));
        }

        if (!SaneOffset(off, typeName, out var error) || !SaneOffset(ptr, typeName, out error))
        {
            throw Reject(error!);
        }

        var result = ptr;
        result.Written = true;
        result.SetUnbounded32();
        switch (op)
        {
            case AluOperation.Add:
                if (known && (long)ptr.Off + off.SMin == (int)(ptr.Off + off.SMin))
                {
                    result.Off = (int)(ptr.Off + off.SMin);
                    result.S32Min = ptr.S32Min;
                    result.S32Max = ptr.S32Max;
                    result.U32Min = ptr.U32Min;
                    result.U32Max = ptr.U32Max;
                    break;
                }

                {
                    long smin = unchecked(ptr.SMin + off.SMin);
                    long smax = unchecked(ptr.SMax + off.SMax);
                    bool overflow = ((ptr.SMin ^ smin) & (off.SMin ^ smin)) < 0 || ((ptr.SMax ^ smax) & (off.SMax ^ smax)) < 0;
                    result.SMin = overflow ? long.MinValue : smin;
                    result.SMax = overflow ? long.MaxValue : smax;
                    ulong umin = unchecked(ptr.UMin + off.UMin);
                    ulong umax = unchecked(ptr.UMax + off.UMax);
                    bool uOverflow = umin < ptr.UMin || umax < ptr.UMax;
                    result.UMin = uOverflow ? 0 : umin;
                    result.UMax = uOverflow ? ulong.MaxValue : umax;
                    result.VarOff = Tnum.Add(ptr.VarOff, off.VarOff);
                    if (ptr.IsPacketPointer)
                    {
                        result.Id = NewId();
                        result.Range = 0;
                    }
                }

                break;
            case AluOperation.Sub:
                if (!ptrIsDst)
                {
                    throw Reject(F($"R{dst} tried to subtract pointer from scalar"));
                }

                if (ptr.Type == RegisterType.Stack)
                {
                    throw Reject(F($"R{dst} subtraction from stack pointer prohibited"));
                }

                if (known && (long)ptr.Off - off.SMin == (int)(ptr.Off - off.SMin))
                {
                    result.Off = (int)(ptr.Off - off.SMin);
                    result.S32Min = ptr.S32Min;
                    result.S32Max = ptr.S32Max;
                    result.U32Min = ptr.U32Min;
                    result.U32Max = ptr.U32Max;
                    break;
                }

                {
                    long smin = unchecked(ptr.SMin - off.SMax);
                    long smax = unchecked(ptr.SMax - off.SMin);
                    bool overflow = ((ptr.SMin ^ off.SMax) & (ptr.SMin ^ smin)) < 0 || ((ptr.SMax ^ off.SMin) & (ptr.SMax ^ smax)) < 0;
                    result.SMin = overflow ? long.MinValue : smin;
                    result.SMax = overflow ? long.MaxValue : smax;
                    if (ptr.UMin < off.UMax)
                    {
                        result.UMin = 0;
                        result.UMax = ulong.MaxValue;
                    }
                    else
                    {
                        result.UMin = ptr.UMin - off.UMax;
                        result.UMax = ptr.UMax - off.UMin;
                    }

                    result.VarOff = Tnum.Sub(ptr.VarOff, off.VarOff);
                    if (ptr.IsPacketPointer)
                    {
                        result.Id = NewId();
                        if (off.SMin < 0)
                        {
                            result.Range = 0;
                        }
                    }
                }

                break;
            case AluOperation.And:
            case AluOperation.Or:
            case AluOperation.Xor:
                throw Reject(F($"R{dst} bitwise operator {AluString(op)} on pointer prohibited"));
            default:
                throw Reject(F($"R{dst} pointer arithmetic with {AluString(op)} operator prohibited"));
        }

        if (!SaneOffset(result, typeName, out error))
        {
            throw Reject(error!);
        }

        ScalarDomain.Sync(ref result);
        return result;
    }

    private void CheckLoadImm64(Instruction insn)
    {
        int dst = insn.Dst;
        CheckWritable(dst);
        var next = _insns[_pc + 1];
        ulong imm = ((ulong)(uint)next.Immediate << 32) | (uint)insn.Immediate;
        switch (insn.Imm64Source)
        {
            case Imm64Source.Immediate:
                SetReg(dst, RegisterState.Known(imm));
                return;
            case Imm64Source.MapFd:
            case Imm64Source.MapIndex:
            case Imm64Source.MapValue:
            case Imm64Source.MapIndexValue:
            {
                int index = insn.Immediate;
                if (index < 0 || index >= _maps.Count)
                {
                    throw Reject(F($"fd {index} is not pointing to valid bpf_map"));
                }

                CheckMapProgramCompatibility(_maps[index]);
                bool value = insn.Imm64Source is Imm64Source.MapValue or Imm64Source.MapIndexValue;
                var reg = RegisterState.Pointer(value ? RegisterType.MapValue : RegisterType.MapPointer);
                reg.MapIndex = index;
                if (value)
                {
                    uint offset = (uint)next.Immediate;
                    if (offset >= MaxVarOff || offset >= _maps[index].ValueSize && _maps[index].ValueSize > 0 && offset != 0)
                    {
                        throw Reject(F($"invalid access to map value pointer, value_size={_maps[index].ValueSize} off={offset}"));
                    }

                    reg.Off = (int)offset;
                }

                SetReg(dst, reg);
                return;
            }

            case Imm64Source.Function:
            {
                // A callback is verified with the arguments its helper gives, which a global function may not assume.
                int target = _pc + 1 + insn.Immediate;
                if (_functions.HasInfo && target >= 0 && target < _insns.Length && _functions[_analysis.SubprogOf(target)].IsGlobal)
                {
                    throw Reject("callback function not static");
                }

                var reg = RegisterState.Pointer(RegisterType.Function);
                reg.FrameNo = _pc + 1 + insn.Immediate;
                SetReg(dst, reg);
                return;
            }

            default:
                throw Reject("invalid bpf_ld_imm64 insn");
        }
    }

    /// <summary>Maps some program types may not use at all (<c>check_map_prog_compatibility</c>).</summary>
    private void CheckMapProgramCompatibility(VerifierMap map)
    {
        if (map.SpinLockOffset < 0)
        {
            return;
        }

        if (_options.ProgramType == ProgramType.SocketFilter)
        {
            throw Reject("socket filter progs cannot use bpf_spin_lock yet");
        }

        if (_options.ProgramType is ProgramType.Kprobe or ProgramType.Tracepoint or ProgramType.PerfEvent or ProgramType.RawTracepoint or ProgramType.RawTracepointWritable)
        {
            throw Reject("tracing progs cannot use bpf_spin_lock yet");
        }
    }

    private void CheckLegacyPacketLoad(Instruction insn)
    {
        if (!ProgramContexts.MayUseLegacyPacketLoads(_options.ProgramType))
        {
            throw Reject("BPF_LD_[ABS|IND] instructions not allowed for this program type");
        }

        if (_cur.LockMap >= 0)
        {
            throw Reject("BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region");
        }

        var ctx = ReadReg(6);
        if (ctx.Type != RegisterType.Context)
        {
            throw Reject("at the time of BPF_LD_ABS|IND R6 != pointer to skb");
        }

        if (insn.MemoryMode == MemoryMode.Ind)
        {
            ReadReg(insn.Src);
        }

        if (_cur.Refs.Count > 0)
        {
            throw Reject("BPF_LD_[ABS|IND] cannot be mixed with socket references");
        }

        for (int i = 1; i <= 5; i++)
        {
            Regs[i] = default;
            ScratchReg(i);
        }

        // The kernel's check_ld_abs leaves r0 an unknown scalar, not bounded by the load size.
        SetReg(0, RegisterState.UnknownScalar());
    }
}
