using SharpBpf.Isa;

namespace SharpBpf.Verification;

internal sealed partial class VerifierRun
{
    private const long MaxVarSize = 1 << 29;
    private const string MemTypes = "fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_";

    private sealed class CallMeta
    {
        public int MapIndex = -1;
        public int MemRegno = -1;
        public bool MemIsWrite;
        public long AllocSize = -1;
        public int ReleaseRefObjId;
        public int RefObjId;
        public int CallbackTarget = -1;
        public bool ValueNotNull;

        // The largest value of the last size argument (the kernel's msize_max_value).
        public ulong MaxSize;
    }

    private StepOutcome CheckHelperCall(Instruction insn)
    {
        int id = insn.Immediate;
        string? name = HelperNames.Find(id);
        if (name is null)
        {
            throw Reject(F($"invalid func unknown#{id}"));
        }

        if (_cur.LockMap >= 0 && id != 94)
        {
            throw Reject("function calls are not allowed while holding a lock");
        }

        var proto = HelperPrototypes.Find(id, _options.ProgramType);
        if (proto is null && id is 136 or 137 or 138 or 139 or 140 or 178 or 196)
        {
            // The bpf_skc_to_* casts return BTF-typed sockets whose type matching and reference sharing SharpBPF does
            // not model: refused as such, not as unavailable (the kernel offers them to most program types).
            throw Reject(F($"helper {name}#{id} (a BTF-typed socket cast) is not supported by SharpBPF's verifier"));
        }

        if (proto is null)
        {
            throw Reject(F($"program of this type cannot use helper {name}#{id}"));
        }

        var meta = new CallMeta();
        for (int i = 0; i < 5; i++)
        {
            var arg = i < proto.Arguments.Length ? proto.Arguments[i] : HelperArgument.None;
            CheckArgument(proto, i + 1, arg, meta);
            NoteArgumentReference(i + 1, arg, meta);
        }

        meta.ValueNotNull = id == 1 && LookupCannotFail(meta.MapIndex);
        if (id == 12 && meta.MapIndex >= 0 && Regs[3] is { Type: RegisterType.Scalar, VarOff.IsConst: true } index &&
            _maps[meta.MapIndex].MaxEntries > 0 && Tnum.Range(0, _maps[meta.MapIndex].MaxEntries - 1UL).Contains(index.VarOff.Value))
        {
            // The kernel's record_func_key: a constant tail call index within the array's range (as a tnum) is relied
            // on (the call may become a direct jump), so it must be precise.
            MarkChainPrecision(3);
        }

        if (id == 181)
        {
            // bpf_loop: the number of iterations decides when the callback stops being called: after as many
            // rounds as R1 may ask for, the call is not followed into the callback again.
            UpdateLoopInlineState(meta.CallbackTarget);
            MarkChainPrecision(1);
            if ((ulong)_cur.Current.CallbackDepth >= Regs[1].UMax)
            {
                _cur.Current.CallbackDepth = 0;
                meta.CallbackTarget = -1;
                if (LogLevel >= 2)
                {
                    Log(F($"frame{_cur.CurFrame} bpf_loop iteration limit reached\n"));
                }
            }
        }

        // A map programs may only read is not changed by helpers either (record_func_map).
        if (meta.MapIndex >= 0 && id is 2 or 3 or 87 or 88 && (ProgramMapFlags(_maps[meta.MapIndex]) & MapFlagReadOnlyProgram) != 0)
        {
            throw Reject("write into map forbidden");
        }

        // As the kernel: the map's fitness for the helper is checked after every argument.
        if (meta.MapIndex >= 0)
        {
            CheckMapCompatibility(proto, _maps[meta.MapIndex]);
        }

        if (meta.ReleaseRefObjId != 0)
        {
            // A pointer that claims a reference the state no longer holds (the kernel's release_reference failing).
            if (!_cur.Refs.Exists(r => r.Id == meta.ReleaseRefObjId))
            {
                throw Reject(F($"func {name}#{id} reference has not been allocated"));
            }

            ReleaseReference(meta.ReleaseRefObjId);
        }

        if (id == 12 && _cur.Refs.Count > 0)
        {
            // A tail call that succeeds never comes back to release what this program holds.
            throw ReferenceLeak("tail_call would lead to reference leak");
        }

        if (meta.CallbackTarget >= 0)
        {
            PushCallback(proto, meta);
        }

        // The call clobbers R0-R5.
        for (int i = 0; i <= 5; i++)
        {
            Regs[i] = default;
            ScratchReg(i);
        }

        var r0 = proto.Return switch
        {
            HelperReturn.Void => default,
            HelperReturn.MapValueOrNull => MapValueOrNull(meta),
            HelperReturn.RingbufMemoryOrNull => RingbufMemory(meta),
            HelperReturn.SocketOrNull => AcquiredPointer(RegisterState.Pointer(RegisterType.Socket, RegisterTypeFlags.MaybeNull)),
            HelperReturn.SockCommonOrNull => AcquiredPointer(RegisterState.Pointer(RegisterType.SockCommon, RegisterTypeFlags.MaybeNull)),
            HelperReturn.FullSocketOrNull => SocketCast(RegisterType.Socket, id, meta),
            HelperReturn.TcpSockOrNull => SocketCast(RegisterType.TcpSock, id, meta),
            _ => RegisterState.UnknownScalar(),
        };
        if (proto.Return == HelperReturn.Integer && id is 45 or 67 or 114 or 115 or 141)
        {
            // The kernel's do_refine_retval_range: a string read or a stack walk returns at most the size it was given,
            // or an error number.
            const long MaxErrno = 4095;
            r0.SMax = (long)meta.MaxSize;
            r0.S32Max = (int)meta.MaxSize;
            r0.SMin = -MaxErrno;
            r0.S32Min = -(int)MaxErrno;
            ScalarDomain.Sync(ref r0);
        }

        if (r0.Type != RegisterType.NotInit)
        {
            SetReg(0, r0);
        }

        if (proto.ChangesPacketData)
        {
            ClearPacketPointers();
        }

        if (id == 12 && _cur.CurFrame > 0)
        {
            return TailCallFromSubprogram();
        }

        _pc++;
        return StepOutcome.Continue;
    }

    /// <summary>
    /// A tail call from a subprogram (the running kernel's rule, 6.18): the path where it fails goes on after the call;
    /// where it succeeds, the programs it runs may change the packet and their result is returned to the subprogram's
    /// caller, so the subprogram returns at once an unknown scalar, with every packet pointer invalid.
    /// </summary>
    private StepOutcome TailCallFromSubprogram()
    {
        PushBranch(_cur.Clone(), _pc + 1);
        ClearPacketPointers();
        SetReg(0, RegisterState.UnknownScalar());
        var outcome = ReturnFromCallee();

        // The kernel's log then shows the caller's R0 before the next instruction.
        ScratchReg(0);
        return outcome;
    }

    private RegisterState MapValueOrNull(CallMeta meta)
    {
        var map = _maps[meta.MapIndex];
        var reg = RegisterState.Pointer(map.IsMapOfMaps ? RegisterType.MapPointer : RegisterType.MapValue, meta.ValueNotNull ? RegisterTypeFlags.None : RegisterTypeFlags.MaybeNull);
        if (map.IsMapOfMaps && (map.InnerMapIndex < 0 || map.InnerMapIndex >= _maps.Count))
        {
            throw Reject("map-in-map inner map template is unknown");
        }

        reg.MapIndex = map.IsMapOfMaps ? map.InnerMapIndex : meta.MapIndex;
        if (map.Type is MapType.SockMap or MapType.SockHash)
        {
            // A socket map's value is the socket itself, and the lookup takes a reference on it (is_acquire_function).
            return AcquiredPointer(RegisterState.Pointer(RegisterType.Socket, RegisterTypeFlags.MaybeNull));
        }

        if (map.Type == MapType.XskMap)
        {
            reg = RegisterState.Pointer(RegisterType.XdpSock, RegisterTypeFlags.MaybeNull);
            reg.Id = NewId();
            return reg;
        }

        // A value that cannot be null still gets an id when it holds a bpf_spin_lock: unlock must name the same value.
        reg.Id = meta.ValueNotNull && (map.IsMapOfMaps || map.SpinLockOffset < 0) ? 0 : NewId();
        return reg;
    }

    private RegisterState RingbufMemory(CallMeta meta)
    {
        var reg = RegisterState.Pointer(RegisterType.Memory, RegisterTypeFlags.Ringbuf | RegisterTypeFlags.MaybeNull);
        reg.MemSize = (int)meta.AllocSize;
        return AcquiredPointer(reg);
    }

    /// <summary>
    /// The socket a cast helper returns. bpf_sk_fullsock and bpf_tcp_sock return their argument itself, so the result
    /// shares its reference (<c>is_ptr_cast_function</c>): releasing either invalidates both. bpf_get_listener_sock
    /// holds none.
    /// </summary>
    private RegisterState SocketCast(RegisterType type, int helperId, CallMeta meta)
    {
        var reg = RegisterState.Pointer(type, RegisterTypeFlags.MaybeNull);
        reg.Id = NewId();
        reg.RefObjId = helperId is 95 or 96 ? meta.RefObjId : 0;
        return reg;
    }

    /// <summary>Every argument but an ANYTHING one passes on its reference; a helper takes at most one (<c>check_func_arg</c>).</summary>
    private void NoteArgumentReference(int regno, HelperArgument arg, CallMeta meta)
    {
        int refObjId = Regs[regno].RefObjId;
        if (arg is HelperArgument.None or HelperArgument.Anything || refObjId == 0)
        {
            return;
        }

        if (meta.RefObjId != 0)
        {
            // The running kernel's (6.18) wording: 6.12 said "verifier internal error: " first.
            throw Reject(F($"more than one arg with ref_obj_id R{regno} {refObjId} {meta.RefObjId}"));
        }

        meta.RefObjId = refObjId;
    }

    /// <summary>A pointer a helper returns with a new reference (<c>acquire_reference_state</c>), released on every path or reported at exit.</summary>
    private RegisterState AcquiredPointer(RegisterState reg)
    {
        // As the kernel: one id for the null check, then the reference's own id replaces it.
        _ = NewId();
        reg.Id = NewId();
        reg.RefObjId = reg.Id;
        _cur.Refs.Add((reg.Id, _pc));
        return reg;
    }

    private void ClearPacketPointers()
    {
        foreach (var (frame, index, spilled) in AllRegisters().ToList())
        {
            ref var reg = ref RegAt(frame, index, spilled);
            if (IsAnyPacket(reg))
            {
                bool written = reg.Written;
                reg = RegisterState.UnknownScalar();
                reg.Written = written;
            }
        }
    }

    /// <summary>The kernel's check_reference_leak: each reference still held is logged, then the reason is the error.</summary>
    private VerifierRejection ReferenceLeak(string reason)
    {
        foreach (var (refId, allocInsn) in _cur.Refs)
        {
            Log(F($"Unreleased reference id={refId} alloc_insn={allocInsn}\n"));
        }

        return Reject(reason);
    }

    private void ReleaseReference(int refObjId)
    {
        _cur.Refs.RemoveAll(r => r.Id == refObjId);
        foreach (var (frame, index, spilled) in AllRegisters().ToList())
        {
            ref var reg = ref RegAt(frame, index, spilled);
            if (reg.RefObjId == refObjId)
            {
                bool written = reg.Written;
                reg = RegisterState.UnknownScalar();
                reg.Written = written;
            }
        }
    }

    private VerifierRejection TypeMismatch(int regno, in RegisterState reg, string expected) =>
        Reject(F($"R{regno} type={TypeName(reg)} expected={expected}"));

    private static bool IsNullScalar(in RegisterState reg) => reg.Type == RegisterType.Scalar && reg.VarOff.IsConst && reg.VarOff.Value == 0;

    private static bool IsMemType(in RegisterState reg) =>
        reg.Flags is RegisterTypeFlags.None or RegisterTypeFlags.Ringbuf && (reg.Flags == RegisterTypeFlags.None || reg.Type == RegisterType.Memory) &&
        reg.Type is RegisterType.Stack or RegisterType.Packet or RegisterType.PacketMeta or RegisterType.MapKey or RegisterType.MapValue or RegisterType.Memory;

    private void CheckArgument(HelperPrototype proto, int regno, HelperArgument arg, CallMeta meta)
    {
        if (arg == HelperArgument.None)
        {
            return;
        }

        var reg = ReadReg(regno);
        switch (arg)
        {
            case HelperArgument.Anything:
                return;
            case HelperArgument.Scalar:
                if (reg.Type != RegisterType.Scalar)
                {
                    throw TypeMismatch(regno, reg, "scalar");
                }

                return;
            case HelperArgument.MapPointer:
                if (reg.Type != RegisterType.MapPointer || reg.Flags != RegisterTypeFlags.None)
                {
                    throw TypeMismatch(regno, reg, "map_ptr");
                }

                meta.MapIndex = reg.MapIndex;
                return;
            case HelperArgument.ContextOrNull when IsNullScalar(reg):
                return;
            case HelperArgument.Context:
            case HelperArgument.ContextOrNull:
                if (reg.Type != RegisterType.Context || reg.Flags != RegisterTypeFlags.None)
                {
                    throw TypeMismatch(regno, reg, "ctx");
                }

                if (reg.Off != 0)
                {
                    throw Reject(F($"dereference of modified ctx ptr R{regno} off={reg.Off} disallowed"));
                }

                return;
            case HelperArgument.MapValueOrNull when IsNullScalar(reg):
                MarkChainPrecision(regno);
                return;
            case HelperArgument.MapKey:
            case HelperArgument.MapValue:
            case HelperArgument.MapValueOrNull:
            case HelperArgument.UninitMapValue:
            {
                if (arg != HelperArgument.MapKey && meta.MapIndex >= 0 && _maps[meta.MapIndex].Type is MapType.SockMap or MapType.SockHash)
                {
                    // A socket map's value is a socket (resolve_map_arg_type).
                    if (arg != HelperArgument.MapValue)
                    {
                        throw Reject("invalid arg_type for sockmap/sockhash");
                    }

                    CheckArgument(proto, regno, HelperArgument.SockCommonBtf, meta);
                    return;
                }

                if (!IsMemType(reg))
                {
                    throw TypeMismatch(regno, reg, MemTypes);
                }

                if (meta.MapIndex < 0)
                {
                    throw Reject(arg == HelperArgument.MapKey ? "invalid map_ptr to access map->key" : "invalid map_ptr to access map->value");
                }

                var map = _maps[meta.MapIndex];
                int size = (int)(arg == HelperArgument.MapKey ? map.KeySize : map.ValueSize);
                CheckHelperMemAccess(regno, reg, size, zeroSizeAllowed: false, write: arg == HelperArgument.UninitMapValue);
                return;
            }

            case HelperArgument.ReadMemory:
            case HelperArgument.ReadMemoryOrNull:
            case HelperArgument.WriteMemory:
                if (arg == HelperArgument.ReadMemoryOrNull && IsNullScalar(reg))
                {
                    MarkChainPrecision(regno);
                    meta.MemRegno = -1;
                    return;
                }

                if (!IsMemType(reg))
                {
                    throw TypeMismatch(regno, reg, MemTypes);
                }

                meta.MemRegno = regno;
                meta.MemIsWrite = arg == HelperArgument.WriteMemory;
                return;
            case HelperArgument.Size:
            case HelperArgument.SizeOrZero:
            {
                if (reg.Type != RegisterType.Scalar)
                {
                    throw TypeMismatch(regno, reg, "scalar");
                }

                bool zeroOk = arg == HelperArgument.SizeOrZero;
                meta.MaxSize = reg.UMax;
                if (reg.SMin < 0)
                {
                    throw Reject(F($"R{regno} min value is negative, either use unsigned or 'var &= const'"));
                }

                if (reg.UMin == 0 && !zeroOk)
                {
                    throw Reject(F($"R{regno} invalid zero-sized read: u64=[{(long)reg.UMin},{(long)reg.UMax}]"));
                }

                if (reg.UMax >= MaxVarSize)
                {
                    throw Reject(F($"R{regno} unbounded memory access, use 'var &= const' or 'if (var < const)'"));
                }

                if (meta.MemRegno >= 0)
                {
                    var mem = Regs[meta.MemRegno];
                    CheckHelperMemAccess(meta.MemRegno, mem, (int)reg.UMax, zeroOk, meta.MemIsWrite);
                }

                MarkChainPrecision(regno);

                meta.MemRegno = -1;
                return;
            }

            case HelperArgument.AllocSizeOrZero:
                if (reg.Type != RegisterType.Scalar)
                {
                    throw TypeMismatch(regno, reg, "scalar");
                }

                if (!reg.VarOff.IsConst)
                {
                    throw Reject(F($"R{regno} is not a known constant'"));
                }

                meta.AllocSize = (long)reg.VarOff.Value;
                MarkChainPrecision(regno);
                return;
            case HelperArgument.ReleaseRingbufMemory:
                if (reg.Type != RegisterType.Memory || reg.Flags != RegisterTypeFlags.Ringbuf)
                {
                    throw TypeMismatch(regno, reg, "ringbuf_mem");
                }

                CheckReleaseArgument(regno, reg, meta);
                return;
            case HelperArgument.SockCommon:
                if (reg.Flags != RegisterTypeFlags.None || reg.Type is not (RegisterType.SockCommon or RegisterType.Socket or RegisterType.TcpSock or RegisterType.XdpSock))
                {
                    throw TypeMismatch(regno, reg, "sock_common, sock, tcp_sock, xdp_sock");
                }

                return;
            case HelperArgument.ReleaseSocket:
                // A BTF pointer would need its type matched; those are not acquired here, so they are refused below
                // as unreferenced, as the kernel refuses them.
                CheckSockCommonBtf(regno, reg);
                CheckReleaseArgument(regno, reg, meta);
                return;
            case HelperArgument.SockCommonBtf:
                CheckSockCommonBtf(regno, reg);
                if (reg.Type == RegisterType.BtfId)
                {
                    // Which BTF types count as a struct sock_common (btf_struct_ids_match) is not modelled: refused
                    // rather than guessed.
                    throw Reject(F($"R{regno} a BTF-typed socket argument to {proto.Name}#{proto.Id} is not supported by SharpBPF"));
                }

                return;
            case HelperArgument.SpinLock:
                if (reg.Type != RegisterType.MapValue || reg.Flags != RegisterTypeFlags.None)
                {
                    throw TypeMismatch(regno, reg, "map_value, ptr_");
                }

                CheckSpinLock(regno, reg, proto.Id == 93);
                return;
            case HelperArgument.Function:
                if (reg.Type != RegisterType.Function)
                {
                    throw TypeMismatch(regno, reg, "func");
                }

                meta.CallbackTarget = reg.FrameNo;
                return;
            case HelperArgument.StackOrNull:
                if (!IsNullScalar(reg) && reg.Type != RegisterType.Stack)
                {
                    throw TypeMismatch(regno, reg, "fp");
                }

                MarkChainPrecision(regno);

                return;
            case HelperArgument.ConstString:
                CheckConstString(regno, reg);
                return;
        }
    }

    /// <summary>The socket views ARG_PTR_TO_BTF_ID_SOCK_COMMON allows, none of them NULL.</summary>
    private void CheckSockCommonBtf(int regno, in RegisterState reg)
    {
        if (reg.Flags != RegisterTypeFlags.None && !(reg.Type == RegisterType.BtfId && reg.Flags == RegisterTypeFlags.Trusted) ||
            reg.Type is not (RegisterType.SockCommon or RegisterType.Socket or RegisterType.TcpSock or RegisterType.XdpSock or RegisterType.BtfId))
        {
            throw TypeMismatch(regno, reg, "sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_");
        }
    }

    /// <summary>bpf_spin_lock / bpf_spin_unlock of the lock in a map value (<c>process_spin_lock</c>): one lock at a time, released by the same pointer.</summary>
    private void CheckSpinLock(int regno, in RegisterState reg, bool isLock)
    {
        if (!reg.VarOff.IsConst)
        {
            throw Reject(F($"R{regno} doesn't have constant offset. bpf_spin_lock has to be at the constant offset"));
        }

        var map = _maps[reg.MapIndex];
        if (!map.HasValueBtf)
        {
            throw Reject(F($"map '{map.Name}' has to have BTF in order to use bpf_spin_lock"));
        }

        if (map.SpinLockOffset < 0)
        {
            throw Reject(F($"map '{map.Name}' has no valid bpf_spin_lock"));
        }

        long off = (long)reg.VarOff.Value + reg.Off;
        if (off != map.SpinLockOffset)
        {
            throw Reject(F($"off {off} doesn't point to 'struct bpf_spin_lock' that is at {map.SpinLockOffset}"));
        }

        if (isLock)
        {
            if (_cur.LockMap >= 0)
            {
                throw Reject("Locking two bpf_spin_locks are not allowed");
            }

            _cur.LockMap = reg.MapIndex;
            _cur.LockId = reg.Id;
            return;
        }

        if (_cur.LockMap < 0)
        {
            throw Reject("bpf_spin_unlock without taking a lock");
        }

        if (_cur.LockMap != reg.MapIndex || _cur.LockId != reg.Id)
        {
            throw Reject("bpf_spin_unlock of different lock");
        }

        _cur.LockMap = -1;
        _cur.LockId = 0;
    }

    /// <summary>The lock field of a map value is touched only by the lock helpers (<c>check_map_access</c>).</summary>
    private void CheckSpinLockUntouched(in RegisterState reg, int off, int size)
    {
        int lockOff = _maps[reg.MapIndex].SpinLockOffset;
        if (lockOff >= 0 && reg.SMin + off < lockOff + 4 && lockOff < (long)reg.UMax + off + size)
        {
            throw Reject("bpf_spin_lock cannot be accessed directly by load/store");
        }
    }

    private void CheckReleaseArgument(int regno, in RegisterState reg, CallMeta meta)
    {
        if (reg.Off != 0 || !reg.VarOff.IsConst || reg.VarOff.Value != 0)
        {
            throw Reject(F($"R{regno} must have zero offset when passed to release func or trusted arg to kfunc"));
        }

        if (reg.RefObjId == 0)
        {
            throw Reject(F($"R{regno} must be referenced when passed to release function"));
        }

        meta.ReleaseRefObjId = reg.RefObjId;
    }

    private void CheckConstString(int regno, in RegisterState reg)
    {
        if (reg.Type != RegisterType.MapValue || reg.MaybeNull)
        {
            throw TypeMismatch(regno, reg, "map_value");
        }

        var map = _maps[reg.MapIndex];
        if (map.ReadOnlyValue is not { } bytes)
        {
            throw Reject(F($"R{regno} does not point to a readonly map'"));
        }

        if (!reg.VarOff.IsConst)
        {
            throw Reject(F($"R{regno} is not a constant address'"));
        }

        int start = reg.Off + (int)reg.VarOff.Value;
        var span = bytes.Span;
        if (start < 0 || start >= span.Length || span[start..].IndexOf((byte)0) < 0)
        {
            throw Reject("string is not zero-terminated");
        }
    }

    private static RegisterState MapRegister(RegisterType type, int mapIndex)
    {
        var reg = RegisterState.Pointer(type);
        reg.MapIndex = mapIndex;
        return reg;
    }

    private void CheckMapCompatibility(HelperPrototype proto, VerifierMap map)
    {
        if (proto.Id == 12 && map.Type != MapType.ProgramArray)
        {
            throw Reject("expected prog array map for tail call");
        }

        bool ok = proto.Id switch
        {
            130 or 131 or 132 or 133 or 134 => map.Type == MapType.RingBuffer,
            25 or 22 or 55 => map.Type == MapType.PerfEventArray,
            27 => map.Type == MapType.StackTrace,
            33 or 37 => map.Type == MapType.CgroupArray,
            12 => map.Type == MapType.ProgramArray,
            164 => map.Type is MapType.Array or MapType.PerCpuArray or MapType.Hash or MapType.PerCpuHash or MapType.LruHash or MapType.LruPerCpuHash,
            53 => map.Type == MapType.SockMap,
            70 => map.Type == MapType.SockHash,
            107 or 108 => map.Type == MapType.SkStorage,
            51 => map.Type is MapType.DevMap or MapType.DevMapHash or MapType.CpuMap or MapType.XskMap,
            87 or 88 or 89 => map.Type is MapType.Queue or MapType.Stack or MapType.BloomFilter,
            1 or 2 or 3 or 195 => map.Type is not (MapType.RingBuffer or MapType.PerfEventArray or MapType.ProgramArray or MapType.Queue or MapType.Stack),
            _ => true,
        };
        bool mapOnlyForHelper = map.Type switch
        {
            MapType.RingBuffer => proto.Id is 130 or 131 or 132 or 133 or 134,
            MapType.PerfEventArray => proto.Id is 25 or 22 or 55 or 67,
            MapType.ProgramArray => proto.Id == 12,
            // Socket maps: lookups and their own helpers; updates and deletes where no socket can be locked.
            MapType.SockMap => proto.Id is 1 or 52 or 53 or 60 or 82 || MayUpdateSockmap(proto.Id),
            MapType.SockHash => proto.Id is 1 or 70 or 71 or 72 or 82 || MayUpdateSockmap(proto.Id),
            MapType.SkStorage => proto.Id is 107 or 108,
            // Device and AF_XDP socket maps: redirects, and lookups where the kernel allows them.
            MapType.DevMap or MapType.DevMapHash or MapType.XskMap => proto.Id is 1 or 51,
            MapType.CpuMap => proto.Id == 51,
            _ => true,
        };
        if (!ok || !mapOnlyForHelper)
        {
            throw Reject(F($"cannot pass map_type {(int)map.Type} into func {proto.Name}#{proto.Id}"));
        }
    }

    /// <summary>Whether a program of this type may update or delete in a socket map (<c>may_update_sockmap</c>; BPF iterators are not modelled).</summary>
    private bool MayUpdateSockmap(int helperId)
    {
        if (helperId is not (2 or 3))
        {
            return false;
        }

        if (_options.ProgramType is ProgramType.SocketFilter or ProgramType.SchedCls or ProgramType.SchedAct or ProgramType.Xdp ||
            (_options.ProgramType == ProgramType.SockOps && helperId == 3))
        {
            return true;
        }

        Log("cannot update sockmap in this context\n");
        return false;
    }

    /// <summary>Memory a helper reads or writes through a pointer argument (<c>check_helper_mem_access</c>).</summary>
    private void CheckHelperMemAccess(int regno, in RegisterState reg, int size, bool zeroSizeAllowed, bool write)
    {
        switch (reg.Type)
        {
            case RegisterType.Packet:
            case RegisterType.PacketMeta:
                CheckPacketAccess(regno, reg, reg.Off, size, zeroSizeAllowed);
                return;
            case RegisterType.MapKey:
                if (write)
                {
                    throw Reject(F($"R{regno} cannot write into {TypeName(reg)}"));
                }

                CheckMemRegion(regno, reg, reg.Off, size, (int)_maps[reg.MapIndex].KeySize, zeroSizeAllowed);
                return;
            case RegisterType.MapValue:
            {
                var map = _maps[reg.MapIndex];
                uint flags = ProgramMapFlags(map);
                if (write && (flags & MapFlagReadOnlyProgram) != 0)
                {
                    throw Reject(F($"write into map forbidden, value_size={map.ValueSize} off={reg.Off} size={size}"));
                }

                CheckMemRegion(regno, reg, reg.Off, size, (int)map.ValueSize, zeroSizeAllowed);
                CheckSpinLockUntouched(reg, reg.Off, size);
                return;
            }

            case RegisterType.Memory:
                CheckMemRegion(regno, reg, reg.Off, size, reg.MemSize, zeroSizeAllowed);
                return;
            case RegisterType.Stack:
            {
                if (size == 0)
                {
                    if (!zeroSizeAllowed)
                    {
                        throw Reject("invalid zero-sized read");
                    }

                    return;
                }

                // The running kernel (6.18) words helper accesses as direct ones ("invalid write to stack").
                CheckStackBounds(regno, reg, reg.Off, size, write ? " write to" : " read from");
                var frame = StackFrameOf(reg);
                long min = reg.VarOff.IsConst ? (long)reg.VarOff.Value + reg.Off : reg.SMin + reg.Off;
                long max = (reg.VarOff.IsConst ? (long)reg.VarOff.Value + reg.Off : reg.SMax + reg.Off) + size;
                if (!write)
                {
                    NoteStackRangeRead(frame, min, max);
                }
                else
                {
                    for (long a = min; a < max; a++)
                    {
                        MarkStackByte(frame, (int)(-a - 1), StackByte.Misc);
                    }
                }

                return;
            }

            default:
                throw Reject(F($"R{regno} type={TypeName(reg)} expected=fp"));
        }
    }

    /// <summary>
    /// A helper that calls a callback (bpf_loop, bpf_for_each_map_elem): the callback is explored as a call from here,
    /// and after it returns the helper call is checked again with what the callback did, until the states converge.
    /// </summary>
    private void PushCallback(HelperPrototype proto, CallMeta meta)
    {
        // Taken before the call clobbers R1-R5, so that re-checking the call after the callback sees the arguments.
        var branch = _cur.Clone();
        branch.CallbackUnrollDepth++;
        branch.Current.CallbackDepth++;
        _cur.Current.CallbackDepth = 0;
        var callerRegs = branch.Current.Regs;
        EnterFunction(meta.CallbackTarget, callback: true, callee =>
        {
            if (proto.Id == 164)
            {
                // bpf_for_each_map_elem: callback(map, key, value, ctx) for each element.
                callee.Regs[1] = MapRegister(RegisterType.MapPointer, meta.MapIndex);
                callee.Regs[2] = MapRegister(RegisterType.MapKey, meta.MapIndex);
                callee.Regs[3] = MapRegister(RegisterType.MapValue, meta.MapIndex);
                callee.Regs[4] = callerRegs[3];
                return;
            }

            callee.Regs[1] = RegisterState.UnknownScalar();
            callee.Regs[2] = callerRegs[3];
        }, branch);
        PushBranch(branch, meta.CallbackTarget);
    }

    /// <summary>
    /// The kernel's <c>update_loop_inline_state</c>: a bpf_loop call stays fit for inlining while every visit passes
    /// flags known to be zero and the same callback; while it is, a zero flags register is relied on, so it is made precise.
    /// </summary>
    private void UpdateLoopInlineState(int callback)
    {
        if (_loopInline.TryGetValue(_pc, out var state) && !state.Fit)
        {
            return;
        }

        bool flagsZero = Regs[4] is { Type: RegisterType.Scalar, VarOff.IsConst: true, VarOff.Value: 0 };
        if (flagsZero)
        {
            MarkChainPrecision(4);
        }

        _loopInline[_pc] = (flagsZero && (state == default || state.Callback == callback), callback);
    }
}
