namespace SharpBpf.Objects;

/// <summary>Where a map definition came from, which decides how its fields were read.</summary>
public enum MapDefinitionKind
{
    /// <summary>A <c>struct bpf_map_def</c> in the legacy <c>maps</c> section (type, key_size, value_size, max_entries, map_flags[, inner_map_idx, numa_node]).</summary>
    Legacy,
    /// <summary>An iproute2 <c>struct bpf_elf_map</c> in the <c>maps</c> section (adds id, pinning, inner_id, inner_idx), as Cilium uses.</summary>
    Iproute2,
    /// <summary>A BTF-defined map in the <c>.maps</c> section; its fields are decoded from the object's BTF (libbpf's conventions).</summary>
    BtfDefined,
    /// <summary>A one-entry array map holding a global data section (<c>.data</c>, <c>.rodata</c>, <c>.bss</c>...).</summary>
    GlobalData,
    /// <summary>The one-entry array map libbpf creates for <c>__kconfig</c> externs; its layout comes from BTF.</summary>
    Kconfig,
}

/// <summary>How the legacy <c>maps</c> section is to be read.</summary>
public enum LegacyMapLayout
{
    /// <summary>
    /// Decide per object: definitions of 36 bytes or more are iproute2 <c>struct bpf_elf_map</c>, smaller ones
    /// <c>struct bpf_map_def</c>. (A 28-byte definition is ambiguous; it is read as bpf_map_def with inner_map_idx and numa_node.)
    /// </summary>
    Auto,
    /// <summary>Always <c>struct bpf_map_def</c>.</summary>
    BpfMapDef,
    /// <summary>Always iproute2 <c>struct bpf_elf_map</c>.</summary>
    Iproute2ElfMap,
}

/// <summary>A statically initialised slot of a map-in-map or program array.</summary>
/// <param name="Slot">The slot (the index in the <c>values</c> array, i.e. the key).</param>
/// <param name="SymbolName">The map or program the slot holds.</param>
/// <param name="TargetMapIndex">The index in <see cref="BpfObject.Maps"/> of the map, or -1 when the slot holds a program.</param>
public sealed record MapSlotInitializer(int Slot, string SymbolName, int TargetMapIndex);

/// <summary>One map an object defines: a declared map or the array map behind a global data section.</summary>
/// <remarks>
/// Fields not present in the definition's layout are 0. <see cref="MapDefinitionKind.BtfDefined"/> maps are decoded
/// from the object's BTF: their key and value type ids are kept for pretty-printing, a map-in-map has its
/// <see cref="InnerMap"/> template and statically initialised slots are listed in <see cref="InitialSlots"/>.
/// </remarks>
public sealed class MapDefinition
{
    private readonly List<MapSlotInitializer> _initialSlots = [];
    private ReadOnlyMemory<byte>? _initialValue;

    internal MapDefinition(string name, MapDefinitionKind kind, int sectionIndex, string sectionName, ulong sectionOffset, int definitionSize)
    {
        Name = name;
        Kind = kind;
        SectionIndex = sectionIndex;
        SectionName = sectionName;
        SectionOffset = sectionOffset;
        DefinitionSize = definitionSize;
    }

    /// <summary>The map's name: its symbol, or for global data the section name (<c>.rodata</c>, <c>.bss</c>...).</summary>
    public string Name { get; }

    /// <summary>Where the definition came from.</summary>
    public MapDefinitionKind Kind { get; }

    /// <summary>The map type.</summary>
    public MapType Type { get; internal init; }

    /// <summary>The key size in bytes.</summary>
    public uint KeySize { get; internal init; }

    /// <summary>The value size in bytes.</summary>
    public uint ValueSize { get; internal init; }

    /// <summary>The maximum number of entries.</summary>
    public uint MaxEntries { get; internal init; }

    /// <summary>The map flags (BPF_F_*).</summary>
    public uint Flags { get; internal init; }

    /// <summary>Legacy <c>inner_map_idx</c>: the index (in the <c>maps</c> section) of the template inner map of a map-in-map, when present.</summary>
    public uint InnerMapIndex { get; internal init; }

    /// <summary>Legacy or BTF <c>numa_node</c>, when present.</summary>
    public uint NumaNode { get; internal init; }

    /// <summary>iproute2 <c>id</c>: a user-chosen id used to pair inner and outer maps.</summary>
    public uint Id { get; internal init; }

    /// <summary>iproute2 <c>pinning</c>: 0 none, 1 object namespace, 2 global namespace; BTF <c>pinning</c>: 0 none, 1 by name.</summary>
    public uint Pinning { get; internal init; }

    /// <summary>iproute2 <c>inner_id</c>: the <see cref="Id"/> of the inner map template.</summary>
    public uint InnerId { get; internal init; }

    /// <summary>iproute2 <c>inner_idx</c>: the slot of the inner map in the outer one.</summary>
    public uint InnerIndex { get; internal init; }

    /// <summary>BTF <c>map_extra</c> (bloom filter hash count, arena address...), when present.</summary>
    public ulong MapExtra { get; internal init; }

    /// <summary>For BTF-defined maps declared with <c>__type(key, ...)</c>: the BTF type id of the key, else 0.</summary>
    public int KeyTypeId { get; internal init; }

    /// <summary>For BTF-defined maps declared with <c>__type(value, ...)</c>: the BTF type id of the value, else 0.</summary>
    public int ValueTypeId { get; internal init; }

    /// <summary>
    /// The offset of the value's top-level <c>struct bpf_spin_lock</c> member, which only the value's BTF type tells;
    /// null when the map has no value type in <paramref name="btf"/> or the value has no lock.
    /// </summary>
    /// <param name="btf">The object's BTF.</param>
    public int? SpinLockOffset(SharpBpf.Btf.BtfSpec btf)
    {
        ArgumentNullException.ThrowIfNull(btf);
        if (ValueTypeId <= 0 || !btf.IsValidTypeId(ValueTypeId))
        {
            return null;
        }

        var value = btf.ResolveType(ValueTypeId);
        if (value.Kind != SharpBpf.Btf.BtfKind.Struct)
        {
            return null;
        }

        for (int i = 0; i < value.Vlen; i++)
        {
            var member = value.GetMember(i);
            if (btf.IsValidTypeId(member.TypeId) && btf.ResolveType(member.TypeId) is { Kind: SharpBpf.Btf.BtfKind.Struct, Name: "bpf_spin_lock" })
            {
                return (int)(member.BitOffset / 8);
            }
        }

        return null;
    }

    /// <summary>
    /// For a BTF-defined map-in-map declared with <c>__array(values, struct inner)</c>: the template inner map
    /// (named <c>outer.inner</c>), described by that struct. Null otherwise. It is not one of the object's maps.
    /// </summary>
    public MapDefinition? InnerMap { get; internal init; }

    /// <summary>
    /// The slots of a BTF-defined map-in-map or program array initialised in C (<c>.values = { [i] = &amp;x }</c>,
    /// relocations in <c>.rel.maps</c>), by slot. Empty for other maps.
    /// </summary>
    public IReadOnlyList<MapSlotInitializer> InitialSlots => _initialSlots;

    /// <summary>True when the fields above are not known because they are described by BTF the loader does not decode (<c>.kconfig</c>).</summary>
    public bool RequiresBtf => Kind is MapDefinitionKind.Kconfig;

    /// <summary>For BTF-defined maps with <c>values</c>: the member's byte offset in the definition, else -1.</summary>
    internal int ValuesOffset { get; init; } = -1;

    internal void AddInitialSlot(MapSlotInitializer slot) => _initialSlots.Add(slot);

    /// <summary>The index of the ELF section holding the definition or data (0 for a synthesised <c>.kconfig</c> map).</summary>
    public int SectionIndex { get; }

    /// <summary>The name of that section.</summary>
    public string SectionName { get; }

    /// <summary>The definition's byte offset in its section (0 for global data).</summary>
    public ulong SectionOffset { get; }

    /// <summary>The size of the definition in the section (the symbol size); for global data, the section size.</summary>
    public int DefinitionSize { get; }

    /// <summary>The raw definition bytes (a slice of the file), for layouts this class does not decode.</summary>
    public ReadOnlyMemory<byte> RawDefinition { get; internal init; }

    /// <summary>For global data: whether the section is read-only (<c>.rodata*</c>, <c>.kconfig</c>), so the map is frozen after loading.</summary>
    public bool IsReadOnly { get; internal init; }

    /// <summary>
    /// For global data maps: the single value the map is created with (the section bytes; zeros for <c>.bss</c>).
    /// Null for other maps. Change it with <see cref="BpfObject.SetGlobalData(string, ReadOnlySpan{byte}, int)"/>.
    /// </summary>
    public ReadOnlyMemory<byte>? InitialValue
    {
        get
        {
            if (_initialValue is null && Kind == MapDefinitionKind.GlobalData && ZeroFilled)
            {
                // .bss is materialised on first use so that loading never allocates what the file only claims.
                _initialValue = new byte[ValueSize];
            }

            return _initialValue;
        }
    }

    internal bool ZeroFilled { get; init; }

    internal void SetInitialValue(ReadOnlyMemory<byte> value) => _initialValue = value;

    internal byte[] GetWritableInitialValue()
    {
        var current = InitialValue ?? ReadOnlyMemory<byte>.Empty;
        var copy = current.ToArray();
        _initialValue = copy;
        return copy;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        RequiresBtf ? $"{Name} ({Kind}, {SectionName}+{SectionOffset})" : $"{Name} ({Type}, key {KeySize}, value {ValueSize}, max {MaxEntries})";
}
