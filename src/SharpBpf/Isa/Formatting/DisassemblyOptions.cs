namespace SharpBpf.Isa.Formatting;

/// <summary>How <see cref="Disassembler.Disassemble"/> shows the targets of jumps.</summary>
public enum JumpTargetStyle
{
    /// <summary>The relative offset only, as encoded: <c>goto +0x2</c>, <c>ja +2</c>.</summary>
    Offset,

    /// <summary>
    /// The relative offset followed by the target as llvm-objdump annotates it, relative to
    /// <see cref="DisassemblyOptions.SymbolName"/>: <c>goto +0x2 &lt;.text+0x18&gt;</c>.
    /// Jumps are annotated; in the uBPF syntax so are local calls, whose target is relative too.
    /// </summary>
    SymbolOffset,

    /// <summary>
    /// Targets inside the program become labels (<c>L12</c>, named after the target's slot
    /// index) that are printed on their own line before the target instruction; targets
    /// outside the program, or into the middle of an <c>lddw</c>, stay numeric. In the uBPF
    /// syntax the targets of local calls are labelled too (<c>call local L7</c>).
    /// </summary>
    Labels,
}

/// <summary>Options for <see cref="Disassembler.Disassemble"/>.</summary>
public sealed record DisassemblyOptions
{
    /// <summary>The assembly dialect of the instruction text. Defaults to LLVM's.</summary>
    public AssemblySyntax Syntax { get; init; } = AssemblySyntax.Llvm;

    /// <summary>
    /// Whether each line starts with the slot index, right-aligned in 8 columns and followed by
    /// a colon, as llvm-objdump prints it for BPF. Defaults to true.
    /// </summary>
    public bool ShowAddresses { get; init; } = true;

    /// <summary>Whether each line shows the instruction's bytes in hex (16 bytes for <c>lddw</c>). Defaults to true.</summary>
    public bool ShowRawBytes { get; init; } = true;

    /// <summary>
    /// Whether runs of 8 or more zero bytes at an instruction boundary collapse into one
    /// <c>...</c> line, as llvm-objdump does unless given <c>--disassemble-zeroes</c>. It skips a
    /// multiple of 4 bytes, so a run of 12 zero bytes leaves the listing half a slot out of step,
    /// exactly as in llvm-objdump. Defaults to true; turn it off to see every slot.
    /// </summary>
    public bool SkipZeroBlocks { get; init; } = true;

    /// <summary>How jump targets are shown. Defaults to <see cref="JumpTargetStyle.Offset"/>.</summary>
    public JumpTargetStyle JumpTargets { get; init; } = JumpTargetStyle.Offset;

    /// <summary>
    /// The symbol that <see cref="JumpTargetStyle.SymbolOffset"/> annotations are relative to;
    /// the program is taken to start at it. Defaults to <c>.text</c>, what llvm-objdump shows
    /// for a section without function symbols.
    /// </summary>
    public string SymbolName { get; init; } = ".text";

    /// <summary>The default options: LLVM syntax with addresses and bytes, like <c>llvm-objdump -d</c>.</summary>
    public static DisassemblyOptions Default { get; } = new();
}
