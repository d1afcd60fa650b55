using System.Globalization;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Elf;

/// <summary>Reads the committed fixtures of the ELF loader tests.</summary>
internal static class ElfTestData
{
    /// <summary>The directory of the committed ELF fixtures (copied next to the test assembly).</summary>
    public static string FixturesDirectory => Fixtures.Directory("elf");

    /// <summary>Reads one of the hand-built objects in Fixtures/elf/src.</summary>
    public static byte[] HandBuilt(string name) => File.ReadAllBytes(Path.Combine(FixturesDirectory, "src", name));

    /// <summary>The object paths (relative to the samples directory) listed in samples.txt.</summary>
    public static IEnumerable<object[]> SampleObjects() =>
        SampleSummary.All.Value.Keys.Order(StringComparer.Ordinal).Select(k => new object[] { k });

    public static ulong Hex(string text) => ulong.Parse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}

/// <summary>One object's llvm-readelf-19 summary from Fixtures/elf/samples.txt (see gen.sh for the format).</summary>
internal sealed class SampleSummary
{
    public sealed record Section(int Index, string Name, string Type, string Flags, ulong Size, int Info);

    public sealed record Symbol(string Name, ulong Value, ulong Size, string Type, string Bind, string SectionIndex);

    public sealed record Relocation(string Table, ulong Offset, string Type, string SymbolName);

    public List<Section> Sections { get; } = [];

    public List<Symbol> Symbols { get; } = [];

    public List<Relocation> Relocations { get; } = [];

    public Dictionary<string, byte[]> Contents { get; } = [];

    public static readonly Lazy<Dictionary<string, SampleSummary>> All = new(Read);

    private static Dictionary<string, SampleSummary> Read()
    {
        var result = new Dictionary<string, SampleSummary>(StringComparer.Ordinal);
        SampleSummary? current = null;
        foreach (string line in File.ReadLines(Path.Combine(ElfTestData.FixturesDirectory, "samples.txt")))
        {
            var f = line.Split(' ');
            switch (f[0])
            {
                case "O":
                    current = new SampleSummary();
                    result[f[1]] = current;
                    break;
                case "S" when f.Length == 7:
                    current!.Sections.Add(new Section(int.Parse(f[1], CultureInfo.InvariantCulture), f[2], f[3], f[4], ElfTestData.Hex(f[5]), int.Parse(f[6], CultureInfo.InvariantCulture)));
                    break;
                case "Y":
                    current!.Symbols.Add(new Symbol(f[1] == "-" ? "" : f[1], ElfTestData.Hex(f[2]), ulong.Parse(f[3], CultureInfo.InvariantCulture), f[4], f[5], f[6]));
                    break;
                case "R":
                    current!.Relocations.Add(new Relocation(f[1], ElfTestData.Hex(f[2]), f[3], f[4]));
                    break;
                case "X":
                    current!.Contents[f[1]] = Convert.FromHexString(f.Length > 2 ? f[2] : "");
                    break;
                default:
                    break;
            }
        }

        return result;
    }
}
