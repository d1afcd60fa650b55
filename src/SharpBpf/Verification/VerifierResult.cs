using SharpBpf.Isa;

namespace SharpBpf.Verification;

/// <summary>Why the verifier refused a program: where, and the kernel-worded message.</summary>
/// <param name="Pc">The instruction being checked, or -1 for whole-program errors.</param>
/// <param name="Instruction">That instruction (default when <paramref name="Pc"/> is -1).</param>
/// <param name="Message">The error line as the kernel prints it (<c>R1 invalid mem access 'scalar'</c>).</param>
public sealed record VerifierError(int Pc, Instruction Instruction, string Message)
{
    /// <summary>The failing instruction's C source line, when the program has BTF line info.</summary>
    public SourceLine? Source { get; init; }

    /// <inheritdoc/>
    public override string ToString() => Pc >= 0 ? $"insn {Pc}: {Message}" : Message;
}

/// <summary>The counters of the kernel's closing log line.</summary>
/// <param name="Processed">Instructions processed over all paths.</param>
/// <param name="MaxStatesPerInsn">The most states kept at one instruction.</param>
/// <param name="TotalStates">Checkpoints created.</param>
/// <param name="PeakStates">The most checkpoints alive at once.</param>
/// <param name="MarkRead">Liveness marks propagated (always 0 here: liveness is computed statically).</param>
public sealed record VerifierStatistics(int Processed, int MaxStatesPerInsn, int TotalStates, int PeakStates, int MarkRead)
{
    /// <summary>The kernel's closing line.</summary>
    public string ToLogLine(int limit) =>
        $"processed {Processed} insns (limit {limit}) max_states_per_insn {MaxStatesPerInsn} total_states {TotalStates} peak_states {PeakStates} mark_read {MarkRead}";
}

/// <summary>The verdict on a program, with the log and counters.</summary>
public sealed class VerifierResult
{
    internal VerifierResult(bool accepted, VerifierError? error, string log, VerifierStatistics statistics, TimeSpan elapsed, VerifiedFacts? facts = null)
    {
        Facts = facts ?? VerifiedFacts.None;
        Accepted = accepted;
        Error = error;
        Log = log;
        Statistics = statistics;
        Elapsed = elapsed;
    }

    /// <summary>Whether the program is proven safe.</summary>
    public bool Accepted { get; }

    /// <summary>Why not, when rejected.</summary>
    public VerifierError? Error { get; }

    /// <summary>The log at the requested level (empty at level 0), cut to <see cref="VerifierOptions.MaxLogLength"/> as the kernel cuts it.</summary>
    public string Log { get; }

    /// <summary>
    /// The length the whole log needed (the kernel's <c>log_true_size</c> less its terminating zero): longer than
    /// <see cref="Log"/> when the log was cut, where the kernel's load fails with ENOSPC.
    /// </summary>
    public long LogTrueLength { get; init; }

    /// <summary>Whether the log was cut to <see cref="VerifierOptions.MaxLogLength"/>.</summary>
    public bool LogTruncated => LogTrueLength > Log.Length;

    /// <summary>The counters.</summary>
    public VerifierStatistics Statistics { get; }

    /// <summary>How long verification took.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>
    /// What the walk proved about each instruction's memory access (empty for programs rejected before the walk).
    /// Only an accepted program's facts mean anything: a rejection stops the walk with paths left unexplored.
    /// </summary>
    public VerifiedFacts Facts { get; }
}

/// <summary>The kinds of memory a pointer can point to, as far as memory accesses are concerned.</summary>
[Flags]
public enum MemoryKinds : byte
{
    /// <summary>No memory the verifier bounds-checks.</summary>
    None = 0,
    /// <summary>A frame's stack (<c>PTR_TO_STACK</c>), within 512 bytes below its frame pointer.</summary>
    Stack = 1,
    /// <summary>A map value (<c>PTR_TO_MAP_VALUE</c>), within the map's value size.</summary>
    MapValue = 2,
    /// <summary>The context (<c>PTR_TO_CTX</c>), at an offset and size the program type allows.</summary>
    Context = 4,
    /// <summary>Packet data (<c>PTR_TO_PACKET</c>), below a <c>data_end</c> the program compared against.</summary>
    Packet = 8,
    /// <summary>Packet metadata (<c>PTR_TO_PACKET_META</c>), below <c>data</c>.</summary>
    PacketMeta = 16,
    /// <summary>A map key handed to a callback (<c>PTR_TO_MAP_KEY</c>), within the key size.</summary>
    MapKey = 32,
    /// <summary>Sized memory from a helper (<c>PTR_TO_MEM</c>: ring buffer reservations), within its size.</summary>
    Memory = 64,
}

/// <summary>What the verifier proved about the memory access of one instruction.</summary>
/// <param name="Kinds">The kinds of pointer the access went through, joined over every visit (one kind on most programs).</param>
/// <param name="Visits">How many times the walk checked the access (0: not a memory access, or never reached).</param>
/// <param name="InBounds">Whether every visit went through a pointer whose bounds the verifier checked, so that the access stays inside memory of <paramref name="Kinds"/> on every path that reaches it.</param>
public readonly record struct MemoryAccessFact(MemoryKinds Kinds, int Visits, bool InBounds)
{
    /// <summary>Whether the access is proven in bounds, through pointers of <paramref name="trusted"/> kinds only.</summary>
    public bool IsProven(MemoryKinds trusted) => InBounds && Visits > 0 && Kinds != MemoryKinds.None && (Kinds & ~trusted) == 0;
}

/// <summary>
/// Per instruction, what the verifier proved about memory accesses: the pointer kind and that the access is in
/// bounds on every path that reaches it. The engines' unchecked mode drops the region checks of exactly the accesses
/// proven here (and of kinds the runtime backs with memory of the verified size); every other access stays checked.
/// </summary>
public sealed class VerifiedFacts
{
    private readonly Instruction[] _instructions;
    private readonly MemoryAccessFact[] _facts;

    internal VerifiedFacts(Instruction[] instructions, MemoryAccessFact[] facts)
    {
        _instructions = [.. instructions];
        _facts = facts;
    }

    /// <summary>No facts (a program rejected before the walk).</summary>
    public static VerifiedFacts None { get; } = new([], []);

    /// <summary>The number of instructions of the verified program.</summary>
    public int Length => _facts.Length;

    /// <summary>The instructions that were verified (a copy): facts hold for these only.</summary>
    public ReadOnlySpan<Instruction> Instructions => _instructions;

    /// <summary>The fact about the instruction at <paramref name="pc"/> (default when it is not a memory access).</summary>
    public MemoryAccessFact this[int pc] => _facts[pc];

    /// <summary>How many instructions are memory accesses the walk reached.</summary>
    public int AccessCount => _facts.Count(f => f.Visits > 0);

    /// <summary>How many of those are proven in bounds through pointers of <paramref name="trusted"/> kinds.</summary>
    public int ProvenCount(MemoryKinds trusted) => _facts.Count(f => f.IsProven(trusted));

    /// <summary>
    /// Whether the access at <paramref name="pc"/> of <paramref name="code"/> is proven in bounds through
    /// <paramref name="trusted"/> kinds: the program must have the verified length, and the instruction must be the
    /// one verified (an engine may run a program whose context loads were converted: see <see cref="SharpBpf.Runtime.EngineOptions.ContextLayout"/>).
    /// </summary>
    public bool IsProven(ReadOnlySpan<Instruction> code, int pc, MemoryKinds trusted) =>
        code.Length == _instructions.Length && (uint)pc < (uint)code.Length && code[pc] == _instructions[pc] && _facts[pc].IsProven(trusted);
}
