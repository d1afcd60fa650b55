using SharpBpf.Runtime;
using SharpBpf.Runtime.Helpers;

namespace SharpBpf.Hosting;

/// <summary>Which engine runs an object's programs.</summary>
public enum EngineKind
{
    /// <summary>The interpreter (<see cref="Interpreter"/>).</summary>
    Interpreter,
    /// <summary>The JIT (<see cref="Jit.JittedProgram"/>), compiling each program to IL once.</summary>
    Jit,
}

/// <summary>How a <see cref="VmObject"/> is set up.</summary>
public sealed record VmObjectOptions
{
    /// <summary>The engine (the interpreter by default).</summary>
    public EngineKind Engine { get; init; } = EngineKind.Interpreter;

    /// <summary>
    /// Whether each program is verified (<see cref="Verification.Verifier"/>, for its program type and the object's
    /// maps) before it is prepared; the verdict is <see cref="VmProgram.Verification"/>. On by default. A rejected
    /// program is still prepared, in checked mode (the VM stays memory-safe); callers that want the kernel's refusal
    /// look at the verdict.
    /// </summary>
    public bool Verify { get; init; } = true;

    /// <summary>
    /// Checked (the default) or unchecked. Unchecked applies to the programs the verifier accepted (it needs
    /// <see cref="Verify"/>): their proven stack, map value and, for packet programs, context and packet accesses run
    /// without region checks. Programs the verifier rejected run checked.
    /// </summary>
    public SafetyMode Safety { get; init; } = SafetyMode.Checked;

    /// <summary>
    /// The number of per-CPU slots of per-CPU maps, and the most programs that run at once: a run holds one slot
    /// (its CPU number) for its whole duration, as a kernel program holds its CPU. The host's processor count by default.
    /// </summary>
    public int PossibleCpus { get; init; } = Environment.ProcessorCount;

    /// <summary>The most memory the object's maps may preallocate.</summary>
    public long MaxMapMemoryBytes { get; init; } = 1L << 30;

    /// <summary>How many instructions one run may execute.</summary>
    public long InstructionBudget { get; init; } = BpfExecutionContext.DefaultInstructionBudget;

    /// <summary>
    /// What the kernel helpers report (clocks, "current", randomness, <c>bpf_csum_diff</c> semantics). The
    /// <see cref="HelperOptions.TraceLog"/> given here receives <c>bpf_trace_printk</c> output; when it is null the
    /// object creates its own (<see cref="VmObject.TraceLog"/>).
    /// </summary>
    public HelperOptions? Helpers { get; init; }

    /// <summary>
    /// The kernel BTF that CO-RE relocations are applied against, so programs see that kernel's struct layouts; null
    /// means the running kernel's (<c>/sys/kernel/btf/vmlinux</c>) where there is one. Objects without CO-RE records
    /// ignore it; programs of an object with records and no target cannot be prepared.
    /// </summary>
    public Btf.BtfSpec? CoreTarget { get; init; }

    /// <summary>The size of each per-CPU buffer of perf event arrays, in bytes.</summary>
    public int PerfBufferBytes { get; init; } = 256 * 1024;
}
