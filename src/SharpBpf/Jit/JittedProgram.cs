using System.Diagnostics;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using SharpBpf.Isa;
using SharpBpf.Runtime;

namespace SharpBpf.Jit;

/// <summary>
/// A program compiled to .NET IL (one <see cref="DynamicMethod"/> per BPF function, or for a function of more than
/// 1,024 instructions one per piece of it) that the runtime turns into machine code when a run first reaches it. It gives exactly the interpreter's results: the same r0, memory effects,
/// faults (kind, pc, message) and <see cref="BpfExecutionContext.InstructionsExecuted"/> (when it counts: see
/// <see cref="EngineOptions.CountInstructions"/>; unchecked programs run without a budget by default).
/// </summary>
/// <remarks>
/// <para>
/// BPF registers become IL locals, memory accesses become native loads and stores, jumps become IL branches and
/// bpf-to-bpf calls become calls between the generated methods. In checked mode every load, store and atomic is
/// checked against the context's regions like the interpreter does; anything that faults or ends the program
/// early is handed to the interpreter for that one instruction, so there is a single implementation of faults.
/// </para>
/// <para>
/// Large functions are cut into pieces of about 256 instructions (<see cref="FunctionPieces"/>), each its own method
/// behind a small dispatcher, the registers handed over in the slots: each piece is small enough for the runtime to
/// optimise, and the pieces a run never reaches (most of a large program) are never compiled to machine code.
/// </para>
/// <para>
/// The generated code holds no per-run state: a compiled program can run on any number of threads at once
/// (one <see cref="BpfExecutionContext"/> per thread). Dynamic methods are collectible, so compiled programs
/// that are no longer referenced are reclaimed by the garbage collector.
/// </para>
/// </remarks>
public sealed class JittedProgram : ExecutableProgram
{
    private readonly JitFunction _entry;
    private readonly DynamicMethod[] _functions;
    private JitFunction?[]? _delegates;
    private readonly DynamicMethod[] _pieces;

    /// <summary>Compiles a program.</summary>
    /// <param name="program">The program.</param>
    /// <param name="options">Checked (the default) or unchecked, and how to resolve map and BTF references.</param>
    /// <exception cref="BpfException">Unchecked mode was asked for an unverified program, or an lddw cannot be resolved.</exception>
    public JittedProgram(BpfProgram program, EngineOptions? options = null)
        : this(program, options, FunctionPieces.SplitAbove, FunctionPieces.PieceLength)
    {
    }

    /// <summary>Compiles a program, splitting functions longer than <paramref name="splitAbove"/> into pieces of about <paramref name="pieceLength"/>.</summary>
    internal JittedProgram(BpfProgram program, EngineOptions? options, int splitAbove, int pieceLength) : base(program, options)
    {
        var timer = Stopwatch.StartNew();
        var starts = program.FunctionStarts;
        var functions = new DynamicMethod[starts.Length];
        for (int i = 0; i < functions.Length; i++)
        {
            functions[i] = FunctionEmitter.Declare($"bpf_{program.Name}_{starts[i]}");
        }

        var pieceMethods = new List<DynamicMethod>();
        for (int i = 0; i < functions.Length; i++)
        {
            int end = i + 1 < starts.Length ? starts[i + 1] : Image.Code.Length;
            var pieces = FunctionPieces.Split(Image.Code, starts[i], end, splitAbove, pieceLength);
            if (pieces is null)
            {
                new FunctionEmitter(Image, functions[i], i, null, 0, functions, Options.JitCounts).Emit();
                continue;
            }

            // A large function: its method is a dispatcher over pieces compiled at their first call.
            var methods = pieces.Select(p => FunctionEmitter.Declare($"bpf_{program.Name}_{starts[i]}_{p.Start}")).ToArray();
            for (int p = 0; p < pieces.Length; p++)
            {
                new FunctionEmitter(Image, methods[p], i, pieces, p, functions, Options.JitCounts).Emit();
            }

            FunctionEmitter.EmitDispatcher(functions[i], methods);
            pieceMethods.AddRange(methods);
        }

        _functions = functions;
        _pieces = [.. pieceMethods];
        _entry = functions[0].CreateDelegate<JitFunction>();
        CompileTime = timer.Elapsed;
    }

    /// <summary>
    /// How long the translation to IL took. The runtime compiles the IL to machine code on the first run (a piece of
    /// a large function when a run first reaches it), which takes longer; call <see cref="Run"/> once on a throwaway
    /// context and <see cref="GenerateAllPieces"/> to pay that up front if it matters.
    /// </summary>
    public TimeSpan CompileTime { get; }

    /// <summary>The number of methods the large functions were split into (0 when every function is one method).</summary>
    public int PieceCount => _pieces.Length;

    /// <summary>
    /// Has the runtime generate the machine code of every piece of the split functions now rather than when a run
    /// first reaches it (each piece is called so that it returns at once). Whole functions get theirs at their first
    /// call, the entry function at the first <see cref="Run"/>.
    /// </summary>
    [SkipLocalsInit]
    public unsafe void GenerateAllPieces()
    {
        var context = new BpfExecutionContext();
        ulong* slots = stackalloc ulong[JitRuntime.SlotCount];
        foreach (var piece in _pieces)
        {
            new Span<ulong>(slots, JitRuntime.SlotCount).Clear();
            slots[JitRuntime.EntrySlot] = ulong.MaxValue;
            piece.CreateDelegate<JitFunction>()(Image, context, slots, 0);
        }
    }

    /// <inheritdoc/>
    [SkipLocalsInit]
    public override unsafe ulong Run(BpfExecutionContext context, ulong r1 = 0, ulong r2 = 0, ulong r3 = 0, ulong r4 = 0, ulong r5 = 0)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.BeginRun();

        ulong* slots = stackalloc ulong[JitRuntime.SlotCount];
        ClearWithArguments(slots, JitRuntime.SlotCount, r1, r2, r3, r4, r5);
        long budget = context.InstructionBudget;
        context.RunBudget = budget;
        context.RunningCode = Image.Code;
        context.RunningImage = Image;
        context.RunningProgram = this;
        slots[JitRuntime.BudgetSlot] = (ulong)budget;
        slots[JitRuntime.RunBudgetSlot] = (ulong)budget;
        slots[JitRuntime.StackStartSlot] = context.Stack.Start;
        slots[JitRuntime.StackLengthSlot] = (ulong)context.Stack.Length;
        JitRuntime.ResetCaches(slots);

        ulong r0 = _entry(Image, context, slots, 0);
        if (slots[JitRuntime.EndedSlot] != 0)
        {
            // A helper stopped the run or the interpreter ended it; both recorded the instruction count.
            ForgetCountUnlessCounting(context);
            return slots[JitRuntime.EndValueSlot];
        }

        context.InstructionsExecuted = budget - (long)slots[JitRuntime.BudgetSlot];
        ForgetCountUnlessCounting(context);
        return r0;
    }

    /// <inheritdoc/>
    [SkipLocalsInit]
    internal override unsafe ulong RunNested(BpfExecutionContext context, ulong* registers, int functionPc, int depth, long budget)
    {
        var function = FunctionAt(functionPc);
        ulong* slots = stackalloc ulong[JitRuntime.SlotCount];
        new Span<ulong>(slots, JitRuntime.SlotCount).Clear();
        new Span<ulong>(registers, 10).CopyTo(new Span<ulong>(slots, 10));
        slots[JitRuntime.BudgetSlot] = (ulong)budget;
        slots[JitRuntime.RunBudgetSlot] = (ulong)context.RunBudget;
        slots[JitRuntime.StackStartSlot] = context.Stack.Start;
        slots[JitRuntime.StackLengthSlot] = (ulong)context.Stack.Length;
        JitRuntime.ResetCaches(slots);

        var savedCode = context.RunningCode;
        var savedImage = context.RunningImage;
        var savedProgram = context.RunningProgram;
        context.RunningCode = Image.Code;
        context.RunningImage = Image;
        context.RunningProgram = this;
        ulong r0 = function(Image, context, slots, depth);
        context.RunningCode = savedCode;
        context.RunningImage = savedImage;
        context.RunningProgram = savedProgram;
        if (slots[JitRuntime.EndedSlot] != 0)
        {
            return slots[JitRuntime.EndValueSlot];
        }

        new Span<ulong>(slots, 6).CopyTo(new Span<ulong>(registers, 6));
        registers[10] = context.FramePointer(depth);
        context.InstructionsExecuted = context.RunBudget - (long)slots[JitRuntime.BudgetSlot];
        return r0;
    }

    // Without counting, only the interpreter's fallbacks would have counted anything: report 0, as documented.
    private void ForgetCountUnlessCounting(BpfExecutionContext context)
    {
        if (!Options.JitCounts)
        {
            context.InstructionsExecuted = 0;
        }
    }

    /// <summary>The compiled function that starts at <paramref name="pc"/> (a start listed in <see cref="BpfProgram.FunctionStarts"/>).</summary>
    private JitFunction FunctionAt(int pc)
    {
        if (pc == 0)
        {
            return _entry;
        }

        var delegates = _delegates ??= new JitFunction?[_functions.Length];
        int index = Program.FunctionStarts.AsSpan().BinarySearch(pc);
        return delegates[index] ??= _functions[index].CreateDelegate<JitFunction>();
    }
}

/// <summary>Compiles BPF programs to .NET machine code; see <see cref="JittedProgram"/>.</summary>
public static class JitCompiler
{
    /// <summary>Compiles a program (the same as <c>new JittedProgram(program, options)</c>).</summary>
    /// <exception cref="BpfException">Unchecked mode was asked for an unverified program, or an lddw cannot be resolved.</exception>
    public static JittedProgram Compile(BpfProgram program, EngineOptions? options = null) => new(program, options);
}
