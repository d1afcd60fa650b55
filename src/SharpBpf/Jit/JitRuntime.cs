using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using SharpBpf.Isa;
using SharpBpf.Runtime;

namespace SharpBpf.Jit;

/// <summary>A compiled BPF function: the image, the context, the run's slot buffer and the frame depth.</summary>
internal unsafe delegate ulong JitFunction(ProgramImage image, BpfExecutionContext context, ulong* slots, int depth);

/// <summary>
/// What generated code calls for the rare or complex operations, and the layout of the per-run slot buffer that
/// carries registers across bpf-to-bpf calls, the instruction budget and the "program ended" flag.
/// </summary>
/// <remarks>
/// Every fault the JIT can meet except the call-depth one is produced by handing the faulting instruction to the
/// interpreter (<see cref="Fallback"/>): the interpreter re-executes it and raises its own fault, so messages, pcs
/// and <see cref="BpfExecutionContext.InstructionsExecuted"/> come from one implementation. The methods the pieces of
/// split functions call from thousands of sites are marked not to be inlined: the runtime's compiler otherwise weighs
/// inlining them at every site, which took about half of its time on a Cilium program (<see cref="Lookup"/>, which
/// only functions compiled whole call, may be inlined).
/// </remarks>
internal static unsafe class JitRuntime
{
    /// <summary>Slots 0-15: a register file (r0-r10 used), for calls, atomics and the interpreter fallback.</summary>
    public const int RegisterSlots = 16;

    /// <summary>The budget left, kept in memory only across calls.</summary>
    public const int BudgetSlot = 16;

    /// <summary>The budget the run started with.</summary>
    public const int RunBudgetSlot = 17;

    /// <summary>Non-zero once the program has ended early (a helper's Stop, an out-of-bounds legacy load...).</summary>
    public const int EndedSlot = 18;

    /// <summary>r0 of a program that ended early.</summary>
    public const int EndValueSlot = 19;

    /// <summary>Where <see cref="Lookup"/> leaves the start of a region to cache.</summary>
    public const int CacheStartSlot = 20;

    /// <summary>Where <see cref="Lookup"/> leaves the length of a region to cache.</summary>
    public const int CacheLengthSlot = 21;

    /// <summary>The stack's start address (to reset the caches without calls).</summary>
    public const int StackStartSlot = 22;

    /// <summary>The stack's length.</summary>
    public const int StackLengthSlot = 23;

    /// <summary>Set by a piece of a split function that leaves for another: that piece's index plus one.</summary>
    public const int NextPieceSlot = 24;

    /// <summary>The index of the entry (in <see cref="FunctionPiece.Entries"/>) where a piece starts.</summary>
    public const int EntrySlot = 25;

    /// <summary>
    /// The load cache of the pieces of split functions (start, then length; the store cache follows): kept in the
    /// slots rather than in locals, so that helpers reset them without code at every call site.
    /// </summary>
    public const int ReadCacheSlot = 26;

    /// <summary>The store cache of the pieces (start, then length).</summary>
    public const int WriteCacheSlot = 28;

    /// <summary>The size of the slot buffer.</summary>
    public const int SlotCount = 30;

    /// <summary><see cref="EndedSlot"/> after <see cref="InvokeHelperById"/>: no such helper (its pc is in <see cref="EndValueSlot"/>).</summary>
    public const ulong HelperMissing = 3;

    /// <summary><see cref="Lookup"/>: no region allows the access.</summary>
    public const int AccessDenied = 0;

    /// <summary><see cref="Lookup"/>: allowed, but the engines do not cache the region.</summary>
    public const int AccessAllowed = 1;

    /// <summary><see cref="Lookup"/>: allowed; the region to cache is in the cache slots.</summary>
    public const int AccessAllowedCache = 2;

    /// <summary>The helper registered under <paramref name="id"/> in this context's table, or null.</summary>
    public static HelperRegistration? FindHelper(BpfExecutionContext context, long id) => context.Helpers.Find(id);

    /// <summary><see cref="EndedSlot"/> after a helper call: a tail call ran in place of the calling function, which must return r0.</summary>
    public const ulong TailCalled = 2;

    /// <summary>
    /// Calls a helper as the interpreter does, from the function at frame <paramref name="depth"/>. A helper's Stop marks
    /// the run as ended; a tail call runs the target and sets <see cref="EndedSlot"/> to <see cref="TailCalled"/> with
    /// the target's r0-r5 in the register slots. The budget left afterwards (callbacks use some) is in
    /// <see cref="BudgetSlot"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ulong InvokeHelper(
        BpfExecutionContext context, HelperRegistration helper, int pc, ulong r0, ulong r1, ulong r2, ulong r3, ulong r4, ulong r5, long budget, ulong* slots, int depth)
    {
        context.CurrentPc = pc;
        context.CurrentDepth = depth;

        // Counted before the call, as the interpreter does, so that a helper's fault reports it.
        context.InstructionsExecuted = (long)slots[RunBudgetSlot] - budget;
        ulong result = helper.Function(context, r1, r2, r3, r4, r5);
        if (context.TailCallRequested)
        {
            // A failed tail call leaves r0 alone, as the kernel's interpreter does.
            var target = context.TakeTailCall();
            result = target is null ? r0 : TailCall(context, target, r1, r2, r3, r4, r5, slots, depth);
        }

        if (context.StopRequested)
        {
            slots[EndedSlot] = 1;
            slots[EndValueSlot] = context.StopValue;
        }

        slots[BudgetSlot] = (ulong)((long)slots[RunBudgetSlot] - context.InstructionsExecuted);
        ResetCaches(slots);
        return result;
    }

    /// <summary>
    /// <see cref="InvokeHelper"/> for the pieces of split functions, finding the helper itself: one call per helper
    /// call site. When the context has no helper <paramref name="id"/>, sets <see cref="EndedSlot"/> to
    /// <see cref="HelperMissing"/> with the pc in <see cref="EndValueSlot"/> (the caller hands the instruction to the
    /// interpreter, which faults).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ulong InvokeHelperById(
        BpfExecutionContext context, long id, int pc, ulong r0, ulong r1, ulong r2, ulong r3, ulong r4, ulong r5, long budget, ulong* slots, int depth)
    {
        var helper = context.Helpers.Find(id);
        if (helper is null)
        {
            slots[EndedSlot] = HelperMissing;
            slots[EndValueSlot] = (ulong)pc;
            slots[BudgetSlot] = (ulong)budget;
            return r0;
        }

        return InvokeHelper(context, helper, pc, r0, r1, r2, r3, r4, r5, budget, slots, depth);
    }

    /// <summary>Resets the load and store caches of the pieces to the stack (a helper may have changed the regions).</summary>
    public static void ResetCaches(ulong* slots)
    {
        slots[ReadCacheSlot] = slots[WriteCacheSlot] = slots[StackStartSlot];
        slots[ReadCacheSlot + 1] = slots[WriteCacheSlot + 1] = slots[StackLengthSlot];
    }

    /// <summary>
    /// The slow path of a checked access in a piece: 0 when no region allows it (the caller falls back to the
    /// interpreter, which faults); else 1, with the region in the piece's load cache (a load) or store cache when the
    /// engines cache it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int CheckAccess(BpfExecutionContext context, ulong address, int sizeAndAccess, ulong* slots)
    {
        var access = (MemoryAccess)(sizeAndAccess >> 8);
        var region = context.FindRegion(address, sizeAndAccess & 0xff, access);
        if (region is null)
        {
            return 0;
        }

        if (IsCacheable(region, access))
        {
            int cache = access == MemoryAccess.Read ? ReadCacheSlot : WriteCacheSlot;
            slots[cache] = region.Start;
            slots[cache + 1] = (ulong)region.Length;
        }

        return 1;
    }

    [SkipLocalsInit]
    private static ulong TailCall(BpfExecutionContext context, ExecutableProgram target, ulong r1, ulong r2, ulong r3, ulong r4, ulong r5, ulong* slots, int depth)
    {
        ulong* registers = stackalloc ulong[RegisterSlots];
        ExecutableProgram.ClearWithArguments(registers, RegisterSlots, r1, r2, r3, r4, r5);
        ulong r0 = context.RunTailCall(target, registers, depth);
        if (!context.StopRequested)
        {
            new Span<ulong>(registers, 6).CopyTo(new Span<ulong>(slots, 6));
            slots[EndedSlot] = TailCalled;
        }

        return r0;
    }

    /// <summary>
    /// The slow path of a checked access: <see cref="AccessDenied"/> when no region allows it (the caller then falls
    /// back to the interpreter, which faults); <see cref="AccessAllowedCache"/> with the region's bounds in the cache
    /// slots when the engines cache it (8 bytes or more, and read-write for the store cache); else
    /// <see cref="AccessAllowed"/>.
    /// </summary>
    /// <remarks>
    /// One call with plain results: every call site and every address-taken local costs the runtime's compiler
    /// time, and there is one of these per memory instruction. Unlike the calls of pieces, it may be inlined: only
    /// functions compiled whole (at most <see cref="FunctionPieces.SplitAbove"/> instructions) call it, where the
    /// inlined miss saves a call per cache miss (about 3% of xdp_firewall's checked run) and the compile time of the
    /// Cilium program does not change measurably.
    /// </remarks>
    public static int Lookup(BpfExecutionContext context, ulong address, int size, MemoryAccess access, ulong* slots)
    {
        var region = context.FindRegion(address, size, access);
        if (region is null)
        {
            return AccessDenied;
        }

        if (IsCacheable(region, access))
        {
            slots[CacheStartSlot] = region.Start;
            slots[CacheLengthSlot] = (ulong)region.Length;
            return AccessAllowedCache;
        }

        return AccessAllowed;
    }

    // Both engines cache a region of 8 bytes or more; the store cache only a read-write one.
    private static bool IsCacheable(MemoryRegion region, MemoryAccess access) =>
        region.Length >= 8 && (access == MemoryAccess.Read || region.Access == MemoryAccess.ReadWrite);

    /// <summary>The value <see cref="TryLegacyLoad"/> returns when the load cannot be done (loads give at most 32 bits).</summary>
    public const ulong LegacyLoadFailed = ulong.MaxValue;

    /// <summary>
    /// A legacy packet load that stays inside the packet, or <see cref="LegacyLoadFailed"/> when there is no packet or
    /// the load is out of bounds (the interpreter then ends the program or faults).
    /// </summary>
    public static ulong TryLegacyLoad(BpfExecutionContext context, long offset, int size) =>
        context.TryLegacyLoad(offset, size, out ulong value) ? value : LegacyLoadFailed;

    /// <summary>The index in <see cref="BpfProgram.FunctionStarts"/> of the function an address points to, or -1.</summary>
    public static int FunctionIndexAt(ProgramImage image, ulong address)
    {
        int pc = image.FunctionAt(address);
        return pc < 0 ? -1 : image.Program.FunctionStarts.AsSpan().BinarySearch(pc);
    }

    /// <summary>The interpreter's call-depth fault, with the instruction count it would report.</summary>
    public static BpfExecutionException CallDepthFault(BpfExecutionContext context, int pc, int depth, long budget) =>
        Interpreter.CallDepthFault(context, budget, pc, depth);

    /// <summary>
    /// Runs the interpreter from <paramref name="pc"/> with the registers spilled in <paramref name="slots"/> and the
    /// budget left before that instruction, to the end of the function: where an instruction faults (memory, budget,
    /// helper, call target...) the interpreter raises the fault; where the run ends (a helper's stop, an
    /// out-of-bounds legacy load) the result is recorded as the run's r0 and the run unwinds; where the budget was
    /// too low for the JIT's checks (see <see cref="FunctionEmitter"/>) but the function gets to its exit, the function
    /// returns normally, with r0-r5 in the slots and the budget left in <see cref="BudgetSlot"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ulong Fallback(BpfExecutionContext context, ProgramImage image, ulong* slots, int pc, long budget, int depth)
    {
        ulong r0 = Interpreter.Execute(context, image, slots, pc, budget, (long)slots[RunBudgetSlot], depth);
        ResetCaches(slots);
        if (context.IsStopped)
        {
            slots[EndedSlot] = 1;
            slots[EndValueSlot] = r0;
            return r0;
        }

        slots[BudgetSlot] = (ulong)((long)slots[RunBudgetSlot] - context.InstructionsExecuted);
        return r0;
    }
}
