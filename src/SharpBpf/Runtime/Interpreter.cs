using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpBpf.Isa;

namespace SharpBpf.Runtime;

/// <summary>
/// The reference engine: runs a program instruction by instruction with the semantics of RFC 9669 and the
/// Linux kernel. In checked mode it is memory-safe on its own, for any program.
/// </summary>
/// <remarks>
/// Semantics worth knowing: division by zero gives 0 and modulo by zero keeps the dividend (for 32-bit
/// operations, zero-extended); INT_MIN / -1 wraps to INT_MIN and INT_MIN % -1 is 0; shift amounts are masked to
/// the operand width; 32-bit results are zero-extended; bpf-to-bpf calls get a fresh 512-byte frame each, up to
/// <see cref="BpfExecutionContext.MaxFrames"/> frames, with r6-r9 preserved; legacy packet loads read big-endian from
/// <see cref="BpfExecutionContext.LegacyPacket"/> and end the program with r0 = 0 when out of bounds, as in the kernel.
/// A successful tail call (a helper's <see cref="BpfExecutionContext"/> request, see <c>MapHelpers.TailCall</c>) runs the
/// target in the calling function's frame and returns its r0 to that function's caller; helpers run callbacks with
/// <see cref="BpfExecutionContext.InvokeCallback"/>. Both work across engines.
/// </remarks>
public sealed class Interpreter : ExecutableProgram
{
    /// <summary>Prepares a program for interpretation.</summary>
    /// <exception cref="BpfException">Unchecked mode was asked for an unverified program, or an lddw cannot be resolved.</exception>
    public Interpreter(BpfProgram program, EngineOptions? options = null) : base(program, options)
    {
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Frame
    {
        public int ReturnPc;
        public ulong R6, R7, R8, R9;
    }

    /// <summary>The caller frames of the current run (kept in memory: calls are rare next to arithmetic).</summary>
    [InlineArray(BpfExecutionContext.MaxFrames)]
    private struct FrameArray
    {
        private Frame _first;
    }

    private struct CallStack
    {
        /// <summary>The frame depth of the function the execution started in (above 0 for callbacks and tail calls).</summary>
        public int Base;

        /// <summary>The frames pushed since.</summary>
        public int Depth;
        public FrameArray Frames;
    }

    /// <inheritdoc/>
    [SkipLocalsInit]
    public override unsafe ulong Run(BpfExecutionContext context, ulong r1 = 0, ulong r2 = 0, ulong r3 = 0, ulong r4 = 0, ulong r5 = 0)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.BeginRun();

        // 16 slots so that any 4-bit register field indexes safely; validation keeps them below 11.
        ulong* reg = stackalloc ulong[16];
        ClearWithArguments(reg, 16, r1, r2, r3, r4, r5);
        reg[10] = context.FramePointer(0);
        context.RunningProgram = this;
        return Execute(context, Image, reg, 0, context.InstructionBudget, context.InstructionBudget, 0);
    }

    /// <inheritdoc/>
    internal override unsafe ulong RunNested(BpfExecutionContext context, ulong* registers, int functionPc, int depth, long budget)
    {
        var savedCode = context.RunningCode;
        var savedImage = context.RunningImage;
        var savedProgram = context.RunningProgram;
        context.RunningProgram = this;
        registers[10] = context.FramePointer(depth);
        ulong r0 = Execute(context, Image, registers, functionPc, budget, context.RunBudget, depth);
        context.RunningCode = savedCode;
        context.RunningImage = savedImage;
        context.RunningProgram = savedProgram;
        return r0;
    }

    /// <summary>
    /// Runs from <paramref name="pc"/> in frame <paramref name="baseDepth"/> with the given registers (16 slots) and budget;
    /// the exit of that function ends the execution. Other engines use it
    /// to finish a stretch of straight-line code with the interpreter's exact fault behaviour; <paramref name="runBudget"/>
    /// is the budget the whole run started with (for fault messages and <see cref="BpfExecutionContext.InstructionsExecuted"/>).
    /// </summary>
    /// <remarks>
    /// The loop keeps only the code pointer, pc, register file pointer and budget in machine registers; the region
    /// caches live in a small struct and every fault is built by a cold, non-inlined method, so the dispatch stays tight.
    /// </remarks>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe ulong Execute(BpfExecutionContext context, ProgramImage image, ulong* reg, int pc, long budget, long runBudget, int baseDepth)
    {
        context.RunBudget = runBudget;
        context.RunningCode = image.Code;
        context.RunningImage = image;
        CallStack calls = default;
        calls.Base = baseDepth;

        // One-region caches for loads and for stores/atomics, primed with the stack: most accesses hit them.
        // Only regions of at least 8 bytes are cached, so "Length - size" never wraps.
        RegionCache cache = default;
        cache.Reset(context.Stack);

        // The code array is pinned for the image's lifetime, and the context keeps the image alive during the run.
        // In unchecked mode the dispatch copy carries the unchecked opcodes of proven accesses.
        ulong* code = (ulong*)image.DispatchAddress;
        while (true)
        {
            if (--budget < 0)
            {
                throw BudgetFault(context, pc, ((ulong*)image.CodeAddress)[pc]);
            }

            ulong raw = code[pc];
            int dst = (int)(raw >> 8) & 0x0f;
            int src = (int)(raw >> 12) & 0x0f;
            int off = (short)(raw >> 16);
            int imm = (int)(raw >> 32);
            ulong simm = (ulong)(long)imm;
            pc++;
            switch ((byte)raw)
            {
                // ---- 64-bit arithmetic ----
                case 0x07: reg[dst] += simm; break;
                case 0x0f: reg[dst] += reg[src]; break;
                case 0x17: reg[dst] -= simm; break;
                case 0x1f: reg[dst] -= reg[src]; break;
                case 0x27: reg[dst] *= simm; break;
                case 0x2f: reg[dst] *= reg[src]; break;
                case 0x37: reg[dst] = Div64(reg[dst], simm, (short)off); break;
                case 0x3f: reg[dst] = Div64(reg[dst], reg[src], (short)off); break;
                case 0x47: reg[dst] |= simm; break;
                case 0x4f: reg[dst] |= reg[src]; break;
                case 0x57: reg[dst] &= simm; break;
                case 0x5f: reg[dst] &= reg[src]; break;
                case 0x67: reg[dst] <<= imm & 63; break;
                case 0x6f: reg[dst] <<= (int)(reg[src] & 63); break;
                case 0x77: reg[dst] >>= imm & 63; break;
                case 0x7f: reg[dst] >>= (int)(reg[src] & 63); break;
                case 0x87: reg[dst] = 0 - reg[dst]; break;
                case 0x97: reg[dst] = Mod64(reg[dst], simm, (short)off); break;
                case 0x9f: reg[dst] = Mod64(reg[dst], reg[src], (short)off); break;
                case 0xa7: reg[dst] ^= simm; break;
                case 0xaf: reg[dst] ^= reg[src]; break;
                case 0xb7: reg[dst] = simm; break;
                case 0xbf: reg[dst] = off == 0 ? reg[src] : MovSx64(reg[src], (short)off); break;
                case 0xc7: reg[dst] = (ulong)((long)reg[dst] >> (imm & 63)); break;
                case 0xcf: reg[dst] = (ulong)((long)reg[dst] >> (int)(reg[src] & 63)); break;
                case 0xd7: reg[dst] = Swap(reg[dst], imm); break;

                // ---- 32-bit arithmetic: results zero-extended ----
                case 0x04: reg[dst] = (uint)reg[dst] + (uint)imm; break;
                case 0x0c: reg[dst] = (uint)reg[dst] + (uint)reg[src]; break;
                case 0x14: reg[dst] = (uint)reg[dst] - (uint)imm; break;
                case 0x1c: reg[dst] = (uint)reg[dst] - (uint)reg[src]; break;
                case 0x24: reg[dst] = (uint)reg[dst] * (uint)imm; break;
                case 0x2c: reg[dst] = (uint)reg[dst] * (uint)reg[src]; break;
                case 0x34: reg[dst] = Div32((uint)reg[dst], (uint)imm, (short)off); break;
                case 0x3c: reg[dst] = Div32((uint)reg[dst], (uint)reg[src], (short)off); break;
                case 0x44: reg[dst] = (uint)reg[dst] | (uint)imm; break;
                case 0x4c: reg[dst] = (uint)reg[dst] | (uint)reg[src]; break;
                case 0x54: reg[dst] = (uint)reg[dst] & (uint)imm; break;
                case 0x5c: reg[dst] = (uint)reg[dst] & (uint)reg[src]; break;
                case 0x64: reg[dst] = (uint)reg[dst] << (imm & 31); break;
                case 0x6c: reg[dst] = (uint)reg[dst] << (int)(reg[src] & 31); break;
                case 0x74: reg[dst] = (uint)reg[dst] >> (imm & 31); break;
                case 0x7c: reg[dst] = (uint)reg[dst] >> (int)(reg[src] & 31); break;
                case 0x84: reg[dst] = 0u - (uint)reg[dst]; break;
                case 0x94: reg[dst] = Mod32((uint)reg[dst], (uint)imm, (short)off); break;
                case 0x9c: reg[dst] = Mod32((uint)reg[dst], (uint)reg[src], (short)off); break;
                case 0xa4: reg[dst] = (uint)reg[dst] ^ (uint)imm; break;
                case 0xac: reg[dst] = (uint)reg[dst] ^ (uint)reg[src]; break;
                case 0xb4: reg[dst] = (uint)imm; break;
                case 0xbc: reg[dst] = MovSx32(reg[src], (short)off); break;
                case 0xc4: reg[dst] = (uint)((int)reg[dst] >> (imm & 31)); break;
                case 0xcc: reg[dst] = (uint)((int)reg[dst] >> (int)(reg[src] & 31)); break;
                case 0xd4: reg[dst] = ToLittleEndian(reg[dst], imm); break;
                case 0xdc: reg[dst] = Swap(reg[dst], imm); break;

                // ---- 64-bit jumps ----
                case 0x05: pc += off; break;
                case 0x15: if (reg[dst] == simm) { pc += off; } break;
                case 0x1d: if (reg[dst] == reg[src]) { pc += off; } break;
                case 0x25: if (reg[dst] > simm) { pc += off; } break;
                case 0x2d: if (reg[dst] > reg[src]) { pc += off; } break;
                case 0x35: if (reg[dst] >= simm) { pc += off; } break;
                case 0x3d: if (reg[dst] >= reg[src]) { pc += off; } break;
                case 0x45: if ((reg[dst] & simm) != 0) { pc += off; } break;
                case 0x4d: if ((reg[dst] & reg[src]) != 0) { pc += off; } break;
                case 0x55: if (reg[dst] != simm) { pc += off; } break;
                case 0x5d: if (reg[dst] != reg[src]) { pc += off; } break;
                case 0x65: if ((long)reg[dst] > imm) { pc += off; } break;
                case 0x6d: if ((long)reg[dst] > (long)reg[src]) { pc += off; } break;
                case 0x75: if ((long)reg[dst] >= imm) { pc += off; } break;
                case 0x7d: if ((long)reg[dst] >= (long)reg[src]) { pc += off; } break;
                case 0xa5: if (reg[dst] < simm) { pc += off; } break;
                case 0xad: if (reg[dst] < reg[src]) { pc += off; } break;
                case 0xb5: if (reg[dst] <= simm) { pc += off; } break;
                case 0xbd: if (reg[dst] <= reg[src]) { pc += off; } break;
                case 0xc5: if ((long)reg[dst] < imm) { pc += off; } break;
                case 0xcd: if ((long)reg[dst] < (long)reg[src]) { pc += off; } break;
                case 0xd5: if ((long)reg[dst] <= imm) { pc += off; } break;
                case 0xdd: if ((long)reg[dst] <= (long)reg[src]) { pc += off; } break;

                // ---- 32-bit jumps ----
                case 0x06: pc += imm; break;
                case 0x16: if ((uint)reg[dst] == (uint)imm) { pc += off; } break;
                case 0x1e: if ((uint)reg[dst] == (uint)reg[src]) { pc += off; } break;
                case 0x26: if ((uint)reg[dst] > (uint)imm) { pc += off; } break;
                case 0x2e: if ((uint)reg[dst] > (uint)reg[src]) { pc += off; } break;
                case 0x36: if ((uint)reg[dst] >= (uint)imm) { pc += off; } break;
                case 0x3e: if ((uint)reg[dst] >= (uint)reg[src]) { pc += off; } break;
                case 0x46: if (((uint)reg[dst] & (uint)imm) != 0) { pc += off; } break;
                case 0x4e: if (((uint)reg[dst] & (uint)reg[src]) != 0) { pc += off; } break;
                case 0x56: if ((uint)reg[dst] != (uint)imm) { pc += off; } break;
                case 0x5e: if ((uint)reg[dst] != (uint)reg[src]) { pc += off; } break;
                case 0x66: if ((int)reg[dst] > imm) { pc += off; } break;
                case 0x6e: if ((int)reg[dst] > (int)reg[src]) { pc += off; } break;
                case 0x76: if ((int)reg[dst] >= imm) { pc += off; } break;
                case 0x7e: if ((int)reg[dst] >= (int)reg[src]) { pc += off; } break;
                case 0xa6: if ((uint)reg[dst] < (uint)imm) { pc += off; } break;
                case 0xae: if ((uint)reg[dst] < (uint)reg[src]) { pc += off; } break;
                case 0xb6: if ((uint)reg[dst] <= (uint)imm) { pc += off; } break;
                case 0xbe: if ((uint)reg[dst] <= (uint)reg[src]) { pc += off; } break;
                case 0xc6: if ((int)reg[dst] < imm) { pc += off; } break;
                case 0xce: if ((int)reg[dst] < (int)reg[src]) { pc += off; } break;
                case 0xd6: if ((int)reg[dst] <= imm) { pc += off; } break;
                case 0xde: if ((int)reg[dst] <= (int)reg[src]) { pc += off; } break;

                // ---- loads (zero- and sign-extending) ----
                case 0x71:
                {
                    ulong addr = reg[src] + (ulong)(long)off;
                    if (addr - cache.ReadStart > cache.ReadLength - 1) { cache.Load(context, budget, addr, 1, pc - 1); }
                    reg[dst] = *(byte*)addr;
                    break;
                }

                case 0x69:
                {
                    ulong addr = reg[src] + (ulong)(long)off;
                    if (addr - cache.ReadStart > cache.ReadLength - 2) { cache.Load(context, budget, addr, 2, pc - 1); }
                    reg[dst] = Unsafe.ReadUnaligned<ushort>((void*)addr);
                    break;
                }

                case 0x61:
                {
                    ulong addr = reg[src] + (ulong)(long)off;
                    if (addr - cache.ReadStart > cache.ReadLength - 4) { cache.Load(context, budget, addr, 4, pc - 1); }
                    reg[dst] = Unsafe.ReadUnaligned<uint>((void*)addr);
                    break;
                }

                case 0x79:
                {
                    ulong addr = reg[src] + (ulong)(long)off;
                    if (addr - cache.ReadStart > cache.ReadLength - 8) { cache.Load(context, budget, addr, 8, pc - 1); }
                    reg[dst] = Unsafe.ReadUnaligned<ulong>((void*)addr);
                    break;
                }

                case 0x91:
                {
                    ulong addr = reg[src] + (ulong)(long)off;
                    if (addr - cache.ReadStart > cache.ReadLength - 1) { cache.Load(context, budget, addr, 1, pc - 1); }
                    reg[dst] = (ulong)(long)*(sbyte*)addr;
                    break;
                }

                case 0x89:
                {
                    ulong addr = reg[src] + (ulong)(long)off;
                    if (addr - cache.ReadStart > cache.ReadLength - 2) { cache.Load(context, budget, addr, 2, pc - 1); }
                    reg[dst] = (ulong)(long)Unsafe.ReadUnaligned<short>((void*)addr);
                    break;
                }

                case 0x81:
                {
                    ulong addr = reg[src] + (ulong)(long)off;
                    if (addr - cache.ReadStart > cache.ReadLength - 4) { cache.Load(context, budget, addr, 4, pc - 1); }
                    reg[dst] = (ulong)(long)Unsafe.ReadUnaligned<int>((void*)addr);
                    break;
                }

                // ---- stores: ST takes the immediate, STX the source register ----
                case 0x72:
                case 0x73:
                {
                    ulong addr = reg[dst] + (ulong)(long)off;
                    if (addr - cache.WriteStart > cache.WriteLength - 1) { cache.Store(context, budget, addr, 1, MemoryAccess.Write, pc - 1); }
                    *(byte*)addr = (byte)((raw & 1) != 0 ? reg[src] : simm);
                    break;
                }

                case 0x6a:
                case 0x6b:
                {
                    ulong addr = reg[dst] + (ulong)(long)off;
                    if (addr - cache.WriteStart > cache.WriteLength - 2) { cache.Store(context, budget, addr, 2, MemoryAccess.Write, pc - 1); }
                    Unsafe.WriteUnaligned((void*)addr, (ushort)((raw & 1) != 0 ? reg[src] : simm));
                    break;
                }

                case 0x62:
                case 0x63:
                {
                    ulong addr = reg[dst] + (ulong)(long)off;
                    if (addr - cache.WriteStart > cache.WriteLength - 4) { cache.Store(context, budget, addr, 4, MemoryAccess.Write, pc - 1); }
                    Unsafe.WriteUnaligned((void*)addr, (uint)((raw & 1) != 0 ? reg[src] : simm));
                    break;
                }

                case 0x7a:
                case 0x7b:
                {
                    ulong addr = reg[dst] + (ulong)(long)off;
                    if (addr - cache.WriteStart > cache.WriteLength - 8) { cache.Store(context, budget, addr, 8, MemoryAccess.Write, pc - 1); }
                    Unsafe.WriteUnaligned((void*)addr, (raw & 1) != 0 ? reg[src] : simm);
                    break;
                }

                // ---- atomics ----
                case 0xc3:
                case 0xdb:
                {
                    ulong addr = reg[dst] + (ulong)(long)off;
                    int size = (byte)raw == 0xdb ? 8 : 4;
                    if (addr - cache.WriteStart > cache.WriteLength - (ulong)size) { cache.Store(context, budget, addr, size, MemoryAccess.ReadWrite, pc - 1); }
                    AtomicAt(context, budget, pc - 1, reg, src, imm, addr, size);
                    break;
                }

                // ---- accesses the verifier proved in bounds (unchecked mode; see UncheckedDispatchCode) ----
                case 0xf1: reg[dst] = *(byte*)(reg[src] + (ulong)(long)off); break;
                case 0xe9: reg[dst] = Unsafe.ReadUnaligned<ushort>((void*)(reg[src] + (ulong)(long)off)); break;
                case 0xe1: reg[dst] = Unsafe.ReadUnaligned<uint>((void*)(reg[src] + (ulong)(long)off)); break;
                case 0xf9: reg[dst] = Unsafe.ReadUnaligned<ulong>((void*)(reg[src] + (ulong)(long)off)); break;
                case 0xb1: reg[dst] = (ulong)(long)*(sbyte*)(reg[src] + (ulong)(long)off); break;
                case 0xa9: reg[dst] = (ulong)(long)Unsafe.ReadUnaligned<short>((void*)(reg[src] + (ulong)(long)off)); break;
                case 0xa1: reg[dst] = (ulong)(long)Unsafe.ReadUnaligned<int>((void*)(reg[src] + (ulong)(long)off)); break;
                case 0xf2: case 0xf3: *(byte*)(reg[dst] + (ulong)(long)off) = (byte)((raw & 1) != 0 ? reg[src] : simm); break;
                case 0xea: case 0xeb: Unsafe.WriteUnaligned((void*)(reg[dst] + (ulong)(long)off), (ushort)((raw & 1) != 0 ? reg[src] : simm)); break;
                case 0xe2: case 0xe3: Unsafe.WriteUnaligned((void*)(reg[dst] + (ulong)(long)off), (uint)((raw & 1) != 0 ? reg[src] : simm)); break;
                case 0xfa: case 0xfb: Unsafe.WriteUnaligned((void*)(reg[dst] + (ulong)(long)off), (raw & 1) != 0 ? reg[src] : simm); break;
                case 0xa3: case 0xbb: AtomicAt(context, budget, pc - 1, reg, src, imm, reg[dst] + (ulong)(long)off, (byte)raw == 0xbb ? 8 : 4); break;

                // ---- 64-bit immediate ----
                case 0x18:
                    reg[dst] = context.RunningImage!.Imm64(pc - 1);
                    pc++;
                    break;

                // ---- legacy packet loads ----
                case 0x20:
                case 0x28:
                case 0x30:
                case 0x40:
                case 0x48:
                case 0x50:
                {
                    if (!LegacyLoad(context, budget, pc - 1, raw, reg))
                    {
                        // The kernel ends the program with r0 = 0 on an out-of-bounds legacy load (the whole run,
                        // also from a callback or a tail-called program: hence a stop).
                        context.InstructionsExecuted = context.RunBudget - budget;
                        context.Stop(0);
                        return 0;
                    }

                    break;
                }

                // ---- calls and exit ----
                case 0x85:
                    if (src == (int)CallKind.Local)
                    {
                        PushFrame(context, budget, ref calls, reg, pc);
                        pc += imm;
                        break;
                    }

                    if (src != (int)CallKind.Helper)
                    {
                        throw KfuncFault(context, budget, pc - 1, imm);
                    }

                {
                    int status = CallHelper(context, budget, pc - 1, (uint)imm, reg, calls.Base + calls.Depth);

                    // Callbacks the helper ran used budget; a helper may have changed the regions.
                    budget = context.RunBudget - context.InstructionsExecuted;
                    cache.Reset(context.Stack);
                    if (status != HelperContinue)
                    {
                        if (status == HelperStopped || calls.Depth == 0)
                        {
                            return status == HelperStopped ? context.StopValue : reg[0];
                        }

                        // A tail call ran in place of this function: return to its caller.
                        pc = PopFrame(context, ref calls, reg);
                    }

                    break;
                }

                case 0x8d:
                {
                    ulong target = reg[dst];
                    if (context.Helpers.Find((long)target) is not null)
                    {
                        // A registered id is below HelperTable.MaxId: the helper call of 0x85 does the rest.
                        src = (int)CallKind.Helper;
                        imm = (int)target;
                        goto case 0x85;
                    }

                    int function = context.RunningImage!.FunctionAt(target);
                    if (function < 0)
                    {
                        throw CallxFault(context, budget, pc - 1, dst, target);
                    }

                    PushFrame(context, budget, ref calls, reg, pc);
                    pc = function;
                    break;
                }

                case 0x95:
                    if (calls.Depth == 0)
                    {
                        context.InstructionsExecuted = context.RunBudget - budget;
                        return reg[0];
                    }

                    pc = PopFrame(context, ref calls, reg);
                    break;

                default:
                    // Unreachable for a validated program.
                    throw UnknownOpcodeFault(context, budget, pc - 1, (byte)raw);
            }
        }
    }

    /// <summary>An atomic operation of <paramref name="size"/> bytes at an address already checked (or proven).</summary>
    private static unsafe void AtomicAt(BpfExecutionContext context, long budget, int pc, ulong* reg, int src, int operation, ulong addr, int size)
    {
        if ((addr & (ulong)(size - 1)) != 0)
        {
            throw MisalignedFault(context, budget, pc, addr, size);
        }

        if (size == 8)
        {
            Atomic64(reg, src, operation, (ulong*)addr);
        }
        else
        {
            Atomic32(reg, src, operation, (uint*)addr);
        }
    }

    /// <summary>
    /// A pinned copy of <paramref name="code"/> in which each access marked in <paramref name="proven"/> carries an
    /// opcode no valid program uses, which the dispatch runs without the region check: loads, stores and atomics
    /// move to the unused modes 0xe0 (from MEM), 0xa0 (from MEMSX and ATOMIC; these differ by class).
    /// </summary>
    internal static Instruction[] UncheckedDispatchCode(Instruction[] code, bool[] proven)
    {
        var dispatch = GC.AllocateArray<Instruction>(code.Length, pinned: true);
        code.CopyTo(dispatch, 0);
        for (int pc = 0; pc < code.Length; pc++)
        {
            if (!proven[pc])
            {
                continue;
            }

            var insn = code[pc];
            int opcode = insn.Opcode;
            int mode = opcode & 0xe0;
            int dispatchOpcode = (insn.Class, mode) switch
            {
                (InstructionClass.Ldx or InstructionClass.St or InstructionClass.Stx, 0x60) => opcode | 0x80,
                (InstructionClass.Ldx, 0x80) => opcode | 0x20,
                (InstructionClass.Stx, 0xc0) => opcode ^ 0x60,
                _ => opcode,
            };
            dispatch[pc] = new Instruction((byte)dispatchOpcode, insn.Dst, insn.Src, insn.Offset, insn.Immediate);
        }

        return dispatch;
    }

    /// <summary>The last region each kind of access hit (loads; stores and atomics), as start and length.</summary>
    private struct RegionCache
    {
        public ulong ReadStart, ReadLength, WriteStart, WriteLength;

        public void Reset(MemoryRegion stack)
        {
            ReadStart = WriteStart = stack.Start;
            ReadLength = WriteLength = (ulong)stack.Length;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public void Load(BpfExecutionContext context, long budget, ulong address, int size, int pc)
        {
            var region = Check(context, budget, address, size, MemoryAccess.Read, pc);
            if (region.Length >= 8)
            {
                ReadStart = region.Start;
                ReadLength = (ulong)region.Length;
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public void Store(BpfExecutionContext context, long budget, ulong address, int size, MemoryAccess access, int pc)
        {
            var region = Check(context, budget, address, size, access, pc);

            // Only read-write regions serve atomics from the cache.
            if (region.Length >= 8 && region.Access == MemoryAccess.ReadWrite)
            {
                WriteStart = region.Start;
                WriteLength = (ulong)region.Length;
            }
        }

        private static MemoryRegion Check(BpfExecutionContext context, long budget, ulong address, int size, MemoryAccess access, int pc)
        {
            var region = context.FindRegion(address, size, access);
            if (region is null)
            {
                context.InstructionsExecuted = context.RunBudget - budget;
                throw new BpfExecutionException(context.MemoryFault(pc, InstructionAt(context, pc), address, size, access, "memory"));
            }

            return region;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe void PushFrame(BpfExecutionContext context, long budget, ref CallStack calls, ulong* reg, int returnPc)
    {
        int depth = calls.Depth;
        int absolute = calls.Base + depth;
        if (absolute + 1 >= BpfExecutionContext.MaxFrames)
        {
            throw CallDepthFault(context, budget, returnPc - 1, absolute);
        }

        ref Frame frame = ref calls.Frames[depth];
        frame.ReturnPc = returnPc;
        frame.R6 = reg[6];
        frame.R7 = reg[7];
        frame.R8 = reg[8];
        frame.R9 = reg[9];
        calls.Depth = depth + 1;
        reg[10] = context.FramePointer(absolute + 1);
    }

    /// <summary>The fault of a call at <paramref name="pc"/>, made at <paramref name="depth"/> (0 = main program), that needs a frame too many.</summary>
    internal static BpfExecutionException CallDepthFault(BpfExecutionContext context, long budget, int pc, int depth) =>
        SimpleFault(context, budget, FaultKind.CallDepthExceeded, pc,
            $"the call would need frame {depth + 2}, beyond the limit of {BpfExecutionContext.MaxFrames} frames");

    /// <summary>Returns to the caller frame: restores r6-r9 and r10 and gives the return pc.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe int PopFrame(BpfExecutionContext context, ref CallStack calls, ulong* reg)
    {
        int depth = --calls.Depth;
        ref Frame frame = ref calls.Frames[depth];
        reg[6] = frame.R6;
        reg[7] = frame.R7;
        reg[8] = frame.R8;
        reg[9] = frame.R9;
        reg[10] = context.FramePointer(calls.Base + depth);
        return frame.ReturnPc;
    }

    /// <summary><see cref="CallHelper"/>: carry on after the call.</summary>
    private const int HelperContinue = 0;

    /// <summary><see cref="CallHelper"/>: the run has ended (a helper's Stop); r0 is the stop value.</summary>
    private const int HelperStopped = 1;

    /// <summary><see cref="CallHelper"/>: a tail call ran in place of the calling function, whose caller gets r0.</summary>
    private const int HelperTailCalled = 2;

    /// <summary>
    /// Calls a helper with r1-r5 from the function at frame <paramref name="depth"/> and performs what it asked for:
    /// returns <see cref="HelperContinue"/>, <see cref="HelperStopped"/> or <see cref="HelperTailCalled"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe int CallHelper(BpfExecutionContext context, long budget, int pc, ulong id, ulong* reg, int depth)
    {
        var helper = context.Helpers.Find((long)id) ?? throw SimpleFault(context, budget, FaultKind.UnknownHelper, pc, $"call to unknown helper {id}");
        context.CurrentPc = pc;
        context.CurrentDepth = depth;
        context.InstructionsExecuted = context.RunBudget - budget;
        ulong r0 = helper.Function(context, reg[1], reg[2], reg[3], reg[4], reg[5]);
        if (context.TailCallRequested)
        {
            // A failed tail call leaves r0 alone, as the kernel's interpreter does.
            var target = context.TakeTailCall();
            if (target is not null)
            {
                context.RunTailCall(target, reg, depth);
                return context.StopRequested ? HelperStopped : HelperTailCalled;
            }
        }
        else
        {
            reg[0] = r0;
        }

        return context.StopRequested ? HelperStopped : HelperContinue;
    }

    /// <summary>A legacy packet load into r0; false when it is out of bounds (the program then ends with 0).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe bool LegacyLoad(BpfExecutionContext context, long budget, int pc, ulong raw, ulong* reg)
    {
        if (context.LegacyPacket is null)
        {
            throw SimpleFault(context, budget, FaultKind.Unsupported, pc, "legacy packet load, but this run has no packet");
        }

        var insn = Unsafe.As<ulong, Instruction>(ref raw);
        int size = Instruction.BytesOf(insn.MemorySize);
        long offset = insn.MemoryMode == MemoryMode.Abs ? insn.Immediate : (int)((uint)reg[insn.Src] + (uint)insn.Immediate);
        if (!context.TryLegacyLoad(offset, size, out ulong value))
        {
            return false;
        }

        reg[0] = value;
        return true;
    }

    private static Instruction InstructionAt(BpfExecutionContext context, int pc) =>
        context.RunningCode is { } code && (uint)pc < (uint)code.Length ? code[pc] : default;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BpfExecutionException BudgetFault(BpfExecutionContext context, int pc, ulong raw)
    {
        context.InstructionsExecuted = context.RunBudget;
        return new BpfExecutionException(new ExecutionFault(FaultKind.InstructionBudgetExhausted, pc, Unsafe.As<ulong, Instruction>(ref raw),
            $"{FaultLocation.Describe(context.RunningCode, pc, Unsafe.As<ulong, Instruction>(ref raw))}: the program ran out of its budget of {context.RunBudget} instructions (is it looping forever?)"));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BpfExecutionException MisalignedFault(BpfExecutionContext context, long budget, int pc, ulong address, int size) =>
        SimpleFault(context, budget, FaultKind.MisalignedAtomic, pc, $"atomic access of {size} bytes at 0x{address:x} is not aligned to {size} bytes");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BpfExecutionException KfuncFault(BpfExecutionContext context, long budget, int pc, int btfId) =>
        SimpleFault(context, budget, FaultKind.Unsupported, pc, $"kfunc calls (BTF id {btfId}) are not supported by the VM");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BpfExecutionException CallxFault(BpfExecutionContext context, long budget, int pc, int register, ulong target) =>
        SimpleFault(context, budget, FaultKind.InvalidCallTarget, pc,
            $"callx r{register} = 0x{target:x} is neither a registered helper nor a function of the program");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BpfExecutionException UnknownOpcodeFault(BpfExecutionContext context, long budget, int pc, byte opcode) =>
        SimpleFault(context, budget, FaultKind.Unsupported, pc, $"unknown opcode 0x{opcode:x2}");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BpfExecutionException SimpleFault(BpfExecutionContext context, long budget, FaultKind kind, int pc, string message)
    {
        context.InstructionsExecuted = context.RunBudget - budget;
        var instruction = InstructionAt(context, pc);
        return new BpfExecutionException(new ExecutionFault(kind, pc, instruction, $"{FaultLocation.Describe(context.RunningCode, pc, instruction)}: {message}"));
    }

    /// <summary>Unsigned (offset 0) or signed (offset 1) 64-bit division with the BPF corner cases.</summary>
    internal static ulong Div64(ulong dividend, ulong divisor, short offset)
    {
        if (divisor == 0)
        {
            return 0;
        }

        if (offset == 0)
        {
            return dividend / divisor;
        }

        long a = (long)dividend, b = (long)divisor;
        return b == -1 ? (ulong)(0 - dividend) : (ulong)(a / b);
    }

    /// <summary>Unsigned or signed 64-bit modulo: by zero keeps the dividend; INT_MIN % -1 is 0.</summary>
    internal static ulong Mod64(ulong dividend, ulong divisor, short offset)
    {
        if (divisor == 0)
        {
            return dividend;
        }

        if (offset == 0)
        {
            return dividend % divisor;
        }

        long a = (long)dividend, b = (long)divisor;
        return b == -1 ? 0 : (ulong)(a % b);
    }

    /// <summary>Unsigned or signed 32-bit division, zero-extended.</summary>
    internal static ulong Div32(uint dividend, uint divisor, short offset)
    {
        if (divisor == 0)
        {
            return 0;
        }

        if (offset == 0)
        {
            return dividend / divisor;
        }

        int a = (int)dividend, b = (int)divisor;
        return b == -1 ? 0u - dividend : (uint)(a / b);
    }

    /// <summary>Unsigned or signed 32-bit modulo, zero-extended; by zero keeps the (zero-extended) dividend.</summary>
    internal static ulong Mod32(uint dividend, uint divisor, short offset)
    {
        if (divisor == 0)
        {
            return dividend;
        }

        if (offset == 0)
        {
            return dividend % divisor;
        }

        int a = (int)dividend, b = (int)divisor;
        return b == -1 ? 0u : (uint)(a % b);
    }

    /// <summary>64-bit mov, sign-extending from 8, 16 or 32 bits when the offset says so.</summary>
    internal static ulong MovSx64(ulong value, short offset) => offset switch
    {
        8 => (ulong)(long)(sbyte)value,
        16 => (ulong)(long)(short)value,
        32 => (ulong)(long)(int)value,
        _ => value,
    };

    /// <summary>32-bit mov, sign-extending from 8 or 16 bits to 32 when the offset says so, then zero-extended.</summary>
    internal static ulong MovSx32(ulong value, short offset) => offset switch
    {
        8 => (uint)(int)(sbyte)value,
        16 => (uint)(int)(short)value,
        _ => (uint)value,
    };

    /// <summary>Byte swap of the low 16, 32 or 64 bits (bswap, and be on a little-endian machine), zero-extended.</summary>
    internal static ulong Swap(ulong value, int width) => width switch
    {
        16 => BinaryPrimitives.ReverseEndianness((ushort)value),
        32 => BinaryPrimitives.ReverseEndianness((uint)value),
        _ => BinaryPrimitives.ReverseEndianness(value),
    };

    /// <summary>le16/le32/le64 on a little-endian machine: truncation to the width.</summary>
    internal static ulong ToLittleEndian(ulong value, int width) => width switch
    {
        16 => (ushort)value,
        32 => (uint)value,
        _ => value,
    };

    /// <summary>The atomic <paramref name="operation"/> on a 64-bit cell; r0 and r<paramref name="src"/> are in <paramref name="reg"/>.</summary>
    internal static unsafe void Atomic64(ulong* reg, int src, int operation, ulong* target)
    {
        ulong operand = reg[src];
        ref ulong cell = ref Unsafe.AsRef<ulong>(target);
        switch ((AtomicOperation)operation)
        {
            case AtomicOperation.Add: Interlocked.Add(ref Unsafe.As<ulong, long>(ref cell), (long)operand); break;
            case AtomicOperation.Or: Interlocked.Or(ref cell, operand); break;
            case AtomicOperation.And: Interlocked.And(ref cell, operand); break;
            case AtomicOperation.Xor: XorFetch64(ref cell, operand); break;
            case AtomicOperation.FetchAdd: reg[src] = (ulong)(Interlocked.Add(ref Unsafe.As<ulong, long>(ref cell), (long)operand) - (long)operand); break;
            case AtomicOperation.FetchOr: reg[src] = Interlocked.Or(ref cell, operand); break;
            case AtomicOperation.FetchAnd: reg[src] = Interlocked.And(ref cell, operand); break;
            case AtomicOperation.FetchXor: reg[src] = XorFetch64(ref cell, operand); break;
            case AtomicOperation.Xchg: reg[src] = Interlocked.Exchange(ref cell, operand); break;
            default: reg[0] = Interlocked.CompareExchange(ref cell, operand, reg[0]); break; // CmpXchg
        }
    }

    /// <summary>The atomic <paramref name="operation"/> on a 32-bit cell; r0 and r<paramref name="src"/> are in <paramref name="reg"/>.</summary>
    internal static unsafe void Atomic32(ulong* reg, int src, int operation, uint* target)
    {
        uint operand = (uint)reg[src];
        ref uint cell = ref Unsafe.AsRef<uint>(target);
        switch ((AtomicOperation)operation)
        {
            case AtomicOperation.Add: Interlocked.Add(ref Unsafe.As<uint, int>(ref cell), (int)operand); break;
            case AtomicOperation.Or: Interlocked.Or(ref cell, operand); break;
            case AtomicOperation.And: Interlocked.And(ref cell, operand); break;
            case AtomicOperation.Xor: XorFetch32(ref cell, operand); break;
            case AtomicOperation.FetchAdd: reg[src] = (uint)(Interlocked.Add(ref Unsafe.As<uint, int>(ref cell), (int)operand) - (int)operand); break;
            case AtomicOperation.FetchOr: reg[src] = Interlocked.Or(ref cell, operand); break;
            case AtomicOperation.FetchAnd: reg[src] = Interlocked.And(ref cell, operand); break;
            case AtomicOperation.FetchXor: reg[src] = XorFetch32(ref cell, operand); break;
            case AtomicOperation.Xchg: reg[src] = Interlocked.Exchange(ref cell, operand); break;
            default: reg[0] = Interlocked.CompareExchange(ref cell, operand, (uint)reg[0]); break; // CmpXchg
        }
    }

    private static ulong XorFetch64(ref ulong cell, ulong operand)
    {
        ulong old = Volatile.Read(ref cell);
        while (true)
        {
            ulong seen = Interlocked.CompareExchange(ref cell, old ^ operand, old);
            if (seen == old)
            {
                return old;
            }

            old = seen;
        }
    }

    private static uint XorFetch32(ref uint cell, uint operand)
    {
        uint old = Volatile.Read(ref cell);
        while (true)
        {
            uint seen = Interlocked.CompareExchange(ref cell, old ^ operand, old);
            if (seen == old)
            {
                return old;
            }

            old = seen;
        }
    }
}
