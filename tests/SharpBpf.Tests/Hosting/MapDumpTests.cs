using SharpBpf.Btf;
using SharpBpf.Hosting;
using SharpBpf.Maps;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Hosting;

/// <summary>
/// Map dumps against bpftool's: Fixtures/mapdump/gen.py loaded dump_types.o into the kernel with bpftool, filled its
/// maps from updates.txt and saved `bpftool map dump` and `bpftool -j map dump` of every map. The same object and
/// updates in the VM must dump to the same text, byte for byte.
/// </summary>
public class MapDumpTests
{
    private static readonly string[] MapNames = ["kitchen_array", "tagged_hash", "percpu_counters", "percpu_colors", "hex_small", "hex_wide", "hex_percpu", ".data", ".data.kitchen", ".rodata", ".bss"];

    public static TheoryData<string> Maps => [.. MapNames];

    [Theory]
    [MemberData(nameof(Maps))]
    public void PlainDumpIsBpftools(string name)
    {
        using var vm = LoadFilled();
        Assert.Equal(Fixtures.Read("mapdump", $"expected/map-{name}.txt"), System.Text.Encoding.UTF8.GetBytes(MapDump.Format(vm, vm.Map(name))));
    }

    [Theory]
    [MemberData(nameof(Maps))]
    public void JsonDumpIsBpftools(string name)
    {
        using var vm = LoadFilled();
        string expected = File.ReadAllText(Fixtures.Path("mapdump", $"expected/map-{name}.json")).TrimEnd('\n');
        Assert.Equal(expected, MapDump.FormatJson(vm, vm.Map(name)));
    }

    [Fact]
    public void EveryMapOfTheFixtureIsCompared()
    {
        var dumped = Directory.GetFiles(Fixtures.Path("mapdump", "expected"), "map-*.txt").Select(p => Path.GetFileName(p)[4..^4]);
        Assert.Equal(dumped.Order(StringComparer.Ordinal), MapNames.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void FormatterRejectsValuesShorterThanTheirType()
    {
        using var vm = LoadFilled();
        var (_, valueType) = vm.BtfTypesOf(vm.Map("kitchen_array"));
        Assert.Throws<BtfFormatException>(() => BtfValueFormatter.Format(vm.Btf!, valueType, new byte[10]));
        Assert.Throws<BtfFormatException>(() => MapDump.Format(vm.Map("hex_small"), vm.Btf, 0, valueType));
    }

    private static VmObject LoadFilled()
    {
        int cpus = int.Parse(File.ReadAllText(Fixtures.Path("mapdump", "expected/cpus.txt")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var vm = VmObject.Load(Fixtures.Path("mapdump", "dump_types.o"), new VmObjectOptions { PossibleCpus = cpus });
        foreach (var line in File.ReadAllLines(Fixtures.Path("mapdump", "updates.txt")))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var map = vm.Map(parts[0]);
            var key = Bytes(vm, parts[1]);
            var value = Bytes(vm, parts[2]);
            Assert.Equal(MapResult.Success, map.Update(key, PerCpuValues.OnEveryCpu(map, value))); // bpftool copies it to every CPU
        }

        return vm;
    }

    // Hex bytes, or @symbol[:length]: the initial bytes of a variable of the object.
    private static byte[] Bytes(VmObject vm, string spec)
    {
        if (!spec.StartsWith('@'))
        {
            return Convert.FromHexString(spec);
        }

        var parts = spec[1..].Split(':');
        var symbol = vm.Object.Elf.Symbols.Single(s => s.Name == parts[0]);
        var section = vm.Object.Elf.Sections[symbol.SectionIndex];
        var bytes = section.Data.Span.Slice((int)symbol.Value, (int)symbol.Size).ToArray();
        return parts.Length > 1 ? bytes[..int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)] : bytes;
    }
}
