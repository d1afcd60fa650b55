using System.Buffers.Binary;
using System.Text;

namespace SharpBpf.Elf;

/// <summary>
/// A read-only, validated view of a 64-bit little-endian ELF relocatable object for BPF (what
/// <c>clang -target bpf -c</c> produces). Section bytes are slices of the caller's buffer, never copies.
/// </summary>
/// <remarks>
/// Every offset, size, count and index is checked against the file before it is used, so any malformed
/// input fails with an <see cref="ElfFormatException"/> naming the file offset, in time and memory
/// proportional to the file size. Relocation tables are decoded (and validated) on demand by
/// <see cref="GetRelocations(ElfSection)"/> because debug-info relocations, often the bulk of a file,
/// are of no interest to a loader.
/// </remarks>
public sealed class ElfFile
{
    /// <summary>The ELF machine number of BPF.</summary>
    public const ushort MachineBpf = 247;

    /// <summary>The size of the ELF64 file header.</summary>
    public const int HeaderSize = 64;

    /// <summary>The size of one ELF64 section header.</summary>
    public const int SectionHeaderSize = 64;

    /// <summary>The size of one ELF64 symbol.</summary>
    public const int SymbolSize = 24;

    /// <summary>The size of one ELF64 relocation without addend.</summary>
    public const int RelocationSize = 16;

    /// <summary>The size of one ELF64 relocation with addend.</summary>
    public const int RelocationWithAddendSize = 24;

    private const ushort ObjectTypeRelocatable = 1;
    private const ushort ShnXIndex = 0xffff;

    private readonly ElfSection[] _sections;
    private readonly ElfSymbol[] _symbols;
    private readonly Dictionary<string, int> _sectionByName;
    private readonly List<int>?[] _relocationSectionsByTarget;

    private ElfFile(ReadOnlyMemory<byte> image, ushort machine, ElfSection[] sections, ElfSymbol[] symbols, ElfSection? symbolTable)
    {
        Image = image;
        Machine = machine;
        _sections = sections;
        _symbols = symbols;
        SymbolTable = symbolTable;
        _sectionByName = new Dictionary<string, int>(StringComparer.Ordinal);
        _relocationSectionsByTarget = new List<int>?[sections.Length];
        foreach (var section in sections)
        {
            _sectionByName.TryAdd(section.Name, section.Index);
            if (section.IsRelocationTable && section.Info < (uint)sections.Length)
            {
                (_relocationSectionsByTarget[section.Info] ??= []).Add(section.Index);
            }
        }
    }

    /// <summary>The whole file.</summary>
    public ReadOnlyMemory<byte> Image { get; }

    /// <summary>The <c>e_machine</c> field: <see cref="MachineBpf"/>, or 0 for objects from old LLVM releases.</summary>
    public ushort Machine { get; }

    /// <summary>All sections, by index (index 0 is the null section).</summary>
    public IReadOnlyList<ElfSection> Sections => _sections;

    /// <summary>All symbols of the symbol table, by index (empty when the file has no symbol table).</summary>
    public IReadOnlyList<ElfSymbol> Symbols => _symbols;

    /// <summary>The symbol table section, if any.</summary>
    public ElfSection? SymbolTable { get; }

    /// <summary>Reads and validates an ELF object held in memory. The buffer is referenced, not copied.</summary>
    /// <exception cref="ElfFormatException">The file is malformed or not a 64-bit little-endian BPF relocatable object.</exception>
    public static ElfFile Parse(ReadOnlyMemory<byte> image)
    {
        var span = image.Span;
        if (span.Length < 16 || span[0] != 0x7f || span[1] != (byte)'E' || span[2] != (byte)'L' || span[3] != (byte)'F')
        {
            throw new ElfFormatException(0, span.Length < 4 ? $"file is {span.Length} bytes long, too short for an ELF header" : "not an ELF file (bad magic number)");
        }

        switch (span[4])
        {
            case 2: break;
            case 1: throw new ElfFormatException(4, "32-bit ELF (ELFCLASS32) is not supported: BPF objects are ELF64");
            default: throw new ElfFormatException(4, $"unknown ELF class {span[4]}");
        }

        switch (span[5])
        {
            case 1: break;
            case 2: throw new ElfFormatException(5, "big-endian BPF objects (ELFDATA2MSB, clang -target bpfeb) are not supported; compile with -target bpf or bpfel");
            default: throw new ElfFormatException(5, $"unknown ELF data encoding {span[5]}");
        }

        if (span[6] != 1)
        {
            throw new ElfFormatException(6, $"unknown ELF identification version {span[6]}");
        }

        if (span.Length < HeaderSize)
        {
            throw new ElfFormatException(0, $"file is {span.Length} bytes long, too short for the 64-byte ELF64 header");
        }

        ushort objectType = U16(span, 16);
        if (objectType != ObjectTypeRelocatable)
        {
            throw new ElfFormatException(16, $"ELF type is {objectType}, but BPF objects must be relocatable (ET_REL = 1)");
        }

        ushort machine = U16(span, 18);
        if (machine != MachineBpf && machine != 0)
        {
            throw new ElfFormatException(18, $"machine is {machine}, not BPF (EM_BPF = 247)");
        }

        ulong sectionTableOffset = U64(span, 40);
        ushort sectionHeaderSize = U16(span, 58);
        uint sectionCount = U16(span, 60);
        uint nameTableIndex = U16(span, 62);

        if (sectionTableOffset == 0)
        {
            throw new ElfFormatException(40, "the file has no section header table (e_shoff is 0)");
        }

        if (sectionHeaderSize != SectionHeaderSize)
        {
            throw new ElfFormatException(58, $"section header size is {sectionHeaderSize}, expected {SectionHeaderSize}");
        }

        if (sectionTableOffset < HeaderSize || sectionTableOffset > (ulong)span.Length - SectionHeaderSize)
        {
            throw new ElfFormatException(40, $"section header table offset 0x{sectionTableOffset:x} is outside the file ({span.Length} bytes) or overlaps the ELF header");
        }

        // Extended numbering: the real count and name-table index live in section header 0.
        int tableStart = (int)sectionTableOffset;
        if (sectionCount == 0)
        {
            ulong extendedCount = U64(span, tableStart + 32);
            if (extendedCount == 0)
            {
                throw new ElfFormatException(60, "the section header table is empty");
            }

            sectionCount = extendedCount > int.MaxValue ? uint.MaxValue : (uint)extendedCount;
        }

        if (nameTableIndex == ShnXIndex)
        {
            nameTableIndex = U32(span, tableStart + 40);
        }

        if ((ulong)sectionCount * SectionHeaderSize > (ulong)span.Length - sectionTableOffset)
        {
            throw new ElfFormatException(40, $"section header table ({sectionCount} entries at 0x{sectionTableOffset:x}) goes past the end of the file ({span.Length} bytes)");
        }

        if (nameTableIndex == 0 || nameTableIndex >= sectionCount)
        {
            throw new ElfFormatException(62, $"section name table index {nameTableIndex} is not a valid section (there are {sectionCount})");
        }

        long tableEnd = tableStart + ((long)sectionCount * SectionHeaderSize);
        var raw = new RawSection[sectionCount];
        for (int i = 0; i < raw.Length; i++)
        {
            raw[i] = ReadSectionHeader(span, tableStart + (i * SectionHeaderSize), i, tableStart, tableEnd);
        }

        ref readonly var names = ref raw[nameTableIndex];
        if (names.Type != ElfSectionType.StringTable)
        {
            throw new ElfFormatException(names.HeaderOffset, $"section name table (section {nameTableIndex}) has type {(uint)names.Type}, not STRTAB");
        }

        var nameTable = span.Slice((int)names.Offset, (int)names.Size);
        var sections = new ElfSection[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            ref readonly var r = ref raw[i];
            string name = i == 0 ? string.Empty : ReadString(nameTable, r.NameOffset, names.Offset, r.HeaderOffset, $"name of section {i}");
            var data = r.Type == ElfSectionType.NoBits || r.Type == ElfSectionType.Null ? ReadOnlyMemory<byte>.Empty : image.Slice((int)r.Offset, (int)r.Size);
            sections[i] = new ElfSection(i, name, r.Type, r.Flags, r.Offset, r.Size, r.Link, r.Info, r.Alignment, r.EntrySize, r.HeaderOffset, data);
        }

        ElfSection? symbolTable = null;
        foreach (var section in sections)
        {
            if (section.Type == ElfSectionType.SymbolTable)
            {
                if (symbolTable is not null)
                {
                    throw new ElfFormatException(section.HeaderOffset, $"second symbol table '{section.Name}' (section {section.Index}); only one is allowed");
                }

                symbolTable = section;
            }
        }

        var symbols = symbolTable is null ? [] : ReadSymbols(symbolTable, sections);
        return new ElfFile(image, machine, sections, symbols, symbolTable);
    }

    /// <summary>Reads a file into memory and parses it.</summary>
    /// <exception cref="ElfFormatException">The file is malformed.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static ElfFile Load(string path) => Parse(File.ReadAllBytes(path));

    /// <summary>The first section with this exact name, or null.</summary>
    public ElfSection? FindSection(string name) =>
        _sectionByName.TryGetValue(name, out int index) ? _sections[index] : null;

    /// <summary>The relocation sections (REL or RELA) whose <c>sh_info</c> names the given section, in index order.</summary>
    public IEnumerable<ElfSection> RelocationSectionsFor(ElfSection target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var list = target.Index < _relocationSectionsByTarget.Length ? _relocationSectionsByTarget[target.Index] : null;
        if (list is null)
        {
            yield break;
        }

        foreach (int index in list)
        {
            yield return _sections[index];
        }
    }

    /// <summary>Decodes and validates the entries of a REL or RELA section.</summary>
    /// <exception cref="ElfFormatException">The table or an entry is malformed, refers to a missing symbol, or has an unknown type.</exception>
    public ElfRelocation[] GetRelocations(ElfSection relocationSection)
    {
        ArgumentNullException.ThrowIfNull(relocationSection);
        bool withAddends = relocationSection.Type == ElfSectionType.RelocationsWithAddends;
        if (!relocationSection.IsRelocationTable)
        {
            throw new ElfFormatException(relocationSection.HeaderOffset, $"section '{relocationSection.Name}' is not a relocation table");
        }

        int entrySize = withAddends ? RelocationWithAddendSize : RelocationSize;
        if (relocationSection.EntrySize != (ulong)entrySize)
        {
            throw new ElfFormatException(relocationSection.HeaderOffset + 56, $"relocation section '{relocationSection.Name}' has entry size {relocationSection.EntrySize}, expected {entrySize}");
        }

        if (relocationSection.Size % entrySize != 0)
        {
            throw new ElfFormatException(relocationSection.HeaderOffset + 32, $"relocation section '{relocationSection.Name}' is {relocationSection.Size} bytes, not a whole number of {entrySize}-byte entries");
        }

        if (SymbolTable is null || relocationSection.Link != (uint)SymbolTable.Index)
        {
            throw new ElfFormatException(relocationSection.HeaderOffset + 40, $"relocation section '{relocationSection.Name}' links to section {relocationSection.Link}, which is not the symbol table");
        }

        if (relocationSection.Info == 0 || relocationSection.Info >= (uint)_sections.Length || relocationSection.Info == (uint)relocationSection.Index)
        {
            throw new ElfFormatException(relocationSection.HeaderOffset + 44, $"relocation section '{relocationSection.Name}' applies to section {relocationSection.Info}, which is not a valid target");
        }

        var span = relocationSection.Data.Span;
        var result = new ElfRelocation[span.Length / entrySize];
        for (int i = 0; i < result.Length; i++)
        {
            var entry = span.Slice(i * entrySize, entrySize);
            long at = relocationSection.FileOffset + ((long)i * entrySize);
            ulong offset = U64(entry, 0);
            ulong info = U64(entry, 8);
            long addend = withAddends ? (long)U64(entry, 16) : 0;
            ulong symbol = info >> 32;
            uint type = (uint)info;
            if (symbol >= (ulong)_symbols.Length)
            {
                throw new ElfFormatException(at + 8, $"relocation {i} of '{relocationSection.Name}' refers to symbol {symbol}, but the symbol table has {_symbols.Length}");
            }

            if (type is not (0 or 1 or 2 or 3 or 4 or 10))
            {
                throw new ElfFormatException(at + 8, $"relocation {i} of '{relocationSection.Name}' has unsupported type {type} (BPF knows R_BPF_64_64=1, R_BPF_64_ABS64=2, R_BPF_64_ABS32=3, R_BPF_64_NODYLD32=4, R_BPF_64_32=10)");
            }

            result[i] = new ElfRelocation(offset, (int)symbol, (BpfRelocationType)type, addend, at);
        }

        return result;
    }

    private readonly record struct RawSection(
        uint NameOffset, ElfSectionType Type, ElfSectionFlags Flags, long Offset, long Size,
        uint Link, uint Info, ulong Alignment, ulong EntrySize, long HeaderOffset);

    private static RawSection ReadSectionHeader(ReadOnlySpan<byte> file, int at, int index, long tableStart, long tableEnd)
    {
        var header = file.Slice(at, SectionHeaderSize);
        var type = (ElfSectionType)U32(header, 4);
        ulong offset = U64(header, 24);
        ulong size = U64(header, 32);
        var flags = (ElfSectionFlags)U64(header, 8);
        uint link = U32(header, 40);
        uint info = U32(header, 44);
        ulong alignment = U64(header, 48);
        ulong entrySize = U64(header, 56);
        if (index == 0)
        {
            // Section 0 is the null section; with extended numbering its size/link carry counts.
            return new RawSection(0, ElfSectionType.Null, ElfSectionFlags.None, 0, 0, 0, 0, 0, 0, at);
        }

        if (type == ElfSectionType.NoBits)
        {
            if (size > int.MaxValue)
            {
                throw new ElfFormatException(at + 32, $"section {index} (NOBITS) claims an absurd size of {size} bytes");
            }

            return new RawSection(U32(header, 0), type, flags, 0, (long)size, link, info, alignment, entrySize, at);
        }

        if (type == ElfSectionType.Null)
        {
            return new RawSection(U32(header, 0), type, flags, 0, 0, link, info, alignment, entrySize, at);
        }

        if (offset > (ulong)file.Length || size > (ulong)file.Length - offset)
        {
            throw new ElfFormatException(at + 24, $"section {index} (offset 0x{offset:x}, size {size}) goes past the end of the file ({file.Length} bytes)");
        }

        if (size > 0)
        {
            ulong end = offset + size;
            if (offset < HeaderSize)
            {
                throw new ElfFormatException(at + 24, $"section {index} (offset 0x{offset:x}, size {size}) overlaps the ELF header");
            }

            if (offset < (ulong)tableEnd && end > (ulong)tableStart)
            {
                throw new ElfFormatException(at + 24, $"section {index} (offset 0x{offset:x}, size {size}) overlaps the section header table");
            }
        }

        return new RawSection(U32(header, 0), type, flags, (long)offset, (long)size, link, info, alignment, entrySize, at);
    }

    private static ElfSymbol[] ReadSymbols(ElfSection table, ElfSection[] sections)
    {
        if (table.EntrySize != SymbolSize)
        {
            throw new ElfFormatException(table.HeaderOffset + 56, $"symbol table entry size is {table.EntrySize}, expected {SymbolSize}");
        }

        if (table.Size % SymbolSize != 0)
        {
            throw new ElfFormatException(table.HeaderOffset + 32, $"symbol table is {table.Size} bytes, not a whole number of {SymbolSize}-byte symbols");
        }

        if (table.Link == 0 || table.Link >= (uint)sections.Length || sections[table.Link].Type != ElfSectionType.StringTable)
        {
            throw new ElfFormatException(table.HeaderOffset + 40, $"symbol table links to section {table.Link}, which is not a string table");
        }

        var strings = sections[table.Link];
        var stringBytes = strings.Data.Span;
        var span = table.Data.Span;
        var symbols = new ElfSymbol[span.Length / SymbolSize];
        for (int i = 0; i < symbols.Length; i++)
        {
            var entry = span.Slice(i * SymbolSize, SymbolSize);
            long at = table.FileOffset + ((long)i * SymbolSize);
            uint nameOffset = U32(entry, 0);
            byte info = entry[4];
            byte other = entry[5];
            ushort sectionIndex = U16(entry, 6);
            ulong value = U64(entry, 8);
            ulong size = U64(entry, 16);
            if (sectionIndex == ShnXIndex)
            {
                throw new ElfFormatException(at + 6, $"symbol {i} uses an extended section index (SHN_XINDEX), which is not supported");
            }

            if (sectionIndex != ElfSpecialSection.Undefined && sectionIndex < ElfSpecialSection.LowReserve && sectionIndex >= sections.Length)
            {
                throw new ElfFormatException(at + 6, $"symbol {i} is in section {sectionIndex}, but there are only {sections.Length} sections");
            }

            if (sectionIndex >= ElfSpecialSection.LowReserve && sectionIndex is not (ElfSpecialSection.Absolute or ElfSpecialSection.Common))
            {
                throw new ElfFormatException(at + 6, $"symbol {i} has reserved section index 0x{sectionIndex:x}, which is not supported");
            }

            string name = nameOffset == 0 ? string.Empty : ReadString(stringBytes, nameOffset, strings.FileOffset, at, $"name of symbol {i}");
            symbols[i] = new ElfSymbol(i, name, value, size, (ElfSymbolType)(info & 0xf), (ElfSymbolBinding)(info >> 4), (byte)(other & 3), sectionIndex, at);
        }

        return symbols;
    }

    private static string ReadString(ReadOnlySpan<byte> table, uint offset, long tableFileOffset, long referrerOffset, string what)
    {
        if (offset >= (uint)table.Length)
        {
            throw new ElfFormatException(referrerOffset, $"{what}: string offset {offset} is past the end of the string table at 0x{tableFileOffset:x} ({table.Length} bytes)");
        }

        var rest = table[(int)offset..];
        int length = rest.IndexOf((byte)0);
        if (length < 0)
        {
            throw new ElfFormatException(tableFileOffset + offset, $"{what}: string is not NUL-terminated before the end of its string table");
        }

        return length == 0 ? string.Empty : Encoding.UTF8.GetString(rest[..length]);
    }

    private static ushort U16(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt16LittleEndian(s[at..]);

    private static uint U32(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt32LittleEndian(s[at..]);

    private static ulong U64(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt64LittleEndian(s[at..]);
}
