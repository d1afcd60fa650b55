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

    public RegisterState[] Regs = new RegisterState[11];

    /// <summary>Per stack byte, indexed by <c>-off - 1</c> (byte 0 is fp-1).</summary>
    public StackByte[] Stack = [];

    /// <summary>Per 8-byte slot (index <c>(-off - 1) / 8</c>): the spilled register.</summary>
    public RegisterState[] Spilled = [];

    public int CallSite = -1;
    public int FrameNo;
    public int Subprog;
    public bool InCallback;

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

    /// <summary>The checkpoint this path descends from.</summary>
    public VerifierState? Parent;

    /// <summary>For checkpoints: paths still being explored below it.</summary>
    public int Branches;

    public int InsnIdx;

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
            Parent = Parent,
            Branches = Branches,
            InsnIdx = InsnIdx,
            CallbackUnrollDepth = CallbackUnrollDepth,
        };
        return copy;
    }
}
