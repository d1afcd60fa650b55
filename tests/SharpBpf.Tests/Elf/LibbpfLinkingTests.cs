using System.Globalization;
using SharpBpf.Isa;
using SharpBpf.Objects;
using Xunit.Abstractions;
using SharpBpf.Testing;

namespace SharpBpf.Tests.Elf;

/// <summary>
/// Compares SharpBpf's linked programs with libbpf's, instruction by instruction (Fixtures/elf/libbpf.txt,
/// made by gen-libbpf.sh with libbpf's kernel-free "gen_loader" mode, where map loads are lddw src=5/6 with
/// the map index: the same indexes SharpBpf uses with src=1/2).
/// </summary>
public sealed class LibbpfLinkingTests(ITestOutputHelper output)
{
    private static Dictionary<string, List<(string Name, List<Instruction> Code)>> Reference()
    {
        var result = new Dictionary<string, List<(string, List<Instruction>)>>(StringComparer.Ordinal);
        List<(string, List<Instruction>)>? programs = null;
        List<Instruction>? code = null;
        foreach (string line in File.ReadLines(Path.Combine(ElfTestData.FixturesDirectory, "libbpf.txt")))
        {
            var f = line.Split(' ');
            switch (f[0])
            {
                case "O":
                    programs = [];
                    result[f[1]] = programs;
                    break;
                case "P":
                    code = [];
                    programs!.Add((f[1], code));
                    break;
                case "I":
                    int I(int i) => int.Parse(f[i], CultureInfo.InvariantCulture);
                    code!.Add(new Instruction(byte.Parse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture), (byte)I(2), (byte)I(3), (short)I(4), I(5)));
                    break;
                default:
                    break;
            }
        }

        return result;
    }

    public static IEnumerable<object[]> Objects() => Reference().Keys.Order(StringComparer.Ordinal).Select(k => new object[] { k });

    [Theory]
    [MemberData(nameof(Objects))]
    public void LinkingMatchesLibbpf(string path)
    {
        string file;
        if (path.StartsWith("src/", StringComparison.Ordinal))
        {
            file = Path.Combine(ElfTestData.FixturesDirectory, path);
        }
        else if (SharedData.Folder("samples") is { } samples)
        {
            file = Path.Combine(samples, path);
        }
        else
        {
            output.WriteLine($"skipped: ../shared/samples is not present for {path}");
            return;
        }

        var obj = BpfObject.Load(file);
        foreach (var (name, expected) in Reference()[path])
        {
            var program = obj.FindProgram(name);
            Assert.True(program is not null, $"{path}: libbpf has program {name}, SharpBpf does not");
            var actual = program.Instructions;
            Assert.Equal(expected.Count, actual.Length);
            for (int i = 0; i < expected.Count; i++)
            {
                var e = expected[i];
                // gen_loader's map-by-index pseudo sources correspond to SharpBpf's map-fd/map-value ones.
                byte src = e.IsLoadImm64 && e.Src == (byte)Imm64Source.MapIndex ? (byte)Imm64Source.MapFd
                    : e.IsLoadImm64 && e.Src == (byte)Imm64Source.MapIndexValue ? (byte)Imm64Source.MapValue
                    : e.Src;
                var normalised = new Instruction(e.Opcode, e.Dst, src, e.Offset, e.Immediate);
                Assert.True(normalised == actual[i], $"{path} {name} instruction {i}: libbpf {normalised}, SharpBpf {actual[i]}");
            }
        }
    }
}
