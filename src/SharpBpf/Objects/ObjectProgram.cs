using SharpBpf.Isa;

namespace SharpBpf.Objects;

/// <summary>A subprogram appended to a program's code, and where it starts.</summary>
/// <param name="Name">The subprogram's symbol name.</param>
/// <param name="SectionName">The section it came from (normally <c>.text</c>).</param>
/// <param name="StartIndex">The index of its first instruction in the program.</param>
/// <param name="InstructionCount">Its length in instructions.</param>
public sealed record AppendedSubprogram(string Name, string SectionName, int StartIndex, int InstructionCount);

/// <summary>
/// One entry-point program of an object, linked as libbpf links it: its own code first, then every subprogram it
/// reaches through bpf-to-bpf calls or function pointers, with call immediates adjusted and map/data loads rewritten.
/// </summary>
public sealed class ObjectProgram
{
    private readonly Instruction[] _instructions;

    internal ObjectProgram(string name, ProgramSection section, int sectionIndex, ulong sectionOffset, int ownInstructionCount,
        Instruction[] instructions, IReadOnlyList<ProgramRelocation> relocations, IReadOnlyList<AppendedSubprogram> subprograms, bool isGlobal)
    {
        Name = name;
        Section = section;
        SectionIndex = sectionIndex;
        SectionOffset = sectionOffset;
        OwnInstructionCount = ownInstructionCount;
        _instructions = instructions;
        Relocations = relocations;
        Subprograms = subprograms;
        IsGlobal = isGlobal;
    }

    /// <summary>The program's name: its function symbol, or for old objects without function symbols the first global symbol of the section (else the section name).</summary>
    public string Name { get; }

    /// <summary>The ELF section name (libbpf's <c>SEC()</c>).</summary>
    public string SectionName => Section.SectionName;

    /// <summary>What the section name says about the program: type, expected attach type, target.</summary>
    public ProgramSection Section { get; }

    /// <summary>The program type implied by the section name.</summary>
    public ProgramType Type => Section.ProgramType;

    /// <summary>The expected attach type implied by the section name, or null.</summary>
    public AttachType? ExpectedAttachType => Section.ExpectedAttachType;

    /// <summary>The index of the ELF section.</summary>
    public int SectionIndex { get; }

    /// <summary>The byte offset of the program's first instruction in its section.</summary>
    public ulong SectionOffset { get; }

    /// <summary>The number of instructions of the program's own code (before any appended subprogram).</summary>
    public int OwnInstructionCount { get; }

    /// <summary>Whether the function symbol is global (static functions in program sections are also accepted).</summary>
    public bool IsGlobal { get; }

    /// <summary>The linked instructions: own code followed by appended subprograms. The array belongs to this program.</summary>
    public Instruction[] Instructions => _instructions;

    /// <summary>The relocations applied to (or pending in) <see cref="Instructions"/>, by instruction index.</summary>
    public IReadOnlyList<ProgramRelocation> Relocations { get; }

    /// <summary>The subprograms appended after the program's own code, in order.</summary>
    public IReadOnlyList<AppendedSubprogram> Subprograms { get; }

    /// <summary>The linked code as a validated <see cref="BpfProgram"/> (structural checks only).</summary>
    /// <exception cref="BpfException">The code is structurally invalid.</exception>
    public BpfProgram ToBpfProgram() => BpfProgram.Create(_instructions, Name);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} (SEC(\"{SectionName}\"), {Type}, {_instructions.Length} instructions)";
}
