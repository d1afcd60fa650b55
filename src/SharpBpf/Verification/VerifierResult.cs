using SharpBpf.Isa;

namespace SharpBpf.Verification;

/// <summary>Why the verifier refused a program: where, and the kernel-worded message.</summary>
/// <param name="Pc">The instruction being checked, or -1 for whole-program errors.</param>
/// <param name="Instruction">That instruction (default when <paramref name="Pc"/> is -1).</param>
/// <param name="Message">The error line as the kernel prints it (<c>R1 invalid mem access 'scalar'</c>).</param>
public sealed record VerifierError(int Pc, Instruction Instruction, string Message)
{
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
    internal VerifierResult(bool accepted, VerifierError? error, string log, VerifierStatistics statistics, TimeSpan elapsed)
    {
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

    /// <summary>The log at the requested level (empty at level 0).</summary>
    public string Log { get; }

    /// <summary>The counters.</summary>
    public VerifierStatistics Statistics { get; }

    /// <summary>How long verification took.</summary>
    public TimeSpan Elapsed { get; }
}
