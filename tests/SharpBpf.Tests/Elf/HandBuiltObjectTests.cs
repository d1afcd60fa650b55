using SharpBpf.Elf;
using SharpBpf.Isa;
using SharpBpf.Objects;

namespace SharpBpf.Tests.Elf;

/// <summary>
/// Objects compiled by clang-19 from the small C files in Fixtures/elf/src. The expected values were read off
/// <c>llvm-objdump-19 -d -r</c> and <c>llvm-readelf-19 -S -s -r</c> of those objects.
/// </summary>
public sealed class HandBuiltObjectTests
{
    private static BpfObject Load(string name) => BpfObject.Load(ElfTestData.HandBuilt(name));

    private static ObjectProgram Program(BpfObject obj, string name) =>
        obj.FindProgram(name) ?? throw new InvalidOperationException($"no program {name}");

    [Fact]
    public void SeveralProgramsShareOneSection()
    {
        var obj = Load("multi.o");
        Assert.Equal(["xdp_first", "xdp_second", "tc_plain", "tp_loop"], obj.Programs.Select(p => p.Name));
        Assert.Equal(["xdp", "xdp", "tc", "tracepoint/syscalls/sys_enter_write"], obj.Programs.Select(p => p.SectionName));
        Assert.Equal([0UL, 0x48UL, 0UL, 0UL], obj.Programs.Select(p => p.SectionOffset));
        Assert.Equal([9, 4, 5, 11], obj.Programs.Select(p => p.OwnInstructionCount));
        Assert.All(obj.Programs.Take(2), p => Assert.Equal(ProgramType.Xdp, p.Type));
        Assert.All(obj.Programs.Take(2), p => Assert.Equal(AttachType.Xdp, p.ExpectedAttachType));
        Assert.Equal(ProgramType.SchedCls, obj.Programs[2].Type);
        Assert.Equal(ProgramType.Tracepoint, obj.Programs[3].Type);
        Assert.Equal("syscalls/sys_enter_write", obj.Programs[3].Section.AttachTarget);
        Assert.Equal("GPL", obj.License);
        Assert.Null(obj.KernelVersion);
        Assert.NotNull(obj.Btf);
        Assert.NotNull(obj.BtfExt);
        Assert.Empty(obj.Maps);
    }

    [Fact]
    public void GlobalSubprogramIsAppendedAfterTheProgram()
    {
        var xdpFirst = Program(Load("multi.o"), "xdp_first");
        var sub = Assert.Single(xdpFirst.Subprograms);
        Assert.Equal(new AppendedSubprogram("add_one", ".text", 9, 3), sub);
        Assert.Equal(12, xdpFirst.Instructions.Length);
        // call add_one at instruction 1: imm = 9 - 1 - 1.
        Assert.Equal(new Instruction(Opcode.Call, 0, 1, 0, 7), xdpFirst.Instructions[1]);
        var relocation = Assert.Single(xdpFirst.Relocations);
        Assert.Equal(ProgramRelocationKind.SubprogramCall, relocation.Kind);
        Assert.Equal(9, relocation.ValueOffset);
        Assert.Equal(8UL, relocation.SectionOffset);
        // The appended code is add_one's: r0 = r1; r0 += 1; exit.
        Assert.Equal(Instruction.Exit, xdpFirst.Instructions[11]);
    }

    [Fact]
    public void CallChainsAcrossStaticAndGlobalSubprogramsAreLinkedInCallOrder()
    {
        var program = Program(Load("multi.o"), "xdp_second");
        Assert.Equal(
            [new AppendedSubprogram("triple", ".text", 4, 6), new AppendedSubprogram("twice_plus_one", ".text", 10, 3), new AppendedSubprogram("add_one", ".text", 13, 3)],
            program.Subprograms);
        Assert.Equal(16, program.Instructions.Length);
        Assert.Equal(2, program.Instructions[1].Immediate);   // xdp_second -> triple (at 4)
        Assert.Equal(4, program.Instructions[5].Immediate);   // triple -> twice_plus_one (at 10), a call with no ELF relocation
        Assert.Equal(1, program.Instructions[11].Immediate);  // twice_plus_one -> add_one (at 13)
        var fromTriple = program.Relocations.Single(r => r.InstructionIndex == 5);
        Assert.False(fromTriple.FromElfRelocation);
        Assert.Equal("triple", fromTriple.FunctionName);
        var fromTwice = program.Relocations.Single(r => r.InstructionIndex == 11);
        Assert.True(fromTwice.FromElfRelocation);
        Assert.Equal("twice_plus_one", fromTwice.FunctionName);
        Assert.Equal(0x50UL, fromTwice.SectionOffset);
    }

    [Fact]
    public void CallbackAddressBecomesPseudoFunctionLoad()
    {
        var program = Program(Load("multi.o"), "tp_loop");
        Assert.Equal(new AppendedSubprogram("count_step", ".text", 11, 5), Assert.Single(program.Subprograms));
        var lddw = program.Instructions[5];
        Assert.True(lddw.IsLoadImm64);
        Assert.Equal((byte)Imm64Source.Function, lddw.Src);
        Assert.Equal(11 - 5 - 1, lddw.Immediate);
        Assert.Equal(0, program.Instructions[6].Immediate);
        Assert.Equal(new Instruction(Opcode.Call, 0, 0, 0, 181), program.Instructions[8]); // bpf_loop helper untouched
        Assert.Equal(ProgramRelocationKind.SubprogramAddress, Assert.Single(program.Relocations).Kind);
    }

    [Fact]
    public void ProgramWithoutCallsIsCopiedVerbatim()
    {
        var obj = Load("multi.o");
        var program = Program(obj, "tc_plain");
        Assert.Empty(program.Subprograms);
        Assert.Empty(program.Relocations);
        var elf = ElfFile.Parse(ElfTestData.HandBuilt("multi.o"));
        var section = elf.FindSection("tc")!;
        Assert.Equal(Instruction.Decode(section.Data.Span), program.Instructions);
        var linked = program.ToBpfProgram();
        Assert.Equal(5, linked.Length);
    }

    [Fact]
    public void GlobalDataSectionsBecomeArrayMaps()
    {
        var obj = Load("globals.o");
        Assert.Equal([".data", ".rodata", ".data.counters", ".bss"], obj.Maps.Select(m => m.Name));
        Assert.All(obj.Maps, m =>
        {
            Assert.Equal(MapDefinitionKind.GlobalData, m.Kind);
            Assert.Equal(MapType.Array, m.Type);
            Assert.Equal(4u, m.KeySize);
            Assert.Equal(1u, m.MaxEntries);
            Assert.False(m.RequiresBtf);
        });
        Assert.Equal([4u, 0x1au, 0x10u, 0x10u], obj.Maps.Select(m => m.ValueSize));
        Assert.Equal([false, true, false, false], obj.Maps.Select(m => m.IsReadOnly));
        Assert.Equal([7, 0, 0, 0], obj.Maps[0].InitialValue!.Value.ToArray());
        Assert.Equal(new byte[16], obj.Maps[3].InitialValue!.Value.ToArray());
        Assert.Equal([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0], obj.Maps[2].InitialValue!.Value.ToArray());
        var rodata = obj.Maps[1].InitialValue!.Value.Span;
        Assert.Equal("sharp", System.Text.Encoding.ASCII.GetString(rodata.Slice(4, 5)));
        Assert.Equal("big packet %d", System.Text.Encoding.ASCII.GetString(rodata.Slice(12, 13)));
        Assert.Equal("Dual BSD/GPL", obj.License);
    }

    [Fact]
    public void GlobalDataLoadsBecomeMapValueLoads()
    {
        var obj = Load("globals.o");
        var program = Program(obj, "count_packets");
        Assert.Equal(26, program.OwnInstructionCount);
        Assert.Equal(new AppendedSubprogram("bump", ".text", 26, 16), Assert.Single(program.Subprograms));
        // (instruction, map, offset) read off llvm-objdump -dr and the symbol table.
        (int At, int Map, int Offset)[] expected =
        [
            (1, 1, 0),       // threshold, .rodata+0
            (5, 3, 8),       // misses, .bss+8
            (10, 1, 12),     // .rodata section symbol with imm 0xc: the bpf_printk format string
            (14, 1, 4),      // banner, .rodata+4
            (20, 0, 0),      // counter, .data+0
            (26, 2, 0),      // in bump: per_cpu_slots, .data.counters+0
            (33, 3, 0),      // in bump: hits, .bss+0
            (38, 0, 0),      // in bump: counter
        ];
        foreach (var (at, map, offset) in expected)
        {
            var first = program.Instructions[at];
            Assert.Equal((byte)Imm64Source.MapValue, first.Src);
            Assert.Equal(map, first.Immediate);
            Assert.Equal(offset, program.Instructions[at + 1].Immediate);
            var relocation = program.Relocations.Single(r => r.InstructionIndex == at);
            Assert.Equal(ProgramRelocationKind.MapValue, relocation.Kind);
            Assert.Equal(map, relocation.MapIndex);
            Assert.Equal(offset, relocation.ValueOffset);
            Assert.Equal(at >= 26 ? "bump" : "count_packets", relocation.FunctionName);
        }

        Assert.Equal(26 - 19 - 1, program.Instructions[19].Immediate); // call bump
    }

    [Fact]
    public void HostCanOverwriteReadOnlyDataBeforeLoading()
    {
        var bytes = ElfTestData.HandBuilt("globals.o");
        var obj = BpfObject.Load(bytes);
        obj.SetReadOnlyData([100, 0, 0, 0]);
        obj.SetGlobalData(".rodata", "C#"u8, 4);
        var value = obj.FindMap(".rodata")!.InitialValue!.Value.Span;
        Assert.Equal(100, BitConverter.ToInt32(value));
        Assert.Equal("C#arp", System.Text.Encoding.ASCII.GetString(value.Slice(4, 5)));
        // The file itself is untouched.
        Assert.Equal(42, BitConverter.ToInt32(obj.Elf.FindSection(".rodata")!.Data.Span));
        Assert.Throws<ArgumentException>(() => obj.SetGlobalData(".rodata", new byte[0x1b]));
        Assert.Throws<ArgumentException>(() => obj.SetGlobalData(".rodata", new byte[1], 0x1a));
        Assert.Throws<ArgumentException>(() => obj.SetGlobalData(".nothing", new byte[1]));
        obj.SetGlobalData(".bss", [9], 15);
        Assert.Equal(9, obj.FindMap(".bss")!.InitialValue!.Value.Span[15]);
    }

    [Fact]
    public void LegacyMapSectionIsSplitIntoDefinitions()
    {
        var obj = Load("legacy.o");
        Assert.Equal(["packet_counts", "call_counts"], obj.Maps.Select(m => m.Name));
        var counts = obj.Maps[0];
        Assert.Equal(MapDefinitionKind.Legacy, counts.Kind);
        Assert.Equal((MapType.Array, 4u, 8u, 256u, 0u), (counts.Type, counts.KeySize, counts.ValueSize, counts.MaxEntries, counts.Flags));
        Assert.Equal(28, counts.DefinitionSize);
        var calls = obj.Maps[1];
        Assert.Equal((MapType.PerCpuHash, 8u, 8u, 1024u, 1u, 3u), (calls.Type, calls.KeySize, calls.ValueSize, calls.MaxEntries, calls.Flags, calls.NumaNode));
        Assert.Equal(28UL, calls.SectionOffset);
        Assert.Equal(0x060c00u, obj.KernelVersion);
        Assert.Equal("GPL", obj.License);

        var socket = obj.Programs[0];
        Assert.Equal(("count_by_protocol", "socket1", ProgramType.SocketFilter, SectionMatch.LegacyPrefix), (socket.Name, socket.SectionName, socket.Type, socket.Section.Match));
        var kprobe = obj.Programs[1];
        Assert.Equal((ProgramType.Kprobe, "sys_write", SectionMatch.Exact), (kprobe.Type, kprobe.Section.AttachTarget, kprobe.Section.Match));

        foreach (var (program, map) in new[] { (socket, 0), (kprobe, 1) })
        {
            var relocation = Assert.Single(program.Relocations);
            Assert.Equal(ProgramRelocationKind.MapReference, relocation.Kind);
            Assert.Equal(map, relocation.MapIndex);
            var insn = program.Instructions[relocation.InstructionIndex];
            Assert.Equal((byte)Imm64Source.MapFd, insn.Src);
            Assert.Equal(map, insn.Immediate);
        }
    }

    [Fact]
    public void Iproute2LayoutCanBeForced()
    {
        var obj = BpfObject.Load(ElfTestData.HandBuilt("legacy.o"), new BpfObjectLoadOptions { LegacyMapLayout = LegacyMapLayout.Iproute2ElfMap });
        var calls = obj.Maps[1];
        Assert.Equal(MapDefinitionKind.Iproute2, calls.Kind);
        Assert.Equal(3u, calls.Pinning); // the numa_node slot, read as pinning
    }

    [Fact]
    public void BtfMapsAreRecordedWithTheirLocations()
    {
        var obj = Load("btfmaps.o");
        Assert.Equal(["inner_a", "inner_b", "outer", "lookup"], obj.Maps.Select(m => m.Name));
        Assert.All(obj.Maps, m => Assert.Equal(MapDefinitionKind.BtfDefined, m.Kind));
        Assert.Equal([0UL, 0x20UL, 0x40UL, 0x68UL], obj.Maps.Select(m => m.SectionOffset));
        Assert.Equal([32, 32, 40, 32], obj.Maps.Select(m => m.DefinitionSize));
        Assert.Equal(
            [new MapSlotRelocation(0x58, 2, "inner_a", 0), new MapSlotRelocation(0x60, 2, "inner_b", 1)],
            obj.MapSlotRelocations);

        var ingress = obj.FindProgram("filter_ingress")!;
        Assert.Equal((ProgramType.CgroupSkb, AttachType.CgroupInetIngress), (ingress.Type, ingress.ExpectedAttachType));
        var mapRefs = ingress.Relocations.Where(r => r.Kind == ProgramRelocationKind.MapReference).Select(r => obj.Maps[r.MapIndex].Name);
        Assert.Equal(["outer", "lookup"], mapRefs);
        var fentry = obj.FindProgram("on_unlink")!;
        Assert.Equal((ProgramType.Tracing, AttachType.TraceFentry, "do_unlinkat", true), (fentry.Type, fentry.ExpectedAttachType, fentry.Section.AttachTarget, fentry.Section.NeedsBtfAttachTarget));
        Assert.NotNull(obj.Btf);
    }

    [Fact]
    public void LinkedHandBuiltProgramsAreConsistent()
    {
        foreach (string name in new[] { "multi.o", "globals.o", "legacy.o", "btfmaps.o" })
        {
            var obj = Load(name);
            foreach (var program in obj.Programs)
            {
                ElfSampleTests.LinkedCodeIsConsistent(obj, program);
            }
        }
    }
}
