using System.Collections.Immutable;
using SharpBpf.Isa;

namespace SharpBpf.Runtime.Contexts;

/// <summary>A program accesses its context in a way the kernel's verifier would refuse.</summary>
public sealed class ContextAccessException : BpfException
{
    /// <summary>Creates the exception.</summary>
    public ContextAccessException(string message, int pc) : base(message) => Pc = pc;

    /// <summary>Creates the exception with no location.</summary>
    public ContextAccessException() { }

    /// <summary>Creates the exception with a message and no location.</summary>
    public ContextAccessException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public ContextAccessException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The pc of the offending instruction (-1 when unknown).</summary>
    public int Pc { get; } = -1;
}

/// <summary>The outcome of <see cref="ContextAccessRewriter.Rewrite"/>.</summary>
/// <param name="Program">The program to run (the input itself when nothing needed rewriting).</param>
/// <param name="RewrittenPcs">The pcs of the loads redirected to a pointer slot.</param>
/// <param name="CheckedAccessPcs">The pcs of every access proven to go through the context pointer.</param>
public sealed record ContextRewriteResult(BpfProgram Program, ImmutableArray<int> RewrittenPcs, ImmutableArray<int> CheckedAccessPcs);

/// <summary>
/// Emulates the kernel's context conversion for the VM: 4-byte loads of a packet pointer field
/// (<c>r2 = *(u32 *)(r1 + 0)</c> for <c>xdp_md.data</c>) become 8-byte loads of the real pointer from the field's
/// shadow slot, and every context access is checked against the layout's rules.
/// </summary>
/// <remarks>
/// <para>
/// Without the kernel's verifier the VM cannot type every register, so a small forward data-flow analysis proves
/// which registers hold the context pointer: r1 at the entry of the main program, copies by 64-bit
/// <c>mov</c>, 8-byte spills to and fills from 8-aligned stack slots of the same frame, and r1-r5 at the entry of a
/// bpf-to-bpf callee when every call site passes the context in that register. Any other definition (arithmetic,
/// including adding 0, 32-bit moves, loads, calls clobbering r0-r5) ends the proof, and paths meet by intersection,
/// so an access is rewritten only when its base is the unmodified context pointer on every path.
/// </para>
/// <para>
/// Limits: a context access through a register the analysis cannot prove (a pointer rebuilt by arithmetic, kept in a
/// map, passed to a callback, or reloaded from a stack slot that only some paths filled) is left as written, so a
/// 4-byte load of a pointer field then reads 0 and the program faults on its first packet access instead of
/// misbehaving silently. The kernel's verifier refuses such programs anyway (modified context pointers, and pointers
/// that are not the context on every path, cannot be dereferenced as the context). Stores through pointers other
/// than r10, and helper calls, are assumed not to overwrite a spilled context pointer: if they did, the kernel would
/// treat the refilled value as a scalar and refuse to dereference it, so a verifiable program never relies on it.
/// </para>
/// </remarks>
public static class ContextAccessRewriter
{
    /// <summary>
    /// Rewrites the context accesses of <paramref name="program"/> for <paramref name="layout"/> and checks them.
    /// The result has the same length and control flow, so pcs keep their meaning.
    /// </summary>
    /// <exception cref="ContextAccessException">A proven context access is one the kernel would refuse.</exception>
    public static ContextRewriteResult Rewrite(BpfProgram program, ContextLayout layout)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(layout);
        var code = program.Instructions;
        var states = Analyze(program);

        Instruction[]? rewritten = null;
        var rewrittenPcs = ImmutableArray.CreateBuilder<int>();
        var checkedPcs = ImmutableArray.CreateBuilder<int>();
        for (int pc = 0; pc < code.Length; pc++)
        {
            var insn = code[pc];
            if (insn.IsLoadImm64)
            {
                pc++;
                continue;
            }

            var state = states[pc];
            if (state is null)
            {
                continue;
            }

            var cls = insn.Class;
            bool isLoad = cls == InstructionClass.Ldx && insn.MemoryMode is MemoryMode.Mem or MemoryMode.MemSx;
            bool isStore = cls is InstructionClass.St or InstructionClass.Stx && insn.MemoryMode == MemoryMode.Mem;
            bool isAtomic = cls == InstructionClass.Stx && insn.MemoryMode == MemoryMode.Atomic;
            if (!isLoad && !isStore && !isAtomic)
            {
                continue;
            }

            int baseRegister = isLoad ? insn.Src : insn.Dst;
            if (!state.Value.HoldsContext(baseRegister))
            {
                continue;
            }

            checkedPcs.Add(pc);
            if (isAtomic)
            {
                throw new ContextAccessException($"pc {pc}: atomic operation on the {layout.Name} context (r{baseRegister}) is not allowed", pc);
            }

            int size = Instruction.BytesOf(insn.MemorySize);
            string? error = layout.CheckAccess(insn.Offset, size, isStore, insn.MemoryMode == MemoryMode.MemSx, out var field);
            if (error is not null)
            {
                throw new ContextAccessException($"pc {pc}: invalid {layout.Name} access through r{baseRegister}: {error}", pc);
            }

            if (isLoad && field is { Kind: ContextFieldKind.PacketPointer })
            {
                rewritten ??= code.ToArray();
                rewritten[pc] = PointerSlotLoad(insn, field);
                rewrittenPcs.Add(pc);
            }
        }

        var result = rewritten is null ? program : BpfProgram.Create(rewritten, program.Name);
        return new ContextRewriteResult(result, rewrittenPcs.ToImmutable(), checkedPcs.ToImmutable());
    }

    /// <summary>The 8-byte load of a packet pointer field's slot that replaces the program's load of that field.</summary>
    private static Instruction PointerSlotLoad(Instruction load, ContextField field) =>
        Instruction.Memory(InstructionClass.Ldx, MemoryMode.Mem, MemorySize.DoubleWord, load.Dst, load.Src, checked((short)field.ShadowOffset));

    /// <summary>
    /// Whether <paramref name="converted"/> is what <see cref="Rewrite"/> makes of <paramref name="original"/> when its
    /// base register holds the context of <paramref name="layout"/>: an allowed load of a packet pointer field turned into
    /// the 8-byte load of the field's slot, through the same base register, which stays inside the context memory
    /// (<see cref="ContextLayout.RegionSize"/> bytes) wherever the original access was inside the structure.
    /// </summary>
    internal static bool IsPointerSlotLoadOf(Instruction original, Instruction converted, ContextLayout layout) =>
        original.Class == InstructionClass.Ldx && original.MemoryMode == MemoryMode.Mem
        && layout.CheckAccess(original.Offset, Instruction.BytesOf(original.MemorySize), write: false, signExtend: false, out var field) is null
        && field is { Kind: ContextFieldKind.PacketPointer }
        && converted == PointerSlotLoad(original, field);

    /// <summary>For each pc, which registers provably hold the context pointer on entry (null when unreachable).</summary>
    internal static ContextState?[] Analyze(BpfProgram program)
    {
        var code = program.Instructions;
        var states = new ContextState?[code.Length];
        var work = new Stack<int>();

        void Merge(int target, ContextState incoming)
        {
            if ((uint)target >= (uint)states.Length)
            {
                return;
            }

            var current = states[target];
            var merged = current is null ? incoming : current.Value.Meet(incoming);
            if (current is null || merged != current.Value)
            {
                states[target] = merged;
                work.Push(target);
            }
        }

        Merge(0, new ContextState(1 << 1, 0));
        while (work.Count > 0)
        {
            int pc = work.Pop();
            var s = states[pc]!.Value;
            var insn = code[pc];
            switch (insn.Class)
            {
                case InstructionClass.Ld:
                    if (insn.IsLoadImm64)
                    {
                        if (insn.Imm64Source == Imm64Source.Function)
                        {
                            // A callback's arguments come from a helper: prove nothing about them.
                            Merge(pc + 1 + insn.Immediate, new ContextState(0, 0));
                        }

                        Merge(pc + 2, s.Define(insn.Dst, false));
                    }
                    else
                    {
                        // Legacy packet loads behave like a call: r0 is the result, r1-r5 are clobbered.
                        Merge(pc + 1, s.ClobberCallerSaved());
                    }

                    break;

                case InstructionClass.Ldx:
                {
                    bool fill = insn.MemoryMode == MemoryMode.Mem && insn.MemorySize == MemorySize.DoubleWord
                        && insn.Src == 10 && SlotOf(insn.Offset, 8) is int slot && s.SlotHoldsContext(slot);
                    Merge(pc + 1, s.Define(insn.Dst, fill));
                    break;
                }

                case InstructionClass.St:
                case InstructionClass.Stx:
                {
                    var next = s;
                    int size = Instruction.BytesOf(insn.MemorySize);
                    if (insn.Dst == 10)
                    {
                        next = next.ClearSlots(insn.Offset, size);
                        if (insn.Class == InstructionClass.Stx && insn.MemoryMode == MemoryMode.Mem && size == 8
                            && SlotOf(insn.Offset, 8) is int slot && s.HoldsContext(insn.Src))
                        {
                            next = next.SetSlot(slot);
                        }
                    }

                    if (insn.Class == InstructionClass.Stx && insn.MemoryMode == MemoryMode.Atomic)
                    {
                        int op = insn.Immediate;
                        if (op == (int)AtomicOperation.CmpXchg)
                        {
                            next = next.Define(0, false);
                        }
                        else if ((op & 0x01) != 0)
                        {
                            next = next.Define(insn.Src, false);
                        }
                    }

                    Merge(pc + 1, next);
                    break;
                }

                case InstructionClass.Alu:
                case InstructionClass.Alu64:
                {
                    bool copy = insn.Class == InstructionClass.Alu64 && insn.AluOperation == AluOperation.Mov
                        && insn.Source == OperandSource.Register && insn.Offset == 0 && s.HoldsContext(insn.Src);
                    Merge(pc + 1, s.Define(insn.Dst, copy));
                    break;
                }

                default:
                    Jump(pc, insn, s, Merge);
                    break;
            }
        }

        return states;
    }

    private static void Jump(int pc, Instruction insn, ContextState s, Action<int, ContextState> merge)
    {
        if (insn.Opcode == Opcode.Exit)
        {
            return;
        }

        if (insn.Opcode == Opcode.Call || insn.Opcode == Opcode.CallX)
        {
            if (insn.Opcode == Opcode.Call && insn.CallKind == CallKind.Local)
            {
                // The callee's frame starts empty; its r1-r5 are the caller's.
                merge(pc + 1 + insn.Immediate, new ContextState((ushort)(s.Registers & 0b11_1110), 0));
            }

            merge(pc + 1, s.ClobberCallerSaved());
            return;
        }

        if (insn.JumpOperation == JumpOperation.Ja)
        {
            merge(pc + 1 + (insn.Class == InstructionClass.Jmp32 ? insn.Immediate : insn.Offset), s);
            return;
        }

        merge(pc + 1, s);
        merge(pc + 1 + insn.Offset, s);
    }

    private static int? SlotOf(int offset, int size)
    {
        // Stack slot k covers [r10 - 8(k+1), r10 - 8k).
        if (offset >= 0 || offset < -BpfExecutionContext.FrameStackSize || (offset & 7) != 0 || size != 8)
        {
            return null;
        }

        return (-offset / 8) - 1;
    }

    /// <summary>The context-pointer facts at one pc: a register bit set and a stack slot bit set.</summary>
    internal readonly record struct ContextState(ushort Registers, ulong Slots)
    {
        public bool HoldsContext(int register) => (uint)register < 16 && (Registers & (1 << register)) != 0;

        public bool SlotHoldsContext(int slot) => (Slots & (1UL << slot)) != 0;

        public ContextState Meet(ContextState other) => new((ushort)(Registers & other.Registers), Slots & other.Slots);

        public ContextState Define(int register, bool holdsContext) =>
            this with { Registers = (ushort)(holdsContext ? Registers | (1 << register) : Registers & ~(1 << register)) };

        public ContextState SetSlot(int slot) => this with { Slots = Slots | (1UL << slot) };

        public ContextState ClobberCallerSaved() => this with { Registers = (ushort)(Registers & ~0b11_1111) };

        /// <summary>Forgets every slot that [r10 + offset, +size) overlaps.</summary>
        public ContextState ClearSlots(int offset, int size)
        {
            ulong slots = Slots;
            for (int byteOffset = offset; byteOffset < offset + size; byteOffset++)
            {
                if (byteOffset < 0 && byteOffset >= -BpfExecutionContext.FrameStackSize)
                {
                    slots &= ~(1UL << ((-byteOffset - 1) / 8));
                }
            }

            return this with { Slots = slots };
        }
    }
}
