using SharpBpf.Elf;

namespace SharpBpf.Objects;

/// <summary>Options for <see cref="BpfObject.Load(ReadOnlyMemory{byte}, BpfObjectLoadOptions?)"/>.</summary>
public sealed class BpfObjectLoadOptions
{
    /// <summary>How to read the legacy <c>maps</c> section. The default decides by definition size.</summary>
    public LegacyMapLayout LegacyMapLayout { get; init; } = LegacyMapLayout.Auto;

    /// <summary>The most instructions one linked program may have (the kernel's own limit is one million).</summary>
    public int MaxInstructionsPerProgram { get; init; } = 1_000_000;
}

/// <summary>A relocation in the <c>.maps</c> section: a map-in-map or prog-array slot initialised with another map or a program.</summary>
/// <param name="SectionOffset">The byte offset in <c>.maps</c> of the pointer being initialised.</param>
/// <param name="OuterMapIndex">The index in <see cref="BpfObject.Maps"/> of the map whose definition contains the slot, or -1.</param>
/// <param name="SymbolName">The name of the map or program the slot points to.</param>
/// <param name="TargetMapIndex">The index of the target map, or -1 when the target is a program.</param>
public sealed record MapSlotRelocation(ulong SectionOffset, int OuterMapIndex, string SymbolName, int TargetMapIndex);

/// <summary>
/// A BPF object file (what <c>clang -target bpf -c</c> produces) read into programs and maps, linked the way
/// libbpf links them but without touching a kernel: maps are referred to by their index in <see cref="Maps"/>.
/// </summary>
/// <remarks>
/// Map loads in the code are <c>lddw dst, map</c> with <c>src=1</c> and <c>imm</c> = map index, and global data
/// loads have <c>src=2</c>, first <c>imm</c> = map index, second <c>imm</c> = offset, exactly where libbpf would put
/// a file descriptor; a kernel backend replaces each index with the created map's descriptor using
/// <see cref="ObjectProgram.Relocations"/>. All input is validated: malformed files raise
/// <see cref="ElfFormatException"/>, malformed BTF-defined maps <see cref="MapDefinitionException"/>.
/// </remarks>
public sealed class BpfObject
{
    private readonly List<ObjectProgram> _programs;
    private readonly List<MapDefinition> _maps;

    internal BpfObject(ElfFile elf, List<ObjectProgram> programs, List<MapDefinition> maps, string license, uint? kernelVersion,
        ReadOnlyMemory<byte>? btf, ReadOnlyMemory<byte>? btfExt, IReadOnlyList<MapSlotRelocation> mapSlotRelocations, IReadOnlyList<string> externs)
    {
        Elf = elf;
        _programs = programs;
        _maps = maps;
        License = license;
        KernelVersion = kernelVersion;
        Btf = btf;
        BtfExt = btfExt;
        MapSlotRelocations = mapSlotRelocations;
        Externs = externs;
    }

    /// <summary>The underlying ELF file.</summary>
    public ElfFile Elf { get; }

    /// <summary>The entry-point programs, in file order (section index, then offset).</summary>
    public IReadOnlyList<ObjectProgram> Programs => _programs;

    /// <summary>
    /// The maps: legacy <c>maps</c> definitions (by offset), then BTF-defined <c>.maps</c> (by offset), then one array map
    /// per global data section (by section index), then <c>.kconfig</c>. Code refers to maps by index in this list.
    /// </summary>
    public IReadOnlyList<MapDefinition> Maps => _maps;

    /// <summary>The <c>license</c> section's text (up to its first NUL), or an empty string when there is none.</summary>
    public string License { get; }

    /// <summary>The <c>version</c> section (the kernel version old kprobe programs had to declare), or null.</summary>
    public uint? KernelVersion { get; }

    /// <summary>The raw <c>.BTF</c> section, or null.</summary>
    public ReadOnlyMemory<byte>? Btf { get; }

    /// <summary>The raw <c>.BTF.ext</c> section, or null.</summary>
    public ReadOnlyMemory<byte>? BtfExt { get; }

    /// <summary>Relocations of the <c>.maps</c> section (static initialisation of map-in-map and prog-array slots).</summary>
    public IReadOnlyList<MapSlotRelocation> MapSlotRelocations { get; }

    /// <summary>The names of undefined symbols the code refers to (kfuncs, <c>__ksym</c> and <c>__kconfig</c> externs), sorted.</summary>
    public IReadOnlyList<string> Externs { get; }

    /// <summary>Reads an object held in memory without copying it (section data and raw definitions are slices of it).</summary>
    /// <exception cref="ElfFormatException">The file is malformed or cannot be linked.</exception>
    /// <exception cref="MapDefinitionException">A BTF-defined map in <c>.maps</c> is malformed.</exception>
    public static BpfObject Load(ReadOnlyMemory<byte> image, BpfObjectLoadOptions? options = null) =>
        ObjectLoader.Load(ElfFile.Parse(image), options ?? new BpfObjectLoadOptions());

    /// <summary>Reads an object from a span (copied once, since the object keeps views of its bytes).</summary>
    /// <exception cref="ElfFormatException">The file is malformed or cannot be linked.</exception>
    /// <exception cref="MapDefinitionException">A BTF-defined map in <c>.maps</c> is malformed.</exception>
    public static BpfObject Load(ReadOnlySpan<byte> image, BpfObjectLoadOptions? options = null) =>
        Load(new ReadOnlyMemory<byte>(image.ToArray()), options);

    /// <summary>Reads an object file.</summary>
    /// <exception cref="ElfFormatException">The file is malformed or cannot be linked.</exception>
    /// <exception cref="MapDefinitionException">A BTF-defined map in <c>.maps</c> is malformed.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static BpfObject Load(string path, BpfObjectLoadOptions? options = null) =>
        Load(new ReadOnlyMemory<byte>(File.ReadAllBytes(path)), options);

    /// <summary>The first program with this name, or null.</summary>
    public ObjectProgram? FindProgram(string name) => _programs.Find(p => p.Name == name);

    /// <summary>The index in <see cref="Maps"/> of the map with this name, or -1.</summary>
    public int IndexOfMap(string name) => _maps.FindIndex(m => m.Name == name);

    /// <summary>The map with this name, or null.</summary>
    public MapDefinition? FindMap(string name) => _maps.Find(m => m.Name == name);

    /// <summary>
    /// Overwrites bytes of a global data map's initial value before the object is loaded into a kernel or an
    /// interpreter, the way libbpf skeletons set <c>const volatile</c> configuration in <c>.rodata</c>.
    /// </summary>
    /// <param name="mapName">The global data map (its section name, for example <c>.rodata</c> or <c>.data.config</c>).</param>
    /// <param name="bytes">The bytes to write.</param>
    /// <param name="offset">Where to write them in the section.</param>
    /// <exception cref="ArgumentException">No such global data map, or the bytes do not fit.</exception>
    public void SetGlobalData(string mapName, ReadOnlySpan<byte> bytes, int offset = 0)
    {
        var map = FindMap(mapName);
        if (map is null || map.Kind != MapDefinitionKind.GlobalData)
        {
            throw new ArgumentException($"the object has no global data section '{mapName}'", nameof(mapName));
        }

        if (offset < 0 || offset > map.ValueSize || bytes.Length > map.ValueSize - offset)
        {
            throw new ArgumentException($"{bytes.Length} bytes at offset {offset} do not fit in '{mapName}' ({map.ValueSize} bytes)", nameof(bytes));
        }

        bytes.CopyTo(map.GetWritableInitialValue().AsSpan(offset));
    }

    /// <summary>Overwrites the start of <c>.rodata</c> (see <see cref="SetGlobalData(string, ReadOnlySpan{byte}, int)"/>).</summary>
    public void SetReadOnlyData(ReadOnlySpan<byte> bytes, int offset = 0) => SetGlobalData(".rodata", bytes, offset);
}
