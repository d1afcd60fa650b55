using System.Globalization;
using SharpBpf.Isa;

namespace SharpBpf.Verification;

/// <summary>
/// Precision and stack liveness, as the kernel tracks them for pruning. A checkpoint starts with every scalar imprecise
/// and every stack slot unread; an instruction whose safety depends on a scalar's value walks the path back
/// (<c>__mark_chain_precision</c>) and marks, in each checkpoint it crosses, the registers and spilled slots that value
/// came from. A stack read marks the slot read in the checkpoints above it until a write of the whole slot
/// (<c>mark_reg_read</c>). When a path is pruned, the explored state's marks are carried over to the pruned path's
/// checkpoints (<c>propagate_liveness</c>, <c>propagate_precision</c>). Pruning then ignores imprecise scalars and
/// unread slots of an explored state whose paths are all done.
/// </summary>
internal sealed partial class VerifierRun
{
    private const int LongHistory = 40;
    private const ushort ArgRegMask = 0b11_1110;

    /// <summary>The history entry of the instruction being processed, once one is pushed for it.</summary>
    private HistoryEntry? _curHistEntry;

    // The backtracking state (the kernel's backtrack_state): per frame, the registers and stack slots still to trace.
    private readonly ushort[] _btRegs = new ushort[MaxCallFrames];
    private readonly ulong[] _btSlots = new ulong[MaxCallFrames];
    private int _btFrame;

    // ---------------------------------------------------------------------------------------
    // Instruction history
    // ---------------------------------------------------------------------------------------

    private HistoryEntry PushHistory()
    {
        var entry = new HistoryEntry(_pc, _prevPc, _cur.History);
        _cur.History = entry;
        _cur.HistoryCount++;
        _curHistEntry = entry;
        return entry;
    }

    /// <summary>Records how the current instruction was reached when it was not from the one before it.</summary>
    private void PushHistoryIfJump()
    {
        if (_curHistEntry is null && _prevPc != _pc - 1)
        {
            PushHistory();
        }
    }

    /// <summary>Records that the current instruction spilled to or filled from a stack slot (for backtracking through it).</summary>
    private void RecordStackAccess(int frameNo, int spi)
    {
        var entry = _curHistEntry ?? PushHistory();
        entry.StackFrame = frameNo;
        entry.StackSpi = spi;
    }

    /// <summary>
    /// Before a conditional jump refines scalars: records every register and spilled slot sharing the id of an operand,
    /// because the refinement of one reaches all of them (<c>collect_linked_regs</c>).
    /// </summary>
    private void RecordLinkedScalars(in RegisterState dst, in RegisterState src, bool srcIsReg)
    {
        int dstId = dst.Type == RegisterType.Scalar ? dst.Id : 0;
        int srcId = srcIsReg && src.Type == RegisterType.Scalar ? src.Id : 0;
        if (dstId == 0 && srcId == 0)
        {
            return;
        }

        var linked = new List<(int Frame, int Index, bool IsReg)>();
        foreach (var (frame, index, spilled) in AllRegisters())
        {
            ref var reg = ref RegAt(frame, index, spilled);
            if (reg.Type == RegisterType.Scalar && reg.Id != 0 && (reg.Id == dstId || reg.Id == srcId) && (spilled || (index < 10 && IsLiveInFrame(frame, index))))
            {
                linked.Add((frame.FrameNo, index, !spilled));
            }
        }

        if (linked.Count > 1)
        {
            (_curHistEntry ?? PushHistory()).Linked = [.. linked];
        }
    }

    // Since 6.17 the kernel links only registers live in their frame: before the current instruction in the current
    // frame, before the call in a caller (frame_insn_idx).
    private bool IsLiveInFrame(FrameState frame, int regno)
    {
        int pc = frame.FrameNo == _cur.CurFrame ? _pc : _cur.Frames[frame.FrameNo + 1].CallSite;
        return pc < 0 || (_analysis.LiveIn(pc) & (1 << regno)) != 0;
    }

    // ---------------------------------------------------------------------------------------
    // Stack liveness
    // ---------------------------------------------------------------------------------------

    /// <summary>A read of slot <paramref name="spi"/> of <paramref name="frame"/> (a frame of the current state).</summary>
    private void NoteStackRead(FrameState frame, int spi) => MarkSlotRead(_cur, frame.FrameNo, spi);

    /// <summary>Reads of every slot that bytes <c>[minOff, maxOff)</c> (negative frame offsets) overlap.</summary>
    private void NoteStackRangeRead(FrameState frame, long minOff, long maxOff)
    {
        for (long slot = (-maxOff) / 8; slot <= (-minOff - 1) / 8; slot++)
        {
            if (slot >= 0 && slot < 64)
            {
                NoteStackRead(frame, (int)slot);
            }
        }
    }

    /// <summary>A write to a slot; only a write of all 8 bytes hides the slot's later reads from the checkpoints above.</summary>
    private static void NoteStackWrite(FrameState frame, int spi, bool wholeSlot)
    {
        if (wholeSlot && spi is >= 0 and < 64)
        {
            frame.SlotsWritten |= 1UL << spi;
        }
    }

    private static void MarkSlotRead(VerifierState state, int frameNo, int spi)
    {
        ulong bit = 1UL << spi;
        var st = state;
        var frame = st.Frames[frameNo];
        while ((frame.SlotsWritten & bit) == 0 && st.Parent is { } parent && frameNo < parent.Frames.Count)
        {
            var parentFrame = parent.Frames[frameNo];
            if (parentFrame.Uid != frame.Uid || (parentFrame.SlotsRead & bit) != 0)
            {
                return;
            }

            parentFrame.SlotsRead |= bit;
            st = parent;
            frame = parentFrame;
        }
    }

    /// <summary>The current path was pruned against <paramref name="old"/>: what old's continuation reads, this one reads.</summary>
    private void PropagateLiveness(VerifierState old)
    {
        for (int f = 0; f < old.Frames.Count; f++)
        {
            ulong read = old.Frames[f].SlotsRead;
            while (read != 0)
            {
                int spi = System.Numerics.BitOperations.TrailingZeroCount(read);
                read &= read - 1;
                MarkSlotRead(_cur, f, spi);
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Precision
    // ---------------------------------------------------------------------------------------

    /// <summary>The current instruction relies on the exact value of scalar register <paramref name="regno"/>.</summary>
    private void MarkChainPrecision(int regno)
    {
        if (Regs[regno].Type != RegisterType.Scalar)
        {
            return;
        }

        ResetBacktrack(_cur.CurFrame);
        _btRegs[_btFrame] = (ushort)(1 << regno);
        Backtrack();
    }

    /// <summary>The current path was pruned against <paramref name="old"/>: old's precise scalars must be precise here too.</summary>
    private void PropagatePrecision(VerifierState old)
    {
        ResetBacktrack(_cur.CurFrame);
        // Innermost frame first, as the kernel logs them: "frame 1: propagating r6,fp-8".
        for (int f = old.Frames.Count - 1; f >= 0; f--)
        {
            var frame = old.Frames[f];
            var propagated = LogLevel >= 2 ? new List<string>() : null;
            int live = LiveRegisters(old, f);
            for (int r = 0; r < 10; r++)
            {
                if ((live & (1 << r)) != 0 && frame.Regs[r].Type == RegisterType.Scalar && frame.Regs[r].Precise)
                {
                    _btRegs[f] |= (ushort)(1 << r);
                    propagated?.Add(F($"r{r}"));
                }
            }

            for (int spi = 0; spi < frame.Spilled.Length && spi < 64; spi++)
            {
                if ((frame.SlotsRead & (1UL << spi)) != 0 && frame.IsSpilled(spi) && frame.Spilled[spi].Type == RegisterType.Scalar && frame.Spilled[spi].Precise)
                {
                    _btSlots[f] |= 1UL << spi;
                    propagated?.Add(F($"fp{(-spi - 1) * 8}"));
                }
            }

            if (propagated is { Count: > 0 })
            {
                Log(F($"frame {f}: propagating ") + string.Join(",", propagated) + "\n");
            }
        }

        if (!BacktrackEmpty())
        {
            Backtrack();
        }
    }

    /// <summary>Registers a frame's continuation may read: the current frame at this instruction, a caller after its call returns.</summary>
    private int LiveRegisters(VerifierState state, int f)
    {
        if (f == state.Frames.Count - 1)
        {
            return _analysis.LiveIn(_pc);
        }

        var next = state.Frames[f + 1];
        int cont = next.InCallback ? next.CallSite : next.CallSite + 1;
        return _analysis.LiveIn(cont) & (next.InCallback ? 0x3ff : ~0x3f);
    }

    private void ResetBacktrack(int frame)
    {
        Array.Clear(_btRegs);
        Array.Clear(_btSlots);
        _btFrame = frame;
    }

    private bool BacktrackEmpty()
    {
        for (int f = 0; f <= _btFrame; f++)
        {
            if (_btRegs[f] != 0 || _btSlots[f] != 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Walks the current path back from the current instruction, state by state, turning the wanted registers and slots
    /// into the ones they were computed from, and marks them precise in each checkpoint crossed. Anything it cannot
    /// follow makes every scalar of the path precise instead, which is always safe.
    /// </summary>
    private void Backtrack()
    {
        var st = _cur;
        int first = st.FirstInsn, last = _pc, subseq = -1;
        var hist = st.History;
        bool skipFirst = true;
        while (true)
        {
            if (LogLevel >= 2)
            {
                Log(F($"mark_precise: frame{_btFrame}: last_idx {last} first_idx {first} subseq_idx {subseq} \n"));
            }

            for (int i = last; i >= 0;)
            {
                if (skipFirst)
                {
                    // The current instruction has not run yet: its inputs are what is wanted.
                    skipFirst = false;
                }
                else if (!LogBacktrackStep(i) || !BacktrackInsn(i, subseq, hist is not null && hist.Idx == i ? hist : null))
                {
                    MarkAllScalarsPrecise();
                    return;
                }

                if (BacktrackEmpty())
                {
                    return;
                }

                subseq = i;
                if (i == first && (hist is null || (hist.Prev is null && hist.Idx == i)))
                {
                    break;
                }

                if (hist is not null && hist.Idx == i)
                {
                    i = hist.PrevIdx;
                    hist = hist.Prev;
                }
                else
                {
                    i--;
                }

                if (i < 0 || i >= _insns.Length)
                {
                    MarkAllScalarsPrecise();
                    return;
                }
            }

            st = st.Parent;
            if (st is null)
            {
                break;
            }

            if (st.Frames.Count != _btFrame + 1 || !MarkInCheckpoint(st))
            {
                MarkAllScalarsPrecise();
                return;
            }

            if (BacktrackEmpty())
            {
                return;
            }

            subseq = first;
            last = st.LastInsn;
            first = st.FirstInsn;
            hist = st.History;
        }

        if (!BacktrackEmpty())
        {
            MarkAllScalarsPrecise();
        }
    }

    /// <summary>Marks the wanted scalars precise in a checkpoint; those already precise were traced further before.</summary>
    private bool MarkInCheckpoint(VerifierState st)
    {
        for (int f = _btFrame; f >= 0; f--)
        {
            var frame = st.Frames[f];
            for (int r = 0; r < 11; r++)
            {
                if ((_btRegs[f] & (1 << r)) == 0)
                {
                    continue;
                }

                ref var reg = ref frame.Regs[r];
                if (reg.Type != RegisterType.Scalar || reg.Precise)
                {
                    _btRegs[f] &= (ushort)~(1 << r);
                }
                else
                {
                    reg.Precise = true;
                }
            }

            ulong slots = _btSlots[f];
            while (slots != 0)
            {
                int spi = System.Numerics.BitOperations.TrailingZeroCount(slots);
                slots &= slots - 1;
                if (spi >= frame.Spilled.Length)
                {
                    return false;
                }

                ref var reg = ref frame.Spilled[spi];
                if (!frame.IsSpilled(spi) || reg.Type != RegisterType.Scalar || reg.Precise)
                {
                    _btSlots[f] &= ~(1UL << spi);
                }
                else
                {
                    reg.Precise = true;
                }
            }

            if (LogLevel >= 2)
            {
                Log(F($"mark_precise: frame{f}: parent state regs={RegMaskText(_btRegs[f])} stack={SlotMaskText(_btSlots[f])}: ") + FrameStateText(frame, true, st) + "\n");
            }
        }

        return true;
    }

    /// <summary>Logs the backtracking step before instruction <paramref name="i"/> as <c>backtrack_insn</c> does; always true.</summary>
    private bool LogBacktrackStep(int i)
    {
        if (LogLevel >= 2 && _insns[i].Opcode != 0)
        {
            Log(F($"mark_precise: frame{_btFrame}: regs={RegMaskText(_btRegs[_btFrame])} stack={SlotMaskText(_btSlots[_btFrame])} before {i}: ") +
                VerifierFormat.Instruction(_insns[i], i + 1 < _insns.Length ? _insns[i + 1] : null) + "\n");
        }

        return true;
    }

    // The kernel's fmt_reg_mask and fmt_stack_mask: "r1,r4" and "-8,-24".
    private static string RegMaskText(ushort mask) =>
        string.Join(",", Enumerable.Range(0, 16).Where(r => (mask & (1 << r)) != 0).Select(r => "r" + r.ToString(CultureInfo.InvariantCulture)));

    private static string SlotMaskText(ulong mask) =>
        string.Join(",", Enumerable.Range(0, 64).Where(spi => (mask & (1UL << spi)) != 0).Select(spi => (-(spi + 1) * 8).ToString(CultureInfo.InvariantCulture)));

    /// <summary>The fallback: every scalar of every checkpoint above the current state becomes precise.</summary>
    private void MarkAllScalarsPrecise()
    {
        if (LogLevel >= 2)
        {
            Log(F($"mark_precise: frame{_cur.CurFrame}: falling back to forcing all scalars precise\n"));
        }

        for (var st = _cur.Parent; st is not null; st = st.Parent)
        {
            foreach (var frame in st.Frames)
            {
                for (int r = 0; r < 10; r++)
                {
                    if (frame.Regs[r].Type == RegisterType.Scalar)
                    {
                        frame.Regs[r].Precise = true;
                    }
                }

                for (int spi = 0; spi < frame.Spilled.Length; spi++)
                {
                    if (frame.IsSpilled(spi) && frame.Spilled[spi].Type == RegisterType.Scalar)
                    {
                        frame.Spilled[spi].Precise = true;
                    }
                }
            }
        }

        ResetBacktrack(0);
    }

    private bool RegWanted(int r) => (_btRegs[_btFrame] & (1 << r)) != 0;

    private void WantReg(int r) => _btRegs[_btFrame] |= (ushort)(1 << r);

    private void UnwantReg(int r) => _btRegs[_btFrame] &= (ushort)~(1 << r);

    /// <summary>
    /// One instruction backwards (<c>backtrack_insn</c>): from what is wanted after instruction <paramref name="i"/> to
    /// what is wanted before it. <paramref name="subseq"/> is the instruction that ran after it. False when the
    /// instruction cannot be traced (the caller then falls back to marking everything precise).
    /// </summary>
    private bool BacktrackInsn(int i, int subseq, HistoryEntry? entry)
    {
        if (_analysis.IsSecondSlot(i))
        {
            return true;
        }

        SyncLinkedWanted(entry);
        var insn = _insns[i];
        int dreg = insn.Dst, sreg = insn.Src;
        switch (insn.Class)
        {
            case InstructionClass.Alu:
            case InstructionClass.Alu64:
            {
                if (!RegWanted(dreg))
                {
                    return true;
                }

                var op = insn.AluOperation;
                if (op is AluOperation.End or AluOperation.Neg)
                {
                    return true;
                }

                bool regSource = insn.Source == OperandSource.Register;
                if (op == AluOperation.Mov)
                {
                    UnwantReg(dreg);
                }

                if (regSource && sreg != 10)
                {
                    WantReg(sreg);
                }

                break;
            }

            case InstructionClass.Ldx:
                if (!BacktrackLoad(dreg, entry))
                {
                    return true;
                }

                break;
            case InstructionClass.Stx when insn.MemoryMode == MemoryMode.Atomic && (insn.Immediate & 1) != 0:
                // An atomic fetch loads the old value into a register, as a fill when it is a stack slot.
                BacktrackLoad(insn.Immediate == (int)AtomicOperation.CmpXchg ? 0 : sreg, entry);
                break;
            case InstructionClass.St:
            case InstructionClass.Stx:
                if (RegWanted(dreg))
                {
                    // A scalar used as the address of a store: pointer subtraction, not traced.
                    return false;
                }

                if (entry is { StackFrame: >= 0 } && (_btSlots[entry.StackFrame] & (1UL << entry.StackSpi)) != 0)
                {
                    _btSlots[entry.StackFrame] &= ~(1UL << entry.StackSpi);
                    if (insn.Class == InstructionClass.Stx)
                    {
                        WantReg(sreg);
                    }
                }

                break;
            case InstructionClass.Ld:
                if (insn.IsLoadImm64)
                {
                    UnwantReg(dreg);
                    return true;
                }

                // Legacy packet loads set R0 from the packet and clobber R1-R5.
                return (_btRegs[_btFrame] & 0x3f) == 0;
            default:
                if (!BacktrackJump(insn, i, subseq))
                {
                    return false;
                }

                break;
        }

        SyncLinkedWanted(entry);
        return true;
    }

    /// <summary>A load into <paramref name="loadReg"/>: from a spilled stack slot the slot is wanted; from elsewhere, nothing.</summary>
    private bool BacktrackLoad(int loadReg, HistoryEntry? entry)
    {
        if (!RegWanted(loadReg))
        {
            return false;
        }

        UnwantReg(loadReg);
        if (entry is { StackFrame: >= 0 })
        {
            _btSlots[entry.StackFrame] |= 1UL << entry.StackSpi;
        }

        return true;
    }

    private bool BacktrackJump(Instruction insn, int i, int subseq)
    {
        var op = insn.JumpOperation;
        int frameRegs = _btRegs[_btFrame];
        if (insn.Class == InstructionClass.Jmp && op == JumpOperation.Call)
        {
            // A global function's call is like a helper's: its code is not on this path.
            if (insn.CallKind == CallKind.Local && !_functions.IsGlobal(_analysis.SubprogOf(i + 1 + insn.Immediate)))
            {
                // Backwards through a call is leaving the callee: only its arguments remain, wanted in the caller.
                if ((frameRegs & ~ArgRegMask) != 0 || _btSlots[_btFrame] != 0 || _btFrame == 0)
                {
                    return false;
                }

                _btRegs[_btFrame] = 0;
                _btFrame--;
                _btRegs[_btFrame] |= (ushort)frameRegs;
                return true;
            }

            if (ProgramAnalysis.CallsCallback(insn) && i != subseq - 1)
            {
                // From the start of a callback back to the helper that called it: its arguments are not the caller's registers.
                if ((frameRegs & ~ArgRegMask) != 0 || _btSlots[_btFrame] != 0 || _btFrame == 0)
                {
                    return false;
                }

                _btRegs[_btFrame] = 0;
                _btFrame--;
                return true;
            }

            UnwantReg(0);
            return (_btRegs[_btFrame] & ArgRegMask) == 0;
        }

        if (insn.Class == InstructionClass.Jmp && op == JumpOperation.Exit)
        {
            // Backwards through an exit is entering the callee; R0 is wanted there only when it returns to a call.
            bool fromSubprogCall = subseq - 1 >= 0 && _insns[subseq - 1].Opcode == Opcode.Call && _insns[subseq - 1].CallKind == CallKind.Local;
            bool r0Wanted = fromSubprogCall && RegWanted(0);
            if ((fromSubprogCall && (frameRegs & ArgRegMask) != 0) || _btFrame == MaxCallFrames - 1)
            {
                return false;
            }

            UnwantReg(0);
            _btFrame++;
            _btRegs[_btFrame] = 0;
            _btSlots[_btFrame] = 0;
            if (r0Wanted)
            {
                WantReg(0);
            }

            return true;
        }

        if (op == JumpOperation.Ja || insn.Source != OperandSource.Register)
        {
            return true;
        }

        if (RegWanted(insn.Dst) || RegWanted(insn.Src))
        {
            // Both sides of a comparison of registers decide what the other learns.
            WantReg(insn.Dst);
            WantReg(insn.Src);
        }

        return true;
    }

    /// <summary>When any scalar a conditional jump refined together is wanted, all of them are (<c>bt_sync_linked_regs</c>).</summary>
    private void SyncLinkedWanted(HistoryEntry? entry)
    {
        if (entry?.Linked is not { } linked)
        {
            return;
        }

        bool any = false;
        foreach (var (frame, index, isReg) in linked)
        {
            any |= isReg ? (_btRegs[frame] & (1 << index)) != 0 : (_btSlots[frame] & (1UL << index)) != 0;
        }

        if (!any)
        {
            return;
        }

        foreach (var (frame, index, isReg) in linked)
        {
            if (isReg)
            {
                _btRegs[frame] |= (ushort)(1 << index);
            }
            else
            {
                _btSlots[frame] |= 1UL << index;
            }
        }
    }
}
