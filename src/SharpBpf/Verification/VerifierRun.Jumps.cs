using SharpBpf.Isa;

namespace SharpBpf.Verification;

internal sealed partial class VerifierRun
{
    private StepOutcome CheckJump(Instruction insn)
    {
        var op = insn.JumpOperation;
        if (insn.Class == InstructionClass.Jmp && op == JumpOperation.Exit)
        {
            return CheckExit();
        }

        if (insn.Class == InstructionClass.Jmp && op == JumpOperation.Call)
        {
            return insn.CallKind switch
            {
                CallKind.Local => CheckLocalCall(insn),
                CallKind.Helper => CheckHelperCall(insn),
                _ => throw Reject("calling kernel functions is not supported"),
            };
        }

        if (insn.Opcode == Opcode.CallX)
        {
            throw Reject("callx is not supported by the kernel verifier");
        }

        if (op == JumpOperation.Ja)
        {
            _pc = insn.Opcode == Opcode.Ja32 ? _pc + 1 + insn.Immediate : _pc + 1 + insn.Offset;
            return StepOutcome.Continue;
        }

        return CheckConditionalJump(insn);
    }

    private static bool IsNotNull(in RegisterState reg) =>
        !reg.MaybeNull && (reg.Type is RegisterType.MapValue or RegisterType.MapKey or RegisterType.Memory or RegisterType.Socket or RegisterType.SockCommon or RegisterType.TcpSock ||
            (reg.Type == RegisterType.BtfId && (reg.Flags & (RegisterTypeFlags.Trusted | RegisterTypeFlags.Untrusted)) == RegisterTypeFlags.Trusted));

    private static bool IsAnyPacket(in RegisterState reg) => reg.Type is RegisterType.Packet or RegisterType.PacketMeta or RegisterType.PacketEnd;

    private static int IsPacketBranchTaken(in RegisterState dst, in RegisterState src, JumpOperation op)
    {
        RegisterState pkt;
        if (src.Type == RegisterType.PacketEnd)
        {
            pkt = dst;
        }
        else if (dst.Type == RegisterType.PacketEnd)
        {
            pkt = src;
            op = ScalarDomain.Flip(op);
        }
        else
        {
            return -1;
        }

        if (pkt.Range >= 0)
        {
            return -1;
        }

        switch (op)
        {
            case JumpOperation.Jle:
            case JumpOperation.Jgt:
                return pkt.Range == BeyondPacketEnd ? (op == JumpOperation.Jgt ? 1 : 0) : -1;
            case JumpOperation.Jlt:
            case JumpOperation.Jge:
                return pkt.Range is BeyondPacketEnd or AtPacketEnd ? (op == JumpOperation.Jge ? 1 : 0) : -1;
            default:
                return -1;
        }
    }

    private static int IsBranchTaken(RegisterState a, RegisterState b, JumpOperation op, bool is32)
    {
        if (IsAnyPacket(a) && IsAnyPacket(b) && !is32)
        {
            return IsPacketBranchTaken(a, b, op);
        }

        if (a.IsPointer || b.IsPointer)
        {
            if (is32)
            {
                return -1;
            }

            if (!ScalarDomain.IsConst(b, false))
            {
                op = ScalarDomain.Flip(op);
                (a, b) = (b, a);
            }

            if (!ScalarDomain.IsConst(b, false) || !IsNotNull(a) || b.VarOff.Value != 0)
            {
                return -1;
            }

            return op switch
            {
                JumpOperation.Jeq => 0,
                JumpOperation.Jne => 1,
                _ => -1,
            };
        }

        return ScalarDomain.IsBranchTaken(a, b, op, is32);
    }

    private StepOutcome CheckConditionalJump(Instruction insn)
    {
        var op = insn.JumpOperation;
        bool is32 = insn.Class == InstructionClass.Jmp32;
        int dstNo = insn.Dst;
        var dst = ReadReg(dstNo);
        bool srcIsReg = insn.Source == OperandSource.Register;
        RegisterState src = srcIsReg
            ? ReadReg(insn.Src)
            : RegisterState.Known(is32 ? (uint)insn.Immediate : (ulong)(long)insn.Immediate);
        int target = _pc + 1 + insn.Offset;
        int pred = IsBranchTaken(dst, src, op, is32);
        if (pred >= 0)
        {
            // Only one direction is explored: the values that decided it must hold in any state pruned against this path.
            MarkChainPrecision(dstNo);
            if (srcIsReg)
            {
                MarkChainPrecision(insn.Src);
            }
        }

        if (pred >= 0 && LogLevel > 0)
        {
            // As the kernel's check_cond_jmp_op: the state is printed at the jump, after any precision trace.
            PrintInsnState();
        }

        if (pred == 1)
        {
            _pc = target;
            return StepOutcome.Continue;
        }

        if (pred == 0)
        {
            _pc++;
            return StepOutcome.Continue;
        }

        // Both directions are possible: the taken branch is explored later, the fall-through now.
        RecordLinkedScalars(dst, src, srcIsReg);
        var other = _cur.Clone();
        var thisFrame = _cur.Current;
        var otherFrame = other.Current;
        bool otherPossible = true, thisPossible = true;
        if (dst.Type == RegisterType.Scalar && src.Type == RegisterType.Scalar)
        {
            // Taken: dst OP src holds. Fall-through: the negation holds.
            var tDst = dst;
            var tSrc = src;
            var fDst = dst;
            var fSrc = src;
            if (op == JumpOperation.Jset)
            {
                otherPossible = ScalarDomain.Refine(ref tDst, ref tSrc, op, is32);
                thisPossible = ScalarDomain.Refine(ref fDst, ref fSrc, op, is32, jsetFalse: true);
            }
            else
            {
                otherPossible = ScalarDomain.Refine(ref tDst, ref tSrc, op, is32);
                thisPossible = ScalarDomain.Refine(ref fDst, ref fSrc, ScalarDomain.Negate(op)!.Value, is32);
            }

            ApplyRefined(otherFrame, other, dstNo, tDst, srcIsReg ? insn.Src : -1, tSrc);
            ApplyRefined(thisFrame, _cur, dstNo, fDst, srcIsReg ? insn.Src : -1, fSrc);
        }
        else if (!is32 && !srcIsReg && insn.Immediate == 0 && op is JumpOperation.Jeq or JumpOperation.Jne && dst.MaybeNull)
        {
            MarkPtrOrNull(_cur, dst.Id, dst.RefObjId, isNull: op == JumpOperation.Jne, _maps);
            MarkPtrOrNull(other, dst.Id, dst.RefObjId, isNull: op == JumpOperation.Jeq, _maps);
        }
        else if (srcIsReg && !is32)
        {
            MatchPacketPointers(op, dst, src, dstNo, insn.Src, other);
        }

        if (otherPossible)
        {
            other.Current.Regs[dstNo].Written = thisFrame.Regs[dstNo].Written;
            PushBranch(other, target);
        }

        if (LogLevel > 0)
        {
            PrintInsnState();
        }

        if (!thisPossible)
        {
            // The fall-through is impossible: this path ends here.
            return StepOutcome.PathDone;
        }

        _pc++;
        return StepOutcome.Continue;
    }

    private static void ApplyRefined(FrameState frame, VerifierState state, int dstNo, RegisterState dst, int srcNo, RegisterState src)
    {
        bool dstWritten = frame.Regs[dstNo].Written;
        frame.Regs[dstNo] = dst;
        frame.Regs[dstNo].Written = dstWritten;
        if (srcNo >= 0)
        {
            bool srcWritten = frame.Regs[srcNo].Written;
            frame.Regs[srcNo] = src;
            frame.Regs[srcNo].Written = srcWritten;
        }

        SyncLinked(state, dst);
        if (srcNo >= 0)
        {
            SyncLinked(state, src);
        }
    }

    /// <summary>What a branch learned about a scalar holds for every copy with the same id.</summary>
    private static void SyncLinked(VerifierState state, in RegisterState known)
    {
        if (known.Type != RegisterType.Scalar || known.Id == 0)
        {
            return;
        }

        foreach (var frame in state.Frames)
        {
            for (int i = 0; i < 11; i++)
            {
                ref var r = ref frame.Regs[i];
                if (r.Type == RegisterType.Scalar && r.Id == known.Id)
                {
                    bool written = r.Written;
                    r = known;
                    r.Written = written;
                }
            }

            for (int spi = 0; spi < frame.Spilled.Length; spi++)
            {
                if (frame.IsSpilled(spi) && frame.Spilled[spi].Type == RegisterType.Scalar && frame.Spilled[spi].Id == known.Id)
                {
                    bool written = frame.Spilled[spi].Written;
                    frame.Spilled[spi] = known;
                    frame.Spilled[spi].Written = written;
                }
            }
        }
    }

    /// <summary>After a null check: every copy of the pointer becomes non-null, or the scalar 0 (<c>mark_ptr_or_null_regs</c>).</summary>
    private static void MarkPtrOrNull(VerifierState state, int id, int refObjId, bool isNull, IReadOnlyList<VerifierMap> maps)
    {
        if (id == 0)
        {
            return;
        }

        // Only the pointer that holds the reference itself drops it when null (a socket cast from it has its own id).
        if (isNull && refObjId != 0 && refObjId == id)
        {
            state.Refs.RemoveAll(r => r.Id == refObjId);
        }

        foreach (var frame in state.Frames)
        {
            for (int i = 0; i < 11; i++)
            {
                MarkOne(ref frame.Regs[i], id, isNull, maps);
            }

            for (int spi = 0; spi < frame.Spilled.Length; spi++)
            {
                if (frame.IsSpilled(spi))
                {
                    MarkOne(ref frame.Spilled[spi], id, isNull, maps);
                }
            }
        }

        static void MarkOne(ref RegisterState reg, int id, bool isNull, IReadOnlyList<VerifierMap> maps)
        {
            if (!reg.MaybeNull || reg.Id != id)
            {
                return;
            }

            if (isNull)
            {
                bool written = reg.Written;
                reg = RegisterState.Known(0);
                reg.Written = written;
                return;
            }

            reg.Flags &= ~RegisterTypeFlags.MaybeNull;

            // A value that may hold a bpf_spin_lock keeps its id: unlock must name the pointer that locked.
            if (!(reg.Type == RegisterType.MapValue && maps[reg.MapIndex].SpinLockOffset >= 0))
            {
                reg.Id = 0;
            }
        }
    }

    private static bool IsInitPacketPointer(in RegisterState reg, RegisterType type) =>
        reg.Type == type && reg.Off == 0 && reg.VarOff.IsConst && reg.VarOff.Value == 0;

    /// <summary>Range learning from comparisons of packet pointers with the packet end (<c>try_match_pkt_pointers</c>).</summary>
    private void MatchPacketPointers(JumpOperation op, RegisterState dst, RegisterState src, int dstNo, int srcNo, VerifierState other)
    {
        bool dstSide = (dst.Type == RegisterType.Packet && src.Type == RegisterType.PacketEnd) ||
            (dst.Type == RegisterType.PacketMeta && IsInitPacketPointer(src, RegisterType.Packet));
        bool srcSide = (dst.Type == RegisterType.PacketEnd && src.Type == RegisterType.Packet) ||
            (IsInitPacketPointer(dst, RegisterType.Packet) && src.Type == RegisterType.PacketMeta);
        if (!dstSide && !srcSide)
        {
            return;
        }

        var thisBranch = _cur;
        switch (op)
        {
            case JumpOperation.Jgt when dstSide:
                FindGoodPacketPointers(thisBranch, dst, false);
                MarkPacketEnd(other, dstNo, true);
                break;
            case JumpOperation.Jgt:
                FindGoodPacketPointers(other, src, true);
                MarkPacketEnd(thisBranch, srcNo, false);
                break;
            case JumpOperation.Jlt when dstSide:
                FindGoodPacketPointers(other, dst, true);
                MarkPacketEnd(thisBranch, dstNo, false);
                break;
            case JumpOperation.Jlt:
                FindGoodPacketPointers(thisBranch, src, false);
                MarkPacketEnd(other, srcNo, true);
                break;
            case JumpOperation.Jge when dstSide:
                FindGoodPacketPointers(thisBranch, dst, true);
                MarkPacketEnd(other, dstNo, false);
                break;
            case JumpOperation.Jge:
                FindGoodPacketPointers(other, src, false);
                MarkPacketEnd(thisBranch, srcNo, true);
                break;
            case JumpOperation.Jle when dstSide:
                FindGoodPacketPointers(other, dst, false);
                MarkPacketEnd(thisBranch, dstNo, true);
                break;
            case JumpOperation.Jle:
                FindGoodPacketPointers(thisBranch, src, true);
                MarkPacketEnd(other, srcNo, false);
                break;
        }
    }

    private static void MarkPacketEnd(VerifierState state, int regno, bool rangeOpen)
    {
        ref var reg = ref state.Current.Regs[regno];
        if (reg.Type != RegisterType.Packet)
        {
            return;
        }

        reg.Range = rangeOpen ? BeyondPacketEnd : AtPacketEnd;
    }

    private static void FindGoodPacketPointers(VerifierState state, in RegisterState dst, bool rangeRightOpen)
    {
        if (dst.Off < 0 || (dst.Off == 0 && rangeRightOpen))
        {
            return;
        }

        if (dst.UMax > MaxPacketOff || dst.UMax + (ulong)dst.Off > MaxPacketOff)
        {
            return;
        }

        int newRange = dst.Off + (rangeRightOpen ? 1 : 0);
        var type = dst.Type;
        int id = dst.Id;
        foreach (var frame in state.Frames)
        {
            for (int i = 0; i < 11; i++)
            {
                ref var r = ref frame.Regs[i];
                if (r.Type == type && r.Id == id)
                {
                    r.Range = Math.Max(r.Range, newRange);
                }
            }

            for (int spi = 0; spi < frame.Spilled.Length; spi++)
            {
                if (frame.IsSpilled(spi) && frame.Spilled[spi].Type == type && frame.Spilled[spi].Id == id)
                {
                    frame.Spilled[spi].Range = Math.Max(frame.Spilled[spi].Range, newRange);
                }
            }
        }
    }

    // ---- exit and bpf-to-bpf calls ----------------------------------------------------------

    private StepOutcome CheckExit()
    {
        if (_cur.CurFrame > 0)
        {
            return ReturnFromCallee();
        }

        if (_cur.LockMap >= 0)
        {
            // The running kernel's (6.18) wording; 6.12 said "bpf_spin_unlock is missing".
            throw Reject("BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region");
        }

        if (_cur.Refs.Count > 0)
        {
            throw ReferenceLeak("BPF_EXIT instruction in main prog would lead to reference leak");
        }

        var ret = ReadReg(0);
        if (_cur.Frames[0].Subprog > 0)
        {
            // A global function verified on its own returns a scalar; the program's return rules are its caller's.
            return ret.Type == RegisterType.Scalar ? StepOutcome.PathDone :
                throw Reject(F($"At subprogram exit the register R0 is not a scalar value ({TypeName(ret)})"));
        }

        var returnRange = ReturnRange(_options.ProgramType, _options.ExpectedAttachType);
        if (returnRange is not null && ret.Type != RegisterType.Scalar)
        {
            throw Reject(F($"At program exit the register R0 is not a known value ({TypeName(ret)})"));
        }

        if (ret.Type == RegisterType.Scalar && returnRange is not null)
        {
            MarkChainPrecision(0);
        }

        if (ret.Type == RegisterType.Scalar && returnRange is { } range &&
            (ret.SMin < range.Min || ret.SMax > range.Max))
        {
            throw Reject(ReturnRangeMessage("At program exit", ret, range.Min, range.Max));
        }

        return StepOutcome.PathDone;
    }

    /// <summary>The exit of a subprogram or callback (<c>prepare_func_exit</c>): back to the caller with R0.</summary>
    private StepOutcome ReturnFromCallee()
    {
        var frame = _cur.Current;
        // A subprogram may leave R0 uninitialised: only the caller's later read of it is an error.
        var r0 = Regs[0];
        ScratchReg(0);
        var caller = _cur.Frames[_cur.CurFrame - 1];
        if (r0.Type == RegisterType.Stack)
        {
            throw Reject("cannot return stack pointer to the caller");
        }

        if (frame.InCallback)
        {
            if (r0.Type != RegisterType.Scalar)
            {
                throw Reject("R0 not a scalar value");
            }

            MarkChainPrecision(0);

            if (r0.SMin < 0 || r0.SMax > 1)
            {
                throw Reject(ReturnRangeMessage("At callback return", r0, 0, 1));
            }
        }

        if (LogLevel > 0)
        {
            Log("returning from callee:\n" + FrameStateText(frame, true) + "\n");
        }

        _cur.Frames.RemoveAt(_cur.CurFrame);
        if (frame.InCallback)
        {
            // The helper may call the callback again: re-run the call with the state the callback left.
            _pc = frame.CallSite;
        }
        else
        {
            caller.Regs[0] = r0;
            caller.Regs[0].Written = true;
            _pc = frame.CallSite + 1;
        }

        if (LogLevel > 0)
        {
            Log($"to caller at {_pc}:\n" + FrameStateText(caller, true) + "\n");
        }

        // As the kernel's process_bpf_exit_full: the walk goes on in the caller as after a popped branch ("from X to Y:").
        _returnedFromCallee = true;
        _scratchedRegs = 0;
        return StepOutcome.Continue;
    }

    private static (int Min, int Max)? ReturnRange(ProgramType type, AttachType? attach) => type switch
    {
        ProgramType.Tracing when attach is AttachType.TraceFentry or AttachType.TraceFexit => (0, 0),
        ProgramType.CgroupSkb or ProgramType.CgroupSock or ProgramType.SockOps or ProgramType.CgroupDevice or ProgramType.CgroupSysctl
            or ProgramType.CgroupSockopt or ProgramType.CgroupSockAddr => (0, 1),
        _ => null,
    };

    private static string ReturnRangeMessage(string context, in RegisterState reg, int min, int max)
    {
        var text = $"{context} the register R0 has";
        bool unknown = true;
        if (reg.SMin > long.MinValue)
        {
            text += F($" smin={reg.SMin}");
            unknown = false;
        }

        if (reg.SMax < long.MaxValue)
        {
            text += F($" smax={reg.SMax}");
            unknown = false;
        }

        if (unknown)
        {
            text += " unknown scalar value";
        }

        return text + F($" should have been in [{min}, {max}]");
    }

    private StepOutcome CheckLocalCall(Instruction insn)
    {
        int target = _pc + 1 + insn.Immediate;
        int subprog = _analysis.SubprogOf(target);
        var mismatch = new List<string>();
        bool argsMatch = CheckSubprogCall(subprog, mismatch);
        if (_functions.IsGlobal(subprog))
        {
            return CallGlobalFunction(subprog, argsMatch, mismatch);
        }

        // A static function is verified with the caller's registers: a mismatch with its prototype is only logged.
        foreach (var line in mismatch)
        {
            Log(line + "\n");
        }

        EnterFunction(target, callback: false, setup: callee =>
        {
            // The caller's r0-r5 are cleared before the caller: block is logged, as the kernel shows them.
            for (int i = 0; i <= 5; i++)
            {
                if (i > 0)
                {
                    callee.Regs[i] = Regs[i];
                }

                Regs[i] = default;
            }
        });

        _pc = target;
        return StepOutcome.Continue;
    }

    /// <summary>
    /// A call of a global function (<c>check_func_call</c>): the arguments must match its prototype; the function itself
    /// is verified once on its own after the caller, so the call only clobbers R1-R5 and returns an unknown scalar.
    /// </summary>
    private StepOutcome CallGlobalFunction(int subprog, bool argsMatch, List<string> mismatch)
    {
        var function = _functions[subprog];
        if (_cur.LockMap >= 0)
        {
            foreach (var line in mismatch)
            {
                Log(line + "\n");
            }

            throw Reject("global function calls are not allowed while holding a lock,\nuse static function instead");
        }

        if (!argsMatch)
        {
            mismatch.Add(F($"Caller passes invalid args into func#{subprog} ('{function.Name}')"));
            throw Reject(string.Join('\n', mismatch));
        }

        Log(F($"Func#{subprog} ('{function.Name}') is global and assumed valid.\n"));
        if (function.ChangesPacketData)
        {
            ClearPacketPointers();
        }

        function.Called = true;
        for (int i = 0; i <= 5; i++)
        {
            Regs[i] = default;
            ScratchReg(i);
        }

        SetReg(0, RegisterState.UnknownScalar());
        _pc++;
        return StepOutcome.Continue;
    }

    /// <summary>
    /// The kernel's <c>btf_check_subprog_call</c>: whether R1-R5 match the called function's BTF prototype, with what
    /// the kernel logs about a mismatch added to <paramref name="lines"/>. A function whose call once mismatched is no
    /// longer checked (and never matches).
    /// </summary>
    private bool CheckSubprogCall(int subprog, List<string> lines)
    {
        var function = _functions[subprog];
        if (!_functions.HasInfo || function.Unreliable)
        {
            return false;
        }

        bool match = CheckSubprogArgs(subprog, lines);
        function.Unreliable |= !match;
        return match;
    }

    /// <summary>The kernel's <c>btf_check_func_arg_match</c>.</summary>
    private bool CheckSubprogArgs(int subprog, List<string> lines)
    {
        if (_functions.PrepareArgs(subprog, out string? error) is not { } args)
        {
            if (error is not null)
            {
                lines.Add(error);
            }

            return false;
        }

        for (int i = 0; i < args.Length; i++)
        {
            int regno = i + 1;
            var reg = Regs[regno];
            var arg = args[i];
            string? problem = arg.Kind switch
            {
                SubprogArgKind.Scalar => reg.Type != RegisterType.Scalar ? F($"R{regno} is not a scalar") : null,
                SubprogArgKind.Context => ArgRegOffError(reg, regno) ??
                    (reg.Type != RegisterType.Context || reg.Flags != RegisterTypeFlags.None ? F($"arg#{i} expects pointer to ctx") : null),
                _ => ArgRegOffError(reg, regno) ?? MemoryArgError(regno, reg, arg.MemSize) ??
                    (!arg.MaybeNull && reg.MaybeNull ? F($"arg#{i} is expected to be non-NULL") : null),
            };
            if (problem is not null)
            {
                lines.AddRange(problem.Split('\n'));
                return false;
            }
        }

        return true;
    }

    /// <summary>The kernel's <c>check_func_arg_reg_off</c> for an argument of no special kind: the error, or null.</summary>
    private static string? ArgRegOffError(in RegisterState reg, int regno)
    {
        bool offsetsAllowed = reg.Type switch
        {
            RegisterType.Scalar or RegisterType.NotInit => true,
            RegisterType.Stack or RegisterType.Packet or RegisterType.PacketMeta or RegisterType.MapKey or RegisterType.MapValue => reg.Flags == RegisterTypeFlags.None,
            RegisterType.Memory => reg.Flags is RegisterTypeFlags.None or RegisterTypeFlags.ReadOnly or RegisterTypeFlags.Ringbuf,
            _ => false,
        };
        if (offsetsAllowed)
        {
            return null;
        }

        bool fixedOffsetAllowed = reg.Type == RegisterType.BtfId && (reg.Flags & ~(RegisterTypeFlags.Trusted | RegisterTypeFlags.Rcu)) == 0;
        if (reg.Off < 0)
        {
            return F($"negative offset {TypeName(reg)} ptr R{regno} off={reg.Off} disallowed");
        }

        if (!fixedOffsetAllowed && reg.Off != 0)
        {
            return F($"dereference of modified {TypeName(reg)} ptr R{regno} off={reg.Off} disallowed");
        }

        return !reg.VarOff.IsConst || reg.VarOff.Value != 0 ? $"variable {TypeName(reg)} access var_off={reg.VarOff} disallowed" : null;
    }

    /// <summary>
    /// The kernel's <c>check_mem_reg</c>: NULL, or memory of <paramref name="size"/> bytes the function may read and
    /// write (a pointer that may be NULL is checked as if it were not); the error, or null.
    /// </summary>
    private string? MemoryArgError(int regno, RegisterState reg, int size)
    {
        if (IsNullScalar(reg))
        {
            return null;
        }

        reg.Flags &= ~RegisterTypeFlags.MaybeNull;
        try
        {
            CheckHelperMemAccess(regno, reg, size, zeroSizeAllowed: true, write: false);

            // Stack memory is checked for the write as for the read: it must be initialised.
            if (reg.Type != RegisterType.Stack)
            {
                CheckHelperMemAccess(regno, reg, size, zeroSizeAllowed: true, write: true);
            }
        }
        catch (VerifierRejection e)
        {
            return e.Message;
        }

        return null;
    }

    /// <summary>What a global function's argument is assumed to be when the function is verified on its own.</summary>
    private RegisterState ArgumentState(SubprogArg arg)
    {
        switch (arg.Kind)
        {
            case SubprogArgKind.Context:
                return RegisterState.Pointer(RegisterType.Context);
            case SubprogArgKind.Memory:
            {
                var reg = RegisterState.Pointer(RegisterType.Memory, arg.MaybeNull ? RegisterTypeFlags.MaybeNull : RegisterTypeFlags.None);
                reg.MemSize = arg.MemSize;
                reg.Id = NewId();
                return reg;
            }

            default:
                return RegisterState.UnknownScalar();
        }
    }

    private void EnterFunction(int target, bool callback, Action<FrameState> setup, VerifierState? state = null)
    {
        state ??= _cur;
        if (state.Frames.Count >= MaxCallFrames)
        {
            throw Reject(F($"the call stack of {state.Frames.Count + 1} frames is too deep"));
        }

        var caller = state.Current;
        var callee = new FrameState
        {
            FrameNo = state.Frames.Count,
            CallSite = _pc,
            Subprog = _analysis.SubprogOf(target),
            InCallback = callback,
        };
        callee.Regs[10] = RegisterState.Pointer(RegisterType.Stack);
        callee.Regs[10].FrameNo = callee.FrameNo;
        setup(callee);
        if (LogLevel > 0 && state == _cur)
        {
            Log("caller:\n" + FrameStateText(caller, true) + "\n");
        }

        state.Frames.Add(callee);
        if (LogLevel > 0 && state == _cur)
        {
            Log("callee:\n" + FrameStateText(callee, true) + "\n");

            // A new frame's state is printed whole before its first instruction (init_func_state scratches it).
            _allScratched = true;
        }
    }

    /// <summary>The combined stack of every call chain must fit in 512 bytes (<c>check_max_stack_depth</c>).</summary>
    private void CheckStackDepth()
    {
        int n = _analysis.Starts.Length;
        var calls = new List<int>[n];
        for (int i = 0; i < n; i++)
        {
            calls[i] = [];
        }

        for (int pc = 0; pc < _insns.Length; pc++)
        {
            var insn = _insns[pc];
            if (insn.Opcode == Opcode.Call && insn.CallKind == CallKind.Local)
            {
                calls[_analysis.SubprogOf(pc)].Add(_analysis.SubprogOf(pc + 1 + insn.Immediate));
            }
            else if (insn.IsLoadImm64 && insn.Imm64Source == Imm64Source.Function)
            {
                calls[_analysis.SubprogOf(pc)].Add(_analysis.SubprogOf(pc + 1 + insn.Immediate));
                pc++;
            }
        }

        var hasTailCall = new bool[n];
        for (int pc = 0; pc < _insns.Length; pc++)
        {
            if (_insns[pc] is { Opcode: Opcode.Call, CallKind: CallKind.Helper, Immediate: 12 })
            {
                hasTailCall[_analysis.SubprogOf(pc)] = true;
            }
        }

        static int Round(int v) => (v + 15) / 16 * 16;

        // Depth first through every call in order, as the kernel walks them; a call chain reached again no deeper than
        // before cannot fail where it did not (which keeps crafted call graphs from taking exponential time).
        var deepest = new Dictionary<(int Sub, int Frame), int>();
        void Walk(int sub, int depth, int frame)
        {
            if (deepest.TryGetValue((sub, frame), out int seen) && seen >= depth)
            {
                return;
            }

            deepest[(sub, frame)] = depth;
            if (sub > 0 && hasTailCall[sub] && depth >= 256)
            {
                _pc = -1;
                throw Reject(F($"tail_calls are not allowed when call stack of previous frames is {depth} bytes. Too large"));
            }

            depth += Round(_subprogStack[sub]);
            if (depth > MaxBpfStack)
            {
                _pc = -1;
                throw Reject(F($"combined stack size of {frame + 1} calls is {depth}. Too large"));
            }

            foreach (int c in calls[sub].Distinct())
            {
                if (frame + 1 >= MaxCallFrames)
                {
                    _pc = -1;
                    throw Reject(F($"the call stack of {frame + 1} frames is too deep !"));
                }

                Walk(c, depth, frame + 1);
            }
        }

        Walk(0, 0, 0);
    }
}
