using SharpBpf.Isa;

namespace SharpBpf.Tests.Isa;

/// <summary>Structural rules: malformed programs are rejected with the pc and a clear reason.</summary>
public class ProgramValidatorTests
{
    private static readonly Instruction Exit = Instruction.Exit;
    private static readonly Instruction Mov0 = Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0);

    private static BpfValidationException Reject(params Instruction[] code) =>
        Assert.Throws<BpfValidationException>(() => ProgramValidator.Validate(code));

    [Fact]
    public void EmptyProgramIsRejected() => Assert.Contains("no instructions", Reject().Message);

    [Fact]
    public void TruncatedByteBufferIsRejectedWithTheOffset()
    {
        var e = Assert.Throws<BpfException>(() => BpfProgram.FromBytes(new byte[13]));
        Assert.Contains("not a whole number", e.Message);
        Assert.Contains("offset 8", e.Message);
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x8f)] // ALU64 | X | NEG does not exist
    [InlineData(0xe7)] // ALU op 0xe0
    [InlineData(0xf5)] // JMP op 0xf0
    [InlineData(0x86)] // call in JMP32
    [InlineData(0x96)] // exit in JMP32
    [InlineData(0x0e)] // JMP32 | X | JA
    [InlineData(0x99)] // LDX MEMSX DW
    [InlineData(0xd3)] // STX atomic byte
    [InlineData(0x38)] // LD ABS DW
    [InlineData(0xdf)] // ALU64 | X | END
    public void UnknownOpcodesAreRejected(byte opcode)
    {
        var e = Reject(new Instruction(opcode, 0, 0, 0, 0), Exit);
        Assert.Equal(0, e.Pc);
        Assert.Contains("unknown opcode", e.Reason);
    }

    [Fact]
    public void BadRegisterNumbersAreRejected()
    {
        Assert.Contains("R11 is invalid", Reject(Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 11), Exit).Reason);
        Assert.Contains("R12 is invalid", Reject(Instruction.Alu(true, AluOperation.Add, OperandSource.Register, 0, 12), Exit).Reason);
        Assert.Contains("frame pointer is read only", Reject(Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 10), Exit).Reason);
    }

    [Fact]
    public void ReservedFieldsMustBeZero()
    {
        Assert.Contains("reserved", Reject(Instruction.Alu(true, AluOperation.Add, OperandSource.Immediate, 0, src: 1), Exit).Reason);
        Assert.Contains("reserved", Reject(Instruction.Alu(true, AluOperation.Add, OperandSource.Immediate, 0, offset: 1), Exit).Reason);
        Assert.Contains("reserved", Reject(Instruction.Alu(true, AluOperation.End, OperandSource.Immediate, 0, immediate: 8), Exit).Reason);
        Assert.Contains("reserved", Reject(Instruction.Alu(false, AluOperation.Mov, OperandSource.Register, 0, 1, offset: 32), Exit).Reason);
        Assert.Contains("reserved", Reject(new Instruction(Opcode.Exit, 1, 0, 0, 0)).Reason);
        Assert.Contains("atomic", Reject(new Instruction(0xdb, 10, 1, -8, 0x02), Exit).Reason);
    }

    [Fact]
    public void JumpsMustStayInsideTheProgram()
    {
        var e = Reject(Instruction.Jump(false, JumpOperation.Ja, OperandSource.Immediate, 0, 0, 0, 5), Exit);
        Assert.Equal("jump out of range from insn 0 to 6", e.Reason);
        Assert.Contains("out of range", Reject(Instruction.Jump(false, JumpOperation.Jeq, OperandSource.Immediate, 0, 0, 0, -2), Exit).Reason);
        Assert.Contains("out of range", Reject(new Instruction(Opcode.Ja32, 0, 0, 0, 100), Exit).Reason);
    }

    [Fact]
    public void JumpIntoTheMiddleOfAnLddwIsRejected()
    {
        var (first, second) = Instruction.LoadImm64(0, 1);
        var e = Reject(Instruction.Jump(false, JumpOperation.Ja, OperandSource.Immediate, 0, 0, 0, 1), first, second, Exit);
        Assert.Contains("middle of the lddw", e.Reason);
    }

    [Fact]
    public void TruncatedOrMalformedLddwIsRejected()
    {
        var (first, second) = Instruction.LoadImm64(0, 1);
        Assert.Contains("BPF_LD_IMM", Reject(Mov0, Exit, first).Reason);
        Assert.Contains("BPF_LD_IMM", Reject(first, new Instruction(0x07, 0, 0, 0, 0), Exit).Reason);
        Assert.Contains("BPF_LD_IMM", Reject(first.WithSrc(7), second, Exit).Reason);
    }

    [Fact]
    public void FallingOffTheEndIsRejected() =>
        Assert.Equal("last insn is not an exit or jmp", Reject(Mov0).Reason);

    [Fact]
    public void CallTargetsMustBeInRangeAndFunctionsMustEndProperly()
    {
        Assert.Contains("call target out of range", Reject(new Instruction(Opcode.Call, 0, 1, 0, 5), Exit).Reason);

        // main: call +1; exit | f: mov (no exit)
        var e = Reject(new Instruction(Opcode.Call, 0, 1, 0, 1), Exit, Mov0);
        Assert.Equal(2, e.Pc);
        Assert.Equal("last insn is not an exit or jmp", e.Reason);

        // A jump from main into the function is out of main's range.
        var cross = Reject(new Instruction(Opcode.Call, 0, 1, 0, 2), Instruction.Jump(false, JumpOperation.Ja, OperandSource.Immediate, 0, 0, 0, 1), Exit, Mov0, Exit);
        Assert.Contains("jump out of range", cross.Reason);
    }

    [Fact]
    public void FunctionStartsAreReported()
    {
        var starts = ProgramValidator.Validate([new Instruction(Opcode.Call, 0, 1, 0, 1), Exit, Mov0, Exit]);
        Assert.Equal([0, 2], starts.ToArray());
    }

    [Fact]
    public void InstructionRoundTripsThroughBytes()
    {
        var insn = new Instruction(0x61, 3, 10, -8, -559038737);
        Span<byte> bytes = stackalloc byte[8];
        insn.WriteTo(bytes);
        Assert.Equal([0x61, 0xa3, 0xf8, 0xff, 0xef, 0xbe, 0xad, 0xde], bytes.ToArray());
        Assert.Equal(insn, Instruction.ReadFrom(bytes));
        Assert.Equal(8, System.Runtime.CompilerServices.Unsafe.SizeOf<Instruction>());
    }
}
