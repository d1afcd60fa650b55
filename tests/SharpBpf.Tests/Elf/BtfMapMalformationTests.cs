using SharpBpf.Btf;
using SharpBpf.Elf;
using SharpBpf.Objects;

namespace SharpBpf.Tests.Elf;

/// <summary>BTF map definitions that break libbpf's conventions are rejected with a <see cref="MapDefinitionException"/> naming the map.</summary>
public sealed class BtfMapMalformationTests
{
    /// <summary>An object with one map 'm' in .maps (of <paramref name="size"/> bytes) whose struct <paramref name="describe"/> builds.</summary>
    private static byte[] ObjectWithMap(Func<BtfBuilder, int> describe, uint size = 32, bool withVariable = true, bool withBtf = true) =>
        ObjectWithMaps([("m", describe, size)], [], withVariable, withBtf);

    /// <summary>
    /// An object whose .maps holds the given maps one after the other, with <c>.rel.maps</c> relocations
    /// (offset in .maps, index of the map symbol they point to).
    /// </summary>
    private static byte[] ObjectWithMaps(
        (string Name, Func<BtfBuilder, int> Describe, uint Size)[] maps, (ulong Offset, int Map)[] slots, bool withVariable = true, bool withBtf = true)
    {
        var btf = new BtfBuilder();
        var variables = new List<BtfVariableSectionInfo>();
        uint total = 0;
        foreach (var (name, describe, size) in maps)
        {
            int structId = describe(btf);
            if (withVariable)
            {
                variables.Add(new BtfVariableSectionInfo(btf.AddVariable(name, structId), 0, size));
            }

            total += size;
        }

        btf.AddDataSection(".maps", 0, [.. variables]);
        var elf = new ElfBuilder();
        int section = elf.AddSection(".maps", ElfSectionType.ProgBits, ElfSectionFlags.Alloc | ElfSectionFlags.Write, new byte[total]);
        if (withBtf)
        {
            elf.AddSection(".BTF", ElfSectionType.ProgBits, 0, btf.ToArray());
        }

        if (slots.Length > 0)
        {
            // Symbols are added in map order after the null symbol, so map i is symbol i + 1.
            var entries = slots.Select(s => (s.Offset, s.Map + 1, BpfRelocationType.Bpf64_64));
            elf.AddSection(".rel.maps", ElfSectionType.Relocations, 0, ElfBuilder.Relocations(entries), elf.SymbolTableIndex + 1, section, 16);
        }

        ulong offset = 0;
        foreach (var (name, _, size) in maps)
        {
            elf.AddSymbol(name, section, offset, size, ElfSymbolType.Object);
            offset += size;
        }

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

    [Fact]
    public void OnlyMapInMapsAndProgramArraysHaveSlotInitialisers()
    {
        Func<BtfBuilder, int> hash = b => b.AddStruct("", 32, Number(b, "type", 1, 0), Typed(b, "key", 4, 1), Typed(b, "value", 4, 2), Number(b, "max_entries", 1, 3));
        var image = ObjectWithMaps([("m", hash, 32), ("t", hash, 32)], [(8, 1)]);
        Assert.Contains("cannot refer to 't'", Rejects(image).Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ASlotInitialiserMustBeInsideValues()
    {
        Func<BtfBuilder, int> inner = b => b.AddStruct("inner", 8, Number(b, "type", 2, 0));
        Func<BtfBuilder, int> outer = b =>
        {
            int values = b.AddArray(b.AddPointer(inner(b)), b.AddInt("int", 4), 0);
            return b.AddStruct("", 16, Number(b, "type", 12, 0), new BtfMemberDefinition("values", values, 128));
        };

        // Offset 16 is values[0] of m (valid, slot 0); offset 8 is the 'type' field's padding, not a slot.
        var valid = BpfObject.Load(ObjectWithMaps([("m", outer, 24), ("t", inner, 8)], [(16, 1)]));
        Assert.Equal([new MapSlotInitializer(0, "t", 1)], valid.Maps[0].InitialSlots);
        Assert.Contains("not a slot of 'values'", Rejects(ObjectWithMaps([("m", outer, 24), ("t", inner, 8)], [(8, 1)])).Problem, StringComparison.Ordinal);
    }
}
