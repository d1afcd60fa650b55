using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Testing;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Isa.Assembly;

/// <summary>
/// Encodings checked against the public bpf_conformance assembler (Fixtures/asm/gen-ubpf.sh):
/// each statement of ubpf-cases.s, and the -- asm section of every shared conformance case.
/// </summary>
public class UbpfFixtureTests
{
    /// <summary>Fixture rows "first&lt;TAB&gt;second", returned as (second, first).</summary>
    private static IEnumerable<(string Second, string First)> ReadFixture(string name)
    {
        foreach (var line in File.ReadLines(Fixtures.Path("asm", name)))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            int tab = line.IndexOf('\t', StringComparison.Ordinal);
            yield return (line[(tab + 1)..], line[..tab]);
        }
    }

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var (statement, hex) in ReadFixture("ubpf-asm.txt"))
        {
            data.Add(statement, hex);
        }

        return data;
    }

    private static string Hex(Instruction[] program) => Convert.ToHexStringLower(Instruction.Encode(program));

    [Theory]
    [MemberData(nameof(Cases))]
    public void StatementEncodesLikeBpfConformance(string statement, string expectedHex)
    {
        Assert.Equal(expectedHex, Hex(Assembler.Assemble(statement)));
        Assert.Equal(expectedHex, Hex(Assembler.Assemble(statement, AssemblySyntax.Ubpf)));
    }

    [Fact]
    public void FixtureCoversManyStatements() => Assert.True(Cases().Count > 250);

    [SharedFact("conformance")]
    public void EveryConformanceCaseEncodesLikeBpfConformance()
    {
        var dir = SharedData.Folder("conformance")!;
        int compared = 0;
        foreach (var (hex, file) in ReadFixture("conformance-asm.txt"))
        {
            var path = Path.Combine(dir, file);
            Assert.True(File.Exists(path), $"{file} is in the fixture but not in {dir}");
            var lines = ConformanceFiles.Sections(path)["asm"];
            Assert.True(hex == Hex(Assembler.Assemble(string.Join('\n', lines))), $"{file} differs from bpf_conformance");
            compared++;
        }

        Assert.Equal(225, compared);
    }
}
