using System.Buffers.Binary;
using System.Globalization;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Testing;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Isa.Assembly;

/// <summary>Every bpf_conformance case in ../shared/conformance assembles.</summary>
public class ConformanceAssemblyTests
{
    /// <summary>The "-- asm" section of a .data file.</summary>
    private static string AsmSection(string path) => string.Join('\n', ConformanceFiles.Sections(path)["asm"]);

    [SharedFact("conformance")]
    public void EveryCaseAssemblesInBothDetectionModes_AndPassesStructuralValidation()
    {
        var files = ConformanceFiles.All();
        Assert.Equal(225, files.Length);
        var failures = new List<string>();
        foreach (var file in files)
        {
            try
            {
                var source = AsmSection(file);
                var detected = Assembler.Assemble(source);
                var forced = Assembler.Assemble(source, AssemblySyntax.Ubpf);
                Assert.Equal(forced, detected);
                Assert.NotEmpty(detected);

                // Every case is a well-formed program: valid slots, jump targets inside, ends in exit.
                BpfProgram.Create(detected);
            }
            catch (BpfException ex)
            {
                failures.Add($"{Path.GetFileName(file)}: {ex.Message}");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [SharedFact("conformance")]
    public void RawSectionsMatchTheAssembledBytes()
    {
        int checkedFiles = 0;
        foreach (var file in ConformanceFiles.All())
        {
            if (ConformanceFiles.Raw(file) is not { } expected)
            {
                continue;
            }

            var actual = Assembler.Assemble(AsmSection(file), AssemblySyntax.Ubpf)
                .Select(i =>
                {
                    Span<byte> bytes = stackalloc byte[8];
                    i.WriteTo(bytes);
                    return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
                })
                .ToArray();
            Assert.Equal(expected, actual);
            checkedFiles++;
        }

        Assert.True(checkedFiles > 0);
    }

    [SharedFact("conformance")]
    public void KnownCasesAssembleToHandCheckedEncodings()
    {
        // lock_cmpxchg.data style: "lock cmpxchg [%r10-8], %r1" is STX|ATOMIC|DW, imm 0xf1.
        var dir = SharedData.Folder("conformance")!;
        var program = Assembler.Assemble(AsmSection(Path.Combine(dir, "lock_cmpxchg.data")));
        Assert.Contains(new Instruction(0xdb, 10, 1, -8, 0xf1), program);

        // callx.data: "call %r2" is 0x8d with the register in dst.
        program = Assembler.Assemble(AsmSection(Path.Combine(dir, "callx.data")));
        Assert.Contains(program, i => i.Opcode == 0x8d && i.Src == 0 && i.Immediate == 0);
    }
}
