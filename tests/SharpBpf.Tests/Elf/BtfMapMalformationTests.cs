using SharpBpf.Btf;
using SharpBpf.Elf;
using SharpBpf.Objects;

namespace SharpBpf.Tests.Elf;

/// <summary>BTF map definitions that break libbpf's conventions are rejected with a <see cref="MapDefinitionException"/> naming the map.</summary>
public sealed class BtfMapMalformationTests
{
    /// <summary>An object with one map 'm' in .maps (of <paramref name="size"/> bytes) whose struct <paramref name="describe"/> builds.</summary>
    private static byte[] ObjectWithMap(Func<BtfBuilder, int> describe, uint size = 32, bool withVariable = true, bool withBtf = true)
    {
        var btf = new BtfBuilder();
        int structId = describe(btf);
        var variables = withVariable ? [new BtfVariableSectionInfo(btf.AddVariable("m", structId), 0, size)] : Array.Empty<BtfVariableSectionInfo>();
        btf.AddDataSection(".maps", 0, variables);
        var elf = new ElfBuilder();
        int maps = elf.AddSection(".maps", ElfSectionType.ProgBits, ElfSectionFlags.Alloc | ElfSectionFlags.Write, new byte[size]);
        if (withBtf)
        {
            elf.AddSection(".BTF", ElfSectionType.ProgBits, 0, btf.ToArray());
        }

        elf.AddSymbol("m", maps, 0, size, ElfSymbolType.Object);
        return elf.Build();
    }

    /// <summary>An integer attribute the libbpf way: <c>int (*name)[value]</c>.</summary>
    private static BtfMemberDefinition Number(BtfBuilder btf, string name, uint value, int slot)
    {
        int type = btf.AddInt("int", 4, BtfIntEncoding.Signed);
        return new BtfMemberDefinition(name, btf.AddPointer(btf.AddArray(type, type, value)), (uint)slot * 64);
    }

    /// <summary>A <c>__type(name, T)</c> attribute with T an integer of <paramref name="size"/> bytes.</summary>
    private static BtfMemberDefinition Typed(BtfBuilder btf, string name, uint size, int slot) =>
        new(name, btf.AddPointer(btf.AddInt("u" + size, size)), (uint)slot * 64);

    private static MapDefinitionException Rejects(byte[] image)
    {
        var e = Assert.Throws<MapDefinitionException>(() => BpfObject.Load(image));
        Assert.Equal("m", e.MapName.Split('.')[0]);
        return e;
    }

    [Fact]
    public void AWellFormedDefinitionIsRead()
    {
        var image = ObjectWithMap(b =>
        {
            int extra = b.AddEnum64("", 8, false, new BtfEnumValueDefinition("v", 0x1234_5678_9a));
            return b.AddStruct("", 40, Number(b, "type", 30, 0), Typed(b, "key", 4, 1), Number(b, "value_size", 8, 2), Number(b, "max_entries", 9, 3),
                new BtfMemberDefinition("map_extra", extra, 4 * 64));
        }, size: 40);
        var map = Assert.Single(BpfObject.Load(image).Maps);
        Assert.Equal((MapType.BloomFilter, 4u, 8u, 9u, 0x1234_5678_9aUL), (map.Type, map.KeySize, map.ValueSize, map.MaxEntries, map.MapExtra));
        Assert.NotEqual(0, map.KeyTypeId);
        Assert.Equal(0, map.ValueTypeId);
    }

    [Fact]
    public void UnknownFieldsAreRejected() =>
        Assert.Contains("unknown field 'colour'", Rejects(ObjectWithMap(b => b.AddStruct("", 16, Number(b, "type", 1, 0), Number(b, "colour", 3, 1)))).Message, StringComparison.Ordinal);

    [Fact]
    public void ConflictingKeySizesAreRejected() =>
        Assert.Contains("conflicting key sizes 8 and 4", Rejects(ObjectWithMap(b => b.AddStruct("", 24, Number(b, "type", 1, 0), Number(b, "key_size", 8, 1), Typed(b, "key", 4, 2)))).Problem, StringComparison.Ordinal);

    [Fact]
    public void AnIntegerAttributeMustBeAPointerToAnArray() =>
        Assert.Contains("'type'", Rejects(ObjectWithMap(b => b.AddStruct("", 8, new BtfMemberDefinition("type", b.AddInt("int", 4, BtfIntEncoding.Signed), 0)))).Problem, StringComparison.Ordinal);

    [Fact]
    public void OnlyPinningNoneAndByNameAreAccepted() =>
        Assert.Contains("pinning 2", Rejects(ObjectWithMap(b => b.AddStruct("", 16, Number(b, "type", 1, 0), Number(b, "pinning", 2, 1)))).Problem, StringComparison.Ordinal);

    [Fact]
    public void ValuesNeedAMapInMapOrProgramArray()
    {
        var image = ObjectWithMap(b =>
        {
            int inner = b.AddStruct("inner", 8, Number(b, "type", 2, 0));
            int values = b.AddArray(b.AddPointer(inner), b.AddInt("int", 4), 0);
            return b.AddStruct("", 8, Number(b, "type", 1, 0), new BtfMemberDefinition("values", values, 64));
        });
        Assert.Contains("'values' is only for", Rejects(image).Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void AnInnerMapCannotHaveInnerMaps()
    {
        var image = ObjectWithMap(b =>
        {
            int deepest = b.AddStruct("deepest", 8, Number(b, "type", 2, 0));
            int inner = b.AddStruct("inner", 8, Number(b, "type", 12, 0), new BtfMemberDefinition("values", b.AddArray(b.AddPointer(deepest), b.AddInt("int", 4), 0), 64));
            return b.AddStruct("", 8, Number(b, "type", 12, 0), new BtfMemberDefinition("values", b.AddArray(b.AddPointer(inner), b.AddInt("int", 4), 0), 64));
        });
        var e = Rejects(image);
        Assert.Equal("m.inner", e.MapName);
    }

    [Fact]
    public void BtfMapsNeedBtf() =>
        Assert.Contains(".BTF", Rejects(ObjectWithMap(b => b.AddStruct("", 8, Number(b, "type", 1, 0)), withBtf: false)).Problem, StringComparison.Ordinal);

    [Fact]
    public void AMapSymbolNeedsItsVariable() =>
        Assert.Contains("no VAR", Rejects(ObjectWithMap(b => b.AddStruct("", 8, Number(b, "type", 1, 0)), withVariable: false)).Problem, StringComparison.Ordinal);

    [Fact]
    public void TheStructMustFitTheSymbol() =>
        Assert.Contains("only 8", Rejects(ObjectWithMap(b => b.AddStruct("", 16, Number(b, "type", 1, 0), Number(b, "max_entries", 1, 1)), size: 8)).Problem, StringComparison.Ordinal);
}
