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

    /// <inheritdoc/>
    [SkipLocalsInit]
    public override unsafe ulong Run(BpfExecutionContext context, ulong r1 = 0, ulong r2 = 0, ulong r3 = 0, ulong r4 = 0, ulong r5 = 0)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.BeginRun();

        // 16 slots so that any 4-bit register field indexes safely; validation keeps them below 11.
        ulong* reg = stackalloc ulong[16];
        new Span<ulong>(reg, 16).Clear();
        reg[1] = r1;
        reg[2] = r2;
        reg[3] = r3;
        reg[4] = r4;
        reg[5] = r5;
        reg[10] = context.FramePointer(0);
        return Execute(context, Image, reg, 0, context.InstructionBudget, context.InstructionBudget);
    }

    /// <summary>
    /// Runs from <paramref name="pc"/> in frame 0 with the given registers (16 slots) and budget. Other engines use it
    /// to finish a stretch of straight-line code with the interpreter's exact fault behaviour; <paramref name="runBudget"/>
    /// is the budget the whole run started with (for the fault message and <see cref="BpfExecutionContext.InstructionsExecuted"/>).
    /// </summary>
    [SkipLocalsInit]
    internal static unsafe ulong Execute(BpfExecutionContext context, ProgramImage image, ulong* reg, int pc, long budget, long runBudget)
    {
        var helpers = context.Helpers;
        Frame* frames = stackalloc Frame[BpfExecutionContext.MaxFrames];
        int depth = 0;

        // One-region caches for loads and for stores/atomics, primed with the stack: most accesses hit them.
        // Only regions of at least 8 bytes are cached, so "len - size" never wraps.
        ulong readLo = context.Stack.Start, readLen = (ulong)context.Stack.Length;
        ulong writeLo = readLo, writeLen = readLen;

        long start = runBudget;
        fixed (Instruction* code = image.Code)
        {
            try
            {
                while (true)
                {
                    if (--budget < 0)
                    {
                        throw Fault(FaultKind.InstructionBudgetExhausted, pc, code[pc],
                            $"pc {pc}: the program ran out of its budget of {start} instructions (is it looping forever?)");
                    }

                    Instruction insn = code[pc];
                    int dst = insn.Dst;
                    int src = insn.Src;
                    pc++;
                    switch (insn.Opcode)
                    {
                        // ---- 64-bit arithmetic ----
                        case 0x07: reg[dst] += (ulong)(long)insn.Immediate; break;
                        case 0x0f: reg[dst] += reg[src]; break;
                        case 0x17: reg[dst] -= (ulong)(long)insn.Immediate; break;
                        case 0x1f: reg[dst] -= reg[src]; break;
                        case 0x27: reg[dst] *= (ulong)(long)insn.Immediate; break;
                        case 0x2f: reg[dst] *= reg[src]; break;
                        case 0x37: reg[dst] = Div64(reg[dst], (ulong)(long)insn.Immediate, insn.Offset); break;
                        case 0x3f: reg[dst] = Div64(reg[dst], reg[src], insn.Offset); break;
                        case 0x47: reg[dst] |= (ulong)(long)insn.Immediate; break;
                        case 0x4f: reg[dst] |= reg[src]; break;
                        case 0x57: reg[dst] &= (ulong)(long)insn.Immediate; break;
                        case 0x5f: reg[dst] &= reg[src]; break;
                        case 0x67: reg[dst] <<= insn.Immediate & 63; break;
                        case 0x6f: reg[dst] <<= (int)(reg[src] & 63); break;
                        case 0x77: reg[dst] >>= insn.Immediate & 63; break;
                        case 0x7f: reg[dst] >>= (int)(reg[src] & 63); break;
                        case 0x87: reg[dst] = 0 - reg[dst]; break;
                        case 0x97: reg[dst] = Mod64(reg[dst], (ulong)(long)insn.Immediate, insn.Offset); break;
                        case 0x9f: reg[dst] = Mod64(reg[dst], reg[src], insn.Offset); break;
                        case 0xa7: reg[dst] ^= (ulong)(long)insn.Immediate; break;
                        case 0xaf: reg[dst] ^= reg[src]; break;
                        case 0xb7: reg[dst] = (ulong)(long)insn.Immediate; break;
                        case 0xbf: reg[dst] = MovSx64(reg[src], insn.Offset); break;
                        case 0xc7: reg[dst] = (ulong)((long)reg[dst] >> (insn.Immediate & 63)); break;
                        case 0xcf: reg[dst] = (ulong)((long)reg[dst] >> (int)(reg[src] & 63)); break;
                        case 0xd7: reg[dst] = Swap(reg[dst], insn.Immediate); break;

                        // ---- 32-bit arithmetic: results zero-extended ----
                        case 0x04: reg[dst] = (uint)reg[dst] + (uint)insn.Immediate; break;
                        case 0x0c: reg[dst] = (uint)reg[dst] + (uint)reg[src]; break;
                        case 0x14: reg[dst] = (uint)reg[dst] - (uint)insn.Immediate; break;
                        case 0x1c: reg[dst] = (uint)reg[dst] - (uint)reg[src]; break;
                        case 0x24: reg[dst] = (uint)reg[dst] * (uint)insn.Immediate; break;
                        case 0x2c: reg[dst] = (uint)reg[dst] * (uint)reg[src]; break;
                        case 0x34: reg[dst] = Div32((uint)reg[dst], (uint)insn.Immediate, insn.Offset); break;
                        case 0x3c: reg[dst] = Div32((uint)reg[dst], (uint)reg[src], insn.Offset); break;
                        case 0x44: reg[dst] = (uint)reg[dst] | (uint)insn.Immediate; break;
                        case 0x4c: reg[dst] = (uint)reg[dst] | (uint)reg[src]; break;
                        case 0x54: reg[dst] = (uint)reg[dst] & (uint)insn.Immediate; break;
                        case 0x5c: reg[dst] = (uint)reg[dst] & (uint)reg[src]; break;
                        case 0x64: reg[dst] = (uint)reg[dst] << (insn.Immediate & 31); break;
                        case 0x6c: reg[dst] = (uint)reg[dst] << (int)(reg[src] & 31); break;
                        case 0x74: reg[dst] = (uint)reg[dst] >> (insn.Immediate & 31); break;
                        case 0x7c: reg[dst] = (uint)reg[dst] >> (int)(reg[src] & 31); break;
                        case 0x84: reg[dst] = 0u - (uint)reg[dst]; break;
                        case 0x94: reg[dst] = Mod32((uint)reg[dst], (uint)insn.Immediate, insn.Offset); break;
                        case 0x9c: reg[dst] = Mod32((uint)reg[dst], (uint)reg[src], insn.Offset); break;
                        case 0xa4: reg[dst] = (uint)reg[dst] ^ (uint)insn.Immediate; break;
                        case 0xac: reg[dst] = (uint)reg[dst] ^ (uint)reg[src]; break;
                        case 0xb4: reg[dst] = (uint)insn.Immediate; break;
                        case 0xbc: reg[dst] = MovSx32(reg[src], insn.Offset); break;
                        case 0xc4: reg[dst] = (uint)((int)reg[dst] >> (insn.Immediate & 31)); break;
                        case 0xcc: reg[dst] = (uint)((int)reg[dst] >> (int)(reg[src] & 31)); break;
                        case 0xd4: reg[dst] = ToLittleEndian(reg[dst], insn.Immediate); break;
                        case 0xdc: reg[dst] = Swap(reg[dst], insn.Immediate); break;

                        // ---- 64-bit jumps ----
                        case 0x05: pc += insn.Offset; break;
                        case 0x15: if (reg[dst] == (ulong)(long)insn.Immediate) { pc += insn.Offset; } break;
                        case 0x1d: if (reg[dst] == reg[src]) { pc += insn.Offset; } break;
                        case 0x25: if (reg[dst] > (ulong)(long)insn.Immediate) { pc += insn.Offset; } break;
                        case 0x2d: if (reg[dst] > reg[src]) { pc += insn.Offset; } break;
                        case 0x35: if (reg[dst] >= (ulong)(long)insn.Immediate) { pc += insn.Offset; } break;
                        case 0x3d: if (reg[dst] >= reg[src]) { pc += insn.Offset; } break;
                        case 0x45: if ((reg[dst] & (ulong)(long)insn.Immediate) != 0) { pc += insn.Offset; } break;
                        case 0x4d: if ((reg[dst] & reg[src]) != 0) { pc += insn.Offset; } break;
                        case 0x55: if (reg[dst] != (ulong)(long)insn.Immediate) { pc += insn.Offset; } break;
                        case 0x5d: if (reg[dst] != reg[src]) { pc += insn.Offset; } break;
                        case 0x65: if ((long)reg[dst] > insn.Immediate) { pc += insn.Offset; } break;
                        case 0x6d: if ((long)reg[dst] > (long)reg[src]) { pc += insn.Offset; } break;
                        case 0x75: if ((long)reg[dst] >= insn.Immediate) { pc += insn.Offset; } break;
                        case 0x7d: if ((long)reg[dst] >= (long)reg[src]) { pc += insn.Offset; } break;
                        case 0xa5: if (reg[dst] < (ulong)(long)insn.Immediate) { pc += insn.Offset; } break;
                        case 0xad: if (reg[dst] < reg[src]) { pc += insn.Offset; } break;
                        case 0xb5: if (reg[dst] <= (ulong)(long)insn.Immediate) { pc += insn.Offset; } break;
                        case 0xbd: if (reg[dst] <= reg[src]) { pc += insn.Offset; } break;
                        case 0xc5: if ((long)reg[dst] < insn.Immediate) { pc += insn.Offset; } break;
                        case 0xcd: if ((long)reg[dst] < (long)reg[src]) { pc += insn.Offset; } break;
                        case 0xd5: if ((long)reg[dst] <= insn.Immediate) { pc += insn.Offset; } break;
                        case 0xdd: if ((long)reg[dst] <= (long)reg[src]) { pc += insn.Offset; } break;

                        // ---- 32-bit jumps ----
                        case 0x06: pc += insn.Immediate; break;
                        case 0x16: if ((uint)reg[dst] == (uint)insn.Immediate) { pc += insn.Offset; } break;
                        case 0x1e: if ((uint)reg[dst] == (uint)reg[src]) { pc += insn.Offset; } break;
                        case 0x26: if ((uint)reg[dst] > (uint)insn.Immediate) { pc += insn.Offset; } break;
                        case 0x2e: if ((uint)reg[dst] > (uint)reg[src]) { pc += insn.Offset; } break;
                        case 0x36: if ((uint)reg[dst] >= (uint)insn.Immediate) { pc += insn.Offset; } break;
                        case 0x3e: if ((uint)reg[dst] >= (uint)reg[src]) { pc += insn.Offset; } break;
                        case 0x46: if (((uint)reg[dst] & (uint)insn.Immediate) != 0) { pc += insn.Offset; } break;
                        case 0x4e: if (((uint)reg[dst] & (uint)reg[src]) != 0) { pc += insn.Offset; } break;
                        case 0x56: if ((uint)reg[dst] != (uint)insn.Immediate) { pc += insn.Offset; } break;
                        case 0x5e: if ((uint)reg[dst] != (uint)reg[src]) { pc += insn.Offset; } break;
                        case 0x66: if ((int)reg[dst] > insn.Immediate) { pc += insn.Offset; } break;
                        case 0x6e: if ((int)reg[dst] > (int)reg[src]) { pc += insn.Offset; } break;
                        case 0x76: if ((int)reg[dst] >= insn.Immediate) { pc += insn.Offset; } break;
                        case 0x7e: if ((int)reg[dst] >= (int)reg[src]) { pc += insn.Offset; } break;
                        case 0xa6: if ((uint)reg[dst] < (uint)insn.Immediate) { pc += insn.Offset; } break;
                        case 0xae: if ((uint)reg[dst] < (uint)reg[src]) { pc += insn.Offset; } break;
                        case 0xb6: if ((uint)reg[dst] <= (uint)insn.Immediate) { pc += insn.Offset; } break;
                        case 0xbe: if ((uint)reg[dst] <= (uint)reg[src]) { pc += insn.Offset; } break;
                        case 0xc6: if ((int)reg[dst] < insn.Immediate) { pc += insn.Offset; } break;
                        case 0xce: if ((int)reg[dst] < (int)reg[src]) { pc += insn.Offset; } break;
                        case 0xd6: if ((int)reg[dst] <= insn.Immediate) { pc += insn.Offset; } break;
                        case 0xde: if ((int)reg[dst] <= (int)reg[src]) { pc += insn.Offset; } break;

                        // ---- loads ----
                        case 0x61:
                        case 0x69:
                        case 0x71:
                        case 0x79:
                        case 0x81:
                        case 0x89:
                        case 0x91:
                        {
                            ulong addr = reg[src] + (ulong)(long)insn.Offset;
                            int size = Instruction.BytesOf(insn.MemorySize);
                            if (addr - readLo > readLen - (ulong)size)
                            {
                                var region = CheckAccess(context, addr, size, MemoryAccess.Read, pc - 1, insn);
                                if (region.Length >= 8)
                                {
                                    readLo = region.Start;
                                    readLen = (ulong)region.Length;
                                }
                            }

                            reg[dst] = insn.Opcode switch
                            {
                                0x61 => Unsafe.ReadUnaligned<uint>((void*)addr),
                                0x69 => Unsafe.ReadUnaligned<ushort>((void*)addr),
                                0x71 => *(byte*)addr,
                                0x79 => Unsafe.ReadUnaligned<ulong>((void*)addr),
                                0x81 => (ulong)(long)Unsafe.ReadUnaligned<int>((void*)addr),
                                0x89 => (ulong)(long)Unsafe.ReadUnaligned<short>((void*)addr),
                                _ => (ulong)(long)*(sbyte*)addr,
                            };
                            break;
                        }

                        // ---- stores ----
                        case 0x62:
                        case 0x6a:
                        case 0x72:
                        case 0x7a:
                        case 0x63:
                        case 0x6b:
                        case 0x73:
                        case 0x7b:
                        {
                            ulong addr = reg[dst] + (ulong)(long)insn.Offset;
                            int size = Instruction.BytesOf(insn.MemorySize);
                            if (addr - writeLo > writeLen - (ulong)size)
                            {
                                var region = CheckAccess(context, addr, size, MemoryAccess.Write, pc - 1, insn);
                                if (region.Length >= 8 && region.Access == MemoryAccess.ReadWrite)
                                {
                                    writeLo = region.Start;
                                    writeLen = (ulong)region.Length;
                                }
                            }

                            ulong value = insn.Class == InstructionClass.St ? (ulong)(long)insn.Immediate : reg[src];
                            switch (size)
                            {
                                case 1: *(byte*)addr = (byte)value; break;
                                case 2: Unsafe.WriteUnaligned((void*)addr, (ushort)value); break;
                                case 4: Unsafe.WriteUnaligned((void*)addr, (uint)value); break;
                                default: Unsafe.WriteUnaligned((void*)addr, value); break;
                            }

                            break;
                        }

                        // ---- atomics ----
                        case 0xc3:
                        case 0xdb:
                        {
                            ulong addr = reg[dst] + (ulong)(long)insn.Offset;
                            int size = insn.Opcode == 0xdb ? 8 : 4;
                            if (addr - writeLo > writeLen - (ulong)size)
                            {
                                var region = CheckAccess(context, addr, size, MemoryAccess.ReadWrite, pc - 1, insn);
                                if (region.Length >= 8)
                                {
                                    writeLo = region.Start;
                                    writeLen = (ulong)region.Length;
                                }
                            }

                            if ((addr & (ulong)(size - 1)) != 0)
                            {
                                throw Fault(FaultKind.MisalignedAtomic, pc - 1, insn,
                                    $"pc {pc - 1}: atomic access of {size} bytes at 0x{addr:x} is not aligned to {size} bytes");
                            }

                            if (size == 8)
                            {
                                Atomic64(reg, insn, (ulong*)addr);
                            }
                            else
                            {
                                Atomic32(reg, insn, (uint*)addr);
                            }

                            break;
                        }

                        // ---- 64-bit immediate ----
                        case 0x18:
                            reg[dst] = image.Imm64(pc - 1);
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
                            var packet = context.LegacyPacket ?? throw Fault(FaultKind.Unsupported, pc - 1, insn,
                                $"pc {pc - 1}: legacy packet load, but this run has no packet");
                            int size = Instruction.BytesOf(insn.MemorySize);
                            long offset = insn.MemoryMode == MemoryMode.Abs
                                ? insn.Immediate
                                : (int)((uint)reg[src] + (uint)insn.Immediate);
                            if (offset < 0 || offset + size > packet.Length)
                            {
                                // The kernel ends the program with r0 = 0 on an out-of-bounds legacy load.
                                context.InstructionsExecuted = start - budget;
                                return 0;
                            }

                            var bytes = packet.AsSpan().Slice((int)offset, size);
                            reg[0] = size switch
                            {
                                1 => bytes[0],
                                2 => BinaryPrimitives.ReadUInt16BigEndian(bytes),
                                _ => BinaryPrimitives.ReadUInt32BigEndian(bytes),
                            };
                            break;
                        }

                        // ---- calls and exit ----
                        case 0x85:
                            if (src == (int)CallKind.Helper)
                            {
                                var helper = helpers.Find(insn.Immediate) ?? throw Fault(FaultKind.UnknownHelper, pc - 1, insn,
                                    $"pc {pc - 1}: call to unknown helper {insn.Immediate}");
                                context.CurrentPc = pc - 1;
                                reg[0] = helper.Function(context, reg[1], reg[2], reg[3], reg[4], reg[5]);
                                if (context.StopRequested)
                                {
                                    context.InstructionsExecuted = start - budget;
                                    return context.StopValue;
                                }

                                // A helper may have changed the regions (a packet resized, a record submitted).
                                readLo = writeLo = context.Stack.Start;
                                readLen = writeLen = (ulong)context.Stack.Length;
                            }
                            else if (src == (int)CallKind.Local)
                            {
                                PushFrame(context, frames, reg, ref depth, pc, insn);
                                pc += insn.Immediate;
                            }
                            else
                            {
                                throw Fault(FaultKind.Unsupported, pc - 1, insn,
                                    $"pc {pc - 1}: kfunc calls (BTF id {insn.Immediate}) are not supported by the VM");
                            }

                            break;
                        case 0x8d:
                        {
                            ulong target = reg[dst];
                            var helper = helpers.Find((long)target);
                            if (helper is not null)
                            {
                                context.CurrentPc = pc - 1;
                                reg[0] = helper.Function(context, reg[1], reg[2], reg[3], reg[4], reg[5]);
                                if (context.StopRequested)
                                {
                                    context.InstructionsExecuted = start - budget;
                                    return context.StopValue;
                                }

                                readLo = writeLo = context.Stack.Start;
                                readLen = writeLen = (ulong)context.Stack.Length;
                                break;
                            }

                            int function = image.FunctionAt(target);
                            if (function < 0)
                            {
                                throw Fault(FaultKind.InvalidCallTarget, pc - 1, insn,
                                    $"pc {pc - 1}: callx r{dst} = 0x{target:x} is neither a registered helper nor a function of the program");
                            }

                            PushFrame(context, frames, reg, ref depth, pc, insn);
                            pc = function;
                            break;
                        }

                        case 0x95:
                            if (depth == 0)
                            {
                                context.InstructionsExecuted = start - budget;
                                return reg[0];
                            }

                            depth--;
                            pc = frames[depth].ReturnPc;
                            reg[6] = frames[depth].R6;
                            reg[7] = frames[depth].R7;
                            reg[8] = frames[depth].R8;
                            reg[9] = frames[depth].R9;
                            reg[10] = context.FramePointer(depth);
                            break;

                        default:
                            // Unreachable for a validated program.
                            throw Fault(FaultKind.Unsupported, pc - 1, insn, $"pc {pc - 1}: unknown opcode 0x{insn.Opcode:x2}");
                    }
                }
            }
            catch (BpfExecutionException)
            {
                context.InstructionsExecuted = start - budget;
                throw;
            }
        }
    }

    private static unsafe void PushFrame(BpfExecutionContext context, Frame* frames, ulong* reg, ref int depth, int returnPc, Instruction insn)
    {
        if (depth + 1 >= BpfExecutionContext.MaxFrames)
        {
            throw CallDepthFault(returnPc - 1, insn, depth);
        }

        frames[depth].ReturnPc = returnPc;
        frames[depth].R6 = reg[6];
        frames[depth].R7 = reg[7];
        frames[depth].R8 = reg[8];
        frames[depth].R9 = reg[9];
        depth++;
        reg[10] = context.FramePointer(depth);
    }

    /// <summary>The fault of a call made at <paramref name="depth"/> (0 = main program) that would need a frame too many.</summary>
    internal static BpfExecutionException CallDepthFault(int pc, Instruction insn, int depth) =>
        Fault(FaultKind.CallDepthExceeded, pc, insn,
            $"pc {pc}: the call would need frame {depth + 2}, beyond the limit of {BpfExecutionContext.MaxFrames} frames");

    private static MemoryRegion CheckAccess(BpfExecutionContext context, ulong address, int size, MemoryAccess access, int pc, Instruction insn) =>
        context.FindRegion(address, size, access)
        ?? throw new BpfExecutionException(context.MemoryFault(pc, insn, address, size, access, "memory"));

    private static BpfExecutionException Fault(FaultKind kind, int pc, Instruction insn, string message) =>
        new(new ExecutionFault(kind, pc, insn, message));

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

    /// <summary>The atomic operation of <paramref name="insn"/> on a 64-bit cell (r0 and the source register in <paramref name="reg"/>).</summary>
    internal static unsafe void Atomic64(ulong* reg, Instruction insn, ulong* target)
    {
        int src = insn.Src;
        ulong operand = reg[src];
        ref ulong cell = ref Unsafe.AsRef<ulong>(target);
        switch ((AtomicOperation)insn.Immediate)
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

    /// <summary>The atomic operation of <paramref name="insn"/> on a 32-bit cell (r0 and the source register in <paramref name="reg"/>).</summary>
    internal static unsafe void Atomic32(ulong* reg, Instruction insn, uint* target)
    {
        int src = insn.Src;
        uint operand = (uint)reg[src];
        ref uint cell = ref Unsafe.AsRef<uint>(target);
        switch ((AtomicOperation)insn.Immediate)
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
