using System.Globalization;
using System.Numerics;

namespace SharpBpf.Verification;

/// <summary>
/// A tristate number: for every bit, known 0, known 1 or unknown. A bit is unknown when it is set in
/// <see cref="Mask"/>; known bits have their value in <see cref="Value"/> (whose unknown bits are always 0).
/// This is the kernel verifier's <c>struct tnum</c> with its operations (kernel/bpf/tnum.c).
/// </summary>
/// <param name="Value">The known bits' values.</param>
/// <param name="Mask">The unknown bits.</param>
public readonly record struct Tnum(ulong Value, ulong Mask)
{
    /// <summary>Every bit unknown.</summary>
    public static Tnum Unknown => new(0, ulong.MaxValue);

    /// <summary>A fully known value.</summary>
    public static Tnum Const(ulong value) => new(value, 0);

    /// <summary>Whether every bit is known.</summary>
    public bool IsConst => Mask == 0;

    /// <summary>Whether every bit is unknown.</summary>
    public bool IsUnknown => Mask == ulong.MaxValue;

    /// <summary>Whether the low 32 bits are all known.</summary>
    public bool IsSubregConst => (uint)Mask == 0;

    /// <summary>The smallest tnum holding every value of the unsigned range [min, max].</summary>
    public static Tnum Range(ulong min, ulong max)
    {
        ulong chi = min ^ max;
        int bits = 64 - BitOperations.LeadingZeroCount(chi);
        if (bits > 63)
        {
            return Unknown;
        }

        ulong delta = (1UL << bits) - 1;
        return new Tnum(min & ~delta, delta);
    }

    /// <summary>Whether the concrete value <paramref name="x"/> is one this tnum allows.</summary>
    public bool Contains(ulong x) => (x & ~Mask) == Value;

    /// <summary>Shift left by a known amount (0-63).</summary>
    public Tnum LeftShift(int shift) => new(Value << shift, Mask << shift);

    /// <summary>Logical shift right by a known amount (0-63).</summary>
    public Tnum RightShift(int shift) => new(Value >> shift, Mask >> shift);

    /// <summary>Arithmetic shift right by a known amount, on the low 32 bits or on all 64.</summary>
    public Tnum ArithmeticRightShift(int shift, int bitness) => bitness == 32
        ? new Tnum((uint)((int)Value >> shift), (uint)((int)Mask >> shift))
        : new Tnum((ulong)((long)Value >> shift), (ulong)((long)Mask >> shift));

    /// <summary>Addition.</summary>
    public static Tnum Add(Tnum a, Tnum b)
    {
        ulong sm = a.Mask + b.Mask;
        ulong sv = a.Value + b.Value;
        ulong sigma = sm + sv;
        ulong chi = sigma ^ sv;
        ulong mu = chi | a.Mask | b.Mask;
        return new Tnum(sv & ~mu, mu);
    }

    /// <summary>Subtraction.</summary>
    public static Tnum Sub(Tnum a, Tnum b)
    {
        ulong dv = a.Value - b.Value;
        ulong alpha = dv + a.Mask;
        ulong beta = dv - b.Mask;
        ulong chi = alpha ^ beta;
        ulong mu = chi | a.Mask | b.Mask;
        return new Tnum(dv & ~mu, mu);
    }

    /// <summary>Bitwise and.</summary>
    public static Tnum And(Tnum a, Tnum b)
    {
        ulong alpha = a.Value | a.Mask;
        ulong beta = b.Value | b.Mask;
        ulong v = a.Value & b.Value;
        return new Tnum(v, alpha & beta & ~v);
    }

    /// <summary>Bitwise or.</summary>
    public static Tnum Or(Tnum a, Tnum b)
    {
        ulong v = a.Value | b.Value;
        ulong mu = a.Mask | b.Mask;
        return new Tnum(v, mu & ~v);
    }

    /// <summary>Bitwise exclusive or.</summary>
    public static Tnum Xor(Tnum a, Tnum b)
    {
        ulong v = a.Value ^ b.Value;
        ulong mu = a.Mask | b.Mask;
        return new Tnum(v & ~mu, mu);
    }

    /// <summary>Multiplication (shift-and-add over the bits of <paramref name="a"/>).</summary>
    public static Tnum Mul(Tnum a, Tnum b)
    {
        ulong accValue = a.Value * b.Value;
        var accMask = new Tnum(0, 0);
        while (a.Value != 0 || a.Mask != 0)
        {
            if ((a.Value & 1) != 0)
            {
                accMask = Add(accMask, new Tnum(0, b.Mask));
            }
            else if ((a.Mask & 1) != 0)
            {
                accMask = Add(accMask, new Tnum(0, b.Value | b.Mask));
            }

            a = a.RightShift(1);
            b = b.LeftShift(1);
        }

        return Add(new Tnum(accValue, 0), accMask);
    }

    /// <summary>Whether some value is allowed by both.</summary>
    public static bool Overlap(Tnum a, Tnum b)
    {
        ulong mu = ~a.Mask & ~b.Mask;
        return (a.Value & mu) == (b.Value & mu);
    }

    /// <summary>The values allowed by both (both must hold the same value).</summary>
    public static Tnum Intersect(Tnum a, Tnum b)
    {
        ulong v = a.Value | b.Value;
        ulong mu = a.Mask & b.Mask;
        return new Tnum(v & ~mu, mu);
    }

    /// <summary>Truncation to the low <paramref name="size"/> bytes (1, 2, 4 or 8).</summary>
    public Tnum Cast(int size)
    {
        if (size >= 8)
        {
            return this;
        }

        ulong keep = (1UL << (size * 8)) - 1;
        return new Tnum(Value & keep, Mask & keep);
    }

    /// <summary>Whether every allowed value is a multiple of <paramref name="size"/> (a power of two).</summary>
    public bool IsAligned(ulong size) => size == 0 || ((Value | Mask) & (size - 1)) == 0;

    /// <summary>Whether every value of <paramref name="b"/> is a value of this tnum.</summary>
    public bool Includes(Tnum b)
    {
        if ((b.Mask & ~Mask) != 0)
        {
            return false;
        }

        return Value == (b.Value & ~Mask);
    }

    /// <summary>The low 32 bits.</summary>
    public Tnum Subreg => Cast(4);

    /// <summary>The high 32 bits, with the low 32 known zero.</summary>
    public Tnum ClearSubreg => RightShift(32).LeftShift(32);

    /// <summary>These high 32 bits with <paramref name="subreg"/>'s low 32.</summary>
    public Tnum WithSubreg(Tnum subreg) => Or(ClearSubreg, subreg.Subreg);

    /// <summary>These high 32 bits with a known low 32.</summary>
    public Tnum WithConstSubreg(uint value) => WithSubreg(Const(value));

    /// <summary>The kernel's text form: a constant (decimal up to 65535, else hex) or <c>(value; mask)</c>.</summary>
    public override string ToString() => Mask == 0
        ? VerifierFormat.Unsigned(Value)
        : string.Create(CultureInfo.InvariantCulture, $"({VerifierFormat.Hex(Value)}; {VerifierFormat.Hex(Mask)})");
}
