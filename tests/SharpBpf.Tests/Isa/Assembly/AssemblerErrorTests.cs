using System.Text;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Isa.Assembly;

/// <summary>Bad input gives an <see cref="AssemblyException"/> naming the line, the column and what was expected.</summary>
public class AssemblerErrorTests
{
    private static AssemblyException Fails(string source, AssemblySyntax? syntax = null) =>
        Assert.Throws<AssemblyException>(() => Assembler.Assemble(source, syntax));

    [Theory]
    // unknown mnemonic
    [InlineData("foo %r1, 2", 1, 1, "uBPF mnemonic", "foo")]
    [InlineData("exit\n  frob r1", 2, 3, "an instruction", "frob")]
    [InlineData("lock nand [%r1], %r2", 1, 6, "atomic operation", "nand")]
    [InlineData("lock *(u16 *)(r1 + 0) += r2", 1, 6, "'*(u32 *)' or '*(u64 *)'", "*")]
    [InlineData("*(s8 *)(r1 + 0) = r2", 1, 1, "store of type u8", "*")]
    [InlineData("r0 = atomic_fetch_add((u16 *)(r1 + 0), r0)", 1, 24, "'u32 *' or 'u64 *'", "u16")]
    [InlineData("w1 = (s32)w2", 1, 7, "(s8, s16)", "s32")]
    [InlineData("r1 = be16 r2", 1, 11, "'r1'", "r2")]
    [InlineData("(zz) r0 = 1", 1, 1, "an instruction", "(")]
    // bad register
    [InlineData("mov %r11, 1", 1, 5, "%r0 to %r10", "%r11")]
    [InlineData("r11 = 1", 1, 1, "r0 to r10", "r11")]
    [InlineData("ldxw %r0, [%r16+2]", 1, 12, "%r0 to %r10", "%r16")]
    [InlineData("w0 = r1", 1, 6, "w0 to w10", "r1")]
    [InlineData("if r1 > w2 goto +1", 1, 9, "r0 to r10", "w2")]
    [InlineData("r0 = *(u32 *)(w1 + 2)", 1, 15, "r0 to r10", "w1")]
    [InlineData("mov r0, 1", 1, 5, "%r0 to %r10", "r0")]
    // immediate out of range
    [InlineData("mov %r0, 0x100000000", 1, 10, "32-bit immediate", "0x100000000")]
    [InlineData("r0 = 4294967296", 1, 6, "32-bit immediate", "4294967296")]
    [InlineData("r0 += -2147483649", 1, 7, "32-bit immediate", "-2147483649")]
    [InlineData("lddw %r0, 0x10000000000000000", 1, 11, "64-bit", "0x10000000000000000")]
    [InlineData("r1 = 18446744073709551616 ll", 1, 6, "64 bits", "18446744073709551616")]
    // offset out of 16-bit range
    [InlineData("ldxw %r0, [%r1+32768]", 1, 15, "offset from -32768 to +32767", "+32768")]
    [InlineData("stxdw [%r10-0x8001], %r1", 1, 12, "offset from -32768 to +32767", "-0x8001")]
    [InlineData("r0 = *(u32 *)(r1 + 0x8000)", 1, 18, "offset from -32768 to +32767", "+ 0x8000")]
    [InlineData("ja +32768", 1, 4, "jump offset from -32768 to 32767", "+32768")]
    [InlineData("goto -32769", 1, 6, "jump offset from -32768 to 32767", "-32769")]
    // unknown and duplicate labels
    [InlineData("ja nowhere\nexit", 1, 4, "a defined label", "nowhere")]
    [InlineData("goto LBB0_9", 1, 6, "a defined label", "LBB0_9")]
    [InlineData("a:\nexit\n  a: exit", 3, 3, "already defined on line 1", "a")]
    // missing operands
    [InlineData("add %r0,", 1, 9, "register (%r0 to %r10) or an immediate", "")]
    [InlineData("add %r0", 1, 8, "','", "")]
    [InlineData("r0 +=", 1, 6, "register (r0 to r10) or an immediate", "")]
    [InlineData("jeq %r1, 0", 1, 11, "','", "")]
    [InlineData("if r1 == 0", 1, 11, "'goto'", "")]
    [InlineData("ldxw %r0, %r1", 1, 11, "memory operand", "%r1")]
    // trailing garbage
    [InlineData("exit 5", 1, 6, "end of line", "5")]
    [InlineData("r0 = 1 junk", 1, 8, "end of line", "junk")]
    [InlineData("mov32 %r0, 12abc", 1, 12, "32-bit immediate", "12abc")]
    [InlineData("neg %r0, %r1", 1, 8, "end of line", ",")]
    // other semantic mistakes
    [InlineData("r0 = -r1", 1, 7, "'r0'", "r1")]
    [InlineData("r1 = cmpxchg_64(r10 - 8, r0, r2)", 1, 1, "cmpxchg always returns in r0", "r1")]
    [InlineData("r1 = atomic_fetch_add((u64 *)(r10 - 8), r2)", 1, 41, "'r1'", "r2")]
    [InlineData("w1 = 5 ll", 1, 6, "64-bit destination", "5")]
    [InlineData("r0 = *(u64 *)skb[1]", 1, 14, "packet load", "skb")]
    public void ErrorsSayWhereAndWhat(string source, int line, int column, string expectedPart, string found)
    {
        var ex = Fails(source);
        Assert.Equal(line, ex.Line);
        Assert.Equal(column, ex.Column);
        Assert.Contains(expectedPart, ex.Expected, StringComparison.Ordinal);
        Assert.Equal(found, ex.Found);
        Assert.StartsWith($"line {line}, column {column}: expected ", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<BpfException>(ex);
    }

    [Fact]
    public void MessageQuotesWhatWasFound()
    {
        var ex = Fails("mov %r0, %r12");
        Assert.Equal("line 1, column 10: expected a register (%r0 to %r10), found '%r12'", ex.Message);
        var end = Fails("exit\nadd %r1");
        Assert.Equal("line 2, column 8: expected ',', found end of line", end.Message);
    }

    [Fact]
    public void ForcedSyntaxRejectsTheOther()
    {
        Assert.Equal(1, Fails("r0 = 1", AssemblySyntax.Ubpf).Column);
        Assert.Equal(1, Fails("mov %r0, 1", AssemblySyntax.Llvm).Column);
    }

    [Fact]
    public void LabelTooFarForA16BitOffset()
    {
        var source = new StringBuilder("ja far\n");
        for (int i = 0; i < 40000; i++)
        {
            source.Append("exit\n");
        }

        source.Append("far: exit\n");
        var ex = Fails(source.ToString());
        Assert.Equal(1, ex.Line);
        Assert.Equal(4, ex.Column);
        Assert.Contains("40000 away", ex.Expected, StringComparison.Ordinal);

        // gotol / ja32 carry 32 bits and reach it.
        var program = Assembler.Assemble(source.ToString().Replace("ja far", "ja32 far", StringComparison.Ordinal));
        Assert.Equal(40000, program[0].Immediate);
    }

    [Fact]
    public void NullSourceIsAnArgumentError() =>
        Assert.Throws<ArgumentNullException>(() => Assembler.Assemble(null!));

    [Fact]
    public void EmptySourceGivesNoInstructions() => Assert.Empty(Assembler.Assemble("  \n# nothing\n"));

    private static readonly string[] Vocabulary =
    [
        "mov", "mov32", "add", "lddw", "ldxw", "stxdw", "stw", "lock", "fetch", "xchg", "cmpxchg32", "ja", "ja32", "jeq", "jset32",
        "call", "local", "callx", "exit", "le16", "bswap64", "movsx832", "ldabsb", "ldindw", "neg", "%r0", "%r10", "%r11", "%", "r1",
        "w2", "r10", "w11", "=", "+=", "s>>=", "s/=", "-", "+", "*", "(", ")", "[", "]", ",", ":", "u8", "u64", "s16", "*)", "(u32",
        "skb", "goto", "gotol", "if", "==", "s<=", "&", "pc+3", "ll", "0x", "0xffffffffffffffffff", "-0x8", "+70000", "32767",
        "-32768", "99999999999999999999999", "label", "L1:", "map[id:3]", "map[idx:", "subprog[", "btf_id[", "atomic_fetch_add(",
        "xchg_64(", "cmpxchg_64(", "atomic64_cmpxchg(", "#", ";", "//", "<unknown>", "<f+0x8>", "(18)", "(b7)", "0:", "\t",
        "b7 00 00 00 00 00 00 00", "addr_space_cast(", "may_goto", "exit:", "int f(void):", "%=", "\u00e9", "\0", "\"",
    ];

    [Fact]
    public void RandomAndMutatedInputOnlyEverThrowsAssemblyException()
    {
        var random = new Random(9669);
        var seeds = new List<string>();
        foreach (var line in File.ReadLines(Fixtures.Path("asm", "llvm-mc.txt")))
        {
            if (line.Length > 0 && line[0] != '#')
            {
                seeds.Add(line[(line.IndexOf('\t', StringComparison.Ordinal) + 1)..]);
            }
        }

        seeds.AddRange(File.ReadLines(Fixtures.Path("asm", "ubpf-cases.s")));
        seeds.AddRange(File.ReadLines(Fixtures.Path("asm", "labels.objdump")));
        seeds.AddRange(File.ReadLines(Fixtures.Path("asm", "bpftool.xlated")));
        seeds.AddRange(
        [
            "mov32 %r0, 2 # c", "ldxdw %r0, [%r10-8]", "stb [%r1+2], 0x11", "lock fetch add32 [%r10-8], %r1", "jsgt32 %r1, 0xffffffff, +1",
            "call local func1", "call %r2", "lddw %r1, 0x123456789abcdef0", "movsx1632 %r0, %r1", "ldindh %r1, 4", "ja32 L1", "L1:",
        ]);

        int assembled = 0;
        int rejected = 0;
        for (int i = 0; i < 6000; i++)
        {
            string input = (i % 3) switch
            {
                0 => Mutate(seeds[random.Next(seeds.Count)], random),
                1 => string.Join(random.Next(2) == 0 ? " " : "", Enumerable.Range(0, random.Next(1, 8)).Select(_ => Vocabulary[random.Next(Vocabulary.Length)])),
                _ => string.Join('\n', Enumerable.Range(0, random.Next(1, 6)).Select(_ => Mutate(seeds[random.Next(seeds.Count)], random))),
            };
            try
            {
                Assembler.Assemble(input, (i % 5) switch { 0 => AssemblySyntax.Llvm, 1 => AssemblySyntax.Ubpf, _ => null });
                assembled++;
            }
            catch (AssemblyException ex)
            {
                Assert.True(ex.Line >= 1 && ex.Column >= 1, $"no position for input '{input}': {ex.Message}");
                rejected++;
            }
            catch (Exception ex)
            {
                Assert.Fail($"input '{input}' threw {ex.GetType().Name}: {ex.Message}");
            }
        }

        // The mutations must exercise both outcomes, or the test proves nothing.
        Assert.True(assembled > 300, $"only {assembled} inputs assembled");
        Assert.True(rejected > 300, $"only {rejected} inputs rejected");
    }

    private static string Mutate(string text, Random random)
    {
        var chars = new StringBuilder(text);
        int edits = random.Next(0, 4);
        const string alphabet = "0123456789abcdefxrw%[]()+-*=<>,:;#sl \t";
        for (int e = 0; e < edits; e++)
        {
            int at = chars.Length == 0 ? 0 : random.Next(chars.Length);
            switch (random.Next(3))
            {
                case 0 when chars.Length > 0:
                    chars.Remove(at, 1);
                    break;
                case 1:
                    chars.Insert(at, alphabet[random.Next(alphabet.Length)]);
                    break;
                default:
                    if (chars.Length > 0)
                    {
                        chars[at] = alphabet[random.Next(alphabet.Length)];
                    }

                    break;
            }
        }

        return chars.ToString();
    }
}
