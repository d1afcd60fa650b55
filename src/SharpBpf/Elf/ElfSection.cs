namespace SharpBpf.Elf;

/// <summary>One validated section header and a view of its bytes.</summary>
/// <param name="Index">The section's index in the section header table.</param>
/// <param name="Name">The section name from the section header string table.</param>
/// <param name="Type">The section type.</param>
/// <param name="Flags">The section flags.</param>
/// <param name="FileOffset">Where the section's bytes start in the file.</param>
/// <param name="Size">The section size in bytes (for <see cref="ElfSectionType.NoBits"/>, the size it occupies in memory).</param>
/// <param name="Link">The <c>sh_link</c> field (for symbol tables: the string table; for relocations: the symbol table).</param>
/// <param name="Info">The <c>sh_info</c> field (for relocations: the section they apply to).</param>
/// <param name="Alignment">The required alignment.</param>
/// <param name="EntrySize">The size of one entry for tables, else 0.</param>
/// <param name="HeaderOffset">Where the section header itself is in the file (for error messages).</param>
/// <param name="Data">The section's bytes (empty for <see cref="ElfSectionType.NoBits"/>); a slice of the file, not a copy.</param>
public sealed record ElfSection(
    int Index,
    string Name,
    ElfSectionType Type,
    ElfSectionFlags Flags,
    long FileOffset,
    long Size,
    uint Link,
    uint Info,
    ulong Alignment,
    ulong EntrySize,
    long HeaderOffset,
    ReadOnlyMemory<byte> Data)
{
    /// <summary>Whether the section holds executable code.</summary>
    public bool IsExecutable => Type == ElfSectionType.ProgBits && (Flags & ElfSectionFlags.Execute) != 0;

    /// <summary>Whether the section holds relocations (with or without addends).</summary>
    public bool IsRelocationTable => Type is ElfSectionType.Relocations or ElfSectionType.RelocationsWithAddends;

    /// <inheritdoc/>
    public override string ToString() => $"[{Index}] {Name} ({Type}, {Size} bytes)";
}

/// <summary>One validated symbol.</summary>
/// <param name="Index">The symbol's index in the symbol table.</param>
/// <param name="Name">The symbol name (empty for unnamed symbols).</param>
/// <param name="Value">The symbol value: for defined symbols in relocatable objects, the offset in its section.</param>
/// <param name="Size">The symbol size in bytes (0 when unknown).</param>
/// <param name="Type">The symbol type.</param>
/// <param name="Binding">The symbol binding.</param>
/// <param name="Visibility">The symbol visibility (<c>st_other &amp; 3</c>).</param>
/// <param name="SectionIndex">The index of the section the symbol is defined in, or one of <see cref="ElfSpecialSection"/>.</param>
/// <param name="FileOffset">Where the symbol entry is in the file (for error messages).</param>
public readonly record struct ElfSymbol(
    int Index,
    string Name,
    ulong Value,
    ulong Size,
    ElfSymbolType Type,
    ElfSymbolBinding Binding,
    byte Visibility,
    ushort SectionIndex,
    long FileOffset)
{
    /// <summary>Whether the symbol is undefined in this object (an extern).</summary>
    public bool IsUndefined => SectionIndex == ElfSpecialSection.Undefined;

    /// <summary>Whether the symbol is defined in a real section (not undefined, absolute or common).</summary>
    public bool IsInSection => SectionIndex != ElfSpecialSection.Undefined && SectionIndex < ElfSpecialSection.LowReserve;
}

/// <summary>One validated relocation entry.</summary>
/// <param name="Offset">The byte offset in the target section that the relocation patches.</param>
/// <param name="SymbolIndex">The index of the symbol the relocation refers to.</param>
/// <param name="Type">The relocation type.</param>
/// <param name="Addend">The explicit addend (<c>RELA</c> sections) or 0 (<c>REL</c> sections, whose addend is in the patched bytes).</param>
/// <param name="FileOffset">Where the relocation entry is in the file (for error messages).</param>
public readonly record struct ElfRelocation(ulong Offset, int SymbolIndex, BpfRelocationType Type, long Addend, long FileOffset);
