namespace SharpBpf.Verification;

internal sealed partial class VerifierRun
{
    private enum Exactness
    {
        NotExact,
        RangeWithin,
        Exact,
    }

    /// <summary>
    /// At a prune point: ends the path when an explored state already covers this one, and otherwise may keep this
    /// state as a checkpoint (<c>is_state_visited</c>). Returns true when the path is pruned.
    /// </summary>
    private bool IsStateVisited(bool printFrom)
    {
        bool callbackPoint = _analysis.IsCallbackPoint(_pc);
        bool forceNew = (_options.Flags & VerifierFlags.TestStateFrequency) != 0 || callbackPoint || _cur.HistoryCount > LongHistory;
        bool addNew = forceNew || (_jmpsProcessed - _prevJmpsProcessed >= 2 && _processed - _prevInsnProcessed >= 8);
        if (!_explored.TryGetValue(_pc, out var list))
        {
            list = [];
            _explored[_pc] = list;
        }

        int statesCount = 0;
        // Newest first, as the kernel walks its list.
        for (int i = list.Count - 1; i >= 0; i--)
        {
            var cp = list[i];
            statesCount++;
            bool hit = false;
            if (cp.State.Branches > 0)
            {
                if (callbackPoint)
                {
                    hit = StatesEqual(cp.State, _cur, Exactness.RangeWithin);
                }
                else if (StatesMaybeLooping(cp.State, _cur) && cp.State.CallbackUnrollDepth == _cur.CallbackUnrollDepth && StatesEqual(cp.State, _cur, Exactness.Exact))
                {
                    // As the kernel: the two equal states follow the error line.
                    LogSourceLine(_pc);
                    throw Reject(F($"infinite loop detected at insn {_pc}\ncur state:") + FrameStateText(_cur.Current, true, _cur) +
                        "\nold state:" + FrameStateText(cp.State.Frames[_cur.CurFrame], true, cp.State));
                }

                if (!hit && !forceNew && _jmpsProcessed - _prevJmpsProcessed < 20 && _processed - _prevInsnProcessed < 100)
                {
                    addNew = false;
                }
            }
            else
            {
                hit = StatesEqual(cp.State, _cur, Exactness.NotExact);
            }

            if (hit)
            {
                cp.Hits++;

                // This path continues as the explored one did: what that continuation reads and needs precise, this one does.
                PushHistoryIfJump();
                PropagateLiveness(cp.State);
                PropagatePrecision(cp.State);
                if (LogLevel > 0)
                {
                    Log(printFrom ? F($"\nfrom {_prevPc} to {_pc}: safe\n") : F($"{_pc}: safe\n"));
                }

                return true;
            }

            if (addNew)
            {
                cp.Misses++;
            }

            int n = callbackPoint && cp.State.Branches > 0 ? 64 : 3;
            if (cp.Misses > (cp.Hits * n) + n)
            {
                if (cp.State.Branches == 0)
                {
                    _peakStates--;
                }

                list.RemoveAt(i);
            }
        }

        _maxStatesPerInsn = Math.Max(_maxStatesPerInsn, statesCount);
        if (!addNew)
        {
            return false;
        }

        _totalStates++;
        _peakStates++;
        _prevJmpsProcessed = _jmpsProcessed;
        _prevInsnProcessed = _processed;

        // The checkpoint starts with no scalar precise and no slot read: later instructions mark what they rely on.
        foreach (var frame in _cur.Frames)
        {
            for (int r = 0; r < 10; r++)
            {
                frame.Regs[r].Precise = false;
            }

            for (int spi = 0; spi < frame.Spilled.Length; spi++)
            {
                frame.Spilled[spi].Precise = false;
            }

            frame.SlotsRead = 0;
        }

        var checkpoint = _cur.Clone();
        checkpoint.Branches = 1;
        checkpoint.InsnIdx = _pc;
        checkpoint.LastInsn = _prevPc;
        _cur.Parent = checkpoint;
        _cur.History = null;
        _cur.HistoryCount = 0;
        _cur.FirstInsn = _pc;
        _curHistEntry = null;
        PushHistory();
        foreach (var frame in _cur.Frames)
        {
            frame.SlotsWritten = 0;
            for (int r = 0; r < 10; r++)
            {
                frame.Regs[r].Written = false;
            }

            for (int spi = 0; spi < frame.Spilled.Length; spi++)
            {
                frame.Spilled[spi].Written = false;
            }
        }

        list.Add(new Checkpoint(checkpoint));
        return false;
    }

    private static bool StatesMaybeLooping(VerifierState old, VerifierState cur)
    {
        if (old.Frames.Count != cur.Frames.Count)
        {
            return false;
        }

        var fo = old.Current;
        var fc = cur.Current;
        for (int i = 0; i < 11; i++)
        {
            if (!fo.Regs[i].Equals(fc.Regs[i]))
            {
                return false;
            }
        }

        return true;
    }

    private sealed class IdMap
    {
        // Created on the first id compared: most comparisons end before any.
        private Dictionary<int, int>? _oldToCur;
        private Dictionary<int, int>? _curToOld;
        private int _tmp = int.MinValue / 2;

        public bool Check(int oldId, int curId)
        {
            if ((oldId == 0) != (curId == 0))
            {
                return false;
            }

            if (oldId == 0)
            {
                return true;
            }

            _oldToCur ??= [];
            _curToOld ??= [];
            if (_oldToCur.TryGetValue(oldId, out int mapped))
            {
                return mapped == curId;
            }

            if (_curToOld.ContainsKey(curId))
            {
                return false;
            }

            _oldToCur[oldId] = curId;
            _curToOld[curId] = oldId;
            return true;
        }

        public bool CheckScalar(int oldId, int curId) => Check(oldId != 0 ? oldId : ++_tmp, curId != 0 ? curId : ++_tmp);
    }

    private bool StatesEqual(VerifierState old, VerifierState cur, Exactness exact)
    {
        if (old.Frames.Count != cur.Frames.Count)
        {
            return false;
        }

        var ids = new IdMap();
        if (old.Refs.Count != cur.Refs.Count || old.LockMap != cur.LockMap || (old.LockId != 0 && !ids.Check(old.LockId, cur.LockId)))
        {
            return false;
        }

        for (int i = 0; i < old.Refs.Count; i++)
        {
            if (!ids.Check(old.Refs[i].Id, cur.Refs[i].Id))
            {
                return false;
            }
        }

        for (int f = 0; f < old.Frames.Count; f++)
        {
            var fo = old.Frames[f];
            var fc = cur.Frames[f];
            if (fo.CallSite != fc.CallSite || fo.InCallback != fc.InCallback || fo.CallbackDepth > fc.CallbackDepth)
            {
                return false;
            }

            int live = exact == Exactness.Exact ? 0x3ff : LiveRegisters(old, f);
            for (int r = 0; r < 10; r++)
            {
                if ((live & (1 << r)) == 0)
                {
                    continue;
                }

                if (!RegSafe(fo.Regs[r], fc.Regs[r], ids, exact))
                {
                    return false;
                }
            }

            if (!StackSafe(fo, fc, ids, exact))
            {
                return false;
            }
        }

        return true;
    }

    private static bool RangeWithin(in RegisterState old, in RegisterState cur) =>
        old.UMin <= cur.UMin && old.UMax >= cur.UMax && old.SMin <= cur.SMin && old.SMax >= cur.SMax &&
        old.U32Min <= cur.U32Min && old.U32Max >= cur.U32Max && old.S32Min <= cur.S32Min && old.S32Max >= cur.S32Max;

    private static bool SameShape(in RegisterState old, in RegisterState cur) =>
        old.Type == cur.Type && old.Flags == cur.Flags && old.Off == cur.Off && old.Range == cur.Range && old.MapIndex == cur.MapIndex &&
        old.MemSize == cur.MemSize && old.FrameNo == cur.FrameNo;

    private static bool RegsExact(in RegisterState old, in RegisterState cur, IdMap ids) =>
        SameShape(old, cur) && old.VarOff == cur.VarOff && old.SameBounds(cur) && ids.Check(old.Id, cur.Id) && ids.Check(old.RefObjId, cur.RefObjId);

    private static bool RegSafe(in RegisterState old, in RegisterState cur, IdMap ids, Exactness exact)
    {
        if (old.Type == RegisterType.NotInit)
        {
            return exact == Exactness.NotExact || cur.Type == RegisterType.NotInit;
        }

        if (exact == Exactness.Exact)
        {
            return RegsExact(old, cur, ids);
        }

        if (old.Type != cur.Type || old.Flags != cur.Flags)
        {
            return false;
        }

        switch (old.Type)
        {
            case RegisterType.Scalar:
                // A scalar whose value no later decision of the explored state relied on only has to stay a scalar.
                if (exact == Exactness.NotExact && !old.Precise)
                {
                    return true;
                }

                return RangeWithin(old, cur) && old.VarOff.Includes(cur.VarOff) && ids.CheckScalar(old.Id, cur.Id);
            case RegisterType.MapKey:
            case RegisterType.MapValue:
            case RegisterType.Memory:
                return SameShape(old, cur) && RangeWithin(old, cur) && old.VarOff.Includes(cur.VarOff) &&
                    ids.Check(old.Id, cur.Id) && ids.Check(old.RefObjId, cur.RefObjId);
            case RegisterType.Packet:
            case RegisterType.PacketMeta:
                return old.Range <= cur.Range && old.Off == cur.Off && ids.Check(old.Id, cur.Id) &&
                    RangeWithin(old, cur) && old.VarOff.Includes(cur.VarOff);
            default:
                return RegsExact(old, cur, ids);
        }
    }

    private static bool StackSafe(FrameState old, FrameState cur, IdMap ids, Exactness exact)
    {
        for (int spi = 0; spi * 8 < old.AllocatedStack; spi++)
        {
            // A slot no continuation of the explored state read can hold anything.
            if (exact == Exactness.NotExact && (old.SlotsRead & (1UL << spi)) == 0)
            {
                continue;
            }

            if (exact != Exactness.Exact && ScalarInSlot(old, spi) is { } oldScalar && ScalarInSlot(cur, spi) is { } curScalar)
            {
                // A 64-bit scalar spill and unknown bytes read back alike: compare them as registers.
                if (!RegSafe(oldScalar, curScalar, ids, exact))
                {
                    return false;
                }

                continue;
            }

            for (int i = spi * 8; i < (spi * 8) + 8; i++)
            {
                if (!StackByteSafe(old, cur, i, ids, exact))
                {
                    return false;
                }
            }
        }

        if (exact == Exactness.Exact)
        {
            for (int i = old.AllocatedStack; i < cur.AllocatedStack; i++)
            {
                if (cur.Stack[i] != StackByte.Invalid)
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool StackByteSafe(FrameState old, FrameState cur, int i, IdMap ids, Exactness exact)
    {
        var ot = old.Stack[i];
        if (exact != Exactness.Exact && ot == StackByte.Invalid)
        {
            return true;
        }

        var ct = i < cur.AllocatedStack ? cur.Stack[i] : StackByte.Invalid;
        if (exact == Exactness.Exact)
        {
            if (ot != ct)
            {
                return false;
            }
        }
        else if (ot == StackByte.Misc)
        {
            // Unknown data covers anything but a spilled pointer (a privileged load may read uninitialised stack).
            return !(ct == StackByte.Spill && cur.Spilled[i / 8].IsPointer);
        }
        else if (ot != ct)
        {
            return false;
        }

        return i % 8 != 7 || ot != StackByte.Spill || RegSafe(old.Spilled[i / 8], cur.Spilled[i / 8], ids, exact);
    }

    /// <summary>The scalar a slot reads back as when it is a whole 64-bit scalar spill or all unknown bytes (<c>scalar_reg_for_stack</c>).</summary>
    private static RegisterState? ScalarInSlot(FrameState frame, int spi)
    {
        if ((spi * 8) + 8 > frame.AllocatedStack)
        {
            return null;
        }

        bool allSpill = true, allMisc = true;
        for (int j = 0; j < 8; j++)
        {
            var t = frame.Stack[(spi * 8) + j];
            allSpill &= t == StackByte.Spill;
            allMisc &= t is StackByte.Misc or StackByte.Invalid;
        }

        if (allSpill && frame.Spilled[spi].Type == RegisterType.Scalar)
        {
            return frame.Spilled[spi];
        }

        return allMisc ? RegisterState.UnknownScalar() : null;
    }
}
