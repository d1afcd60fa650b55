using System.Globalization;
using SharpBpf.Isa;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Isa.Formatting;

/// <summary>
/// Reads the disassembler fixtures: instruction corpora (*.hex) and what llvm-objdump-19 printed
/// for them (*.objdump.txt, *.noraw.txt), all produced by Fixtures/disasm/gen.sh.
/// </summary>
internal static class DisassemblyFixtures
{
    public static string Directory => Fixtures.Directory("disasm");

    /// <summary>The program of a corpus: every hex line's bytes, in order.</summary>
    public static Instruction[] LoadProgram(string name)
    {
        var bytes = new List<byte>();
        foreach (string rawLine in File.ReadLines(Path.Combine(Directory, name + ".hex")))
        {
            int comment = rawLine.IndexOf('#', StringComparison.Ordinal);
            string line = (comment >= 0 ? rawLine[..comment] : rawLine).Trim();
            for (int i = 0; i + 1 < line.Length; i += 2)
            {
                bytes.Add(byte.Parse(line.AsSpan(i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }
        }

        return Instruction.Decode(bytes.ToArray());
    }

    /// <summary>The instruction lines of an llvm-objdump listing (everything after the symbol header).</summary>
    public static string[] LoadListing(string name, string kind)
    {
        string[] lines = File.ReadAllLines(Path.Combine(Directory, $"{name}.{kind}.txt"));
        int header = Array.FindIndex(lines, l => l.EndsWith("<.text>:", StringComparison.Ordinal));
        Assert.True(header >= 0, $"{name}.{kind}.txt has no <.text>: header");
        return lines[(header + 1)..].Where(l => l.Length > 0).ToArray();
    }
}
