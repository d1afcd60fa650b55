namespace SharpBpf.Btf;

/// <summary>The kind of a BTF type record (the <c>BTF_KIND_*</c> values of <c>include/uapi/linux/btf.h</c>).</summary>
public enum BtfKind : byte
{
    /// <summary>Kind 0: only type id 0, <c>void</c>, has it; a record may not.</summary>
    Void = 0,
    /// <summary>An integer, <c>char</c> or <c>_Bool</c>.</summary>
    Int = 1,
    /// <summary>A pointer.</summary>
    Pointer = 2,
    /// <summary>An array with a fixed number of elements.</summary>
    Array = 3,
    /// <summary>A struct.</summary>
    Struct = 4,
    /// <summary>A union.</summary>
    Union = 5,
    /// <summary>An enum with 32-bit values.</summary>
    Enum = 6,
    /// <summary>A forward declaration of a struct (or of a union when the kind flag is set).</summary>
    Forward = 7,
    /// <summary>A typedef.</summary>
    Typedef = 8,
    /// <summary>The <c>volatile</c> qualifier.</summary>
    Volatile = 9,
    /// <summary>The <c>const</c> qualifier.</summary>
    Const = 10,
    /// <summary>The <c>restrict</c> qualifier.</summary>
    Restrict = 11,
    /// <summary>A function (a name and a linkage for a <see cref="FunctionProto"/>).</summary>
    Function = 12,
    /// <summary>A function signature: return type and parameters.</summary>
    FunctionProto = 13,
    /// <summary>A global or static variable.</summary>
    Variable = 14,
    /// <summary>A data section (<c>.data</c>, <c>.bss</c>, <c>.maps</c>...) listing its variables.</summary>
    DataSection = 15,
    /// <summary>A floating-point type.</summary>
    Float = 16,
    /// <summary>A <c>btf_decl_tag</c> attribute on a declaration or one of its members/parameters.</summary>
    DeclTag = 17,
    /// <summary>A <c>btf_type_tag</c> attribute on a type (like a qualifier).</summary>
    TypeTag = 18,
    /// <summary>An enum with 64-bit values.</summary>
    Enum64 = 19,
}

/// <summary>The encoding bits of an integer type (only one may be set).</summary>
[Flags]
public enum BtfIntEncoding : byte
{
    /// <summary>Unsigned, not a character, not a boolean.</summary>
    None = 0,
    /// <summary>Signed.</summary>
    Signed = 1,
    /// <summary>A character type (used for pretty-printing).</summary>
    Char = 2,
    /// <summary>A boolean.</summary>
    Bool = 4,
}

/// <summary>The linkage of a <see cref="BtfKind.Function"/> (stored in its vlen).</summary>
public enum BtfFunctionLinkage
{
    /// <summary>A static function.</summary>
    Static = 0,
    /// <summary>A global function.</summary>
    Global = 1,
    /// <summary>An extern function (libbpf only; the kernel rejects it).</summary>
    Extern = 2,
}

/// <summary>The linkage of a <see cref="BtfKind.Variable"/>.</summary>
public enum BtfVariableLinkage
{
    /// <summary>A static variable.</summary>
    Static = 0,
    /// <summary>A global variable with storage.</summary>
    GlobalAllocated = 1,
    /// <summary>An extern variable (libbpf only; the kernel rejects it).</summary>
    GlobalExtern = 2,
}
