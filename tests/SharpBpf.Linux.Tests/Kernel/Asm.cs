using SharpBpf.Isa;

namespace SharpBpf.Linux.Tests.Kernel;

/// <summary>Tiny instruction builders for the test programs.</summary>
internal static class Asm
{
    public const int XdpAborted = 0, XdpDrop = 1, XdpPass = 2;

    public static Instruction MovImm(byte dst, int imm) => Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, dst, immediate: imm);

    public static Instruction MovReg(byte dst, byte src) => Instruction.Alu(true, AluOperation.Mov, OperandSource.Register, dst, src);

    public static Instruction AddImm(byte dst, int imm) => Instruction.Alu(true, AluOperation.Add, OperandSource.Immediate, dst, immediate: imm);

    public static Instruction LdxW(byte dst, byte src, short off) => Instruction.Memory(InstructionClass.Ldx, MemoryMode.Mem, MemorySize.Word, dst, src, off);

    public static Instruction StW(byte dst, short off, int imm) => Instruction.Memory(InstructionClass.St, MemoryMode.Mem, MemorySize.Word, dst, 0, off, imm);

    public static Instruction StB(byte dst, short off, int imm) => Instruction.Memory(InstructionClass.St, MemoryMode.Mem, MemorySize.Byte, dst, 0, off, imm);

    public static Instruction AtomicAddDw(byte dst, byte src, short off) =>
        Instruction.Memory(InstructionClass.Stx, MemoryMode.Atomic, MemorySize.DoubleWord, dst, src, off, (int)AtomicOperation.Add);

    public static Instruction JeqImm(byte dst, int imm, short off) => Instruction.Jump(false, JumpOperation.Jeq, OperandSource.Immediate, dst, 0, imm, off);

    public static Instruction JgtReg(byte dst, byte src, short off) => Instruction.Jump(false, JumpOperation.Jgt, OperandSource.Register, dst, src, 0, off);

    public static Instruction Call(int helper) => new(Opcode.Call, 0, 0, 0, helper);

    public static Instruction Exit => Instruction.Exit;

    /// <summary>r0 = value; exit.</summary>
    public static Instruction[] Return(int value) => [MovImm(0, value), Exit];

    /// <summary>
    /// An XDP program that adds 1 to the u64 at key 0 of a map and passes the packet. The map is referenced by
    /// the lddw pseudo-source (a map fd, or an index into the program's fd array).
    /// </summary>
    public static Instruction[] CountingXdp(Imm64Source source, int mapReference)
    {
        var (ld1, ld2) = Instruction.LoadImm64(1, (uint)mapReference, source);
        return
        [
            StW(10, -4, 0),
            MovReg(2, 10),
            AddImm(2, -4),
            ld1, ld2,
            Call(1), // bpf_map_lookup_elem
            JeqImm(0, 0, 2),
            MovImm(1, 1),
            AtomicAddDw(0, 1, 0),
            MovImm(0, XdpPass),
            Exit,
        ];
    }

    /// <summary>An XDP program that writes 0xAB over the first packet byte (after a bounds check) and passes the packet.</summary>
    public static Instruction[] MarkFirstByteXdp() =>
    [
        LdxW(2, 1, 0),      // r2 = ctx->data
        LdxW(3, 1, 4),      // r3 = ctx->data_end
        MovReg(4, 2),
        AddImm(4, 1),
        JgtReg(4, 3, 3),    // if data + 1 > data_end goto drop
        StB(2, 0, 0xAB),
        MovImm(0, XdpPass),
        Exit,
        MovImm(0, XdpDrop),
        Exit,
    ];
}
