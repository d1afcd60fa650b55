using SharpBpf.Isa;

namespace SharpBpf.Runtime.Contexts;

/// <summary>
/// The context a program of some type runs with (r1 at entry): the context memory laid out by a
/// <see cref="ContextLayout"/>, plus whatever memory it points to (packets). One instance is reused across runs
/// and must not be run by two threads at once.
/// </summary>
/// <remarks>
/// <see cref="Run(ExecutableProgram, BpfExecutionContext)"/> registers the context's regions with a <see cref="BpfExecutionContext"/>, runs the program with
/// r1 = the context's address and removes the regions again. While it runs, the context is the "current" one of that
/// execution context, which is how helpers without a context argument (<c>bpf_redirect</c>) find it.
/// </remarks>
public abstract class ProgramContext
{
    private BpfExecutionContext? _attached;

    /// <summary>Creates the context memory for <paramref name="layout"/>.</summary>
    private protected ProgramContext(ContextLayout layout, MemoryAccess access)
    {
        ArgumentNullException.ThrowIfNull(layout);
        Layout = layout;
        ContextRegion = MemoryRegion.Allocate(layout.RegionSize, access, MemoryRegionKind.Context, layout.Name);
    }

    /// <summary>The layout programs see.</summary>
    public ContextLayout Layout { get; }

    /// <summary>The context memory; its address is r1 at entry.</summary>
    public MemoryRegion ContextRegion { get; }

    /// <summary>The raw r0 of the last run.</summary>
    public ulong ReturnValue { get; private set; }

    /// <summary>The execution context this context is attached to during a run, or null.</summary>
    protected BpfExecutionContext? Attached => _attached;

    /// <summary>
    /// Rewrites a program's context accesses for this context's layout (see <see cref="ContextAccessRewriter"/>).
    /// Run only converted programs: an unconverted load of a pointer field reads 0.
    /// </summary>
    /// <exception cref="ContextAccessException">The program accesses the context in a way the kernel refuses.</exception>
    public BpfProgram ConvertProgram(BpfProgram program) => ContextAccessRewriter.Rewrite(program, Layout).Program;

    /// <summary>The context a program is running with on <paramref name="context"/>, or null.</summary>
    public static ProgramContext? CurrentOf(BpfExecutionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.RunningProgramContext as ProgramContext;
    }

    /// <summary>
    /// Runs <paramref name="program"/> (already converted with <see cref="ConvertProgram"/>) on
    /// <paramref name="context"/> with this context, and returns r0.
    /// </summary>
    /// <exception cref="BpfExecutionException">The program faulted.</exception>
    /// <exception cref="InvalidOperationException">This context is already running.</exception>
    public ulong Run(ExecutableProgram program, BpfExecutionContext context) => Run(program, context, 1, out _);

    /// <summary>
    /// Runs <paramref name="program"/> <paramref name="repeat"/> times in a row on this context, set up once, as the
    /// kernel's <c>BPF_PROG_TEST_RUN</c> repeat does: a run sees what the previous one left in the packet and the
    /// context. Returns the last r0; <paramref name="elapsed"/> is the time of the runs alone (not the set-up), the
    /// figure the kernel's test run reports.
    /// </summary>
    /// <exception cref="BpfExecutionException">A run faulted.</exception>
    /// <exception cref="InvalidOperationException">This context is already running.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="repeat"/> is below 1.</exception>
    public ulong Run(ExecutableProgram program, BpfExecutionContext context, int repeat, out TimeSpan elapsed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(repeat, 1);
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(context);
        if (_attached is not null)
        {
            throw new InvalidOperationException($"this {Layout.Name} context is already running a program");
        }

        BeforeRun();
        _attached = context;
        var outer = context.RunningProgramContext;
        context.RunningProgramContext = this;
        var savedLegacy = (context.LegacyPacket, context.LegacyDataOffset, context.LegacyNetworkOffset);
        try
        {
            context.AddRegion(ContextRegion);
            AddPacketRegions(context);
            context.LegacyPacket = LegacyPacket;
            context.LegacyDataOffset = LegacyDataOffset;
            context.LegacyNetworkOffset = LegacyNetworkOffset;
            ulong address = ContextRegion.Start;
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            ulong r0 = 0;
            for (int i = 0; i < repeat; i++)
            {
                r0 = program.Run(context, address);
            }

            elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(start);
            ReturnValue = r0;
            return r0;
        }
        finally
        {
            (context.LegacyPacket, context.LegacyDataOffset, context.LegacyNetworkOffset) = savedLegacy;
            RemovePacketRegions(context);
            context.RemoveRegion(ContextRegion);
            context.RunningProgramContext = outer;
            _attached = null;
            AfterRun();
        }
    }

    /// <summary>The packet <c>ldabs</c>/<c>ldind</c> read during a run (from its link-layer header), or null.</summary>
    private protected virtual MemoryRegion? LegacyPacket => null;

    /// <summary>Where <c>skb-&gt;data</c> is in <see cref="LegacyPacket"/>.</summary>
    private protected virtual int LegacyDataOffset => 0;

    /// <summary>Where the network header is in <see cref="LegacyPacket"/>.</summary>
    private protected virtual int LegacyNetworkOffset => 0;

    /// <summary>Resets per-run state and writes the context memory before a run.</summary>
    private protected abstract void BeforeRun();

    /// <summary>Reads back what the program may have changed after a run.</summary>
    private protected virtual void AfterRun()
    {
    }

    /// <summary>Adds the regions the context memory points to.</summary>
    private protected virtual void AddPacketRegions(BpfExecutionContext context)
    {
    }

    /// <summary>Removes the regions added by <see cref="AddPacketRegions"/>.</summary>
    private protected virtual void RemovePacketRegions(BpfExecutionContext context)
    {
    }

    /// <summary>Checks that a helper's context argument is this context's memory.</summary>
    internal static T FromHelperArgument<T>(BpfExecutionContext context, ulong address, string helper)
        where T : ProgramContext
    {
        if (CurrentOf(context) is T current && current.ContextRegion.Start == address)
        {
            return current;
        }

        throw HelperFault(context, $"{helper}: r1 = 0x{address:x} is not the {typeof(T).Name} of the running program");
    }

    /// <summary>A helper fault naming the calling instruction.</summary>
    internal static BpfExecutionException HelperFault(BpfExecutionContext context, string message) =>
        new(new ExecutionFault(FaultKind.HelperError, context.CurrentPc, default, $"pc {context.CurrentPc}: {message}"));

    /// <summary>Writes a little-endian u32 into the context memory.</summary>
    private protected void WriteU32(int offset, uint value) =>
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(ContextRegion.AsSpan()[offset..], value);

    /// <summary>Writes a little-endian u64 into the context memory.</summary>
    private protected void WriteU64(int offset, ulong value) =>
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(ContextRegion.AsSpan()[offset..], value);

    /// <summary>Reads a little-endian u32 from the context memory.</summary>
    private protected uint ReadU32(int offset) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(ContextRegion.AsSpan()[offset..]);

    /// <summary>Reads a little-endian u64 from the context memory.</summary>
    private protected ulong ReadU64(int offset) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(ContextRegion.AsSpan()[offset..]);

    /// <summary>Writes the real address of a packet pointer field into its shadow slot.</summary>
    private protected void WritePointer(string field, ulong address) => WriteU64(Layout[field].ShadowOffset, address);
}
