using System.Globalization;
using System.Text.RegularExpressions;
using SharpBpf.Isa;
using SharpBpf.Isa.Formatting;

namespace SharpBpf.Tests.Isa.Formatting;

/// <summary>
/// Compares the LLVM syntax with what llvm-objdump-19 printed for the same bytes (the fixtures
/// and gen.sh in Fixtures/disasm): whole listings, and every instruction on its own.
/// </summary>
public sealed partial class LlvmObjdumpFixtureTests
{
    /// <summary>How llvm-objdump shows a skipped run of zero bytes.</summary>
    private const string ZeroBlock = "\t\t...";

    public static TheoryData<string> Corpora => new() { "forms", "random", "truncated", "zeros" };

    /// <summary>The corpora whose listing stays in step with the slots ("zeros" does not, on purpose).</summary>
    public static TheoryData<string> AlignedCorpora => new() { "forms", "random", "truncated" };

    [GeneratedRegex(@"^ *(\d+):\t([0-9a-f ]+)\t(.*)$")]
    private static partial Regex ListingLine();

    [GeneratedRegex(@" <\.text(\+0x[0-9a-f]+)?>$")]
    private static partial Regex TargetAnnotation();

    [Theory]
    [MemberData(nameof(Corpora))]
    public void ListingEqualsLlvmObjdump(string corpus)
    {
        var program = DisassemblyFixtures.LoadProgram(corpus);
        string[] expected = DisassemblyFixtures.LoadListing(corpus, "objdump");
        string listing = Disassembler.Disassemble(program, new DisassemblyOptions { JumpTargets = JumpTargetStyle.SymbolOffset });
        AssertSameLines(expected, listing);
    }

    [Theory]
    [MemberData(nameof(Corpora))]
    public void ListingWithoutBytesEqualsLlvmObjdumpNoShowRawInsn(string corpus)
    {
        var program = DisassemblyFixtures.LoadProgram(corpus);
        string[] expected = DisassemblyFixtures.LoadListing(corpus, "noraw");
        string listing = Disassembler.Disassemble(
            program, new DisassemblyOptions { JumpTargets = JumpTargetStyle.SymbolOffset, ShowRawBytes = false });
        AssertSameLines(expected, listing);
    }

    [Theory]
    [MemberData(nameof(AlignedCorpora))]
    public void EachInstructionFormatsAsLlvmObjdumpPrintsIt(string corpus)
    {
        var program = DisassemblyFixtures.LoadProgram(corpus);
        int checkedLines = 0;
        foreach (string line in DisassemblyFixtures.LoadListing(corpus, "objdump"))
        {
            if (line == ZeroBlock)
            {
                continue;
            }

            var match = ListingLine().Match(line);
            Assert.True(match.Success, $"unexpected llvm-objdump line: {line}");
            int pc = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            string expected = TargetAnnotation().Replace(match.Groups[3].Value, string.Empty);
            Assert.True(expected == Disassembler.Format(program, pc), $"pc {pc}: {line}");

            // A single slot formats alike unless it is the first half of an lddw.
            if (!program[pc].IsLoadImm64)
            {
                Assert.Equal(expected, Disassembler.Format(program[pc]));
            }

            checkedLines++;
        }

        Assert.True(checkedLines > 0);
    }

    [Fact]
    public void FormsCorpusCoversEveryInstructionForm()
    {
        var program = DisassemblyFixtures.LoadProgram("forms");
        string[] lines = DisassemblyFixtures.LoadListing("forms", "objdump");
        Assert.True(lines.Length >= 500, $"only {lines.Length} encodings in the forms corpus");

        // Every opcode RFC 9669 defines (and the LLVM extensions) appears and decodes.
        var decodedOpcodes = new HashSet<byte>();
        foreach (string line in lines)
        {
            var match = ListingLine().Match(line);
            if (match.Success && !match.Value.EndsWith("<unknown>", StringComparison.Ordinal))
            {
                decodedOpcodes.Add(byte.Parse(match.Groups[2].Value.AsSpan(0, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }
        }

        var rfcOpcodes = new List<byte> { 0x18, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x05, 0x06, 0x85, 0x8d, 0x95, 0xc3, 0xdb, 0x84, 0x87, 0xd4, 0xdc, 0xd7 };
        foreach (byte alu in new byte[] { 0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0 })
        {
            rfcOpcodes.AddRange([(byte)(alu | 0x04), (byte)(alu | 0x0c), (byte)(alu | 0x07), (byte)(alu | 0x0f)]);
        }

        foreach (byte jump in new byte[] { 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0 })
        {
            rfcOpcodes.AddRange([(byte)(jump | 0x05), (byte)(jump | 0x0d), (byte)(jump | 0x06), (byte)(jump | 0x0e)]);
        }

        foreach (byte size in new byte[] { 0x00, 0x08, 0x10, 0x18 })
        {
            rfcOpcodes.AddRange([(byte)(0x61 | size), (byte)(0x62 | size), (byte)(0x63 | size)]);
            if (size != 0x18)
            {
                rfcOpcodes.Add((byte)(0x81 | size));
            }
        }

        Assert.Empty(rfcOpcodes.Where(op => !decodedOpcodes.Contains(op)).Select(op => op.ToString("x2", CultureInfo.InvariantCulture)));
        Assert.True(program.Length > lines.Length, "the forms corpus should contain lddw (two slots per line)");
    }

    private static void AssertSameLines(string[] expected, string listing)
    {
        Assert.EndsWith("\n", listing, StringComparison.Ordinal);
        string[] actual = listing[..^1].Split('\n');
        int common = Math.Min(expected.Length, actual.Length);
        for (int i = 0; i < common; i++)
        {
            Assert.True(expected[i] == actual[i], $"line {i}:\n expected: {expected[i]}\n actual:   {actual[i]}");
        }

        Assert.Equal(expected.Length, actual.Length);
    }
}
