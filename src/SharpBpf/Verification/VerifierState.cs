namespace SharpBpf.Verification;

/// <summary>What a stack byte holds (the kernel's STACK_* slot types).</summary>
internal enum StackByte : byte
{
    Invalid,
    Spill,
    Misc,
    Zero,
}

/// <summary>One function frame: registers and stack (the kernel's <c>bpf_func_state</c>).</summary>
internal sealed class FrameState
{
    public const int MaxStack = 512;

    private static long s_nextUid;

    public RegisterState[] Regs = new RegisterState[11];

    /// <summary>Per stack byte, indexed by <c>-off - 1</c> (byte 0 is fp-1).</summary>
    public StackByte[] Stack = [];

    /// <summary>Per 8-byte slot (index <c>(-off - 1) / 8</c>): the spilled register.</summary>
    public RegisterState[] Spilled = [];

    /// <summary>Identifies the call (frame invocation) across copies, so liveness marks reach only the same frame in ancestor checkpoints.</summary>
    public long Uid = Interlocked.Increment(ref s_nextUid);

    /// <summary>In a checkpoint: the 8-byte slots a later instruction read before writing them whole (the kernel's REG_LIVE_READ on slots).</summary>
    public ulong SlotsRead;

    /// <summary>In the current state: the slots written whole since the last checkpoint, whose later reads do not reach the checkpoint.</summary>
    public ulong SlotsWritten;

    public int CallSite = -1;
    public int FrameNo;
    public int Subprog;
    public bool InCallback;

    /// <summary>How many rounds of the callback a bpf_loop call in this frame has been followed into on this path (the kernel's <c>callback_depth</c>).</summary>
    public int CallbackDepth;

    public int AllocatedStack => Stack.Length;

    public FrameState Clone()
    {
        var copy = (FrameState)MemberwiseClone();
        copy.Regs = (RegisterState[])Regs.Clone();
        copy.Stack = (StackByte[])Stack.Clone();
        copy.Spilled = (RegisterState[])Spilled.Clone();
        return copy;
    }

    public void GrowStack(int bytes)
    {
        int rounded = (bytes + 7) & ~7;
        if (rounded <= Stack.Length)
        {
            return;
        }

        Array.Resize(ref Stack, rounded);
        Array.Resize(ref Spilled, rounded / 8);
    }

    public bool IsSpilled(int spi) => spi < Spilled.Length && Stack[(spi * 8) + 7] == StackByte.Spill;
}

/// <summary>A whole verifier state: frames, references held, and the checkpoint bookkeeping.</summary>
internal sealed class VerifierState
{
    public List<FrameState> Frames = [];
    public List<(int Id, int Insn)> Refs = [];

    /// <summary>The bpf_spin_lock held: the map whose value holds it (-1 when none) and the value pointer's id.</summary>
    public int LockMap = -1;

    /// <summary>The id of the map value pointer whose lock is held (0 for a lookup that cannot fail).</summary>
    public int LockId;

    /// <summary>The checkpoint this path descends from.</summary>
    public VerifierState? Parent;

    /// <summary>For checkpoints: paths still being explored below it.</summary>
    public int Branches;

    public int InsnIdx;

    /// <summary>The instruction history of this state's segment (since its parent checkpoint), newest first.</summary>
    public HistoryEntry? History;

    /// <summary>How many entries <see cref="History"/> has (a long history forces a checkpoint).</summary>
    public int HistoryCount;

    /// <summary>The first instruction of this state's segment.</summary>
    public int FirstInsn;

    /// <summary>For checkpoints: the last instruction of the segment before the checkpoint (-1 when none).</summary>
    public int LastInsn = -1;

    /// <summary>How many times a callback has been entered on this path (states of different rounds are not a loop).</summary>
    public int CallbackUnrollDepth;

    public FrameState Current => Frames[^1];

    public int CurFrame => Frames.Count - 1;

    public VerifierState Clone()
    {
        var copy = new VerifierState
        {
            Frames = Frames.ConvertAll(f => f.Clone()),
            Refs = [.. Refs],
            LockMap = LockMap,
            LockId = LockId,
            Parent = Parent,
            Branches = Branches,
            InsnIdx = InsnIdx,
            CallbackUnrollDepth = CallbackUnrollDepth,
            History = History,
            HistoryCount = HistoryCount,
            FirstInsn = FirstInsn,
            LastInsn = LastInsn,
        };
        return copy;
    }
}

/// <summary>
/// One instruction of a path's history that backtracking cannot infer (the kernel's <c>bpf_insn_hist_entry</c>): an
/// instruction reached other than from the one before it, a spill or fill of a stack slot, or the scalars linked by a
/// conditional jump. Entries are shared by the states copied from one another, so they are never changed once another
/// state may see them.
/// </summary>
internal sealed class HistoryEntry(int idx, int prevIdx, HistoryEntry? prev)
{
    public int Idx { get; } = idx;

    public int PrevIdx { get; } = prevIdx;

    public HistoryEntry? Prev { get; } = prev;

    /// <summary>The frame of the stack slot this instruction spilled to or filled from, or -1.</summary>
    public int StackFrame { get; set; } = -1;

    /// <summary>The slot index (<c>(-off - 1) / 8</c>) of that stack access.</summary>
    public int StackSpi { get; set; }

    /// <summary>Registers and spilled slots sharing a scalar id refined together by this conditional jump.</summary>
    public (int Frame, int Index, bool IsReg)[]? Linked { get; set; }
}
