using SharpBpf.Btf;
using SharpBpf.Objects;
using SharpBpf.Testing;

namespace SharpBpf.Tests.Elf;

/// <summary>
/// BTF-defined maps (<c>.maps</c>) decoded from the object's BTF. Expected values are written by hand from the C
/// sources (bpf/src, bpf/include, Fixtures/elf/src/btfmaps.c) and, for the shared samples whose sources are not
/// here, from <c>bpftool btf dump file</c> and <c>llvm-readelf-19 -r</c>.
/// </summary>
public sealed class BtfMapDefinitionTests
{
    private static BpfObject Project(string name) => BpfObject.Load(Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", name));

    private static BpfObject Sample(string name) => BpfObject.Load(Path.Combine(SharedData.Folder("samples")!, "build", name));

    private static string Shape(MapDefinition m) => $"{m.Name} {m.Type} key={m.KeySize} value={m.ValueSize} max={m.MaxEntries} flags={m.Flags}";

    private static IEnumerable<string> BtfShapes(BpfObject obj) =>
        obj.Maps.Where(m => m.Kind == MapDefinitionKind.BtfDefined).Select(Shape);

    /// <summary>The name of a type id in the object's BTF, looking through nothing (typedef names are kept).</summary>
    private static string TypeName(BpfObject obj, int id) => BtfSpec.Parse(obj.Btf!.Value)[id].Name;

    [Fact]
    public void XdpFirewall()
    {
        var obj = Project("xdp_firewall.o");
        Assert.Equal(
            [
                "fw_blocklist Hash key=4 value=16 max=4096 flags=0",       // __u32 -> struct fw_block_entry
                "fw_stats PerCpuArray key=4 value=16 max=6 flags=0",      // FW_STAT_MAX, struct fw_stat
                "fw_events RingBuffer key=0 value=0 max=262144 flags=0", // 256 * 1024
            ],
            BtfShapes(obj));
        var blocklist = obj.Maps.First(m => m.Name == "fw_blocklist");
        Assert.Equal("__u32", TypeName(obj, blocklist.KeyTypeId));
        Assert.Equal("fw_block_entry", TypeName(obj, blocklist.ValueTypeId));
        var events = obj.Maps.First(m => m.Name == "fw_events");
        Assert.Equal((0, 0), (events.KeyTypeId, events.ValueTypeId));
        Assert.All(obj.Maps, m => Assert.Empty(m.InitialSlots));
        Assert.All(obj.Maps, m => Assert.Null(m.InnerMap));
    }

    [Fact]
    public void TailCallsProgramArrayHasItsStaticSlots()
    {
        var obj = Project("tail_calls.o");
        Assert.Equal(
            [
                "dispatch_table ProgramArray key=4 value=4 max=4 flags=0",
                "dispatch_scratch PerCpuArray key=4 value=8 max=1 flags=0",
                "dispatch_stats PerCpuArray key=4 value=8 max=7 flags=0",
            ],
            BtfShapes(obj));
        var table = obj.Maps.First(m => m.Name == "dispatch_table");
        Assert.Equal([new MapSlotInitializer(0, "handle_tcp", -1), new MapSlotInitializer(1, "handle_udp", -1)], table.InitialSlots);
        Assert.Equal((0, 0), (table.KeyTypeId, table.ValueTypeId)); // key_size, not __type(key, ...)
        Assert.Equal("dispatch_scratch", TypeName(obj, obj.Maps.First(m => m.Name == "dispatch_scratch").ValueTypeId));
    }

    [Fact]
    public void LpmRouteKeepsItsFlags()
    {
        var obj = Project("lpm_route.o");
        Assert.Equal(
            [
                "route_table LpmTrie key=8 value=32 max=16384 flags=1", // BPF_F_NO_PREALLOC
                "route_stats PerCpuArray key=4 value=8 max=4 flags=0",
            ],
            BtfShapes(obj));
        var table = obj.Maps.First(m => m.Name == "route_table");
        Assert.Equal(("route_key", "route_entry"), (TypeName(obj, table.KeyTypeId), TypeName(obj, table.ValueTypeId)));
    }

    [Fact]
    public void EveryProjectObjectDecodesItsMaps()
    {
        string[] objects = Directory.GetFiles(Path.Combine(SharedData.RepositoryRoot, "bpf", "obj"), "*.o");
        Assert.NotEmpty(objects);
        foreach (string path in objects)
        {
            var obj = BpfObject.Load(path);
            Assert.All(obj.Maps.Where(m => m.Kind == MapDefinitionKind.BtfDefined), m =>
            {
                Assert.NotEqual(MapType.Unspecified, m.Type);
                Assert.True(m.MaxEntries > 0, m.Name);
            });
        }
    }

    [Fact]
    public void HandBuiltMapInMapHasItsInnerTemplateAndSlots()
    {
        var obj = BpfObject.Load(ElfTestData.HandBuilt("btfmaps.o"));
        Assert.Equal(
            [
                "inner_a Array key=4 value=8 max=1 flags=0",
                "inner_b Array key=4 value=8 max=1 flags=0",
                "outer ArrayOfMaps key=4 value=4 max=2 flags=0",
                "lookup Hash key=4 value=4 max=64 flags=0",
            ],
            BtfShapes(obj));
        var outer = obj.Maps[2];
        Assert.NotNull(outer.InnerMap);
        Assert.Equal("outer.inner Array key=4 value=8 max=1 flags=0", Shape(outer.InnerMap));
        Assert.Equal(("__u32", "__u64"), (TypeName(obj, outer.InnerMap.KeyTypeId), TypeName(obj, outer.InnerMap.ValueTypeId)));
        Assert.Equal([new MapSlotInitializer(0, "inner_a", 0), new MapSlotInitializer(1, "inner_b", 1)], outer.InitialSlots);
        Assert.Equal(0, outer.ValueTypeId);
    }

    [SharedFact("samples")]
    public void SampleMapInMap()
    {
        var obj = Sample("map_in_map.o");
        Assert.Equal(["inner_map Array key=4 value=4 max=1 flags=0", "array_of_maps ArrayOfMaps key=4 value=4 max=1 flags=0"], BtfShapes(obj));
        Assert.Equal("array_of_maps.inner Array key=4 value=4 max=1 flags=0", Shape(obj.Maps[1].InnerMap!));
        Assert.Equal([new MapSlotInitializer(0, "inner_map", 0)], obj.Maps[1].InitialSlots);
        Assert.Equal("uint32_t", TypeName(obj, obj.Maps[0].ValueTypeId));
    }

    [SharedFact("samples")]
    public void SampleRingBufferInMap()
    {
        var obj = Sample("ringbuf_in_map.o");
        Assert.Equal(["inner_map RingBuffer key=0 value=0 max=262144 flags=0", "array_of_maps ArrayOfMaps key=4 value=4 max=1 flags=0"], BtfShapes(obj));
        Assert.Equal("array_of_maps.inner RingBuffer key=0 value=0 max=262144 flags=0", Shape(obj.Maps[1].InnerMap!));
        Assert.Equal([new MapSlotInitializer(0, "inner_map", 0)], obj.Maps[1].InitialSlots);
    }

    [SharedFact("samples")]
    public void SampleTwoMapsUseTypesAndSizes()
    {
        var obj = Sample("twomaps_btf.o");
        // map2 declares its sizes with key_size/value_size, and its max_entries reuses the type of 'type' (int (*)[2]).
        Assert.Equal(["map1 Array key=4 value=8 max=1 flags=0", "map2 Array key=4 value=8 max=2 flags=0"], BtfShapes(obj));
        Assert.Equal(("int", "uint64_t"), (TypeName(obj, obj.Maps[0].KeyTypeId), TypeName(obj, obj.Maps[0].ValueTypeId)));
        Assert.Equal((0, 0), (obj.Maps[1].KeyTypeId, obj.Maps[1].ValueTypeId));
    }

    [SharedFact("samples")]
    public void SampleProgramArray()
    {
        var obj = Sample("prog_array.o");
        Assert.Equal(["prog_array_map ProgramArray key=4 value=4 max=4 flags=0"], BtfShapes(obj));
        Assert.Equal(
            [new(0, "func0", -1), new(1, "func1", -1), new(2, "func2", -1), new MapSlotInitializer(3, "func3", -1)],
            obj.Maps[0].InitialSlots);
        Assert.Null(obj.Maps[0].InnerMap);
    }

    [SharedFact("samples")]
    public void SampleMapInMapThroughTypedefs()
    {
        var obj = Sample("map_in_map_typedef.o");
        var outer = obj.Maps.Where(m => m.Kind == MapDefinitionKind.BtfDefined).ToArray();
        Assert.Equal(2, outer.Length);
        Assert.All(outer, m =>
        {
            Assert.Equal(MapType.ArrayOfMaps, m.Type);
            Assert.Equal(1u, m.MaxEntries); // [5] int (*)[1]
            Assert.Equal(MapType.Array, m.InnerMap!.Type);
        });
    }
}
