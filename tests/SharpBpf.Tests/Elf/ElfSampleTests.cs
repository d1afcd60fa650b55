using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using SharpBpf.Elf;
using SharpBpf.Isa;
using SharpBpf.Objects;
using Xunit.Abstractions;
using SharpBpf.Testing;

namespace SharpBpf.Tests.Elf;

/// <summary>
/// Loads every real-world object of ../shared/samples and compares programs, maps and relocations with what
/// llvm-readelf-19 reported for the same files (Fixtures/elf/samples.txt, made by gen.sh).
/// </summary>
public sealed class ElfSampleTests(ITestOutputHelper output)
{
    private static string SamplePath(string relative) => Path.Combine(SharedData.Folder("samples")!, relative);

    private static string Idx(int index) => index.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public void FixtureListsEverySampleFamily()
    {
        var objects = SampleSummary.All.Value.Keys.ToList();
        Assert.True(objects.Count >= 100, $"samples.txt lists only {objects.Count} objects");
        foreach (string family in new[] { "linux/", "build/", "cilium/", "ovs/", "suricata/", "prototype-kernel/" })
        {
            Assert.Contains(objects, o => o.StartsWith(family, StringComparison.Ordinal));
        }
    }

    [SharedTheory("samples")]
    [MemberData(nameof(ElfTestData.SampleObjects), MemberType = typeof(ElfTestData))]
    public void ProgramsMatchReadelf(string path)
    {
        var summary = SampleSummary.All.Value[path];
        var obj = BpfObject.Load(SamplePath(path));

        var executable = summary.Sections.Where(s => s.Type == "PROGBITS" && s.Flags.Contains('X', StringComparison.Ordinal) && s.Size > 0).ToList();
        bool textOnly = executable.All(s => s.Name == ".text");
        var expected = new List<string>();
        foreach (var section in executable.OrderBy(s => s.Index))
        {
            if (section.Name == ".text" && !textOnly)
            {
                continue;
            }

            var functions = summary.Symbols.Where(y => y.Type == "FUNC" && y.SectionIndex == Idx(section.Index)).OrderBy(y => y.Value).ToList();
            if (functions.Count == 0)
            {
                string name = summary.Symbols.FirstOrDefault(y => y.SectionIndex == Idx(section.Index) && y.Bind == "GLOBAL" && y.Value == 0)?.Name ?? section.Name;
                expected.Add($"{section.Name} {name} @0 x{section.Size / 8}");
                continue;
            }

            for (int i = 0; i < functions.Count; i++)
            {
                var f = functions[i];
                ulong size = f.Size != 0 ? f.Size : (i + 1 < functions.Count ? functions[i + 1].Value : section.Size) - f.Value;
                expected.Add($"{section.Name} {f.Name} @{f.Value} x{size / 8}");
            }
        }

        var actual = obj.Programs.Select(p => $"{p.SectionName} {p.Name} @{p.SectionOffset} x{p.OwnInstructionCount}").ToList();
        Assert.Equal(expected, actual);
        Assert.All(obj.Programs, p => Assert.Equal(p.OwnInstructionCount + p.Subprograms.Sum(s => s.InstructionCount), p.Instructions.Length));
    }

    [SharedTheory("samples")]
    [MemberData(nameof(ElfTestData.SampleObjects), MemberType = typeof(ElfTestData))]
    public void MapsMatchReadelf(string path)
    {
        var summary = SampleSummary.All.Value[path];
        var obj = BpfObject.Load(SamplePath(path));
        var expected = new List<(string Name, MapDefinitionKind Kind, uint[]? Fields)>();

        foreach (var section in summary.Sections.Where(s => s.Name == "maps" || s.Name.StartsWith("maps/", StringComparison.Ordinal)).OrderBy(s => s.Index))
        {
            var symbols = summary.Symbols.Where(y => y.SectionIndex == Idx(section.Index)).OrderBy(y => y.Value).ToList();
            var contents = summary.Contents[section.Name];
            foreach (var symbol in symbols)
            {
                int size = symbols.Any(y => y.Size == 0) ? (int)section.Size / symbols.Count : (int)symbol.Size;
                var fields = new uint[size / 4];
                for (int i = 0; i < fields.Length; i++)
                {
                    fields[i] = BinaryPrimitives.ReadUInt32LittleEndian(contents.AsSpan((int)symbol.Value + (4 * i)));
                }

                expected.Add((symbol.Name, size >= 36 ? MapDefinitionKind.Iproute2 : MapDefinitionKind.Legacy, fields));
            }
        }

        foreach (var section in summary.Sections.Where(s => s.Name == ".maps"))
        {
            foreach (var symbol in summary.Symbols.Where(y => y.SectionIndex == Idx(section.Index)).OrderBy(y => y.Value))
            {
                expected.Add((symbol.Name, MapDefinitionKind.BtfDefined, null));
            }
        }

        static bool Is(string name, string prefix) => name == prefix || name.StartsWith(prefix + ".", StringComparison.Ordinal);
        foreach (var section in summary.Sections.OrderBy(s => s.Index))
        {
            bool data = section.Type == "PROGBITS" && !section.Flags.Contains('X', StringComparison.Ordinal) && (Is(section.Name, ".data") || Is(section.Name, ".rodata"));
            bool bss = section.Type == "NOBITS" && Is(section.Name, ".bss");
            if ((data || bss) && section.Size > 0)
            {
                expected.Add((section.Name, MapDefinitionKind.GlobalData, null));
            }
        }

        Assert.Equal(expected.Select(e => $"{e.Name} {e.Kind}"), obj.Maps.Select(m => $"{m.Name} {m.Kind}"));
        for (int i = 0; i < expected.Count; i++)
        {
            var map = obj.Maps[i];
            if (expected[i].Fields is { } f)
            {
                Assert.Equal(f[0], (uint)map.Type);
                Assert.Equal(f[1], map.KeySize);
                Assert.Equal(f[2], map.ValueSize);
                Assert.Equal(f[3], map.MaxEntries);
                if (f.Length > 4)
                {
                    Assert.Equal(f[4], map.Flags);
                }
            }
            else if (map.Kind == MapDefinitionKind.GlobalData)
            {
                var section = summary.Sections.First(s => s.Name == map.Name);
                Assert.Equal(section.Size, (ulong)map.ValueSize);
                Assert.Equal((int)section.Size, map.InitialValue!.Value.Length);
                Assert.Equal(MapType.Array, map.Type);
                Assert.Equal(1u, map.MaxEntries);
            }
            else
            {
                // Decoded from BTF; BtfMapDefinitionTests checks the values of the samples that have them.
                Assert.False(map.RequiresBtf);
                Assert.NotEqual(MapType.Unspecified, map.Type);
            }
        }
    }

    [SharedTheory("samples")]
    [MemberData(nameof(ElfTestData.SampleObjects), MemberType = typeof(ElfTestData))]
    public void RelocationsMatchReadelf(string path)
    {
        var summary = SampleSummary.All.Value[path];
        var obj = BpfObject.Load(SamplePath(path));
        var tables = summary.Sections.Where(s => s.Type is "REL" or "RELA").ToDictionary(s => s.Name, s => s.Info);
        foreach (var program in obj.Programs)
        {
            ulong start = program.SectionOffset, end = start + (8UL * (ulong)program.OwnInstructionCount);
            var expected = summary.Relocations
                .Where(r => tables.TryGetValue(r.Table, out int target) && target == program.SectionIndex && r.Offset >= start && r.Offset < end)
                .OrderBy(r => r.Offset).ToList();
            var actual = program.Relocations.Where(r => r.FromElfRelocation && r.InstructionIndex < program.OwnInstructionCount)
                .OrderBy(r => r.SectionOffset).ToList();
            Assert.Equal(expected.Select(r => r.Offset), actual.Select(r => r.SectionOffset));
            for (int i = 0; i < expected.Count; i++)
            {
                var e = expected[i];
                var a = actual[i];
                Assert.Equal((long)(e.Offset - start) / 8, a.InstructionIndex);
                var insn = program.Instructions[a.InstructionIndex];
                switch (a.Kind)
                {
                    case ProgramRelocationKind.MapReference:
                        Assert.Equal(e.SymbolName, obj.Maps[a.MapIndex].Name);
                        Assert.Equal((byte)Imm64Source.MapFd, insn.Src);
                        Assert.Equal(a.MapIndex, insn.Immediate);
                        break;
                    case ProgramRelocationKind.MapValue:
                        Assert.Equal(MapDefinitionKind.GlobalData, obj.Maps[a.MapIndex].Kind);
                        Assert.Equal((byte)Imm64Source.MapValue, insn.Src);
                        Assert.Equal(a.MapIndex, insn.Immediate);
                        Assert.Equal(a.ValueOffset, program.Instructions[a.InstructionIndex + 1].Immediate);
                        break;
                    case ProgramRelocationKind.ExternCall:
                    case ProgramRelocationKind.ExternLoad:
                        Assert.Equal(e.SymbolName, a.SymbolName);
                        Assert.Contains(e.SymbolName, obj.Externs);
                        break;
                    default:
                        Assert.Equal(a.ValueOffset, a.InstructionIndex + 1 + insn.Immediate);
                        break;
                }
            }

            LinkedCodeIsConsistent(obj, program);
        }
    }

    /// <summary>Every call lands on a function start, every map reference names an existing map.</summary>
    internal static void LinkedCodeIsConsistent(BpfObject obj, ObjectProgram program)
    {
        var starts = new HashSet<int>(program.Subprograms.Select(s => s.StartIndex)) { 0 };
        var externs = program.Relocations.Where(r => r.Kind == ProgramRelocationKind.ExternCall).Select(r => r.InstructionIndex).ToHashSet();
        var code = program.Instructions;
        for (int i = 0; i < code.Length; i++)
        {
            var insn = code[i];
            if (insn.Opcode == Opcode.Call && insn.Src == (byte)CallKind.Local && !externs.Contains(i))
            {
                int target = i + 1 + insn.Immediate;
                Assert.True(target >= 0 && target < code.Length, $"{program.Name}: call at {i} leaves the program");
                Assert.Contains(target, starts);
            }
            else if (insn.IsLoadImm64)
            {
                Assert.True(i + 1 < code.Length, $"{program.Name}: lddw at {i} has no second slot");
                if (insn.Src is (byte)Imm64Source.MapFd or (byte)Imm64Source.MapValue)
                {
                    Assert.InRange(insn.Immediate, 0, obj.Maps.Count - 1);
                }

                if (insn.Src == (byte)Imm64Source.MapValue)
                {
                    Assert.InRange(code[i + 1].Immediate, 0, (int)obj.Maps[insn.Immediate].ValueSize);
                }

                i++;
            }
        }
    }

    [SharedFact("samples")]
    public void SectionNamesOfSamplesAreInterpreted()
    {
        var types = new Dictionary<string, ProgramType>();
        foreach (string file in Directory.EnumerateFiles(SharedData.Folder("samples")!, "*.o", SearchOption.AllDirectories))
        {
            if (file.Contains("invalid", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var program in BpfObject.Load(file).Programs)
            {
                types[program.SectionName] = program.Type;
            }
        }

        Assert.Equal(ProgramType.SocketFilter, types["socket1"]);
        Assert.Equal(ProgramType.Kprobe, types["kprobe/sys_write"]);
        Assert.Equal(ProgramType.Kprobe, types["kretprobe/kmem_cache_alloc_node"]);
        Assert.Equal(ProgramType.Tracepoint, types["tracepoint/xdp/xdp_redirect"]);
        Assert.Equal(ProgramType.Xdp, types["xdp"]);
        Assert.Equal(ProgramType.Xdp, types["xdp_redirect_dummy"]);
        Assert.Equal(ProgramType.SockOps, types["sockops"]);
        Assert.Equal(ProgramType.PerfEvent, types["perf_event"]);
        Assert.Equal(ProgramType.Unspecified, types["from-netdev"]);
    }

    [SharedFact("samples")]
    public void InvalidSamplesFailCleanlyAndQuickly()
    {
        string dir = Path.Combine(SharedData.Folder("samples")!, "invalid");
        var files = Directory.GetFiles(dir);
        Assert.NotEmpty(files);
        int rejected = 0;
        foreach (string file in files)
        {
            var bytes = File.ReadAllBytes(file);
            var watch = Stopwatch.StartNew();
            var task = Task.Run(() =>
            {
                try
                {
                    var obj = BpfObject.Load(new ReadOnlyMemory<byte>(bytes));
                    return $"loaded ({obj.Programs.Count} programs, {obj.Maps.Count} maps)";
                }
                catch (ElfFormatException e)
                {
                    Assert.False(string.IsNullOrEmpty(e.Problem));
                    rejected++;
                    return "rejected: " + e.Message;
                }
            });
            Assert.True(task.Wait(TimeSpan.FromSeconds(10)), $"{Path.GetFileName(file)} did not finish loading within 10 s");
            output.WriteLine($"{Path.GetFileName(file)}: {task.Result} in {watch.Elapsed.TotalMilliseconds:F1} ms");
        }

        Assert.True(rejected >= 5, $"only {rejected} of the invalid samples were rejected");
    }

    [SharedFact("samples")]
    public void LargeCiliumObjectsLoadInMilliseconds()
    {
        foreach (string name in new[] { "bpf_lxc.o", "bpf_xdp_dsr_linux.o", "bpf_netdev.o" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(SharedData.Folder("samples")!, "cilium", name));
            BpfObject.Load(new ReadOnlyMemory<byte>(bytes)); // warm up the JIT
            double best = double.MaxValue;
            for (int i = 0; i < 5; i++)
            {
                var watch = Stopwatch.StartNew();
                var obj = BpfObject.Load(new ReadOnlyMemory<byte>(bytes));
                best = Math.Min(best, watch.Elapsed.TotalMilliseconds);
                Assert.NotEmpty(obj.Programs);
            }

            output.WriteLine($"{name} ({bytes.Length} bytes): {best:F2} ms");
            Assert.True(best < 100, $"{name} took {best:F1} ms to load");
        }
    }
}
