using System.Buffers.Binary;
using SharpBpf.Isa;

namespace SharpBpf.Verification;

/// <summary>
/// The kernel verifier's scalar domain operations: keeping tnum and bounds in sync (<c>reg_bounds_sync</c>),
/// the transfer function of every ALU operation (<c>adjust_scalar_min_max_vals</c>), width changes, and what a
/// conditional jump proves (<c>is_branch_taken</c>, <c>regs_refine_cond_op</c>).
/// </summary>
public static class ScalarDomain
{
    // ---- bounds synchronisation -------------------------------------------------------------

    /// <summary>Tightens the bounds from the tnum (<c>__update_reg_bounds</c>).</summary>
    public static void UpdateBounds(ref RegisterState r)
    {
        UpdateBounds32(ref r);
        UpdateBounds64(ref r);
    }

    private static void UpdateBounds32(ref RegisterState r)
    {
        var t = r.VarOff.Subreg;
        r.S32Min = Math.Max(r.S32Min, (int)(uint)(t.Value | (t.Mask & 0x8000_0000UL)));
        r.S32Max = Math.Min(r.S32Max, (int)(uint)(t.Value | (t.Mask & 0x7fff_ffffUL)));
        r.U32Min = Math.Max(r.U32Min, (uint)t.Value);
        r.U32Max = Math.Min(r.U32Max, (uint)(t.Value | t.Mask));
    }

    private static void UpdateBounds64(ref RegisterState r)
    {
        var t = r.VarOff;
        r.SMin = Math.Max(r.SMin, (long)(t.Value | (t.Mask & 0x8000_0000_0000_0000UL)));
        r.SMax = Math.Min(r.SMax, (long)(t.Value | (t.Mask & 0x7fff_ffff_ffff_ffffUL)));
        r.UMin = Math.Max(r.UMin, t.Value);
        r.UMax = Math.Min(r.UMax, t.Value | t.Mask);
    }

    private static void Deduce32(ref RegisterState r)
    {
        if ((r.UMin >> 32) == (r.UMax >> 32))
        {
            r.U32Min = Math.Max(r.U32Min, (uint)r.UMin);
            r.U32Max = Math.Min(r.U32Max, (uint)r.UMax);
            if ((int)r.UMin <= (int)r.UMax)
            {
                r.S32Min = Math.Max(r.S32Min, (int)r.UMin);
                r.S32Max = Math.Min(r.S32Max, (int)r.UMax);
            }
        }

        if ((r.SMin >> 32) == (r.SMax >> 32))
        {
            if ((uint)r.SMin <= (uint)r.SMax)
            {
                r.U32Min = Math.Max(r.U32Min, (uint)r.SMin);
                r.U32Max = Math.Min(r.U32Max, (uint)r.SMax);
            }

            if ((int)r.SMin <= (int)r.SMax)
            {
                r.S32Min = Math.Max(r.S32Min, (int)r.SMin);
                r.S32Max = Math.Min(r.S32Max, (int)r.SMax);
            }
        }

        // Upper halves that are two consecutive numbers while the low halves cross from negative to positive.
        if ((uint)(r.UMin >> 32) + 1 == (uint)(r.UMax >> 32) && (int)r.UMin < 0 && (int)r.UMax >= 0)
        {
            r.S32Min = Math.Max(r.S32Min, (int)r.UMin);
            r.S32Max = Math.Min(r.S32Max, (int)r.UMax);
        }

        if ((uint)((ulong)r.SMin >> 32) + 1 == (uint)((ulong)r.SMax >> 32) && (int)r.SMin < 0 && (int)r.SMax >= 0)
        {
            r.S32Min = Math.Max(r.S32Min, (int)r.SMin);
            r.S32Max = Math.Min(r.S32Max, (int)r.SMax);
        }

        if ((int)r.U32Min <= (int)r.U32Max)
        {
            r.S32Min = Math.Max(r.S32Min, (int)r.U32Min);
            r.S32Max = Math.Min(r.S32Max, (int)r.U32Max);
        }

        if ((uint)r.S32Min <= (uint)r.S32Max)
        {
            r.U32Min = Math.Max((uint)r.S32Min, r.U32Min);
            r.U32Max = Math.Min((uint)r.S32Max, r.U32Max);
        }
        else if (r.U32Max < (uint)r.S32Min)
        {
            r.S32Min = (int)r.U32Min;
            r.U32Max = Math.Min(r.U32Max, (uint)r.S32Max);
        }
        else if ((uint)r.S32Max < r.U32Min)
        {
            r.S32Max = (int)r.U32Max;
            r.U32Min = Math.Max(r.U32Min, (uint)r.S32Min);
        }
    }

    private static void Deduce64(ref RegisterState r)
    {
        if ((long)r.UMin <= (long)r.UMax)
        {
            r.SMin = Math.Max(r.SMin, (long)r.UMin);
            r.SMax = Math.Min(r.SMax, (long)r.UMax);
        }

        if ((ulong)r.SMin <= (ulong)r.SMax)
        {
            r.UMin = Math.Max((ulong)r.SMin, r.UMin);
            r.UMax = Math.Min((ulong)r.SMax, r.UMax);
        }
        else if (r.UMax < (ulong)r.SMin)
        {
            r.SMin = (long)r.UMin;
            r.UMax = Math.Min(r.UMax, (ulong)r.SMax);
        }
        else if ((ulong)r.SMax < r.UMin)
        {
            r.SMax = (long)r.UMax;
            r.UMin = Math.Max(r.UMin, (ulong)r.SMin);
        }
    }

    private static void DeduceMixed(ref RegisterState r)
    {
        const ulong High = 0xffff_ffff_0000_0000UL;
        ulong newUMin = (r.UMin & High) | r.U32Min;
        ulong newUMax = (r.UMax & High) | r.U32Max;
        r.UMin = Math.Max(r.UMin, newUMin);
        r.UMax = Math.Min(r.UMax, newUMax);
        long newSMin = (long)(((ulong)r.SMin & High) | r.U32Min);
        long newSMax = (long)(((ulong)r.SMax & High) | r.U32Max);
        r.SMin = Math.Max(r.SMin, newSMin);
        r.SMax = Math.Min(r.SMax, newSMax);
        if ((uint)r.S32Min <= (uint)r.S32Max)
        {
            newUMin = (r.UMin & High) | (uint)r.S32Min;
            newUMax = (r.UMax & High) | (uint)r.S32Max;
            r.UMin = Math.Max(r.UMin, newUMin);
            r.UMax = Math.Min(r.UMax, newUMax);
            newSMin = (long)(((ulong)r.SMin & High) | (uint)r.S32Min);
            newSMax = (long)(((ulong)r.SMax & High) | (uint)r.S32Max);
            r.SMin = Math.Max(r.SMin, newSMin);
            r.SMax = Math.Min(r.SMax, newSMax);
        }

        // After a sign-extending load: a non-negative low half within [S32_MIN, S32_MAX] means the high half is zero.
        if (r.S32Min >= 0 && r.SMin >= int.MinValue && r.SMax <= int.MaxValue)
        {
            r.SMin = r.S32Min;
            r.SMax = r.S32Max;
            r.UMin = (ulong)r.S32Min;
            r.UMax = (ulong)r.S32Max;
            r.VarOff = Tnum.Intersect(r.VarOff, Tnum.Range((ulong)r.SMin, (ulong)r.SMax));
        }
    }

    /// <summary>Signed and unsigned, 32- and 64-bit bounds teach one another (<c>__reg_deduce_bounds</c>).</summary>
    public static void DeduceBounds(ref RegisterState r)
    {
        Deduce32(ref r);
        Deduce64(ref r);
        DeduceMixed(ref r);
    }

    /// <summary>Tightens the tnum from the unsigned bounds (<c>__reg_bound_offset</c>).</summary>
    public static void BoundOffset(ref RegisterState r)
    {
        var var64 = Tnum.Intersect(r.VarOff, Tnum.Range(r.UMin, r.UMax));
        var var32 = Tnum.Intersect(var64.Subreg, Tnum.Range(r.U32Min, r.U32Max));
        r.VarOff = Tnum.Or(var64.ClearSubreg, var32);
    }

    /// <summary>Brings tnum and all bounds in agreement (<c>reg_bounds_sync</c>).</summary>
    public static void Sync(ref RegisterState r)
    {
        UpdateBounds(ref r);
        DeduceBounds(ref r);
        DeduceBounds(ref r);
        DeduceBounds(ref r);
        BoundOffset(ref r);
        UpdateBounds(ref r);
    }

    /// <summary>
    /// A byte swap or conversion (<c>BPF_END</c>) of a scalar, as the kernel 6.18 tracks it: the known bits move with
    /// their bytes and the bounds follow from them. On this little-endian model <c>le16/le32</c> only truncate,
    /// <c>be16/be32/be64</c> and <c>bswap16/32/64</c> (ALU64) swap the low 2, 4 or 8 bytes.
    /// </summary>
    public static RegisterState ByteSwap(RegisterState reg, Instruction insn)
    {
        int bytes = insn.Immediate / 8;
        bool swap = insn.Class == InstructionClass.Alu64 || insn.Source == OperandSource.Register;
        var bits = bytes is 2 or 4 ? reg.VarOff.Cast(bytes) : reg.VarOff;
        if (swap)
        {
            bits = bytes switch
            {
                2 => new Tnum(BinaryPrimitives.ReverseEndianness((ushort)bits.Value), BinaryPrimitives.ReverseEndianness((ushort)bits.Mask)),
                4 => new Tnum(BinaryPrimitives.ReverseEndianness((uint)bits.Value), BinaryPrimitives.ReverseEndianness((uint)bits.Mask)),
                _ => new Tnum(BinaryPrimitives.ReverseEndianness(bits.Value), BinaryPrimitives.ReverseEndianness(bits.Mask)),
            };
        }

        var result = RegisterState.UnknownScalar();
        result.VarOff = bits;
        Sync(ref result);
        return result;
    }

    // ---- width changes -----------------------------------------------------------------------

    /// <summary>The 32-bit bounds become the 64-bit ones (the high half is zero).</summary>
    public static void Assign32Into64(ref RegisterState r)
    {
        r.UMin = r.U32Min;
        r.UMax = r.U32Max;
        if (r.S32Min >= 0 && r.S32Max >= 0)
        {
            r.SMin = r.S32Min;
            r.SMax = r.S32Max;
        }
        else
        {
            r.SMin = 0;
            r.SMax = uint.MaxValue;
        }
    }

    /// <summary>Zero-extends the low 32 bits (what every 32-bit ALU result does).</summary>
    public static void ZeroExtend32(ref RegisterState r)
    {
        r.VarOff = r.VarOff.Subreg;
        Assign32Into64(ref r);
    }

    /// <summary>Truncates to <paramref name="size"/> bytes, zero-extending (<c>coerce_reg_to_size</c>).</summary>
    public static void CoerceToSize(ref RegisterState r, int size)
    {
        r.VarOff = r.VarOff.Cast(size);
        if (size >= 8)
        {
            Sync(ref r);
            return;
        }

        ulong mask = (1UL << (size * 8)) - 1;
        if ((r.UMin & ~mask) == (r.UMax & ~mask))
        {
            r.UMin &= mask;
            r.UMax &= mask;
        }
        else
        {
            r.UMin = 0;
            r.UMax = mask;
        }

        r.SMin = (long)r.UMin;
        r.SMax = (long)r.UMax;
        if (size < 4)
        {
            r.SetUnbounded32();
        }

        Sync(ref r);
    }

    private static long SignExtend(ulong value, int size) => size switch
    {
        1 => (sbyte)value,
        2 => (short)value,
        _ => (int)value,
    };

    /// <summary>Sign-extends the low <paramref name="size"/> bytes (1, 2 or 4) to 64 bits (<c>coerce_reg_to_size_sx</c>).</summary>
    public static void SignExtendToSize(ref RegisterState r, int size)
    {
        if (r.VarOff.IsConst)
        {
            r.SetKnown((ulong)SignExtend(r.VarOff.Value, size));
            return;
        }

        int bits = size * 8;
        ulong topMax = ((ulong)r.SMax >> bits) << bits;
        ulong topMin = ((ulong)r.SMin >> bits) << bits;
        if (topMax == topMin)
        {
            long a = SignExtend((ulong)r.SMax, size);
            long b = SignExtend((ulong)r.SMin, size);
            long max = Math.Max(a, b);
            long min = Math.Min(a, b);
            if ((max >= 0) == (min >= 0))
            {
                r.SMin = min;
                r.SMax = max;
                r.S32Min = (int)min;
                r.S32Max = (int)max;
                r.UMin = (ulong)min;
                r.UMax = (ulong)max;
                r.U32Min = (uint)min;
                r.U32Max = (uint)max;
                r.VarOff = Tnum.Range((ulong)min, (ulong)max);
                return;
            }
        }

        long lo = size == 1 ? sbyte.MinValue : size == 2 ? short.MinValue : int.MinValue;
        long hi = size == 1 ? sbyte.MaxValue : size == 2 ? short.MaxValue : int.MaxValue;
        r.SMin = lo;
        r.S32Min = (int)lo;
        r.SMax = hi;
        r.S32Max = (int)hi;
        r.UMin = 0;
        r.U32Min = 0;
        r.UMax = ulong.MaxValue;
        r.U32Max = uint.MaxValue;
        r.VarOff = Tnum.Unknown;
    }

    /// <summary>Sign-extends the low 1 or 2 bytes into the low 32 bits (<c>coerce_subreg_to_size_sx</c>).</summary>
    public static void SignExtendSubregToSize(ref RegisterState r, int size)
    {
        if (r.VarOff.IsConst)
        {
            uint v = (uint)SignExtend(r.VarOff.Value, size);
            r.VarOff = Tnum.Const(v);
            r.S32Min = r.S32Max = (int)v;
            r.U32Min = r.U32Max = v;
            return;
        }

        int bits = size * 8;
        uint topMax = ((uint)r.S32Max >> bits) << bits;
        uint topMin = ((uint)r.S32Min >> bits) << bits;
        if (topMax == topMin)
        {
            int a = (int)SignExtend((uint)r.S32Max, size);
            int b = (int)SignExtend((uint)r.S32Min, size);
            int max = Math.Max(a, b);
            int min = Math.Min(a, b);
            if ((min >= 0) == (max >= 0))
            {
                r.S32Min = min;
                r.S32Max = max;
                r.U32Min = (uint)min;
                r.U32Max = (uint)max;
                r.VarOff = Tnum.Range((ulong)(long)min, (ulong)(long)max).Subreg;
                return;
            }
        }

        r.S32Min = size == 1 ? sbyte.MinValue : short.MinValue;
        r.S32Max = size == 1 ? sbyte.MaxValue : short.MaxValue;
        r.U32Min = 0;
        r.U32Max = uint.MaxValue;
        r.VarOff = Tnum.Unknown.Subreg;
    }

    // ---- ALU transfer function --------------------------------------------------------------

    /// <summary>
    /// Whether the kernel tracks the result of <paramref name="op"/> with this source (shifts need a constant
    /// in range; division, modulo and the rest give an unknown scalar).
    /// </summary>
    public static bool CanTrack(AluOperation op, in RegisterState src, bool is64)
    {
        bool srcConst = is64
            ? src.VarOff.IsConst && src.SMin == src.SMax && src.UMin == src.UMax
            : src.VarOff.IsSubregConst && src.S32Min == src.S32Max && src.U32Min == src.U32Max;
        return op switch
        {
            AluOperation.Add or AluOperation.Sub or AluOperation.And or AluOperation.Xor or AluOperation.Or or AluOperation.Mul => true,
            AluOperation.Lsh or AluOperation.Rsh or AluOperation.Arsh => srcConst && src.UMax < (ulong)(is64 ? 64 : 32),
            _ => false,
        };
    }

    /// <summary>
    /// Applies <c>dst = dst OP src</c> to two scalars at 64 or 32 bits (<c>adjust_scalar_min_max_vals</c>).
    /// Operations the kernel does not track make <paramref name="dst"/> unknown.
    /// </summary>
    public static void Alu(ref RegisterState dst, RegisterState src, AluOperation op, bool is64)
    {
        if (!CanTrack(op, src, is64))
        {
            // As the kernel: unknown in all 64 bits, even for a 32-bit operation (it returns before the zero
            // extension), so a 32-bit modulo followed by "s>>= 32" is not known to be 0.
            dst.MakeUnknownScalar();
            dst.Id = 0;
            return;
        }

        switch (op)
        {
            case AluOperation.Add:
                Add32(ref dst, src);
                Add64(ref dst, src);
                dst.VarOff = Tnum.Add(dst.VarOff, src.VarOff);
                break;
            case AluOperation.Sub:
                Sub32(ref dst, src);
                Sub64(ref dst, src);
                dst.VarOff = Tnum.Sub(dst.VarOff, src.VarOff);
                break;
            case AluOperation.Mul:
                dst.VarOff = Tnum.Mul(dst.VarOff, src.VarOff);
                Mul32(ref dst, src);
                Mul64(ref dst, src);
                break;
            case AluOperation.And:
                dst.VarOff = Tnum.And(dst.VarOff, src.VarOff);
                And32(ref dst, src);
                And64(ref dst, src);
                break;
            case AluOperation.Or:
                dst.VarOff = Tnum.Or(dst.VarOff, src.VarOff);
                Or32(ref dst, src);
                Or64(ref dst, src);
                break;
            case AluOperation.Xor:
                dst.VarOff = Tnum.Xor(dst.VarOff, src.VarOff);
                Xor32(ref dst, src);
                Xor64(ref dst, src);
                break;
            case AluOperation.Lsh:
                if (is64)
                {
                    Lsh64(ref dst, src);
                }
                else
                {
                    Lsh32(ref dst, src);
                }

                break;
            case AluOperation.Rsh:
                if (is64)
                {
                    Rsh64(ref dst, src);
                }
                else
                {
                    Rsh32(ref dst, src);
                }

                break;
            case AluOperation.Arsh:
                if (is64)
                {
                    Arsh64(ref dst, src);
                }
                else
                {
                    Arsh32(ref dst, src);
                }

                break;
        }

        if (!is64)
        {
            ZeroExtend32(ref dst);
        }

        Sync(ref dst);
    }

    private static void Add32(ref RegisterState d, in RegisterState s)
    {
        long smin = (long)d.S32Min + s.S32Min;
        long smax = (long)d.S32Max + s.S32Max;
        if (smin < int.MinValue || smin > int.MaxValue || smax < int.MinValue || smax > int.MaxValue)
        {
            d.S32Min = int.MinValue;
            d.S32Max = int.MaxValue;
        }
        else
        {
            d.S32Min = (int)smin;
            d.S32Max = (int)smax;
        }

        ulong umin = (ulong)d.U32Min + s.U32Min;
        ulong umax = (ulong)d.U32Max + s.U32Max;
        if (umin > uint.MaxValue || umax > uint.MaxValue)
        {
            d.U32Min = 0;
            d.U32Max = uint.MaxValue;
        }
        else
        {
            d.U32Min = (uint)umin;
            d.U32Max = (uint)umax;
        }
    }

    private static void Add64(ref RegisterState d, in RegisterState s)
    {
        long smin = unchecked(d.SMin + s.SMin);
        long smax = unchecked(d.SMax + s.SMax);
        bool sOverflow = ((d.SMin ^ smin) & (s.SMin ^ smin)) < 0 || ((d.SMax ^ smax) & (s.SMax ^ smax)) < 0;
        if (sOverflow)
        {
            d.SMin = long.MinValue;
            d.SMax = long.MaxValue;
        }
        else
        {
            d.SMin = smin;
            d.SMax = smax;
        }

        ulong umin = unchecked(d.UMin + s.UMin);
        ulong umax = unchecked(d.UMax + s.UMax);
        if (umin < d.UMin || umax < d.UMax)
        {
            d.UMin = 0;
            d.UMax = ulong.MaxValue;
        }
        else
        {
            d.UMin = umin;
            d.UMax = umax;
        }
    }

    private static void Sub32(ref RegisterState d, in RegisterState s)
    {
        long smin = (long)d.S32Min - s.S32Max;
        long smax = (long)d.S32Max - s.S32Min;
        if (smin < int.MinValue || smin > int.MaxValue || smax < int.MinValue || smax > int.MaxValue)
        {
            d.S32Min = int.MinValue;
            d.S32Max = int.MaxValue;
        }
        else
        {
            d.S32Min = (int)smin;
            d.S32Max = (int)smax;
        }

        if (d.U32Min < s.U32Max)
        {
            d.U32Min = 0;
            d.U32Max = uint.MaxValue;
        }
        else
        {
            d.U32Min -= s.U32Max;
            d.U32Max -= s.U32Min;
        }
    }

    private static void Sub64(ref RegisterState d, in RegisterState s)
    {
        long smin = unchecked(d.SMin - s.SMax);
        long smax = unchecked(d.SMax - s.SMin);
        bool sOverflow = ((d.SMin ^ s.SMax) & (d.SMin ^ smin)) < 0 || ((d.SMax ^ s.SMin) & (d.SMax ^ smax)) < 0;
        if (sOverflow)
        {
            d.SMin = long.MinValue;
            d.SMax = long.MaxValue;
        }
        else
        {
            d.SMin = smin;
            d.SMax = smax;
        }

        if (d.UMin < s.UMax)
        {
            d.UMin = 0;
            d.UMax = ulong.MaxValue;
        }
        else
        {
            d.UMin -= s.UMax;
            d.UMax -= s.UMin;
        }
    }

    private static void Mul32(ref RegisterState d, in RegisterState s)
    {
        if (s.S32Min < 0 || d.S32Min < 0 || s.U32Max > ushort.MaxValue || d.U32Max > ushort.MaxValue)
        {
            d.S32Min = int.MinValue;
            d.S32Max = int.MaxValue;
            d.U32Min = 0;
            d.U32Max = uint.MaxValue;
            return;
        }

        d.U32Min *= s.U32Min;
        d.U32Max *= s.U32Max;
        if (d.U32Max > int.MaxValue)
        {
            d.S32Min = int.MinValue;
            d.S32Max = int.MaxValue;
        }
        else
        {
            d.S32Min = (int)d.U32Min;
            d.S32Max = (int)d.U32Max;
        }
    }

    private static void Mul64(ref RegisterState d, in RegisterState s)
    {
        if (s.SMin < 0 || d.SMin < 0 || s.UMax > uint.MaxValue || d.UMax > uint.MaxValue)
        {
            d.SetUnbounded64();
            return;
        }

        d.UMin *= s.UMin;
        d.UMax *= s.UMax;
        if (d.UMax > long.MaxValue)
        {
            d.SMin = long.MinValue;
            d.SMax = long.MaxValue;
        }
        else
        {
            d.SMin = (long)d.UMin;
            d.SMax = (long)d.UMax;
        }
    }

    private static void SignedFromUnsigned32(ref RegisterState d)
    {
        if ((int)d.U32Min <= (int)d.U32Max)
        {
            d.S32Min = (int)d.U32Min;
            d.S32Max = (int)d.U32Max;
        }
        else
        {
            d.S32Min = int.MinValue;
            d.S32Max = int.MaxValue;
        }
    }

    private static void SignedFromUnsigned64(ref RegisterState d)
    {
        if ((long)d.UMin <= (long)d.UMax)
        {
            d.SMin = (long)d.UMin;
            d.SMax = (long)d.UMax;
        }
        else
        {
            d.SMin = long.MinValue;
            d.SMax = long.MaxValue;
        }
    }

    private static void And32(ref RegisterState d, in RegisterState s)
    {
        var t = d.VarOff.Subreg;
        if (s.VarOff.IsSubregConst && d.VarOff.IsSubregConst)
        {
            d.SetKnown32((uint)t.Value);
            return;
        }

        d.U32Min = (uint)t.Value;
        d.U32Max = Math.Min(d.U32Max, s.U32Max);
        SignedFromUnsigned32(ref d);
    }

    private static void And64(ref RegisterState d, in RegisterState s)
    {
        if (s.VarOff.IsConst && d.VarOff.IsConst)
        {
            d.SetKnown(d.VarOff.Value);
            return;
        }

        d.UMin = d.VarOff.Value;
        d.UMax = Math.Min(d.UMax, s.UMax);
        SignedFromUnsigned64(ref d);
        UpdateBounds(ref d);
    }

    private static void Or32(ref RegisterState d, in RegisterState s)
    {
        var t = d.VarOff.Subreg;
        if (s.VarOff.IsSubregConst && d.VarOff.IsSubregConst)
        {
            d.SetKnown32((uint)t.Value);
            return;
        }

        d.U32Min = Math.Max(d.U32Min, s.U32Min);
        d.U32Max = (uint)(t.Value | t.Mask);
        SignedFromUnsigned32(ref d);
    }

    private static void Or64(ref RegisterState d, in RegisterState s)
    {
        if (s.VarOff.IsConst && d.VarOff.IsConst)
        {
            d.SetKnown(d.VarOff.Value);
            return;
        }

        d.UMin = Math.Max(d.UMin, s.UMin);
        d.UMax = d.VarOff.Value | d.VarOff.Mask;
        SignedFromUnsigned64(ref d);
        UpdateBounds(ref d);
    }

    private static void Xor32(ref RegisterState d, in RegisterState s)
    {
        var t = d.VarOff.Subreg;
        if (s.VarOff.IsSubregConst && d.VarOff.IsSubregConst)
        {
            d.SetKnown32((uint)t.Value);
            return;
        }

        d.U32Min = (uint)t.Value;
        d.U32Max = (uint)(t.Value | t.Mask);
        SignedFromUnsigned32(ref d);
    }

    private static void Xor64(ref RegisterState d, in RegisterState s)
    {
        if (s.VarOff.IsConst && d.VarOff.IsConst)
        {
            d.SetKnown(d.VarOff.Value);
            return;
        }

        d.UMin = d.VarOff.Value;
        d.UMax = d.VarOff.Value | d.VarOff.Mask;
        SignedFromUnsigned64(ref d);
        UpdateBounds(ref d);
    }

    private static void Lsh32Bounds(ref RegisterState d, ulong umin, ulong umax)
    {
        d.S32Min = int.MinValue;
        d.S32Max = int.MaxValue;
        if (umax > 31 || d.U32Max > 1UL << (int)(31 - umax))
        {
            d.U32Min = 0;
            d.U32Max = uint.MaxValue;
        }
        else
        {
            d.U32Min <<= (int)umin;
            d.U32Max <<= (int)umax;
        }
    }

    private static void Lsh32(ref RegisterState d, in RegisterState s)
    {
        var sub = d.VarOff.Subreg;
        Lsh32Bounds(ref d, s.U32Min, s.U32Max);
        d.VarOff = sub.LeftShift((int)s.U32Min).Subreg;
        d.SetUnbounded64();
        UpdateBounds32(ref d);
    }

    private static void Lsh64(ref RegisterState d, in RegisterState s)
    {
        ulong umin = s.UMin;
        ulong umax = s.UMax;
        if (umin == 32 && umax == 32)
        {
            d.SMax = (long)d.S32Max << 32;
            d.SMin = (long)d.S32Min << 32;
        }
        else
        {
            d.SMax = long.MaxValue;
            d.SMin = long.MinValue;
        }

        if (d.UMax > 1UL << (int)(63 - umax))
        {
            d.UMin = 0;
            d.UMax = ulong.MaxValue;
        }
        else
        {
            d.UMin <<= (int)umin;
            d.UMax <<= (int)umax;
        }

        Lsh32Bounds(ref d, umin, umax);
        d.VarOff = d.VarOff.LeftShift((int)umin);
        UpdateBounds(ref d);
    }

    private static void Rsh32(ref RegisterState d, in RegisterState s)
    {
        var sub = d.VarOff.Subreg;
        d.S32Min = int.MinValue;
        d.S32Max = int.MaxValue;
        d.VarOff = sub.RightShift((int)s.U32Min);
        d.U32Min >>= (int)s.U32Max;
        d.U32Max >>= (int)s.U32Min;
        d.SetUnbounded64();
        UpdateBounds32(ref d);
    }

    private static void Rsh64(ref RegisterState d, in RegisterState s)
    {
        d.SMin = long.MinValue;
        d.SMax = long.MaxValue;
        d.VarOff = d.VarOff.RightShift((int)s.UMin);
        d.UMin >>= (int)s.UMax;
        d.UMax >>= (int)s.UMin;
        d.SetUnbounded32();
        UpdateBounds(ref d);
    }

    private static void Arsh32(ref RegisterState d, in RegisterState s)
    {
        int shift = (int)s.U32Min;
        d.S32Min >>= shift;
        d.S32Max >>= shift;
        d.VarOff = d.VarOff.Subreg.ArithmeticRightShift(shift, 32);
        d.U32Min = 0;
        d.U32Max = uint.MaxValue;
        d.SetUnbounded64();
        UpdateBounds32(ref d);
    }

    private static void Arsh64(ref RegisterState d, in RegisterState s)
    {
        int shift = (int)s.UMin;
        d.SMin >>= shift;
        d.SMax >>= shift;
        d.VarOff = d.VarOff.ArithmeticRightShift(shift, 64);
        d.UMin = 0;
        d.UMax = ulong.MaxValue;
        d.SetUnbounded32();
        UpdateBounds(ref d);
    }

    // ---- conditional jumps -------------------------------------------------------------------

    /// <summary>Whether the scalar's value (or low half) is a single known number.</summary>
    public static bool IsConst(in RegisterState r, bool is32) =>
        r.Type == RegisterType.Scalar && (is32 ? r.VarOff.IsSubregConst : r.VarOff.IsConst);

    /// <summary>The value of a constant scalar at the given width.</summary>
    public static ulong ConstValue(in RegisterState r, bool is32) => is32 ? (uint)r.VarOff.Value : r.VarOff.Value;

    /// <summary>The mirror operation (<c>a OP b</c> equals <c>b FLIP(OP) a</c>).</summary>
    public static JumpOperation Flip(JumpOperation op) => op switch
    {
        JumpOperation.Jge => JumpOperation.Jle,
        JumpOperation.Jgt => JumpOperation.Jlt,
        JumpOperation.Jle => JumpOperation.Jge,
        JumpOperation.Jlt => JumpOperation.Jgt,
        JumpOperation.Jsge => JumpOperation.Jsle,
        JumpOperation.Jsgt => JumpOperation.Jslt,
        JumpOperation.Jsle => JumpOperation.Jsge,
        JumpOperation.Jslt => JumpOperation.Jsgt,
        _ => op,
    };

    /// <summary>The negated operation (the condition on the fall-through path); JSET's negation has no opcode and gives null.</summary>
    public static JumpOperation? Negate(JumpOperation op) => op switch
    {
        JumpOperation.Jeq => JumpOperation.Jne,
        JumpOperation.Jne => JumpOperation.Jeq,
        JumpOperation.Jge => JumpOperation.Jlt,
        JumpOperation.Jgt => JumpOperation.Jle,
        JumpOperation.Jle => JumpOperation.Jgt,
        JumpOperation.Jlt => JumpOperation.Jge,
        JumpOperation.Jsge => JumpOperation.Jslt,
        JumpOperation.Jsgt => JumpOperation.Jsle,
        JumpOperation.Jsle => JumpOperation.Jsgt,
        JumpOperation.Jslt => JumpOperation.Jsge,
        _ => null,
    };

    /// <summary>
    /// Whether <c>a OP b</c> on two scalars is always true (1), always false (0) or unknown (-1)
    /// (<c>is_scalar_branch_taken</c>).
    /// </summary>
    public static int IsBranchTaken(in RegisterState a, in RegisterState b, JumpOperation op, bool is32)
    {
        var t1 = is32 ? a.VarOff.Subreg : a.VarOff;
        var t2 = is32 ? b.VarOff.Subreg : b.VarOff;
        ulong umin1 = is32 ? a.U32Min : a.UMin, umax1 = is32 ? a.U32Max : a.UMax;
        long smin1 = is32 ? a.S32Min : a.SMin, smax1 = is32 ? a.S32Max : a.SMax;
        ulong umin2 = is32 ? b.U32Min : b.UMin, umax2 = is32 ? b.U32Max : b.UMax;
        long smin2 = is32 ? b.S32Min : b.SMin, smax2 = is32 ? b.S32Max : b.SMax;
        switch (op)
        {
            case JumpOperation.Jeq:
            case JumpOperation.Jne:
            {
                int equalKnown;
                if (t1.IsConst && t2.IsConst)
                {
                    equalKnown = t1.Value == t2.Value ? 1 : 0;
                }
                else if (!Tnum.Overlap(t1, t2) || umin1 > umax2 || umax1 < umin2 || smin1 > smax2 || smax1 < smin2 ||
                    (!is32 && (a.U32Min > b.U32Max || a.U32Max < b.U32Min || a.S32Min > b.S32Max || a.S32Max < b.S32Min)))
                {
                    equalKnown = 0;
                }
                else
                {
                    return -1;
                }

                return op == JumpOperation.Jeq ? equalKnown : 1 - equalKnown;
            }

            case JumpOperation.Jset:
            {
                var x = t1;
                var y = t2;
                if (!IsConst(b, is32))
                {
                    (x, y) = (t2, t1);
                    if (!IsConst(a, is32))
                    {
                        return -1;
                    }
                }

                if ((~x.Mask & x.Value & y.Value) != 0)
                {
                    return 1;
                }

                return ((x.Mask | x.Value) & y.Value) == 0 ? 0 : -1;
            }

            case JumpOperation.Jgt: return umin1 > umax2 ? 1 : umax1 <= umin2 ? 0 : -1;
            case JumpOperation.Jsgt: return smin1 > smax2 ? 1 : smax1 <= smin2 ? 0 : -1;
            case JumpOperation.Jlt: return umax1 < umin2 ? 1 : umin1 >= umax2 ? 0 : -1;
            case JumpOperation.Jslt: return smax1 < smin2 ? 1 : smin1 >= smax2 ? 0 : -1;
            case JumpOperation.Jge: return umin1 >= umax2 ? 1 : umax1 < umin2 ? 0 : -1;
            case JumpOperation.Jsge: return smin1 >= smax2 ? 1 : smax1 < smin2 ? 0 : -1;
            case JumpOperation.Jle: return umax1 <= umin2 ? 1 : umin1 > umax2 ? 0 : -1;
            case JumpOperation.Jsle: return smax1 <= smin2 ? 1 : smin1 > smax2 ? 0 : -1;
            default: return -1;
        }
    }

    /// <summary>
    /// Refines two scalars with the knowledge that <c>a OP b</c> holds (<paramref name="jsetFalse"/>: that
    /// <c>a &amp; b</c> is zero), then syncs both (<c>regs_refine_cond_op</c> + <c>reg_bounds_sync</c>).
    /// Returns false when the refined bounds are contradictory (the path is impossible).
    /// </summary>
    public static bool Refine(ref RegisterState a, ref RegisterState b, JumpOperation op, bool is32, bool jsetFalse = false)
    {
        RefineCore(ref a, ref b, op, is32, jsetFalse);
        Sync(ref a);
        Sync(ref b);
        return a.BoundsConsistent && b.BoundsConsistent;
    }

    private static void RefineCore(ref RegisterState r1, ref RegisterState r2, JumpOperation op, bool is32, bool jsetFalse)
    {
        if (op is JumpOperation.Jge or JumpOperation.Jgt or JumpOperation.Jsge or JumpOperation.Jsgt)
        {
            RefineCore(ref r2, ref r1, Flip(op), is32, jsetFalse);
            return;
        }

        switch (op)
        {
            case JumpOperation.Jeq:
                if (is32)
                {
                    r1.U32Min = Math.Max(r1.U32Min, r2.U32Min);
                    r1.U32Max = Math.Min(r1.U32Max, r2.U32Max);
                    r1.S32Min = Math.Max(r1.S32Min, r2.S32Min);
                    r1.S32Max = Math.Min(r1.S32Max, r2.S32Max);
                    r2.U32Min = r1.U32Min;
                    r2.U32Max = r1.U32Max;
                    r2.S32Min = r1.S32Min;
                    r2.S32Max = r1.S32Max;
                    var t = Tnum.Intersect(r1.VarOff.Subreg, r2.VarOff.Subreg);
                    r1.VarOff = r1.VarOff.WithSubreg(t);
                    r2.VarOff = r2.VarOff.WithSubreg(t);
                }
                else
                {
                    r1.UMin = Math.Max(r1.UMin, r2.UMin);
                    r1.UMax = Math.Min(r1.UMax, r2.UMax);
                    r1.SMin = Math.Max(r1.SMin, r2.SMin);
                    r1.SMax = Math.Min(r1.SMax, r2.SMax);
                    r2.UMin = r1.UMin;
                    r2.UMax = r1.UMax;
                    r2.SMin = r1.SMin;
                    r2.SMax = r1.SMax;
                    r1.VarOff = Tnum.Intersect(r1.VarOff, r2.VarOff);
                    r2.VarOff = r1.VarOff;
                }

                break;
            case JumpOperation.Jne:
            {
                if (!IsConst(r2, is32))
                {
                    if (!IsConst(r1, is32))
                    {
                        break;
                    }

                    RefineCore(ref r2, ref r1, op, is32, jsetFalse);
                    break;
                }

                ulong val = ConstValue(r2, is32);
                if (is32)
                {
                    if (r1.U32Min == (uint)val)
                    {
                        r1.U32Min++;
                    }

                    if (r1.U32Max == (uint)val)
                    {
                        r1.U32Max--;
                    }

                    if (r1.S32Min == (int)val)
                    {
                        r1.S32Min++;
                    }

                    if (r1.S32Max == (int)val)
                    {
                        r1.S32Max--;
                    }
                }
                else
                {
                    if (r1.UMin == val)
                    {
                        r1.UMin++;
                    }

                    if (r1.UMax == val)
                    {
                        r1.UMax--;
                    }

                    if (r1.SMin == (long)val)
                    {
                        r1.SMin++;
                    }

                    if (r1.SMax == (long)val)
                    {
                        r1.SMax--;
                    }
                }

                break;
            }

            case JumpOperation.Jset:
            {
                if (!IsConst(r2, is32))
                {
                    if (!IsConst(r1, is32))
                    {
                        break;
                    }

                    RefineCore(ref r2, ref r1, op, is32, jsetFalse);
                    break;
                }

                ulong val = ConstValue(r2, is32);
                if (!jsetFalse)
                {
                    if (val == 0 || (val & (val - 1)) != 0)
                    {
                        break;
                    }

                    r1.VarOff = is32
                        ? r1.VarOff.WithSubreg(Tnum.Or(r1.VarOff.Subreg, Tnum.Const(val)))
                        : Tnum.Or(r1.VarOff, Tnum.Const(val));
                }
                else
                {
                    r1.SetUnbounded64();
                    r1.SetUnbounded32();
                    r1.VarOff = is32
                        ? r1.VarOff.WithSubreg(Tnum.And(r1.VarOff.Subreg, Tnum.Const(~val)))
                        : Tnum.And(r1.VarOff, Tnum.Const(~val));
                }

                break;
            }

            case JumpOperation.Jle:
            case JumpOperation.Jlt:
            {
                // r1 <= r2 (or <, one tighter on each side); unsigned.
                uint d32 = op == JumpOperation.Jlt ? 1u : 0u;
                ulong d64 = d32;
                if (is32)
                {
                    r1.U32Max = Math.Min(r1.U32Max, unchecked(r2.U32Max - d32));
                    r2.U32Min = Math.Max(unchecked(r1.U32Min + d32), r2.U32Min);
                }
                else
                {
                    r1.UMax = Math.Min(r1.UMax, unchecked(r2.UMax - d64));
                    r2.UMin = Math.Max(unchecked(r1.UMin + d64), r2.UMin);
                }

                break;
            }

            case JumpOperation.Jsle:
            case JumpOperation.Jslt:
            {
                int d = op == JumpOperation.Jslt ? 1 : 0;
                if (is32)
                {
                    r1.S32Max = Math.Min(r1.S32Max, unchecked(r2.S32Max - d));
                    r2.S32Min = Math.Max(unchecked(r1.S32Min + d), r2.S32Min);
                }
                else
                {
                    r1.SMax = Math.Min(r1.SMax, unchecked(r2.SMax - d));
                    r2.SMin = Math.Max(unchecked(r1.SMin + d), r2.SMin);
                }

                break;
            }
        }
    }
}
