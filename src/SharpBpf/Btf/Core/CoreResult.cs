using SharpBpf.Isa;
using SharpBpf.Objects;

namespace SharpBpf.Btf.Core;

/// <summary>What happened to one CO-RE relocation.</summary>
public enum CoreRelocationOutcome
{
    /// <summary>The instruction was patched with the target's value (possibly the same value).</summary>
    Patched,

    /// <summary>
    /// No candidate satisfied the relocation: the instruction was replaced by a call to the invalid helper
    /// <c>0xbad2310</c>, so the program fails verification only if that path can run (libbpf's poisoning).
    /// </summary>
    Poisoned,

    /// <summary>The relocation could not be computed or applied; libbpf refuses to load the object.</summary>
    Failed,

    /// <summary>The relocation's instruction belongs to no function of the object (libbpf skips it).</summary>
    Skipped,
}

/// <summary>A target type considered for a relocation.</summary>
/// <param name="TypeId">The candidate's id in the target BTF.</param>
/// <param name="Spec">The candidate's spec as far as matching got, in libbpf's log format.</param>
/// <param name="Matched">Whether the local access matched this candidate.</param>
public sealed record CoreCandidate(int TypeId, string Spec, bool Matched);

/// <summary>The result of one CO-RE relocation record against one target.</summary>
public sealed record CoreRelocationReport
{
    /// <summary>The ELF section the record belongs to.</summary>
    public required string SectionName { get; init; }

    /// <summary>The record's index within its section (libbpf's <c>relo #N</c>).</summary>
    public required int Index { get; init; }

    /// <summary>The function (program or subprogram) holding the instruction; libbpf logs it as the program.</summary>
    public required string FunctionName { get; init; }

    /// <summary>The instruction's index within <see cref="FunctionName"/> (libbpf's <c>insn #I</c>).</summary>
    public required int InstructionIndex { get; init; }

    /// <summary>The relocation kind.</summary>
    public required BtfCoreRelocationKind Kind { get; init; }

    /// <summary>The kind as libbpf names it (<c>byte_off</c>, <c>field_exists</c>, <c>enumval_value</c>...).</summary>
    public string KindName => CoreSpec.KindName(Kind);

    /// <summary>The raw access string, like <c>0:1:2</c>.</summary>
    public required string AccessString { get; init; }

    /// <summary>The local root type id.</summary>
    public required int LocalTypeId { get; init; }

    /// <summary>The local spec in libbpf's format (<c>&lt;byte_off&gt; [23] struct task_struct.pid (0:2 @ offset 8)</c>), or empty when it could not be parsed.</summary>
    public required string LocalSpec { get; init; }

    /// <summary>The candidates tried, in order.</summary>
    public required IReadOnlyList<CoreCandidate> Candidates { get; init; }

    /// <summary>What happened.</summary>
    public required CoreRelocationOutcome Outcome { get; init; }

    /// <summary>The value the compiler expected (from the local BTF).</summary>
    public ulong OriginalValue { get; init; }

    /// <summary>The value for the target.</summary>
    public ulong NewValue { get; init; }

    /// <summary>For a load/store whose field changed size, the old and new access sizes in bytes; else 0.</summary>
    public (uint Original, uint New) MemorySize { get; init; }

    /// <summary>Why the relocation was poisoned, failed or skipped; null when patched.</summary>
    public string? Reason { get; init; }

    /// <summary>The debug lines libbpf prints for this relocation, in its format (without the <c>libbpf: </c> prefix).</summary>
    public required IReadOnlyList<string> Log { get; init; }
}

/// <summary>A relocation as applied to one linked program.</summary>
/// <param name="InstructionIndex">The index in the program's linked instructions.</param>
/// <param name="Report">The relocation.</param>
public sealed record CoreProgramRelocation(int InstructionIndex, CoreRelocationReport Report);

/// <summary>One program of an object after CO-RE relocation against one target.</summary>
public sealed class CoreProgramResult
{
    internal CoreProgramResult(ObjectProgram program, Instruction[] instructions, IReadOnlyList<CoreProgramRelocation> relocations)
    {
        Program = program;
        Instructions = instructions;
        Relocations = relocations;
    }

    /// <summary>The program as linked from the object (its own instructions are left unchanged).</summary>
    public ObjectProgram Program { get; }

    /// <summary>The program's name.</summary>
    public string Name => Program.Name;

    /// <summary>The relocated instructions (a copy of the linked program's, patched).</summary>
    public Instruction[] Instructions { get; }

    /// <summary>Every relocation of the program's own code and of its appended subprograms.</summary>
    public IReadOnlyList<CoreProgramRelocation> Relocations { get; }

    /// <summary>Whether no relocation failed (poisoned ones do not count: they only fail if reached).</summary>
    public bool Succeeded => Relocations.All(r => r.Report.Outcome != CoreRelocationOutcome.Failed);

    /// <summary>The number of poisoned instructions.</summary>
    public int PoisonedCount => Relocations.Count(r => r.Report.Outcome == CoreRelocationOutcome.Poisoned);

    /// <summary>The relocated code as a validated <see cref="BpfProgram"/> (structural checks only).</summary>
    /// <exception cref="BpfException">The code is structurally invalid.</exception>
    public BpfProgram ToBpfProgram() => BpfProgram.Create(Instructions, Name);
}

/// <summary>The result of relocating an object against one target BTF.</summary>
public sealed class CoreResult
{
    internal CoreResult(string targetName, BtfSpec target, IReadOnlyList<CoreRelocationReport> relocations, IReadOnlyList<CoreProgramResult> programs)
    {
        TargetName = targetName;
        Target = target;
        Relocations = relocations;
        Programs = programs;
    }

    /// <summary>A name for the target (a file name, or <c>vmlinux</c>).</summary>
    public string TargetName { get; }

    /// <summary>The target BTF.</summary>
    public BtfSpec Target { get; }

    /// <summary>Every CO-RE record of the object, in the order libbpf processes them (section, then record).</summary>
    public IReadOnlyList<CoreRelocationReport> Relocations { get; }

    /// <summary>The object's programs, relocated.</summary>
    public IReadOnlyList<CoreProgramResult> Programs { get; }

    /// <summary>Whether libbpf would accept the object: no relocation failed.</summary>
    public bool Succeeded => Relocations.All(r => r.Outcome != CoreRelocationOutcome.Failed);

    /// <summary>The program with this name, or null.</summary>
    public CoreProgramResult? FindProgram(string name) => Programs.FirstOrDefault(p => p.Name == name);
}
