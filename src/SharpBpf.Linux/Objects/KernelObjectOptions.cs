using SharpBpf.Isa;
using SharpBpf.Objects;

namespace SharpBpf.Linux.Objects;

/// <summary>
/// A step that rewrites a program's instructions before it goes to the kernel, such as CO-RE relocation against the
/// running kernel's BTF. It receives the linked instructions with map references still as map indexes (src 1 and 2,
/// imm = index in <see cref="BpfObject.Maps"/>) and returns the instructions to load, of the same length.
/// </summary>
/// <param name="bpfObject">The object the program comes from.</param>
/// <param name="program">The program.</param>
/// <param name="instructions">A private copy of the program's instructions, which the step may modify and return.</param>
/// <returns>The instructions to load.</returns>
public delegate Instruction[] ProgramPatcher(BpfObject bpfObject, ObjectProgram program, Instruction[] instructions);

/// <summary>How <see cref="KernelObject.Load(BpfObject, KernelObjectOptions?)"/> loads an object.</summary>
public sealed class KernelObjectOptions
{
    /// <summary>
    /// The object's name, used as the prefix of global data map names as libbpf does (<c>xdp_fire.rodata</c>: the
    /// first 8 characters, then the section name). Null uses the file name without extension when loading a file,
    /// else "obj".
    /// </summary>
    public string? ObjectName { get; init; }

    /// <summary>Whether to load the object's BTF and use it for maps and func/line info (when the kernel accepts it).</summary>
    public bool LoadBtf { get; init; } = true;

    /// <summary>The verifier log level for every program (0: a log only on failure).</summary>
    public uint LogLevel { get; init; }

    /// <summary>Program-load flags added to every program's (BPF_F_STRICT_ALIGNMENT...), beside those its section implies.</summary>
    public ProgramLoadFlags ExtraProgramFlags { get; init; }

    /// <summary>
    /// Called with each program and its complete BPF_PROG_LOAD request just before the load (benchmarks replay the
    /// loads; the descriptors in the request live as long as the loaded object).
    /// </summary>
    public Action<ObjectProgram, ProgramLoadOptions>? ProgramLoadObserver { get; init; }

    /// <summary>An optional rewriting step applied to each program before its map references are resolved (CO-RE).</summary>
    public ProgramPatcher? Patcher { get; init; }

    /// <summary>
    /// When set, only programs whose name is in this set are loaded; others are reported as skipped. Null loads every
    /// program that the section name does not mark as not auto-loaded (<c>SEC("?...")</c>).
    /// </summary>
    public IReadOnlySet<string>? Programs { get; init; }

    /// <summary>
    /// The program type for programs whose section name does not say one (old loaders' conventions such as Cilium's
    /// <c>from-netdev</c>); null refuses them with an error naming the program.
    /// </summary>
    public ProgramType? FallbackProgramType { get; init; }

    /// <summary>
    /// When false (the default), the first program the kernel refuses makes the whole load fail with a
    /// <see cref="KernelObjectException"/>; when true, failures are recorded per program in
    /// <see cref="KernelObjectProgram.Error"/> and loading goes on.
    /// </summary>
    public bool ContinueOnProgramFailure { get; init; }

    /// <summary>
    /// The bpffs directory where maps declared with <c>__uint(pinning, LIBBPF_PIN_BY_NAME)</c> are pinned by name and,
    /// when already there, reused. Null uses <see cref="BpfFileSystem.DefaultMountPoint"/>.
    /// </summary>
    public string? PinRoot { get; init; }
}
