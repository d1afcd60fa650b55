using System.Buffers.Binary;
using SharpBpf.Linux.Objects;
using SharpBpf.Objects;
using SharpBpf.Testing;
using Xunit.Abstractions;

namespace SharpBpf.Linux.Tests.Kernel;

public class ObjectLoadTests(ITestOutputHelper output)
{
    internal static string ProjectObject(string name) => Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", name);

    private static IEnumerable<string> ProjectObjects() =>
        Directory.GetFiles(Path.Combine(SharedData.RepositoryRoot, "bpf", "obj"), "*.o").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    [KernelFact]
    public void EveryProjectObjectLoadsOrNamesTheRefusedProgram()
    {
        foreach (string file in ProjectObjects())
        {
            using var loaded = KernelObject.Load(ProjectObject(file), new KernelObjectOptions { ContinueOnProgramFailure = true });
            Assert.Null(loaded.BtfError);
            Assert.NotNull(loaded.Btf);
            foreach (var map in loaded.Maps)
            {
                Assert.True(map.Map is not null, $"{file}: map {map.Name}: {map.Error}");
                var info = map.Map!.GetInfo();
                Assert.Equal(map.KernelName, info.Name);
                Assert.Equal(map.Definition.Type, info.Type);
            }

            foreach (var program in loaded.Programs)
            {
                output.WriteLine($"{file}: {program}");
                if (program.Program is { } kernel)
                {
                    var info = kernel.GetInfo();
                    Assert.Equal(program.Definition.Type, info.Type);
                    Assert.True(program.HasLineInfo, $"{file}: {program.Name} was loaded without its line info");
                    Assert.NotEmpty(info.LineInfo);
                    Assert.Equal(loaded.Btf!.GetInfo().Id, info.BtfId);
                    // Every map the code refers to is one of the object's maps.
                    var objectMapIds = loaded.Maps.Select(m => m.Map!.Id).ToHashSet();
                    Assert.All(info.MapIds, id => Assert.Contains(id, objectMapIds));
                }
                else
                {
                    // Only what this kernel refuses outright may fail, and the error says which program and why.
                    var error = Assert.IsType<KernelObjectException>(program.Error);
                    Assert.Equal(program.Name, error.ProgramName);
                    Assert.Contains(program.Name, error.Message);
                    Assert.NotNull(error.SyscallError);
                }
            }
        }
    }

    [KernelFact]
    public void FirewallGlobalDataIsCreatedWithItsContentsAndRodataIsFrozen()
    {
        var definition = BpfObject.Load(ProjectObject("xdp_firewall.o"));
        // fw_config.drop_udp_dport is set by the host before loading, as libbpf skeletons do.
        definition.SetReadOnlyData([0x35, 0x00, 0x01, 0x00]);
        using var loaded = KernelObject.Load(definition, new KernelObjectOptions { ObjectName = "xdp_firewall" });
        var rodata = loaded.Maps.Single(m => m.Name == ".rodata");
        Assert.Equal("xdp_fire.rodata", rodata.KernelName);
        Assert.True(rodata.HasBtf);
        var info = rodata.Map!.GetInfo();
        Assert.True(info.Flags.HasFlag(MapCreateFlags.ReadOnlyProgram));
        Assert.Equal(new byte[] { 0x35, 0x00, 0x01, 0x00 }, rodata.Map.Lookup(new byte[4]));
        var frozen = Assert.Throws<BpfSyscallException>(() => rodata.Map.Update(new byte[4], new byte[4]));
        Assert.Equal("EPERM", frozen.ErrorName);

        var bss = loaded.Map(".bss");
        Assert.Equal(new byte[8], bss.Lookup(new byte[4]));
        bss.Update(new byte[4], BitConverter.GetBytes(7UL));

        // The loaded program refers to exactly the object's maps (all five), by id.
        var program = loaded.Program("xdp_firewall").GetInfo();
        Assert.Equal(loaded.Maps.Select(m => m.Map!.Id).Order(), program.MapIds.Order());
    }

    [KernelFact]
    public void FirewallDropsBlockedSourceAndCountsIt()
    {
        using var loaded = KernelObject.Load(ProjectObject("xdp_firewall.o"));
        var blocklist = loaded.Map("fw_blocklist");
        byte[] blocked = [198, 51, 100, 66];
        blocklist.Update(blocked, new byte[16]);
        var packet = Packets.Udp4(source: blocked, destination: [10, 1, 0, 1], sourcePort: 1234, destinationPort: 53, payload: new byte[8]);
        var result = loaded.Program("xdp_firewall").TestRun(packet);
        Assert.Equal((uint)Asm.XdpDrop, result.ReturnValue);
        var entry = blocklist.Lookup(blocked)!;
        Assert.Equal(1UL, BinaryPrimitives.ReadUInt64LittleEndian(entry));
        Assert.Equal((ulong)packet.Length, BinaryPrimitives.ReadUInt64LittleEndian(entry.AsSpan(8)));

        var allowed = Packets.Udp4(source: [10, 1, 0, 9], destination: [10, 1, 0, 1], sourcePort: 1234, destinationPort: 53, payload: new byte[8]);
        Assert.Equal((uint)Asm.XdpPass, loaded.Program("xdp_firewall").TestRun(allowed).ReturnValue);
    }

    [KernelFact]
    public void TailCallProgramArrayIsFilledFromTheObjectsValues()
    {
        using var loaded = KernelObject.Load(ProjectObject("tail_calls.o"));
        var jumpTable = loaded.Maps.Single(m => m.Definition.Type == MapType.ProgramArray);
        Assert.NotEmpty(jumpTable.Definition.InitialSlots);
        foreach (var slot in jumpTable.Definition.InitialSlots)
        {
            var value = jumpTable.Map!.Lookup(BitConverter.GetBytes(slot.Slot));
            Assert.NotNull(value);
            // Reading a prog array from user space gives the program id.
            Assert.Equal(loaded.Program(slot.SymbolName).Id, BinaryPrimitives.ReadUInt32LittleEndian(value));
        }
    }

    [KernelFact]
    public void SelectedProgramsOnlyAndPatcherSeesEveryProgram()
    {
        var seen = new List<string>();
        using var loaded = KernelObject.Load(BpfObject.Load(ProjectObject("tail_calls.o")), new KernelObjectOptions
        {
            Programs = new HashSet<string> { "xdp_dispatch" },
            Patcher = (_, program, instructions) =>
            {
                seen.Add(program.Name);
                return instructions;
            },
        });
        Assert.Equal(["xdp_dispatch"], seen);
        Assert.All(loaded.Programs.Where(p => p.Name != "xdp_dispatch"), p => Assert.True(p.Skipped));
        Assert.NotNull(loaded.Program("xdp_dispatch"));
    }

    [KernelFact]
    public void ARefusedProgramFailsTheLoadWithItsNameAndVerifierLog()
    {
        var definition = BpfObject.Load(ProjectObject("calls_loops.o"));
        var program = definition.Programs[0];
        var broken = (SharpBpf.Isa.Instruction[])program.Instructions.Clone();
        // r0 = *(u64 *)(r10 + 8): above the frame pointer, which every kernel refuses.
        broken[0] = Asm.LdxW(0, 10, 8);
        var error = Assert.Throws<KernelObjectException>(() => KernelObject.Load(definition, new KernelObjectOptions { Patcher = (_, _, _) => broken }));
        Assert.Equal(program.Name, error.ProgramName);
        Assert.Equal("EACCES", error.SyscallError!.ErrorName);
        Assert.False(string.IsNullOrWhiteSpace(error.VerifierLog));
    }

    [KernelFact]
    public void PinnedByNameMapIsReusedBySecondLoad()
    {
        string root = Path.Combine(BpfFileSystem.DefaultMountPoint, $"sharpbpf_pins_{Environment.ProcessId}_{Guid.NewGuid():N}");
        BpfFileSystem.EnsureMounted();
        Directory.CreateDirectory(root);
        try
        {
            var definition = PinnedMapObject();
            using var first = KernelObject.Load(definition, new KernelObjectOptions { PinRoot = root });
            var pinned = first.Maps.Single(m => m.Name == "pinned_counts");
            Assert.False(pinned.Reused);
            Assert.True(File.Exists(Path.Combine(root, "pinned_counts")));
            pinned.Map!.Update(BitConverter.GetBytes(1), BitConverter.GetBytes(42UL));

            using var second = KernelObject.Load(definition, new KernelObjectOptions { PinRoot = root });
            var again = second.Maps.Single(m => m.Name == "pinned_counts");
            Assert.True(again.Reused);
            Assert.Equal(pinned.Map.Id, again.Map!.Id);
            Assert.Equal(BitConverter.GetBytes(42UL), again.Map.Lookup(BitConverter.GetBytes(1)));
        }
        finally
        {
            foreach (var file in Directory.GetFiles(root))
            {
                File.Delete(file);
            }

            Directory.Delete(root);
        }
    }

    /// <summary>An object with a BTF-defined hash map pinned by name, compiled by clang from the C in Fixtures.</summary>
    private static BpfObject PinnedMapObject() => BpfObject.Load(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pinned_map.o"));
}
