namespace SharpBpf.Objects;

/// <summary>What a relocation in a program's code refers to.</summary>
public enum ProgramRelocationKind
{
    /// <summary>An <c>lddw</c> of a map: rewritten to <c>src=1</c> (BPF_PSEUDO_MAP_FD) with the map index in <c>imm</c>.</summary>
    MapReference,
    /// <summary>
    /// An <c>lddw</c> of an address in a global data section: rewritten to <c>src=2</c> (BPF_PSEUDO_MAP_VALUE) with the
    /// map index in the first slot's <c>imm</c> and the offset in the section in the second slot's <c>imm</c>.
    /// </summary>
    MapValue,
    /// <summary>A bpf-to-bpf call (<c>call src=1</c>): <c>imm</c> was adjusted to the callee's appended position.</summary>
    SubprogramCall,
    /// <summary>An <c>lddw src=4</c> (BPF_PSEUDO_FUNC) function pointer: <c>imm</c> was adjusted like a call.</summary>
    SubprogramAddress,
    /// <summary>A call to a function not defined in the object (a kfunc or an unresolved helper); left as is for the host to resolve.</summary>
    ExternCall,
    /// <summary>An <c>lddw</c> of a variable not defined in the object (<c>__kconfig</c> or <c>__ksym</c>); left as is.</summary>
    ExternLoad,
}

/// <summary>One relocation applied to (or still pending in) a program's instructions.</summary>
/// <param name="InstructionIndex">The index in <see cref="ObjectProgram.Instructions"/> of the relocated instruction.</param>
/// <param name="Kind">What the relocation refers to.</param>
/// <param name="SymbolName">The symbol the relocation names (a map, a section, a function, an extern).</param>
/// <param name="MapIndex">For <see cref="ProgramRelocationKind.MapReference"/> and <see cref="ProgramRelocationKind.MapValue"/>: the index in <see cref="BpfObject.Maps"/>; else -1.</param>
/// <param name="ValueOffset">For <see cref="ProgramRelocationKind.MapValue"/>: the byte offset in the data section; for subprogram relocations the instruction index of the target; else 0.</param>
/// <param name="SectionName">The name of the code section the relocation entry applies to.</param>
/// <param name="SectionOffset">The relocation's <c>r_offset</c>: the instruction's byte offset in that section.</param>
/// <param name="FunctionName">The name of the function (the program itself or an appended subprogram) the instruction belongs to.</param>
/// <param name="FromElfRelocation">True when an ELF relocation entry asked for this; false for calls within one section, which need none.</param>
public sealed record ProgramRelocation(
    int InstructionIndex,
    ProgramRelocationKind Kind,
    string SymbolName,
    int MapIndex,
    long ValueOffset,
    string SectionName,
    ulong SectionOffset,
    string FunctionName,
    bool FromElfRelocation = true);
