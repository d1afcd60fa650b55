namespace SharpBpf.Isa;

/// <summary>The textual dialects of BPF assembly that SharpBPF reads and writes.</summary>
public enum AssemblySyntax
{
    /// <summary>
    /// The C-like syntax printed by <c>llvm-objdump -d</c>, accepted by <c>llvm-mc</c> and printed
    /// (with an opcode prefix) by <c>bpftool prog dump xlated</c>: <c>r0 = *(u32 *)(r1 + 0x8)</c>.
    /// </summary>
    Llvm,

    /// <summary>
    /// The mnemonic syntax of uBPF and the <c>bpf_conformance</c> test suite:
    /// <c>ldxw %r0, [%r1+8]</c>.
    /// </summary>
    Ubpf,
}
