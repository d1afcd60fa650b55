using System.Globalization;
using System.Text;
using SharpBpf.Isa;

namespace SharpBpf.Verification;

/// <summary>The kernel verifier log's text forms: numbers, register states (log.c) and instructions (disasm.c).</summary>
public static class VerifierFormat
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The kernel's <c>%#llx</c>: <c>0x</c> and lowercase hex (the kernel's printf writes <c>0x0</c> for zero).</summary>
    public static string Hex(ulong value) => "0x" + value.ToString("x", Inv);

    /// <summary>An unsigned number as the log prints it: decimal up to 65535, else hex.</summary>
    public static string Unsigned(ulong value) => value <= ushort.MaxValue ? value.ToString(Inv) : Hex(value);

    /// <summary>A signed number as the log prints it: decimal within [-32768, 32767], else the hex of its bits.</summary>
    public static string Signed(long value) => value is >= short.MinValue and <= short.MaxValue ? value.ToString(Inv) : Hex((ulong)value);

    /// <summary>The type name of a register as the log prints it (<c>map_value_or_null</c>, <c>ringbuf_mem</c>...).</summary>
    public static string TypeName(RegisterType type, RegisterTypeFlags flags)
    {
        string name = type switch
        {
            RegisterType.NotInit => "?",
            RegisterType.Scalar => "scalar",
            RegisterType.Context => "ctx",
            RegisterType.MapPointer => "map_ptr",
            RegisterType.MapValue => "map_value",
            RegisterType.MapKey => "map_key",
            RegisterType.Stack => "fp",
            RegisterType.Packet => "pkt",
            RegisterType.PacketMeta => "pkt_meta",
            RegisterType.PacketEnd => "pkt_end",
            RegisterType.Memory => "mem",
            RegisterType.Function => "func",
            RegisterType.SockCommon => "sock_common",
            RegisterType.BtfId => "ptr_",
            RegisterType.Socket => "sock",
            RegisterType.TcpSock => "tcp_sock",
            RegisterType.XdpSock => "xdp_sock",
            _ => "?",
        };
        string prefix = ((flags & RegisterTypeFlags.ReadOnly) != 0 ? "rdonly_" : "") + ((flags & RegisterTypeFlags.Ringbuf) != 0 ? "ringbuf_" : "") +
            ((flags & RegisterTypeFlags.User) != 0 ? "user_" : "") + ((flags & RegisterTypeFlags.PerCpu) != 0 ? "percpu_" : "") +
            ((flags & RegisterTypeFlags.Rcu) != 0 ? "rcu_" : "") + ((flags & RegisterTypeFlags.Untrusted) != 0 ? "untrusted_" : "") +
            ((flags & RegisterTypeFlags.Trusted) != 0 ? "trusted_" : "");
        bool maybeNull = (flags & RegisterTypeFlags.MaybeNull) != 0;
        return prefix + name + (maybeNull ? type == RegisterType.BtfId ? "or_null_" : "_or_null" : "");
    }

    /// <summary>
    /// A register's state as <c>print_reg_state</c> writes it: <c>0</c>, <c>ctx()</c>, <c>fp-8</c>,
    /// <c>scalar(smin=...,var_off=(0x0; 0xff))</c>, <c>map_value(map=m,ks=4,vs=8)</c>...
    /// </summary>
    /// <param name="reg">The register.</param>
    /// <param name="frame">The frame being printed (stack pointers into another frame say which), or -1.</param>
    /// <param name="maps">The maps, for names and sizes.</param>
    public static string Register(in RegisterState reg, int frame, IReadOnlyList<VerifierMap>? maps)
    {
        var sb = new StringBuilder();
        var t = reg.Type;
        if (t == RegisterType.Scalar && reg.Precise)
        {
            sb.Append('P');
        }

        if (t == RegisterType.Scalar && reg.VarOff.IsConst)
        {
            return sb.Append(Signed((long)reg.VarOff.Value)).ToString();
        }

        sb.Append(TypeName(t, reg.Flags));
        if (t == RegisterType.BtfId)
        {
            sb.Append(BtfPointerTypes.Name(reg.MapIndex));
        }

        if (t == RegisterType.Stack)
        {
            if (frame >= 0 && frame != reg.FrameNo)
            {
                sb.Append('[').Append(reg.FrameNo.ToString(Inv)).Append(']');
            }

            if (reg.VarOff.IsConst)
            {
                return sb.Append(Signed((long)reg.VarOff.Value + reg.Off)).ToString();
            }
        }

        sb.Append('(');
        string sep = "";
        void Add(string text)
        {
            sb.Append(sep).Append(text);
            sep = ",";
        }

        if (reg.Id != 0)
        {
            Add("id=" + reg.Id.ToString(Inv));
        }

        if (reg.RefObjId != 0)
        {
            Add("ref_obj_id=" + reg.RefObjId.ToString(Inv));
        }

        if (t is RegisterType.MapPointer or RegisterType.MapKey or RegisterType.MapValue && maps is not null &&
            reg.MapIndex >= 0 && reg.MapIndex < maps.Count)
        {
            var map = maps[reg.MapIndex];
            if (map.Name.Length > 0)
            {
                Add("map=" + KernelMapName(map.Name));
            }

            Add(string.Create(Inv, $"ks={map.KeySize},vs={map.ValueSize}"));
        }

        if (t != RegisterType.Scalar && reg.Off != 0)
        {
            Add("off=" + Signed(reg.Off));
        }

        if (t is RegisterType.Packet or RegisterType.PacketMeta)
        {
            Add("r=" + Unsigned((ulong)(long)reg.Range));
        }

        if (t == RegisterType.Memory)
        {
            Add("sz=" + Unsigned((ulong)reg.MemSize));
        }

        if (reg.VarOff.IsConst)
        {
            if (reg.VarOff.Value != 0)
            {
                Add("imm=" + Signed((long)reg.VarOff.Value));
            }
        }
        else
        {
            AppendRanges(sb, reg, ref sep);
            if (!reg.VarOff.IsUnknown)
            {
                Add("var_off=" + reg.VarOff.ToString());
            }
        }

        return sb.Append(')').ToString();
    }

    /// <summary>
    /// A source line as the kernel's log prints it before the first instruction of a new line:
    /// <c>; text @ file.c:LINE</c>, the text without leading blanks and the file without its directories.
    /// </summary>
    public static string SourceLine(SourceLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        return "; " + line.Text.TrimStart(' ', '\t', '\n', '\v', '\f', '\r') + " @ " + line.ShortFileName + ":" + line.Line.ToString(Inv);
    }

        /// <summary>
    /// A stack slot as <c>print_verifier_state</c> writes it: its byte types (<c>m</c> misc, <c>0</c> zero, <c>?</c>
    /// invalid), with a spilled register's state in place of the spilled bytes; null when every byte is invalid.
    /// </summary>
    internal static string? StackSlot(FrameState frame, int spi, IReadOnlyList<VerifierMap> maps)
    {
        Span<char> types = stackalloc char[8];
        bool valid = false;
        for (int j = 0; j < 8; j++)
        {
            var t = frame.Stack[(spi * 8) + j];
            valid |= t != StackByte.Invalid;
            types[j] = t switch
            {
                StackByte.Spill => 'r',
                StackByte.Misc => 'm',
                StackByte.Zero => '0',
                _ => '?',
            };
        }

        if (!valid)
        {
            return null;
        }

        if (types[7] != 'r')
        {
            return types.ToString();
        }

        int spilled = types.IndexOf('r');
        return string.Concat(types[..spilled], Register(frame.Spilled[spi], frame.FrameNo, maps));
    }

        /// <summary>The kernel keeps the first 15 characters of a map's name (BPF_OBJ_NAME_LEN).</summary>
    public static string KernelMapName(string name) => name.Length > 15 ? name[..15] : name;

    private static void AppendRanges(StringBuilder sb, in RegisterState reg, ref string sep)
    {
        // smin/smax/umin/umax/smin32/smax32/umin32/umax32; equal values of the same kind (every second entry) share one print.
        var entries = new (string Name, ulong Value, bool Omit)[]
        {
            ("smin", (ulong)reg.SMin, reg.SMin == long.MinValue),
            ("smax", (ulong)reg.SMax, reg.SMax == long.MaxValue),
            ("umin", reg.UMin, reg.UMin == 0),
            ("umax", reg.UMax, reg.UMax == ulong.MaxValue),
            ("smin32", reg.S32Min is >= short.MinValue and <= short.MaxValue ? (ulong)(long)reg.S32Min : (uint)reg.S32Min, reg.S32Min == int.MinValue),
            ("smax32", reg.S32Max is >= short.MinValue and <= short.MaxValue ? (ulong)(long)reg.S32Max : (uint)reg.S32Max, reg.S32Max == int.MaxValue),
            ("umin32", reg.U32Min, reg.U32Min == 0),
            ("umax32", reg.U32Max, reg.U32Max == uint.MaxValue),
        };
        for (int i = 0; i < entries.Length; i++)
        {
            if (entries[i].Omit)
            {
                continue;
            }

            bool neg1 = entries[i].Name[0] == 's' && (long)entries[i].Value < 0;
            sb.Append(sep).Append(entries[i].Name).Append('=');
            sep = ",";
            for (int j = i + 2; j < entries.Length; j += 2)
            {
                if (entries[j].Omit || entries[j].Value != entries[i].Value)
                {
                    continue;
                }

                bool neg2 = entries[j].Name[0] == 's' && (long)entries[j].Value < 0;
                if (neg2 != neg1)
                {
                    continue;
                }

                entries[j].Omit = true;
                sb.Append(entries[j].Name).Append('=');
            }

            sb.Append(entries[i].Name[0] == 's' ? Signed((long)entries[i].Value) : Unsigned(entries[i].Value));
        }
    }

    private static string SizeName(MemorySize size, bool signed) => (size, signed) switch
    {
        (MemorySize.Word, false) => "u32",
        (MemorySize.Half, false) => "u16",
        (MemorySize.Byte, false) => "u8",
        (MemorySize.DoubleWord, false) => "u64",
        (MemorySize.Word, true) => "s32",
        (MemorySize.Half, true) => "s16",
        (MemorySize.Byte, true) => "s8",
        _ => "u64",
    };

    private static string AluSymbol(AluOperation op, bool signed) => op switch
    {
        AluOperation.Add => "+=",
        AluOperation.Sub => "-=",
        AluOperation.Mul => "*=",
        AluOperation.Div => signed ? "s/=" : "/=",
        AluOperation.Or => "|=",
        AluOperation.And => "&=",
        AluOperation.Lsh => "<<=",
        AluOperation.Rsh => ">>=",
        AluOperation.Neg => "neg",
        AluOperation.Mod => signed ? "s%=" : "%=",
        AluOperation.Xor => "^=",
        AluOperation.Mov => "=",
        AluOperation.Arsh => "s>>=",
        _ => "endian",
    };

    private static string JumpSymbol(JumpOperation op) => op switch
    {
        JumpOperation.Jeq => "==",
        JumpOperation.Jgt => ">",
        JumpOperation.Jlt => "<",
        JumpOperation.Jge => ">=",
        JumpOperation.Jle => "<=",
        JumpOperation.Jset => "&",
        JumpOperation.Jne => "!=",
        JumpOperation.Jsgt => "s>",
        JumpOperation.Jslt => "s<",
        JumpOperation.Jsge => "s>=",
        JumpOperation.Jsle => "s<=",
        _ => "?",
    };

    private static string Off(short off) => off >= 0 ? "+" + off.ToString(Inv) : off.ToString(Inv);

    private static string Pc(int off) => off >= 0 ? "pc+" + off.ToString(Inv) : "pc" + off.ToString(Inv);

    /// <summary>
    /// An instruction as the kernel's disassembler prints it in the verifier log: <c>(b7) r0 = 0</c>,
    /// <c>(61) r2 = *(u32 *)(r1 +0)</c>, <c>(85) call bpf_map_lookup_elem#1</c>...
    /// </summary>
    /// <param name="insn">The instruction.</param>
    /// <param name="next">The second slot of an <c>lddw</c>.</param>
    public static string Instruction(Instruction insn, Instruction? next = null)
    {
        string code = "(" + insn.Opcode.ToString("x2", Inv) + ") ";
        var cls = insn.Class;
        int dst = insn.Dst, src = insn.Src;
        string I(int v) => v.ToString(Inv);
        switch (cls)
        {
            case InstructionClass.Alu:
            case InstructionClass.Alu64:
            {
                char w = cls == InstructionClass.Alu ? 'w' : 'r';
                var op = insn.AluOperation;
                if (op == AluOperation.End)
                {
                    return cls == InstructionClass.Alu64
                        ? code + $"r{dst} = bswap{I(insn.Immediate)} r{dst}"
                        : code + $"r{dst} = {(insn.Source == OperandSource.Register ? "be" : "le")}{I(insn.Immediate)} r{dst}";
                }

                if (op == AluOperation.Neg)
                {
                    return code + $"{w}{dst} = -{w}{dst}";
                }

                bool signed = op is AluOperation.Div or AluOperation.Mod && insn.Offset == 1;
                if (insn.Source == OperandSource.Register)
                {
                    string sx = op == AluOperation.Mov && insn.Offset is 8 or 16 or 32 ? $"(s{I(insn.Offset)})" : "";
                    return code + $"{w}{dst} {AluSymbol(op, signed)} {sx}{w}{src}";
                }

                return code + $"{w}{dst} {AluSymbol(op, signed)} {I(insn.Immediate)}";
            }

            case InstructionClass.Stx:
                if (insn.MemoryMode == MemoryMode.Mem)
                {
                    return code + $"*({SizeName(insn.MemorySize, false)} *)(r{dst} {Off(insn.Offset)}) = r{src}";
                }

                if (insn.MemoryMode == MemoryMode.Atomic)
                {
                    string size = SizeName(insn.MemorySize, false);
                    string bits = insn.MemorySize == MemorySize.DoubleWord ? "64" : "";
                    switch ((AtomicOperation)insn.Immediate)
                    {
                        case AtomicOperation.Add or AtomicOperation.And or AtomicOperation.Or or AtomicOperation.Xor:
                            return code + $"lock *({size} *)(r{dst} {Off(insn.Offset)}) {AluSymbol((AluOperation)insn.Immediate, false)} r{src}";
                        case AtomicOperation.FetchAdd or AtomicOperation.FetchAnd or AtomicOperation.FetchOr or AtomicOperation.FetchXor:
                            string name = ((AluOperation)(insn.Immediate & 0xf0)) switch
                            {
                                AluOperation.Add => "add",
                                AluOperation.And => "and",
                                AluOperation.Or => "or",
                                _ => "xor",
                            };
                            return code + $"r{src} = atomic{bits}_fetch_{name}(({size} *)(r{dst} {Off(insn.Offset)}), r{src})";
                        case AtomicOperation.CmpXchg:
                            return code + $"r0 = atomic{bits}_cmpxchg(({size} *)(r{dst} {Off(insn.Offset)}), r0, r{src})";
                        case AtomicOperation.Xchg:
                            return code + $"r{src} = atomic{bits}_xchg(({size} *)(r{dst} {Off(insn.Offset)}), r{src})";
                    }
                }

                return "BUG_" + insn.Opcode.ToString("x2", Inv);
            case InstructionClass.St:
                return insn.MemoryMode == MemoryMode.Mem
                    ? code + $"*({SizeName(insn.MemorySize, false)} *)(r{dst} {Off(insn.Offset)}) = {I(insn.Immediate)}"
                    : "BUG_st_" + insn.Opcode.ToString("x2", Inv);
            case InstructionClass.Ldx:
                return insn.MemoryMode is MemoryMode.Mem or MemoryMode.MemSx
                    ? code + $"r{dst} = *({SizeName(insn.MemorySize, insn.MemoryMode == MemoryMode.MemSx)} *)(r{src} {Off(insn.Offset)})"
                    : "BUG_ldx_" + insn.Opcode.ToString("x2", Inv);
            case InstructionClass.Ld:
                if (insn.MemoryMode == MemoryMode.Abs)
                {
                    return code + $"r0 = *({SizeName(insn.MemorySize, false)} *)skb[{I(insn.Immediate)}]";
                }

                if (insn.MemoryMode == MemoryMode.Ind)
                {
                    return code + $"r0 = *({SizeName(insn.MemorySize, false)} *)skb[r{src} + {I(insn.Immediate)}]";
                }

                if (insn.IsLoadImm64)
                {
                    ulong imm = ((ulong)(uint)(next?.Immediate ?? 0) << 32) | (uint)insn.Immediate;
                    return code + $"r{dst} = 0x{imm.ToString("x", Inv)}";
                }

                return "BUG_ld_" + insn.Opcode.ToString("x2", Inv);
            default:
            {
                var op = insn.JumpOperation;
                char w = cls == InstructionClass.Jmp32 ? 'w' : 'r';
                if (op == JumpOperation.Call)
                {
                    if (insn.CallKind == CallKind.Local)
                    {
                        return code + "call pc" + (insn.Immediate >= 0 ? "+" : "") + I(insn.Immediate);
                    }

                    string name = insn.CallKind == CallKind.Kfunc ? "kernel-function" : HelperNames.Find(insn.Immediate) ?? "unknown";
                    return code + $"call {name}#{I(insn.Immediate)}";
                }

                if (insn.Opcode == Opcode.Ja)
                {
                    return code + "goto " + Pc(insn.Offset);
                }

                if (insn.Opcode == Opcode.Ja32)
                {
                    return code + "gotol " + Pc(insn.Immediate);
                }

                if (op == JumpOperation.Exit)
                {
                    return code + "exit";
                }

                return insn.Source == OperandSource.Register
                    ? code + $"if {w}{dst} {JumpSymbol(op)} {w}{src} goto {Pc(insn.Offset)}"
                    : code + $"if {w}{dst} {JumpSymbol(op)} 0x{((uint)insn.Immediate).ToString("x", Inv)} goto {Pc(insn.Offset)}";
            }
        }
    }
}
