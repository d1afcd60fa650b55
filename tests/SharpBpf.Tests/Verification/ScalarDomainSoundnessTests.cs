using SharpBpf.Isa;
using SharpBpf.Verification;

namespace SharpBpf.Tests.Verification;

/// <summary>
/// Soundness of the scalar domain: for random abstract states and concrete values they contain, the concrete
/// result of every operation is contained in the abstract result.
/// </summary>
public class ScalarDomainSoundnessTests
{
    private const int Cases = 4000;

    /// <summary>A random abstract scalar that certainly contains <paramref name="x"/>.</summary>
    internal static RegisterState RandomStateContaining(Random rng, ulong x)
    {
        var r = RegisterState.UnknownScalar();
        switch (rng.Next(6))
        {
            case 0:
                return RegisterState.Known(x);
            case 1:
                return r;
            default:
                break;
        }

        ulong mask = rng.Next(4) switch
        {
            0 => 0,
            1 => (1UL << rng.Next(1, 64)) - 1,
            2 => RandomU64(rng),
            _ => RandomU64(rng) & RandomU64(rng),
        };
        r.VarOff = new Tnum(x & ~mask, mask);
        ulong span = rng.Next(3) == 0 ? RandomU64(rng) : (ulong)rng.Next(0, 1000);
        if (rng.Next(2) == 0)
        {
            r.UMin = x >= span ? x - span : 0;
        }

        if (rng.Next(2) == 0)
        {
            r.UMax = ulong.MaxValue - x >= span ? x + span : ulong.MaxValue;
        }

        if (rng.Next(2) == 0)
        {
            long s = (long)x;
            long d = (long)(span >> 1);
            r.SMin = s - d <= s ? s - d : long.MinValue;
            r.SMax = s + d >= s ? s + d : long.MaxValue;
        }

        if (rng.Next(2) == 0)
        {
            uint u = (uint)x;
            uint d = (uint)rng.Next(0, 300);
            r.U32Min = u >= d ? u - d : 0;
            r.U32Max = uint.MaxValue - u >= d ? u + d : uint.MaxValue;
        }

        if (rng.Next(3) == 0)
        {
            int s = (int)x;
            int d = rng.Next(0, 300);
            r.S32Min = (long)s - d >= int.MinValue ? s - d : int.MinValue;
            r.S32Max = (long)s + d <= int.MaxValue ? s + d : int.MaxValue;
        }

        Assert.True(r.Contains(x), "generator must produce a state containing x");
        ScalarDomain.Sync(ref r);
        return r;
    }

    internal static ulong RandomU64(Random rng) => ((ulong)(uint)rng.Next() << 33) ^ ((ulong)(uint)rng.Next() << 11) ^ (uint)rng.Next();

    internal static ulong RandomValue(Random rng) => rng.Next(5) switch
    {
        0 => (ulong)rng.Next(0, 64),
        1 => (ulong)(long)rng.Next(-64, 64),
        2 => (uint)rng.Next() ^ ((ulong)rng.Next(2) << 31),
        3 => 0xffff_ffff_0000_0000UL | (uint)rng.Next(),
        _ => RandomU64(rng),
    };

    /// <summary>Another concrete value of a state (rejection sampling from its tnum, plus its bounds).</summary>
    private static ulong? OtherMember(Random rng, in RegisterState r)
    {
        ulong[] candidates = [r.UMin, r.UMax, (ulong)r.SMin, (ulong)r.SMax, r.VarOff.Value, r.VarOff.Value | r.VarOff.Mask];
        for (int i = 0; i < 40; i++)
        {
            ulong c = i < candidates.Length ? candidates[i] : r.VarOff.Value | (RandomU64(rng) & r.VarOff.Mask);
            if (r.Contains(c))
            {
                return c;
            }
        }

        return null;
    }

    private static ulong Concrete(AluOperation op, ulong a, ulong b, bool is64)
    {
        if (is64)
        {
            return op switch
            {
                AluOperation.Add => a + b,
                AluOperation.Sub => a - b,
                AluOperation.Mul => a * b,
                AluOperation.Div => b == 0 ? 0 : a / b,
                AluOperation.Mod => b == 0 ? a : a % b,
                AluOperation.Or => a | b,
                AluOperation.And => a & b,
                AluOperation.Xor => a ^ b,
                AluOperation.Lsh => a << (int)(b & 63),
                AluOperation.Rsh => a >> (int)(b & 63),
                AluOperation.Arsh => (ulong)((long)a >> (int)(b & 63)),
                _ => throw new ArgumentOutOfRangeException(nameof(op)),
            };
        }

        uint x = (uint)a, y = (uint)b;
        return op switch
        {
            AluOperation.Add => x + y,
            AluOperation.Sub => x - y,
            AluOperation.Mul => x * y,
            AluOperation.Div => y == 0 ? 0 : x / y,
            AluOperation.Mod => y == 0 ? x : x % y,
            AluOperation.Or => x | y,
            AluOperation.And => x & y,
            AluOperation.Xor => x ^ y,
            AluOperation.Lsh => x << (int)(y & 31),
            AluOperation.Rsh => x >> (int)(y & 31),
            AluOperation.Arsh => (uint)((int)x >> (int)(y & 31)),
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
    }

    private static readonly AluOperation[] Ops =
    [
        AluOperation.Add, AluOperation.Sub, AluOperation.Mul, AluOperation.Div, AluOperation.Mod, AluOperation.Or,
        AluOperation.And, AluOperation.Xor, AluOperation.Lsh, AluOperation.Rsh, AluOperation.Arsh,
    ];

    [Fact]
    public void Alu_results_contain_the_concrete_result()
    {
        var rng = new Random(8);
        int checkedCases = 0;
        foreach (var op in Ops)
        {
            foreach (bool is64 in new[] { true, false })
            {
                for (int i = 0; i < Cases / 4; i++)
                {
                    ulong a = RandomValue(rng);
                    ulong b = op is AluOperation.Lsh or AluOperation.Rsh or AluOperation.Arsh ? (ulong)rng.Next(0, is64 ? 64 : 32) : RandomValue(rng);
                    var da = RandomStateContaining(rng, a);
                    var sb = op is AluOperation.Lsh or AluOperation.Rsh or AluOperation.Arsh && rng.Next(2) == 0
                        ? RegisterState.Known(b)
                        : RandomStateContaining(rng, b);
                    var result = da;
                    ScalarDomain.Alu(ref result, sb, op, is64);
                    ulong expected = Concrete(op, a, b, is64);
                    Assert.True(result.Contains(expected),
                        $"{op} {(is64 ? 64 : 32)}: {a:x} op {b:x} = {expected:x} not in {result} (dst {da}, src {sb})");

                    // Any other member pair is covered too.
                    if (OtherMember(rng, da) is { } a2 && OtherMember(rng, sb) is { } b2 &&
                        (op is not (AluOperation.Lsh or AluOperation.Rsh or AluOperation.Arsh) || b2 < (ulong)(is64 ? 64 : 32)))
                    {
                        ulong e2 = Concrete(op, a2, b2, is64);
                        Assert.True(result.Contains(e2), $"{op} {(is64 ? 64 : 32)}: {a2:x} op {b2:x} = {e2:x} not in {result}");
                    }

                    checkedCases++;
                }
            }
        }

        Assert.True(checkedCases >= Cases * 5);
    }

    private static bool ConcreteCondition(JumpOperation op, ulong a, ulong b, bool is32)
    {
        if (is32)
        {
            a = (uint)a;
            b = (uint)b;
        }

        long sa = is32 ? (int)a : (long)a, sb = is32 ? (int)b : (long)b;
        return op switch
        {
            JumpOperation.Jeq => a == b,
            JumpOperation.Jne => a != b,
            JumpOperation.Jgt => a > b,
            JumpOperation.Jge => a >= b,
            JumpOperation.Jlt => a < b,
            JumpOperation.Jle => a <= b,
            JumpOperation.Jsgt => sa > sb,
            JumpOperation.Jsge => sa >= sb,
            JumpOperation.Jslt => sa < sb,
            JumpOperation.Jsle => sa <= sb,
            JumpOperation.Jset => (a & b) != 0,
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
    }

    private static readonly JumpOperation[] Conditions =
    [
        JumpOperation.Jeq, JumpOperation.Jne, JumpOperation.Jgt, JumpOperation.Jge, JumpOperation.Jlt, JumpOperation.Jle,
        JumpOperation.Jsgt, JumpOperation.Jsge, JumpOperation.Jslt, JumpOperation.Jsle, JumpOperation.Jset,
    ];

    [Fact]
    public void Branch_refinement_keeps_the_concrete_values_of_the_path_taken()
    {
        var rng = new Random(9);
        foreach (var op in Conditions)
        {
            foreach (bool is32 in new[] { false, true })
            {
                for (int i = 0; i < Cases / 4; i++)
                {
                    ulong a = RandomValue(rng);
                    ulong b = rng.Next(4) == 0 ? a + (ulong)rng.Next(-2, 3) : RandomValue(rng);
                    var ra = RandomStateContaining(rng, a);
                    var rb = rng.Next(3) == 0 ? RegisterState.Known(b) : RandomStateContaining(rng, b);
                    bool holds = ConcreteCondition(op, a, b, is32);
                    int taken = ScalarDomain.IsBranchTaken(ra, rb, op, is32);
                    Assert.True(taken == -1 || taken == (holds ? 1 : 0), $"{op}{(is32 ? "32" : "")}: {a:x} vs {b:x} is {holds} but predicted {taken} for {ra} / {rb}");

                    var x = ra;
                    var y = rb;
                    bool possible = holds
                        ? ScalarDomain.Refine(ref x, ref y, op, is32)
                        : op == JumpOperation.Jset
                            ? ScalarDomain.Refine(ref x, ref y, op, is32, jsetFalse: true)
                            : ScalarDomain.Refine(ref x, ref y, ScalarDomain.Negate(op)!.Value, is32);
                    Assert.True(possible, $"{op}{(is32 ? "32" : "")} ({holds}): refinement says impossible for {a:x}, {b:x} in {ra} / {rb}");
                    Assert.True(x.Contains(a), $"{op}{(is32 ? "32" : "")} ({holds}): {a:x} lost: {ra} -> {x} (other {rb} -> {y})");
                    Assert.True(y.Contains(b), $"{op}{(is32 ? "32" : "")} ({holds}): {b:x} lost: {rb} -> {y} (other {ra} -> {x})");
                }
            }
        }
    }

    [Fact]
    public void Width_changes_contain_the_concrete_result()
    {
        var rng = new Random(10);
        for (int i = 0; i < Cases; i++)
        {
            ulong a = RandomValue(rng);
            var ra = RandomStateContaining(rng, a);
            int size = new[] { 1, 2, 4, 8 }[rng.Next(4)];
            var z = ra;
            ScalarDomain.CoerceToSize(ref z, size);
            ulong zeroExtended = size == 8 ? a : a & ((1UL << (size * 8)) - 1);
            Assert.True(z.Contains(zeroExtended), $"zext{size} of {a:x}: {zeroExtended:x} not in {z} (from {ra})");
            if (size < 8)
            {
                var s = ra;
                ScalarDomain.SignExtendToSize(ref s, size);
                ScalarDomain.Sync(ref s);
                ulong signExtended = size switch { 1 => (ulong)(sbyte)a, 2 => (ulong)(short)a, _ => (ulong)(int)a };
                Assert.True(s.Contains(signExtended), $"sext{size} of {a:x}: {signExtended:x} not in {s} (from {ra})");
            }

            if (size < 4)
            {
                var s = ra;
                ScalarDomain.SignExtendSubregToSize(ref s, size);
                ScalarDomain.ZeroExtend32(ref s);
                ScalarDomain.Sync(ref s);
                ulong sx32 = (uint)(size == 1 ? (sbyte)a : (short)a);
                Assert.True(s.Contains(sx32), $"sext32 {size} of {a:x}: {sx32:x} not in {s} (from {ra})");
            }
        }
    }

    [Fact]
    public void Tnum_operations_contain_the_concrete_result()
    {
        var rng = new Random(11);
        for (int i = 0; i < Cases; i++)
        {
            ulong a = RandomValue(rng), b = RandomValue(rng);
            ulong ma = RandomU64(rng) & RandomU64(rng), mb = rng.Next(2) == 0 ? 0 : RandomU64(rng);
            var ta = new Tnum(a & ~ma, ma);
            var tb = new Tnum(b & ~mb, mb);
            Assert.True(Tnum.Add(ta, tb).Contains(a + b));
            Assert.True(Tnum.Sub(ta, tb).Contains(a - b));
            Assert.True(Tnum.Mul(ta, tb).Contains(a * b));
            Assert.True(Tnum.And(ta, tb).Contains(a & b));
            Assert.True(Tnum.Or(ta, tb).Contains(a | b));
            Assert.True(Tnum.Xor(ta, tb).Contains(a ^ b));
            int shift = rng.Next(64);
            Assert.True(ta.LeftShift(shift).Contains(a << shift));
            Assert.True(ta.RightShift(shift).Contains(a >> shift));
            Assert.True(ta.ArithmeticRightShift(shift, 64).Contains((ulong)((long)a >> shift)));
            Assert.True(ta.Subreg.ArithmeticRightShift(shift & 31, 32).Contains((uint)((int)a >> (shift & 31))));
            Assert.True(Tnum.Range(Math.Min(a, b), Math.Max(a, b)).Contains(a));
            Assert.True(ta.Cast(2).Contains(a & 0xffff));
            Assert.True(Tnum.Overlap(ta, new Tnum(a, 0)));
            Assert.True(ta.Includes(Tnum.Const(a)));
        }
    }

    [Fact]
    public void Constants_stay_exact()
    {
        var r = RegisterState.Known(5);
        ScalarDomain.Alu(ref r, RegisterState.Known(3), AluOperation.Mul, is64: true);
        Assert.True(r.IsConst);
        Assert.Equal(15UL, r.VarOff.Value);
        Assert.Equal(15UL, r.UMin);
        Assert.Equal(15L, r.SMax);
        var w = RegisterState.Known(0xffff_ffff);
        ScalarDomain.Alu(ref w, RegisterState.Known(1), AluOperation.Add, is64: false);
        Assert.True(w.IsConst);
        Assert.Equal(0UL, w.VarOff.Value);
    }

    [Fact]
    public void A_mask_bounds_the_value_as_the_kernel_prints_it()
    {
        var r = RegisterState.UnknownScalar();
        ScalarDomain.Alu(ref r, RegisterState.Known(0xff), AluOperation.And, is64: true);
        Assert.Equal("scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))", r.ToString());
    }
}
