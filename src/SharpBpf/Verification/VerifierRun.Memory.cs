using System.Buffers.Binary;
using SharpBpf.Isa;

namespace SharpBpf.Verification;

internal sealed partial class VerifierRun
{
    private const uint MapFlagReadOnlyProgram = 0x80;

    /// <summary>
    /// A map's flags as programs see them: frozen global data and device maps (whose values the kernel makes
    /// BPF_F_RDONLY_PROG when it creates them) are read-only.
    /// </summary>
    private static uint ProgramMapFlags(VerifierMap map) =>
        map.Flags | (map.ReadOnlyValue is not null || map.Type is MapType.DevMap or MapType.DevMapHash ? MapFlagReadOnlyProgram : 0);
    private const uint MapFlagWriteOnlyProgram = 0x100;

    private void CheckLoad(Instruction insn)
    {
        ReadReg(insn.Src);
        CheckWritable(insn.Dst);
        int size = Instruction.BytesOf(insn.MemorySize);
        bool sx = insn.MemoryMode == MemoryMode.MemSx;
        var loaded = CheckMemAccess(insn.Src, insn.Offset, size, write: false, value: null, sx);
        SetReg(insn.Dst, loaded!.Value);
    }

    private void CheckStore(Instruction insn)
    {
        int size = Instruction.BytesOf(insn.MemorySize);
        if (insn.Class == InstructionClass.Stx && insn.MemoryMode == MemoryMode.Atomic)
        {
            CheckAtomic(insn, size);
            return;
        }

        RegisterState value;
        if (insn.Class == InstructionClass.Stx)
        {
            value = ReadReg(insn.Src);
        }
        else
        {
            value = RegisterState.Known((ulong)(long)insn.Immediate);
        }

        // The running kernel (6.18) lets BPF_ST store into writable context fields.
        ReadReg(insn.Dst);
        CheckMemAccess(insn.Dst, insn.Offset, size, write: true, value, false, valueRegno: insn.Class == InstructionClass.Stx ? insn.Src : -1);
    }

    private void CheckAtomic(Instruction insn, int size)
    {
        var op = (AtomicOperation)insn.Immediate;
        if (op is not (AtomicOperation.Add or AtomicOperation.And or AtomicOperation.Or or AtomicOperation.Xor or AtomicOperation.FetchAdd
            or AtomicOperation.FetchAnd or AtomicOperation.FetchOr or AtomicOperation.FetchXor or AtomicOperation.Xchg or AtomicOperation.CmpXchg))
        {
            throw Reject(F($"BPF_ATOMIC uses invalid atomic opcode {insn.Immediate:x2}"));
        }

        if (size is not (4 or 8))
        {
            throw Reject("invalid atomic operand size");
        }

        var src = ReadReg(insn.Src);
        var dstReg = ReadReg(insn.Dst);
        if (op == AtomicOperation.CmpXchg)
        {
            ReadReg(0);
        }

        // A privileged loader may store a pointer's bits with an atomic operation (allow_ptr_leaks).
        if (dstReg.Type is RegisterType.Context or RegisterType.Packet or RegisterType.PacketMeta)
        {
            throw Reject(F($"BPF_ATOMIC stores into R{insn.Dst} {TypeName(dstReg)} is not allowed"));
        }

        bool fetch = ((int)op & 1) != 0;
        int loadReg = op == AtomicOperation.CmpXchg ? 0 : fetch ? insn.Src : -1;
        var loaded = CheckMemAccess(insn.Dst, insn.Offset, size, write: false, value: null, false, valueRegno: loadReg, strictAlignment: true);
        // What an atomic operation leaves in memory is unknown to the verifier (the kernel writes it as misc data).
        CheckMemAccess(insn.Dst, insn.Offset, size, write: true, value: RegisterState.UnknownScalar(), false);
        if (loadReg >= 0)
        {
            var result = loaded!.Value;
            if (result.IsPointer)
            {
                result = RegisterState.UnknownScalar();
            }

            if (size < 8)
            {
                ScalarDomain.CoerceToSize(ref result, size);
            }

            SetReg(loadReg, result);
        }
    }

    /// <summary>
    /// Checks a load or store through register <paramref name="regno"/> (<c>check_mem_access</c>); for loads, returns
    /// the state of the loaded value.
    /// </summary>
    private RegisterState? CheckMemAccess(int regno, int insnOff, int size, bool write, RegisterState? value, bool sx, int valueRegno = -1, bool strictAlignment = false)
    {
        var reg = Regs[regno];
        CheckPointerAlignment(reg, insnOff, size, strictAlignment);
        RecordAccessFact(reg);
        int off = insnOff + reg.Off;
        RegisterState? result = null;
        var exactType = (reg.Type, reg.Flags);
        if (reg.Type == RegisterType.MapKey && reg.Flags == RegisterTypeFlags.None)
        {
            if (write)
            {
                throw Reject(F($"write to change key R{regno} not allowed"));
            }

            CheckMemRegion(regno, reg, off, size, (int)_maps[reg.MapIndex].KeySize, false);
            result = RegisterState.UnknownScalar();
        }
        else if (exactType == (RegisterType.MapValue, RegisterTypeFlags.None))
        {
            var map = _maps[reg.MapIndex];
            uint flags = ProgramMapFlags(map);
            if (write && (flags & MapFlagReadOnlyProgram) != 0)
            {
                throw Reject(F($"write into map forbidden, value_size={map.ValueSize} off={off} size={size}"));
            }

            if (!write && (flags & MapFlagWriteOnlyProgram) != 0)
            {
                throw Reject(F($"read from map forbidden, value_size={map.ValueSize} off={off} size={size}"));
            }

            CheckMemRegion(regno, reg, off, size, (int)map.ValueSize, false);
            CheckSpinLockUntouched(reg, off, size);
            if (!write)
            {
                result = RegisterState.UnknownScalar();
                if (reg.VarOff.IsConst && map.ReadOnlyValue is { } bytes)
                {
                    int at = off + (int)reg.VarOff.Value;
                    var span = bytes.Span;
                    if (at >= 0 && at + size <= span.Length)
                    {
                        ulong v = size switch
                        {
                            1 => span[at],
                            2 => BinaryPrimitives.ReadUInt16LittleEndian(span[at..]),
                            4 => BinaryPrimitives.ReadUInt32LittleEndian(span[at..]),
                            _ => BinaryPrimitives.ReadUInt64LittleEndian(span[at..]),
                        };
                        if (sx)
                        {
                            v = size switch
                            {
                                1 => (ulong)(sbyte)v,
                                2 => (ulong)(short)v,
                                4 => (ulong)(int)v,
                                _ => v,
                            };
                        }

                        return RegisterState.Known(v);
                    }
                }
            }
        }
        else if (reg.Flags == RegisterTypeFlags.None && reg.Type is RegisterType.SockCommon or RegisterType.Socket or RegisterType.TcpSock or RegisterType.XdpSock)
        {
            // The kernel's check_sock_access: each socket view has its own is_valid_access (sock_common leaves out
            // type..priority of struct bpf_sock).
            if (write)
            {
                throw Reject(F($"R{regno} cannot write into {TypeName(reg)}"));
            }

            if (!ProgramContexts.IsValidSocketAccess(reg.Type, off, size))
            {
                throw Reject(F($"R{regno} invalid {TypeName(reg)} access off={off} size={size}"));
            }

            result = RegisterState.UnknownScalar();
        }
        else if (reg.Type == RegisterType.Memory && !reg.MaybeNull)
        {
            if (write && (reg.Flags & RegisterTypeFlags.ReadOnly) != 0)
            {
                throw Reject(F($"R{regno} cannot write into {TypeName(reg)}"));
            }

            CheckMemRegion(regno, reg, off, size, reg.MemSize, false);
            result = RegisterState.UnknownScalar();
        }
        else if (exactType == (RegisterType.Context, RegisterTypeFlags.None))
        {
            if (reg.Off != 0)
            {
                throw Reject(F($"dereference of modified ctx ptr R{regno} off={reg.Off} disallowed"));
            }

            if (!reg.VarOff.IsConst || reg.VarOff.Value != 0)
            {
                throw Reject(F($"variable ctx access var_off={reg.VarOff} disallowed"));
            }

            result = CheckContextAccess(off, size, write, sx);
        }
        else if (exactType == (RegisterType.Stack, RegisterTypeFlags.None))
        {
            CheckStackBounds(regno, reg, off, size, write ? " write to" : " read from");
            if (write)
            {
                StackWrite(reg, off, size, value ?? RegisterState.UnknownScalar(), valueRegno);
            }
            else
            {
                result = StackRead(reg, off, size);
            }
        }
        else if (reg.IsPacketPointer && reg.Flags == RegisterTypeFlags.None)
        {
            if (write && !ProgramContexts.MayWritePacket(_options.ProgramType))
            {
                throw Reject("cannot write into packet");
            }

            CheckPacketAccess(regno, reg, off, size, false);
            result = RegisterState.UnknownScalar();
        }
        else if (reg.Type == RegisterType.BtfId && !reg.MaybeNull)
        {
            var fromObject = CheckBtfPointerAccess(regno, reg, off, size, write);
            result = write ? null : fromObject;
        }
        else
        {
            throw Reject(F($"R{regno} invalid mem access '{TypeName(reg)}'"));
        }

        if (write)
        {
            return null;
        }

        var loaded = result ?? RegisterState.UnknownScalar();
        if (size < 8 && loaded.Type == RegisterType.Scalar)
        {
            if (sx)
            {
                ScalarDomain.SignExtendToSize(ref loaded, size);
                ScalarDomain.Sync(ref loaded);
            }
            else
            {
                ScalarDomain.CoerceToSize(ref loaded, size);
            }
        }

        return loaded;
    }

    /// <summary>
    /// The kernel's <c>check_ptr_alignment</c>: the stack always, atomics always (<paramref name="strictOnce"/>), and
    /// with BPF_F_STRICT_ALIGNMENT (unless BPF_F_ANY_ALIGNMENT) every pointer, packets as if NET_IP_ALIGN were 2.
    /// </summary>
    private void CheckPointerAlignment(in RegisterState reg, int insnOff, int size, bool strictOnce)
    {
        bool strict = strictOnce ||
            ((_options.Flags & VerifierFlags.StrictAlignment) != 0 && (_options.Flags & VerifierFlags.AnyAlignment) == 0);
        const int ipAlign = 2;
        string kind;
        switch (reg.Type)
        {
            case RegisterType.Packet:
            case RegisterType.PacketMeta:
                if (strict && size != 1 && !Tnum.Add(reg.VarOff, Tnum.Const((ulong)(long)(ipAlign + reg.Off + insnOff))).IsAligned((ulong)size))
                {
                    throw Reject(F($"misaligned packet access off {ipAlign}+{reg.VarOff}+{reg.Off}+{insnOff} size {size}"));
                }

                return;
            case RegisterType.MapKey:
                kind = "key ";
                break;
            case RegisterType.MapValue:
                kind = "value ";
                break;
            case RegisterType.Context:
                kind = "context ";
                break;
            case RegisterType.Stack:
                kind = "stack ";
                strict = true; // the stack slot tracking needs aligned accesses
                break;
            case RegisterType.SockCommon:
                kind = "sock_common ";
                break;
            case RegisterType.Socket:
                kind = "sock ";
                break;
            case RegisterType.TcpSock:
                kind = "tcp_sock ";
                break;
            case RegisterType.XdpSock:
                kind = "xdp_sock ";
                break;
            case RegisterType.Memory:
                kind = "";
                break;
            default:
                // Registers this verifier models more loosely than the kernel (BTF-typed pointers) are not judged here.
                return;
        }

        if (strict && size != 1 && !Tnum.Add(reg.VarOff, Tnum.Const((ulong)(long)(reg.Off + insnOff))).IsAligned((ulong)size))
        {
            throw Reject(F($"misaligned {kind}access off {reg.VarOff}+{reg.Off}+{insnOff} size {size}"));
        }
    }

    /// <summary>Bounds of an access through a pointer with a variable part (<c>check_mem_region_access</c>).</summary>
    private void CheckMemRegion(int regno, in RegisterState reg, int off, int size, int memSize, bool zeroSizeAllowed)
    {
        if (reg.SMin < 0 && (reg.SMin == long.MinValue || off + reg.SMin != (int)(off + reg.SMin) || reg.SMin + off < 0))
        {
            throw Reject(F($"R{regno} min value is negative, either use unsigned index or do a if (index >=0) check."));
        }

        if (MemAccessError(reg, regno, reg.SMin + off, size, memSize, zeroSizeAllowed) is { } low)
        {
            throw Reject(low + "\n" + F($"R{regno} min value is outside of the allowed memory range"));
        }

        if (reg.UMax >= MaxVarOff)
        {
            throw Reject(F($"R{regno} unbounded memory access, make sure to bounds check any such access"));
        }

        if (MemAccessError(reg, regno, (long)reg.UMax + off, size, memSize, zeroSizeAllowed) is { } high)
        {
            throw Reject(high + "\n" + F($"R{regno} max value is outside of the allowed memory range"));
        }
    }

    private string? MemAccessError(in RegisterState reg, int regno, long off, int size, int memSize, bool zeroSizeAllowed)
    {
        bool sizeOk = size > 0 || (size == 0 && zeroSizeAllowed);
        if (off >= 0 && sizeOk && off + size <= memSize)
        {
            return null;
        }

        int o = (int)off;
        return reg.Type switch
        {
            RegisterType.MapKey => F($"invalid access to map key, key_size={memSize} off={o} size={size}"),
            RegisterType.MapValue => F($"invalid access to map value, value_size={memSize} off={o} size={size}"),
            RegisterType.Packet or RegisterType.PacketMeta or RegisterType.PacketEnd =>
                F($"invalid access to packet, off={o} size={size}, R{regno}(id={reg.Id},off={o},r={memSize})"),
            _ => F($"invalid access to memory, mem_size={(uint)memSize} off={o} size={size}"),
        };
    }

    private void CheckPacketAccess(int regno, in RegisterState reg, int off, int size, bool zeroSizeAllowed)
    {
        if (reg.SMin < 0)
        {
            throw Reject(F($"R{regno} min value is negative, either use unsigned index or do a if (index >=0) check."));
        }

        string? error = reg.Range < 0 ? "" : MemAccessError(reg, regno, off, size, reg.Range, zeroSizeAllowed);
        if (error is not null)
        {
            string outside = F($"R{regno} offset is outside of the packet");
            throw Reject(error.Length > 0 ? error + "\n" + outside : outside);
        }
    }

    private RegisterState CheckContextAccess(int off, int size, bool write, bool sx)
    {
        if (_options.ProgramType == ProgramType.Tracing && CheckTracingContext(off, size, write) is { } typed)
        {
            return typed;
        }

        var kind = ProgramContexts.Check(_options.ProgramType, off, size, write, sx, _options.ExpectedAttachType);
        if (kind is null)
        {
            throw Reject(F($"invalid bpf_context access off={off} size={size}"));
        }

        if (write)
        {
            return default;
        }

        switch (kind.Value)
        {
            case RegisterType.Scalar:
                return RegisterState.UnknownScalar();
            case RegisterType.SockCommon:
            case RegisterType.Socket:
            {
                // Maybe null, with an id so that a null check marks every copy (as the kernel's ctx loads of
                // PTR_MAYBE_NULL fields); no reference is held.
                var sock = RegisterState.Pointer(kind.Value, RegisterTypeFlags.MaybeNull);
                sock.Id = NewId();
                return sock;
            }

            default:
                return RegisterState.Pointer(kind.Value);
        }
    }

    // ---- stack -----------------------------------------------------------------------------

    private FrameState StackFrameOf(in RegisterState reg) => _cur.Frames[reg.FrameNo];

    private void CheckStackBounds(int regno, in RegisterState reg, int off, int size, string what)
    {
        long minOff, maxOff;
        if (reg.VarOff.IsConst)
        {
            minOff = (long)reg.VarOff.Value + off;
            maxOff = minOff + size;
        }
        else
        {
            if (reg.SMax >= MaxVarOff || reg.SMin <= -MaxVarOff)
            {
                throw Reject(F($"invalid unbounded variable-offset{what} stack R{regno}"));
            }

            minOff = reg.SMin + off;
            maxOff = reg.SMax + off + size;
        }

        if (minOff < -MaxBpfStack || minOff > -1 || maxOff > 0 || size < 0)
        {
            throw Reject(reg.VarOff.IsConst
                ? F($"invalid{what} stack R{regno} off={off} size={size}")
                : F($"invalid variable-offset{what} stack R{regno} var_off={reg.VarOff} off={off} size={size}"));
        }

        var frame = StackFrameOf(reg);
        frame.GrowStack((int)-minOff);
        int subprog = frame.Subprog;
        _subprogStack[subprog] = Math.Max(_subprogStack[subprog], frame.AllocatedStack);
    }

    private void StackWrite(in RegisterState ptr, int off, int size, RegisterState value, int valueRegno)
    {
        var frame = StackFrameOf(ptr);
        if (!ptr.VarOff.IsConst)
        {
            // A write somewhere in a range: every byte it may touch becomes unknown data.
            int min = (int)(ptr.SMin + off), max = (int)(ptr.SMax + off + size);
            for (int a = min; a < max; a++)
            {
                MarkStackByte(frame, -a - 1, StackByte.Misc);
            }

            return;
        }

        int o = off + (int)ptr.VarOff.Value;
        int slot = -o - 1;
        int spi = slot / 8;
        ScratchSlot(frame.FrameNo, spi);
        bool aligned = o % 8 == 0;
        NoteStackWrite(frame, spi, wholeSlot: aligned && size == 8);
        if (aligned && value.Type == RegisterType.Scalar)
        {
            if (valueRegno >= 0 && ScalarWidth(value) <= size * 8)
            {
                // The kernel gives the register an id first, so that the slot and the register stay linked.
                AssignScalarId(ref Regs[valueRegno]);
                value.Id = Regs[valueRegno].Id;
            }

            // Scalars of any size are spilled with their bounds (a privileged loader's rule).
            SaveSpill(frame, spi, value, size, valueRegno);
            RecordStackAccess(frame.FrameNo, spi);
            return;
        }

        if (value.IsPointer)
        {
            if (size != 8)
            {
                throw Reject("invalid size of register spill");
            }

            if (frame != _cur.Current && value.Type == RegisterType.Stack)
            {
                throw Reject("cannot spill pointers to stack into stack frame of the caller");
            }

            if (!aligned)
            {
                throw Reject(F($"misaligned stack access off {o} size {size}"));
            }

            SaveSpill(frame, spi, value, size, valueRegno);
            RecordStackAccess(frame.FrameNo, spi);
            return;
        }

        var type = value.Type == RegisterType.Scalar && value.VarOff.IsConst && value.VarOff.Value == 0 ? StackByte.Zero : StackByte.Misc;
        if (type == StackByte.Zero && valueRegno >= 0)
        {
            // Zero bytes instead of a spill: the register's zero must hold in states pruned against this one.
            MarkChainPrecision(valueRegno);
        }

        if (frame.IsSpilled(spi))
        {
            // Part of a spilled register is overwritten: the rest of the slot is unknown data.
            for (int j = 0; j < 8; j++)
            {
                if (frame.Stack[(spi * 8) + j] == StackByte.Spill)
                {
                    frame.Stack[(spi * 8) + j] = StackByte.Misc;
                }
            }
        }

        frame.Spilled[spi] = default;
        frame.Spilled[spi].Written = true;
        for (int i = 0; i < size; i++)
        {
            int s = slot - i;
            MarkStackByte(frame, s, type, keepSpillReset: true);
        }
    }

    private void MarkStackByte(FrameState frame, int slot, StackByte type, bool keepSpillReset = false)
    {
        int spi = slot / 8;
        if (!keepSpillReset && frame.IsSpilled(spi))
        {
            for (int j = 0; j < 8; j++)
            {
                if (frame.Stack[(spi * 8) + j] == StackByte.Spill)
                {
                    frame.Stack[(spi * 8) + j] = StackByte.Misc;
                }
            }

            frame.Spilled[spi] = default;
        }

        frame.Stack[slot] = type;
        ScratchSlot(frame.FrameNo, spi);
    }

    private static void SaveSpill(FrameState frame, int spi, RegisterState value, int size, int valueRegno)
    {
        var spilled = value;
        if (size < 8 && ScalarWidth(value) > size * 8)
        {
            // A narrowing spill: reads coerce to their size, but the identity with the source register no longer holds.
            spilled.Id = 0;
        }

        _ = valueRegno;
        spilled.Written = true;
        frame.Spilled[spi] = spilled;
        for (int j = 0; j < 8; j++)
        {
            // The spill occupies the highest `size` bytes of the slot index (the lowest addresses).
            if (j >= 8 - size)
            {
                frame.Stack[(spi * 8) + j] = StackByte.Spill;
            }
            else if (frame.Stack[(spi * 8) + j] is StackByte.Spill)
            {
                frame.Stack[(spi * 8) + j] = StackByte.Misc;
            }
        }
    }

    private RegisterState StackRead(in RegisterState ptr, int off, int size)
    {
        var frame = StackFrameOf(ptr);
        if (!ptr.VarOff.IsConst)
        {
            int min = (int)(ptr.SMin + off), max = (int)(ptr.SMax + off + size);
            NoteStackRangeRead(frame, min, max);
            bool allZero = true;
            for (int a = min; a < max; a++)
            {
                int s = -a - 1;
                if (s >= frame.AllocatedStack || frame.Stack[s] != StackByte.Zero)
                {
                    allZero = false;
                }
            }

            return allZero ? RegisterState.Known(0) : RegisterState.UnknownScalar();
        }

        int o = off + (int)ptr.VarOff.Value;
        int slot = -o - 1;
        int spi = slot / 8;
        ScratchSlot(frame.FrameNo, spi);
        NoteStackRangeRead(frame, o, o + size);
        if (frame.IsSpilled(spi))
        {
            var spilled = frame.Spilled[spi];
            int spillSize = 1;
            for (int i = 7; i > 0 && frame.Stack[(spi * 8) + i - 1] == StackByte.Spill; i--)
            {
                spillSize++;
            }

            if (size == 8 && spillSize == 8)
            {
                spilled.Written = true;
                RecordStackAccess(frame.FrameNo, spi);
                return spilled;
            }

            if (spilled.Type != RegisterType.Scalar)
            {
                throw Reject("invalid size of register fill");
            }

            // A narrow read at the start (lowest address) of a scalar spill reads its low bytes.
            if (size <= spillSize && o % 8 == 0)
            {
                var copy = spilled;
                if (size < spillSize || ScalarWidth(copy) > size * 8)
                {
                    copy.Id = 0;
                }

                RecordStackAccess(frame.FrameNo, spi);
                return copy;
            }

            int spillCount = 0, zeroCount = 0;
            for (int i = 0; i < size; i++)
            {
                var t = frame.Stack[slot - i];
                if (t == StackByte.Spill)
                {
                    spillCount++;
                }
                else if (t == StackByte.Zero)
                {
                    zeroCount++;
                }
            }

            if (spillCount == size && spilled.VarOff.IsConst && spilled.VarOff.Value == 0)
            {
                // Still a fill of the spilled register.
                RecordStackAccess(frame.FrameNo, spi);
                return RegisterState.Known(0);
            }

            if (zeroCount == size)
            {
                return RegisterState.Known(0);
            }

            return RegisterState.UnknownScalar();
        }

        bool zero = true;
        for (int i = 0; i < size; i++)
        {
            if (frame.Stack[slot - i] != StackByte.Zero)
            {
                zero = false;
            }
        }

        return zero ? RegisterState.Known(0) : RegisterState.UnknownScalar();
    }

    private static int ScalarWidth(in RegisterState reg) => 64 - System.Numerics.BitOperations.LeadingZeroCount(reg.UMax);
}
