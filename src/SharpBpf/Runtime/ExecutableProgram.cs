using System.Runtime.InteropServices;
using SharpBpf.Isa;
using SharpBpf.Runtime.Contexts;
using SharpBpf.Verification;

namespace SharpBpf.Runtime;

/// <summary>Whether an engine checks every memory access against the regions.</summary>
public enum SafetyMode
{
    /// <summary>Every load, store and atomic is checked; a bad access is a clean fault. Safe for any program.</summary>
    Checked,
    /// <summary>
    /// The accesses the verifier proved in bounds (<see cref="EngineOptions.Verification"/>) through pointers of
    /// <see cref="EngineOptions.UncheckedKinds"/> run without checks; every other access is checked as in
    /// <see cref="Checked"/>. Only for programs the verifier has accepted.
    /// </summary>
    Unchecked,
}

/// <summary>
/// Gives the value of an <c>lddw</c> whose source is not a plain constant (a map, a map value, a BTF id).
/// </summary>
/// <param name="pc">The pc of the <c>lddw</c>.</param>
/// <param name="source">What the immediate refers to.</param>
/// <param name="immediate">The first slot's immediate (a map fd or index, a BTF id).</param>
/// <param name="nextImmediate">The second slot's immediate (an offset into a map value).</param>
public delegate ulong Imm64Resolver(int pc, Imm64Source source, int immediate, int nextImmediate);

/// <summary>How an engine prepares a program.</summary>
public sealed record EngineOptions
{
    /// <summary>Checked (the default) or unchecked memory accesses.</summary>
    public SafetyMode Safety { get; init; } = SafetyMode.Checked;

    /// <summary>Resolves <c>lddw</c> instructions that refer to maps or BTF ids; null rejects such programs.</summary>
    public Imm64Resolver? ResolveImm64 { get; init; }

    /// <summary>
    /// The verifier's verdict on this very program (its instructions as verified; context loads the VM converts
    /// afterwards stay checked unless <see cref="ContextLayout"/> names their layout). Unchecked mode needs an accepted
    /// one and uses its <see cref="VerifierResult.Facts"/>.
    /// </summary>
    public VerifierResult? Verification { get; init; }

    /// <summary>
    /// In unchecked mode, the kinds of memory whose proven accesses go unchecked: the kinds the runs really back with
    /// memory of the size the verifier assumed. The stack (the engines' own) and map values (when
    /// <see cref="ResolveImm64"/> resolves maps to values of the verified sizes) by default; add the context and
    /// packet kinds only when every run gets the verified program type's context and packet, as the VM's do.
    /// </summary>
    public MemoryKinds UncheckedKinds { get; init; } = MemoryKinds.Stack | MemoryKinds.MapValue;

    /// <summary>
    /// The context layout the program's context accesses were converted for (<see cref="ContextAccessRewriter"/>), when
    /// every run gets context memory of that layout. In unchecked mode, loads of packet pointer fields the verifier
    /// proved (with <see cref="MemoryKinds.Context"/> in <see cref="UncheckedKinds"/>) then load the real pointer from
    /// the field's slot without a check; without it, converted loads stay checked.
    /// </summary>
    public ContextLayout? ContextLayout { get; init; }

    /// <summary>
    /// Whether the JIT counts instructions and enforces <see cref="BpfExecutionContext.InstructionBudget"/> in unchecked
    /// mode. By default it does not, as the kernel runs verified programs without a budget (the verifier has proven that
    /// they terminate), and <see cref="BpfExecutionContext.InstructionsExecuted"/> is then 0 after a run. Set it to count
    /// there too (at a cost per basic block). Checked mode and the interpreter always count.
    /// </summary>
    public bool CountInstructions { get; init; }

    /// <summary>Whether the JIT counts instructions under these options (see <see cref="CountInstructions"/>).</summary>
    internal bool JitCounts => CountInstructions || Safety == SafetyMode.Checked;
}

/// <summary>A program prepared by an engine, ready to run any number of times on any thread (one context per thread).</summary>
public abstract class ExecutableProgram
{
    /// <summary>Prepares the shared image of a program.</summary>
    private protected ExecutableProgram(BpfProgram program, EngineOptions? options)
    {
        ArgumentNullException.ThrowIfNull(program);
        Options = options ?? new EngineOptions();
        bool[]? proven = null;
        if (Options.Safety == SafetyMode.Unchecked)
        {
            proven = ProvenAccesses(program, Options);
        }

        Image = new ProgramImage(program, Options.ResolveImm64, proven);
    }

    /// <summary>Per pc, whether unchecked mode may drop the access check there; throws when unchecked mode is not allowed.</summary>
    private static bool[] ProvenAccesses(BpfProgram program, EngineOptions options)
    {
        var verification = options.Verification;
        if (verification is null)
        {
            throw new BpfException(
                $"program '{program.Name}': unchecked mode needs a program the verifier has accepted, and this one has not been verified; use checked mode");
        }

        if (!verification.Accepted)
        {
            throw new BpfException(
                $"program '{program.Name}': unchecked mode needs a program the verifier has accepted, and the verifier rejected this one ({verification.Error}); use checked mode");
        }

        var facts = verification.Facts;
        var code = program.Instructions;
        var verified = facts.Instructions;
        if (verified.Length != code.Length)
        {
            throw new BpfException(
                $"program '{program.Name}': the verifier's result is for a program of {verified.Length} instructions, this one has {code.Length}");
        }

        var proven = new bool[code.Length];
        for (int pc = 0; pc < code.Length; pc++)
        {
            // Only context loads may differ from what was verified (the VM's context conversion). Those that are the
            // conversion of a proven context load for the layout the context memory has stay inside it: unchecked too.
            if (code[pc] != verified[pc])
            {
                if (!(code[pc].Class == InstructionClass.Ldx && facts[pc].Kinds == MemoryKinds.Context))
                {
                    throw new BpfException(
                        $"program '{program.Name}': instruction {pc} is not the one the verifier accepted");
                }

                proven[pc] = options.ContextLayout is { } layout && facts[pc].IsProven(options.UncheckedKinds)
                    && ContextAccessRewriter.IsPointerSlotLoadOf(verified[pc], code[pc], layout);
                continue;
            }

            proven[pc] = facts.IsProven(code, pc, options.UncheckedKinds);
        }

        return proven;
    }

    /// <summary>The program.</summary>
    public BpfProgram Program => Image.Program;

    /// <summary>The options it was prepared with.</summary>
    public EngineOptions Options { get; }

    private protected ProgramImage Image { get; }

    /// <summary>Whether the memory access at <paramref name="pc"/> runs without its region check (unchecked mode, proven).</summary>
    internal bool RunsUnchecked(int pc) => Image.IsProven(pc);

    /// <summary>
    /// Runs the program from pc 0 with r1-r5 as given and r10 at the top of the context's stack, and returns r0.
    /// </summary>
    /// <exception cref="BpfExecutionException">The program faulted; the exception's fault says where and why.</exception>
    public abstract ulong Run(BpfExecutionContext context, ulong r1 = 0, ulong r2 = 0, ulong r3 = 0, ulong r4 = 0, ulong r5 = 0);

    /// <summary>
    /// Runs the function starting at <paramref name="functionPc"/> inside a run already under way on
    /// <paramref name="context"/> (a tail call into this program, a callback): frame <paramref name="depth"/>, registers
    /// r0-r9 from <paramref name="registers"/> (16 slots; r10 is set here), <paramref name="budget"/> instructions left.
    /// Returns r0 and leaves the function's final r0-r5 in <paramref name="registers"/> and the run's count in
    /// <see cref="BpfExecutionContext.InstructionsExecuted"/>; when the run ended inside (a helper's Stop), returns the
    /// stop value with <see cref="BpfExecutionContext.IsStopped"/> set. The context's running program is restored.
    /// </summary>
    internal abstract unsafe ulong RunNested(BpfExecutionContext context, ulong* registers, int functionPc, int depth, long budget);

    /// <summary>A fresh register file (or slot buffer) of <paramref name="slots"/> zeros but r1-r5.</summary>
    internal static unsafe void ClearWithArguments(ulong* registers, int slots, ulong r1, ulong r2, ulong r3, ulong r4, ulong r5)
    {
        new Span<ulong>(registers, slots).Clear();
        registers[1] = r1;
        registers[2] = r2;
        registers[3] = r3;
        registers[4] = r4;
        registers[5] = r5;
    }

    /// <summary>
    /// Runs the program over plain input memory, as the conformance cases do: the bytes are copied into a
    /// read-write "input" region, r1 = its address (0 when empty) and r2 = its length; the bytes the program
    /// wrote are copied back.
    /// </summary>
    public ulong RunOnMemory(BpfExecutionContext context, Span<byte> memory)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (memory.IsEmpty)
        {
            return Run(context, 0, 0);
        }

        var region = MemoryRegion.FromBytes(memory, MemoryAccess.ReadWrite, MemoryRegionKind.Input, "input");
        context.AddRegion(region);
        try
        {
            return Run(context, region.Start, (ulong)memory.Length);
        }
        finally
        {
            context.RemoveRegion(region);
            region.AsSpan().CopyTo(memory);
        }
    }
}

/// <summary>
/// What every engine needs from a program: a pinned copy of its code (so functions have real addresses for
/// <c>lddw</c> function pointers and <c>callx</c>), the resolved 64-bit immediates and the function starts.
/// </summary>
internal sealed class ProgramImage
{
    private readonly Instruction[] _code;
    private readonly Dictionary<int, ulong> _resolvedImm64 = [];
    private readonly HashSet<int> _functionStarts;
    private readonly bool[]? _proven;
    private readonly Instruction[] _dispatch;

    public ProgramImage(BpfProgram program, Imm64Resolver? resolver, bool[]? proven)
    {
        Program = program;
        _code = GC.AllocateArray<Instruction>(program.Length, pinned: true);
        program.Instructions.CopyTo(_code);
        CodeAddress = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(_code, 0);
        _functionStarts = [.. program.FunctionStarts];
        _proven = proven;
        _dispatch = proven is null ? _code : Interpreter.UncheckedDispatchCode(_code, proven);
        DispatchAddress = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(_dispatch, 0);

        var code = program.Instructions;
        for (int pc = 0; pc < code.Length; pc++)
        {
            var insn = code[pc];
            if (!insn.IsLoadImm64)
            {
                continue;
            }

            var source = insn.Imm64Source;
            if (source == Imm64Source.Function)
            {
                _resolvedImm64[pc] = AddressOf(pc + 1 + insn.Immediate);
            }
            else if (source != Imm64Source.Immediate)
            {
                if (resolver is null)
                {
                    throw new BpfException(
                        $"program '{program.Name}' pc {pc}: lddw refers to {Describe(source)} {insn.Immediate}, but no maps or BTF were provided to resolve it");
                }

                _resolvedImm64[pc] = resolver(pc, source, insn.Immediate, code[pc + 1].Immediate);
            }

            pc++;
        }
    }

    public BpfProgram Program { get; }

    /// <summary>The address of instruction 0 of the pinned code.</summary>
    public ulong CodeAddress { get; }

    /// <summary>The pinned code.</summary>
    public Instruction[] Code => _code;

    /// <summary>
    /// The address of the code the interpreter dispatches on: <see cref="CodeAddress"/>, or in unchecked mode a pinned
    /// copy whose proven accesses carry the interpreter's unchecked opcodes.
    /// </summary>
    public ulong DispatchAddress { get; }

    /// <summary>Whether the memory access at <paramref name="pc"/> runs unchecked (unchecked mode, proven by the verifier).</summary>
    public bool IsProven(int pc) => _proven is not null && _proven[pc];

    /// <summary>The address a function pointer to <paramref name="pc"/> holds.</summary>
    public ulong AddressOf(int pc) => CodeAddress + (ulong)pc * Instruction.Size;

    /// <summary>The value of the <c>lddw</c> at <paramref name="pc"/> (resolved when it is not a constant).</summary>
    public ulong Imm64(int pc)
    {
        var insn = _code[pc];
        if (insn.Src == 0)
        {
            return (uint)insn.Immediate | ((ulong)(uint)_code[pc + 1].Immediate << 32);
        }

        return _resolvedImm64[pc];
    }

    /// <summary>The function pc an address points to, or -1 when it is not the start of a function.</summary>
    public int FunctionAt(ulong address)
    {
        ulong offset = address - CodeAddress;
        if (offset % Instruction.Size != 0 || offset / Instruction.Size >= (ulong)_code.Length)
        {
            return -1;
        }

        int pc = (int)(offset / Instruction.Size);
        return _functionStarts.Contains(pc) ? pc : -1;
    }

    private static string Describe(Imm64Source source) => source switch
    {
        Imm64Source.MapFd => "map fd",
        Imm64Source.MapValue => "a value of map fd",
        Imm64Source.BtfId => "kernel variable with BTF id",
        Imm64Source.MapIndex => "map index",
        Imm64Source.MapIndexValue => "a value of map index",
        _ => $"source {(int)source}",
    };
}
