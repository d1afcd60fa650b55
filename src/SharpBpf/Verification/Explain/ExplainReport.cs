using SharpBpf.Isa;

namespace SharpBpf.Verification.Explain;

/// <summary>One instruction of the explained program.</summary>
/// <param name="Pc">Its index.</param>
/// <param name="Text">As the kernel's log prints it: <c>(b7) r0 = 0</c>.</param>
/// <param name="Instruction">The instruction (from a kernel log: rebuilt from the text; default when the text could not be read).</param>
/// <param name="Source">Its C source line, when known.</param>
public sealed record ExplainInstruction(int Pc, string Text, Instruction Instruction, SourceLine? Source);

/// <summary>One entry of a state: a register or a stack slot of a frame, as the log prints it.</summary>
/// <param name="Frame">The frame number (0 for the program's main function).</param>
/// <param name="Slot">The register (<c>R1</c>), stack slot (<c>fp-8</c>) or <c>refs</c>.</param>
/// <param name="Text">Its value: <c>ctx()</c>, <c>scalar(umax=255,var_off=(0x0; 0xff))</c>, <c>mmmmmmmm</c>...</param>
public sealed record ExplainValue(int Frame, string Slot, string Text)
{
    /// <inheritdoc/>
    public override string ToString() => (Frame != 0 ? $"frame{Frame}: " : "") + Slot + (Text.Length > 0 ? "=" + Text : "");
}

/// <summary>How a visit of an instruction ended.</summary>
public enum ExplainVisitKind
{
    /// <summary>The instruction was checked from this state.</summary>
    Checked,
    /// <summary>The state was found equivalent to one already proven safe there: the path stopped (the log's <c>safe</c>).</summary>
    Pruned,
}

/// <summary>The verifier at an instruction, once: which path, and the state before the instruction.</summary>
/// <param name="Pc">The instruction.</param>
/// <param name="Frame">The frame the instruction ran in (0 for the main function).</param>
/// <param name="Path">The path (see <see cref="ExplainReport.Paths"/>).</param>
/// <param name="State">The state (see <see cref="ExplainReport.States"/>), or -1 when it was not recorded.</param>
/// <param name="Kind">How the visit ended.</param>
/// <param name="OnFailingPath">Whether this visit is a step of the path that failed.</param>
public sealed record ExplainVisit(int Pc, int Frame, int Path, int State, ExplainVisitKind Kind, bool OnFailingPath);

/// <summary>A path of the depth-first walk: the log's <c>from X to Y</c>.</summary>
/// <param name="Id">Its number, in order of exploration (0 is the program entry).</param>
/// <param name="FromPc">The branching instruction, or -1 for the entry.</param>
/// <param name="StartPc">Its first instruction.</param>
public sealed record ExplainPath(int Id, int FromPc, int StartPc);

/// <summary>Why the program was rejected.</summary>
/// <param name="Pc">The failing instruction, or -1.</param>
/// <param name="Message">The error line.</param>
/// <param name="Register">The register the error is about (<c>R1</c>), or null.</param>
/// <param name="Frame">The frame the failing instruction ran in.</param>
public sealed record ExplainError(int Pc, string Message, string? Register, int Frame);

/// <summary>What a step of a provenance chain did to the value being traced.</summary>
public enum ProvenanceRole
{
    /// <summary>The instruction wrote the location (the chain continues with what it read).</summary>
    Defined,
    /// <summary>A conditional jump tested the location between its definition and its use.</summary>
    Tested,
    /// <summary>The location already held this at the program's (or function's) entry.</summary>
    Entry,
    /// <summary>The failing instruction, where the value was used.</summary>
    Used,
}

/// <summary>One step of the chain of instructions that produced the offending register's value.</summary>
/// <param name="Step">The index of the step on the failing path (see <see cref="ExplainReport.FailingPath"/>).</param>
/// <param name="Pc">The instruction.</param>
/// <param name="Depth">How far from the offending register (0 is the failing use); a step's inputs are one deeper.</param>
/// <param name="Location">What is traced here: <c>R7</c>, <c>fp-8</c>, in <paramref name="Frame"/>.</param>
/// <param name="Frame">The frame of the location.</param>
/// <param name="Role">What the instruction did to it.</param>
/// <param name="Value">The location's state just after the instruction (before it for <see cref="ProvenanceRole.Used"/>), when recorded.</param>
public sealed record ProvenanceStep(int Step, int Pc, int Depth, string Location, int Frame, ProvenanceRole Role, string? Value);

/// <summary>
/// What the verifier saw, instruction by instruction and path by path: the model behind the explain page, recorded
/// by <see cref="VerifierExplainer"/> or reconstructed from a kernel verifier log by <see cref="KernelLogParser"/>.
/// </summary>
public sealed class ExplainReport
{
    internal ExplainReport(string programName, string origin, IReadOnlyList<ExplainInstruction> instructions, IReadOnlyList<ExplainValue> values,
        IReadOnlyList<int[]> states, IReadOnlyList<ExplainVisit> visits, IReadOnlyList<int> unrecorded, IReadOnlyList<ExplainPath> paths,
        IReadOnlyList<int> failingPath, ExplainError? error, IReadOnlyList<ProvenanceStep> provenance, string summary, IReadOnlyList<string> notes)
    {
        ProgramName = programName;
        Origin = origin;
        Instructions = instructions;
        Values = values;
        States = states;
        Visits = visits;
        UnrecordedVisits = unrecorded;
        Paths = paths;
        FailingPath = failingPath;
        Error = error;
        Provenance = provenance;
        Summary = summary;
        Notes = notes;
    }

    /// <summary>The program's name.</summary>
    public string ProgramName { get; }

    /// <summary>Where the states come from: SharpBPF's verifier, or a kernel log.</summary>
    public string Origin { get; }

    /// <summary>The program's instructions in order (the second slot of an <c>lddw</c> has no entry of its own).</summary>
    public IReadOnlyList<ExplainInstruction> Instructions { get; }

    /// <summary>Every distinct register or stack slot value of the recorded states.</summary>
    public IReadOnlyList<ExplainValue> Values { get; }

    /// <summary>The recorded states: each is the indexes in <see cref="Values"/> of its registers and stack slots, frame by frame.</summary>
    public IReadOnlyList<int[]> States { get; }

    /// <summary>Every recorded visit, in the order the verifier made them (then the failing path's steps that were not recorded when made).</summary>
    public IReadOnlyList<ExplainVisit> Visits { get; }

    /// <summary>Per pc: the visits that were made but not recorded, the per-instruction cap being reached.</summary>
    public IReadOnlyList<int> UnrecordedVisits { get; }

    /// <summary>The paths, by id.</summary>
    public IReadOnlyList<ExplainPath> Paths { get; }

    /// <summary>The failing path from the entry to the failing instruction, as indexes in <see cref="Visits"/> (empty when accepted).</summary>
    public IReadOnlyList<int> FailingPath { get; }

    /// <summary>Why the program was rejected; null when accepted.</summary>
    public ExplainError? Error { get; }

    /// <summary>Whether the program was accepted.</summary>
    public bool Accepted => Error is null;

    /// <summary>For the offending register, the chain of instructions that produced its value, the failing use first.</summary>
    public IReadOnlyList<ProvenanceStep> Provenance { get; }

    /// <summary>The closing <c>processed N insns ...</c> line.</summary>
    public string Summary { get; }

    /// <summary>What was left out (caps reached, log lines not understood).</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>The same report under another program name.</summary>
    public ExplainReport WithProgramName(string programName) =>
        new(programName, Origin, Instructions, Values, States, Visits, UnrecordedVisits, Paths, FailingPath, Error, Provenance, Summary, Notes);

        /// <summary>The values of a recorded state.</summary>
    public IEnumerable<ExplainValue> StateValues(int state) =>
        state >= 0 && state < States.Count ? States[state].Select(i => Values[i]) : [];

    /// <summary>The visits of one instruction.</summary>
    public IEnumerable<ExplainVisit> VisitsAt(int pc) => Visits.Where(v => v.Pc == pc);
}
