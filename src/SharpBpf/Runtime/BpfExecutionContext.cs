using SharpBpf.Isa;

namespace SharpBpf.Runtime;

/// <summary>
/// The state one thread uses to run programs: its stack, the regions of the current run, the helper table,
/// the instruction budget and, for helpers, checked access to program memory. Reuse one context per thread
/// across runs; a context must not run two programs at once.
/// </summary>
public sealed class BpfExecutionContext
{
    /// <summary>The stack size of one frame, as in the kernel.</summary>
    public const int FrameStackSize = 512;

    /// <summary>The maximum number of frames (the main program plus nested bpf-to-bpf calls), as in the kernel.</summary>
    public const int MaxFrames = 8;

    /// <summary>The default instruction budget of one run.</summary>
    public const long DefaultInstructionBudget = 100_000_000;

    /// <summary>The most tail calls one run may chain (the kernel's MAX_TAIL_CALL_CNT); the next one fails.</summary>
    public const int MaxTailCalls = 33;

    private MemoryRegion[] _local = new MemoryRegion[8];
    private int _localCount;
    private MemoryRegion?[]? _callbackKeys;

    /// <summary>Creates a context with a fresh stack.</summary>
    /// <param name="helpers">The helpers programs may call; an empty table when null.</param>
    /// <param name="sharedMemory">Regions shared by every context (map values, global data), or null.</param>
    public BpfExecutionContext(HelperTable? helpers = null, MemoryMap? sharedMemory = null)
    {
        Helpers = helpers ?? new HelperTable();
        SharedMemory = sharedMemory;
        Stack = MemoryRegion.Allocate(FrameStackSize * MaxFrames, MemoryAccess.ReadWrite, MemoryRegionKind.Stack, "stack");
        _local[0] = Stack;
        _localCount = 1;
    }

    /// <summary>The helpers programs may call.</summary>
    public HelperTable Helpers { get; set; }

    /// <summary>Regions shared with other contexts, searched after this context's own regions.</summary>
    public MemoryMap? SharedMemory { get; set; }

    /// <summary>The stack of all frames: frame <c>k</c> has r10 = <see cref="FramePointer"/>(k).</summary>
    public MemoryRegion Stack { get; }

    /// <summary>How many instructions one run may execute before it is stopped.</summary>
    public long InstructionBudget { get; set; } = DefaultInstructionBudget;

    /// <summary>The CPU number helpers report and per-CPU maps use for this context.</summary>
    public int ProcessorId { get; set; }

    /// <summary>The packet that legacy <c>ldabs</c>/<c>ldind</c> loads read, or null.</summary>
    public MemoryRegion? LegacyPacket { get; set; }

    /// <summary>Anything the host wants its helpers to see during a run.</summary>
    public object? HostState { get; set; }

    /// <summary>The number of instructions the last run executed.</summary>
    public long InstructionsExecuted { get; internal set; }

    /// <summary>The pc of the instruction being executed when a helper runs.</summary>
    public int CurrentPc { get; internal set; }

    internal bool StopRequested { get; private set; }

    /// <summary>The budget the current run started with (instructions executed = this minus what is left).</summary>
    internal long RunBudget { get; set; }

    /// <summary>The code of the program running on this context, to describe faulting instructions.</summary>
    internal Instruction[]? RunningCode { get; set; }

    /// <summary>The image of the program running on this context (its resolved immediates and function addresses).</summary>
    internal ProgramImage? RunningImage { get; set; }

    internal ulong StopValue { get; private set; }

    /// <summary>The program running on this context (changes on tail calls), for callbacks and tail calls.</summary>
    internal ExecutableProgram? RunningProgram { get; set; }

    /// <summary>The frame depth (0 = main program) of the function that made the current helper call.</summary>
    internal int CurrentDepth { get; set; }

    /// <summary>The tail calls this run has made so far (counted as the kernel does, see <see cref="TryCountTailCall"/>).</summary>
    internal int TailCallCount { get; private set; }

    /// <summary>Set by the tail-call helper: the engine must look at <see cref="TailCallTarget"/> and keep r0 as it was.</summary>
    internal bool TailCallRequested { get; private set; }

    /// <summary>The program a successful tail call continues with, or null when the tail call failed.</summary>
    internal ExecutableProgram? TailCallTarget { get; private set; }

    /// <summary>Whether a helper has ended the run (<see cref="Stop"/>, also from inside a callback); a helper that runs callbacks must then return at once.</summary>
    public bool IsStopped => StopRequested;

    internal ReadOnlySpan<MemoryRegion> LocalRegions => _local.AsSpan(0, _localCount);

    /// <summary>The value of r10 in frame <paramref name="depth"/> (0 for the main program).</summary>
    public ulong FramePointer(int depth) => Stack.End - (ulong)(depth * FrameStackSize);

    /// <summary>Adds a region visible to this context's runs only (a context, a packet...).</summary>
    public void AddRegion(MemoryRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        for (int i = 0; i < _localCount; i++)
        {
            var other = _local[i];
            if (region.Start < other.End && other.Start < region.End)
            {
                throw new ArgumentException($"region {region} overlaps {other}", nameof(region));
            }
        }

        if (_localCount == _local.Length)
        {
            Array.Resize(ref _local, _local.Length * 2);
        }

        _local[_localCount++] = region;
    }

    /// <summary>Removes a region added with <see cref="AddRegion"/>; returns whether it was present.</summary>
    public bool RemoveRegion(MemoryRegion region)
    {
        for (int i = 1; i < _localCount; i++)
        {
            if (ReferenceEquals(_local[i], region))
            {
                Array.Copy(_local, i + 1, _local, i, _localCount - i - 1);
                _local[--_localCount] = null!;
                return true;
            }
        }

        return false;
    }

    /// <summary>Removes every region added with <see cref="AddRegion"/> (the stack stays).</summary>
    public void ClearRegions()
    {
        Array.Clear(_local, 1, _localCount - 1);
        _localCount = 1;
    }

    /// <summary>The region that contains the whole access and allows it, or null.</summary>
    public MemoryRegion? FindRegion(ulong address, int size, MemoryAccess access)
    {
        var local = _local;
        for (int i = 0; i < _localCount; i++)
        {
            var region = local[i];
            if (region.Contains(address, (ulong)size))
            {
                return (region.Access & access) == access ? region : null;
            }
        }

        var shared = SharedMemory?.Find(address, (ulong)size);
        return shared is not null && (shared.Access & access) == access ? shared : null;
    }

    /// <summary>
    /// Program memory for a helper: the <paramref name="length"/> bytes at <paramref name="address"/>, after checking
    /// they lie in one region that allows <paramref name="access"/>.
    /// </summary>
    /// <exception cref="BpfExecutionException">The range is not accessible; the fault names the calling instruction.</exception>
    public unsafe Span<byte> GetSpan(ulong address, int length, MemoryAccess access)
    {
        if (TryGetSpan(address, length, access, out var span))
        {
            return span;
        }

        var code = RunningCode;
        var instruction = code is not null && (uint)CurrentPc < (uint)code.Length ? code[CurrentPc] : default;
        throw new BpfExecutionException(MemoryFault(CurrentPc, instruction, address, length, access, "helper argument"));
    }

    /// <summary>Like <see cref="GetSpan"/>, but reports failure instead of faulting (for helpers that return -EFAULT).</summary>
    public unsafe bool TryGetSpan(ulong address, int length, MemoryAccess access, out Span<byte> span)
    {
        if (length == 0)
        {
            span = [];
            return true;
        }

        if (length < 0 || FindRegion(address, length, access) is null)
        {
            span = default;
            return false;
        }

        span = new Span<byte>((void*)address, length);
        return true;
    }

    /// <summary>Called by a helper to end the program at once with r0 = <paramref name="returnValue"/>.</summary>
    public void Stop(ulong returnValue)
    {
        StopRequested = true;
        StopValue = returnValue;
    }

    internal void BeginRun()
    {
        StopRequested = false;
        StopValue = 0;
        InstructionsExecuted = 0;
        TailCallCount = 0;
        TailCallRequested = false;
        TailCallTarget = null;
    }

    /// <summary>
    /// Calls the function of the running program that starts at <paramref name="function"/> (an address from
    /// <c>lddw src=4</c>) with r1-r5, in a fresh frame one deeper than the helper's caller, as the kernel runs the
    /// callbacks of <c>bpf_loop</c> and <c>bpf_for_each_map_elem</c>; returns its r0. Its instructions count against
    /// the run's budget and its faults end the run like any other. When it ends the run (a helper's
    /// <see cref="Stop"/>), <see cref="IsStopped"/> becomes true: return from the helper at once.
    /// </summary>
    /// <exception cref="BpfExecutionException">The address is not a function of the program, the frame limit is reached, or the callback faulted.</exception>
    public unsafe ulong InvokeCallback(ulong function, ulong r1 = 0, ulong r2 = 0, ulong r3 = 0, ulong r4 = 0, ulong r5 = 0)
    {
        var program = RunningProgram ?? throw new InvalidOperationException("callbacks can only be invoked by a helper during a run");
        int pc = CurrentPc;
        int depth = CurrentDepth;
        var image = RunningImage!;
        int start = image.FunctionAt(function);
        if (start < 0)
        {
            throw HelperCallFault(FaultKind.InvalidCallTarget, $"callback 0x{function:x} is not the start of a function of the program");
        }

        if (depth + 1 >= MaxFrames)
        {
            throw Interpreter.CallDepthFault(this, RunBudget - InstructionsExecuted, pc, depth);
        }

        ulong* registers = stackalloc ulong[16];
        new Span<ulong>(registers, 16).Clear();
        registers[1] = r1;
        registers[2] = r2;
        registers[3] = r3;
        registers[4] = r4;
        registers[5] = r5;
        ulong r0 = program.RunNested(this, registers, start, depth + 1, RunBudget - InstructionsExecuted);

        // Nested helper calls moved these; the calling helper may fault or call again.
        CurrentPc = pc;
        CurrentDepth = depth;
        return r0;
    }

    /// <summary>
    /// A read-only scratch region of <paramref name="size"/> bytes for the key a helper at the current depth hands its
    /// callbacks (the kernel passes a pointer to its own stack), registered while it is in use. One per frame depth and
    /// reused across runs, so the addresses a program sees do not change from run to run.
    /// </summary>
    internal MemoryRegion RentCallbackKey(int size)
    {
        var keys = _callbackKeys ??= new MemoryRegion?[MaxFrames];
        var key = keys[CurrentDepth];
        if (key is null || key.Length != size)
        {
            key = keys[CurrentDepth] = MemoryRegion.Allocate(size, MemoryAccess.Read, MemoryRegionKind.HelperMemory, $"callback key {CurrentDepth}");
        }

        AddRegion(key);
        return key;
    }

    /// <summary>
    /// For the <c>bpf_tail_call</c> helper: counts one tail call unless <see cref="MaxTailCalls"/> have been made, as
    /// the kernel counts them (after the index check, before looking at the slot: a call to an empty slot counts).
    /// </summary>
    internal bool TryCountTailCall()
    {
        if (TailCallCount >= MaxTailCalls)
        {
            return false;
        }

        TailCallCount++;
        return true;
    }

    /// <summary>
    /// For the <c>bpf_tail_call</c> helper: asks the engine to continue with <paramref name="target"/> in place of the
    /// current function, or (null) records a failed tail call, after which the program continues with r0 unchanged.
    /// </summary>
    internal void RequestTailCall(ExecutableProgram? target)
    {
        TailCallRequested = true;
        TailCallTarget = target;
    }

    /// <summary>Takes the pending tail call (null when it failed) and clears the request.</summary>
    internal ExecutableProgram? TakeTailCall()
    {
        var target = TailCallTarget;
        TailCallRequested = false;
        TailCallTarget = null;
        return target;
    }

    /// <summary>
    /// Runs <paramref name="target"/> in place of the function at <paramref name="depth"/> that called the tail-call
    /// helper: the same frame (r10 and stack), r1-r5 as the call left them, r0 and r6-r9 zero. Returns the target's
    /// r0, with its final r1-r5 in <paramref name="registers"/>; the caller then returns from its function.
    /// </summary>
    internal unsafe ulong RunTailCall(ExecutableProgram target, ulong* registers, int depth)
    {
        registers[0] = 0;
        registers[6] = registers[7] = registers[8] = registers[9] = 0;
        return target.RunNested(this, registers, 0, depth, RunBudget - InstructionsExecuted);
    }

    private BpfExecutionException HelperCallFault(FaultKind kind, string message)
    {
        var code = RunningCode;
        var instruction = code is not null && (uint)CurrentPc < (uint)code.Length ? code[CurrentPc] : default;
        return new BpfExecutionException(new ExecutionFault(kind, CurrentPc, instruction, $"{FaultLocation.Describe(code, CurrentPc, instruction)}: {message}"));
    }

    /// <summary>Builds the fault for an access that no region allows.</summary>
    internal ExecutionFault MemoryFault(int pc, Instruction instruction, ulong address, int size, MemoryAccess access, string what)
    {
        // Prefer the region that contains the address (a permission or size problem), else the nearest one.
        MemoryRegion? nearest = null;
        ulong best = ulong.MaxValue;
        foreach (var region in LocalRegions)
        {
            ulong d = MemoryMap.Distance(region, address);
            if (d < best)
            {
                best = d;
                nearest = region;
            }
        }

        if (SharedMemory?.Nearest(address) is { } shared && MemoryMap.Distance(shared, address) < best)
        {
            nearest = shared;
        }

        string verb = access switch
        {
            MemoryAccess.Read => "read",
            MemoryAccess.Write => "write",
            _ => "read-modify-write",
        };
        string where = nearest is null
            ? "no memory region is registered"
            : nearest.Contains(address, 1)
                ? nearest.Contains(address, (ulong)size)
                    ? $"region {nearest} does not allow it"
                    : $"it runs past the end of region {nearest}"
                : $"it is outside every region; nearest is {nearest}";
        string message = $"{FaultLocation.Describe(RunningCode, pc, instruction)}: invalid {what} {verb} of {size} byte(s) at 0x{address:x}: {where}";
        return new ExecutionFault(FaultKind.MemoryAccess, pc, instruction, message, address, size, nearest);
    }
}
