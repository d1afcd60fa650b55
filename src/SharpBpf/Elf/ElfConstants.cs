namespace SharpBpf.Elf;

/// <summary>Section types (<c>sh_type</c>) that matter to BPF objects.</summary>
public enum ElfSectionType : uint
{
    /// <summary>An unused section header (index 0).</summary>
    Null = 0,
    /// <summary>Bytes defined by the program: code or data.</summary>
    ProgBits = 1,
    /// <summary>A symbol table.</summary>
    SymbolTable = 2,
    /// <summary>A string table.</summary>
    StringTable = 3,
    /// <summary>Relocations with explicit addends.</summary>
    RelocationsWithAddends = 4,
    /// <summary>A note.</summary>
    Note = 7,
    /// <summary>Zero-initialised data that occupies no file space (<c>.bss</c>).</summary>
    NoBits = 8,
    /// <summary>Relocations without addends.</summary>
    Relocations = 9,
    /// <summary>Extended section indexes of symbols.</summary>
    SymbolTableSectionIndexes = 18,
    /// <summary>LLVM's address-significance table.</summary>
    LlvmAddrsig = 0x6fff4c03,
}

/// <summary>Section flags (<c>sh_flags</c>).</summary>
[Flags]
public enum ElfSectionFlags : ulong
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>Writable at run time.</summary>
    Write = 0x1,
    /// <summary>Occupies memory at run time.</summary>
    Alloc = 0x2,
    /// <summary>Holds executable instructions.</summary>
    Execute = 0x4,
    /// <summary>Mergeable.</summary>
    Merge = 0x10,
    /// <summary>Holds NUL-terminated strings.</summary>
    Strings = 0x20,
    /// <summary><c>sh_info</c> holds a section index.</summary>
    InfoLink = 0x40,
}

/// <summary>Symbol types (low four bits of <c>st_info</c>).</summary>
public enum ElfSymbolType : byte
{
    /// <summary>Unspecified (old compilers used it for programs and maps).</summary>
    NoType = 0,
    /// <summary>A data object (a map definition, a global variable).</summary>
    Object = 1,
    /// <summary>A function.</summary>
    Function = 2,
    /// <summary>A section.</summary>
    Section = 3,
    /// <summary>A source file name.</summary>
    File = 4,
}

/// <summary>Symbol bindings (high four bits of <c>st_info</c>).</summary>
public enum ElfSymbolBinding : byte
{
    /// <summary>Visible only in this object.</summary>
    Local = 0,
    /// <summary>Visible to other objects.</summary>
    Global = 1,
    /// <summary>Global with lower precedence.</summary>
    Weak = 2,
}

/// <summary>BPF relocation types (<c>ELF64_R_TYPE</c>), as defined by LLVM and libbpf.</summary>
public enum BpfRelocationType : uint
{
    /// <summary>No relocation; very old LLVM releases emitted it for map loads, and it is read as <see cref="Bpf64_64"/>.</summary>
    None = 0,
    /// <summary>The 64-bit immediate of an <c>lddw</c> (maps, global data, function addresses).</summary>
    Bpf64_64 = 1,
    /// <summary>A 64-bit absolute value in data (DWARF, BTF, <c>.maps</c> initialisers).</summary>
    Bpf64Abs64 = 2,
    /// <summary>A 32-bit absolute value in data.</summary>
    Bpf64Abs32 = 3,
    /// <summary>A 32-bit value in data that a dynamic linker must not touch (BTF.ext).</summary>
    Bpf64NoDyld32 = 4,
    /// <summary>The immediate of a call instruction (bpf-to-bpf calls, kfuncs).</summary>
    Bpf64_32 = 10,
}

/// <summary>Reserved section indexes in symbols.</summary>
public static class ElfSpecialSection
{
    /// <summary>An undefined symbol (an extern).</summary>
    public const ushort Undefined = 0;
    /// <summary>The start of the reserved range.</summary>
    public const ushort LowReserve = 0xff00;
    /// <summary>An absolute value.</summary>
    public const ushort Absolute = 0xfff1;
    /// <summary>A common (unallocated) symbol.</summary>
    public const ushort Common = 0xfff2;
    /// <summary>The real index is in an extended index table.</summary>
    public const ushort ExtendedIndex = 0xffff;
}
