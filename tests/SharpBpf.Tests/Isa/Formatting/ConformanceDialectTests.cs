using System.Globalization;
using SharpBpf.Isa;
using SharpBpf.Isa.Formatting;
using SharpBpf.Testing;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Isa.Formatting;

/// <summary>Checks the uBPF syntax against the human-written bpf_conformance assembly.</summary>
public sealed class ConformanceDialectTests
{
    private static IEnumerable<string> AsmLines(List<string> lines) =>
        lines.Select(l => (l.Contains('#', StringComparison.Ordinal) ? l[..l.IndexOf('#', StringComparison.Ordinal)] : l).Trim())
             .Where(l => l.Length > 0);

    [SharedFact("conformance")]
    public void RawProgramsDisassembleToTheirAssembly()
    {
        int compared = 0;
        foreach (string file in ConformanceFiles.All())
        {
            var sections = ConformanceFiles.Sections(file);
            if (ConformanceFiles.Raw(file) is not { } raw || !sections.TryGetValue("asm", out var asm))
            {
                continue;
            }

            var program = raw
                .Select(value =>
                {
                    byte[] bytes = new byte[Instruction.Size];
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
                    return Instruction.ReadFrom(bytes);
                })
                .ToArray();
            string listing = Disassembler.Disassemble(program, new DisassemblyOptions
            {
                Syntax = AssemblySyntax.Ubpf,
                ShowAddresses = false,
                ShowRawBytes = false,
                SkipZeroBlocks = false,
            });
            Assert.Equal(AsmLines(asm), listing.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));
            compared++;
        }

        Assert.True(compared > 0, "no conformance case has a -- raw section");
    }

    [SharedFact("conformance")]
    public void EveryMnemonicOfTheConformanceCasesIsOneWeWrite()
    {
        // What the formatter writes for the canonical encodings of every opcode.
        var ours = new HashSet<string>(StringComparer.Ordinal);
        int[] immediates = [0, 1, 16, 32, 64, 0x40, 0x50, 0xa0, 0x41, 0x51, 0xa1, 0xe1, 0xf1];
        short[] offsets = [0, 1, 8, 16, 32];
        for (int opcode = 0; opcode < 256; opcode++)
        {
            foreach (int imm in immediates)
            {
                foreach (short off in offsets)
                {
                    foreach (byte src in new byte[] { 0, 1, 2 })
                    {
                        Instruction[] program = [new((byte)opcode, 0, src, off, imm), default];
                        ours.Add(Mnemonic(Disassembler.Format(program, 0, AssemblySyntax.Ubpf)));
                    }
                }
            }
        }

        // The dialect also spells bswap as swap; we write only bswap.
        string[] aliases = ["swap16", "swap32", "swap64"];
        var missing = new SortedSet<string>(StringComparer.Ordinal);
        int seen = 0;
        foreach (string file in ConformanceFiles.All())
        {
            if (!ConformanceFiles.Sections(file).TryGetValue("asm", out var asm))
            {
                continue;
            }

            foreach (string line in AsmLines(asm))
            {
                if (line.EndsWith(':'))
                {
                    continue; // a label
                }

                string mnemonic = Mnemonic(line);
                seen++;
                if (!ours.Contains(mnemonic) && !aliases.Contains(mnemonic))
                {
                    missing.Add(mnemonic);
                }
            }
        }

        Assert.True(seen > 100);
        Assert.Empty(missing);
    }

    /// <summary>The mnemonic of a line: its first word, or for atomics the words before the operand.</summary>
    private static string Mnemonic(string line)
    {
        string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words[0] == "lock")
        {
            return words[1] == "fetch" ? $"lock fetch {words[2]}" : $"lock {words[1]}";
        }

        if (words[0] == "call" && words.Length > 1 && words[1] is "local" or "kfunc")
        {
            return $"call {words[1]}";
        }

        return words[0];
    }
}
