namespace SharpBpf.Isa;

/// <summary>The textual assembly dialects SharpBPF reads and writes.</summary>
public enum AssemblySyntax
{
    /// <summary>
    /// The C-like syntax of LLVM (<c>llvm-objdump -d</c>, <c>llvm-mc</c>, clang inline assembly):
    /// <c>r0 = 0x0</c>, <c>if r1 s&gt; w2 goto +0x2</c>, <c>r1 = *(u64 *)(r10 - 0x8)</c>.
    /// </summary>
    Llvm,

    /// <summary>
    /// The mnemonic syntax of uBPF and the bpf_conformance test suite:
    /// <c>mov32 %r0, 0</c>, <c>jeq %r1, 5, +2</c>, <c>ldxdw %r0, [%r10-8]</c>.
    /// </summary>
    Ubpf,
}
