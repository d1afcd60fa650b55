using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;

namespace SharpBpf.Tests.Isa.Assembly;

/// <summary>
/// Every uBPF / bpf_conformance instruction form against its RFC 9669 encoding
/// (opcode, dst, src, offset, immediate written out by hand from the RFC tables).
/// </summary>
public class UbpfSyntaxTests
{
    private static Instruction One(string source, AssemblySyntax? syntax = null)
    {
        var program = Assembler.Assemble(source, syntax);
        Assert.Single(program);
        return program[0];
    }

    private static void AssertEncodes(string source, byte opcode, byte dst, byte src, short offset, int imm)
    {
        var expected = new Instruction(opcode, dst, src, offset, imm);
        Assert.Equal(expected, One(source));
        Assert.Equal(expected, One(source, AssemblySyntax.Ubpf));
    }

    // RFC 9669 table 5 (arithmetic operation codes) and section 3 class codes, written as numbers.
    public static TheoryData<string, int, short> AluOperations() => new()
    {
        { "add", 0x00, 0 }, { "sub", 0x10, 0 }, { "mul", 0x20, 0 }, { "div", 0x30, 0 }, { "sdiv", 0x30, 1 },
        { "or", 0x40, 0 }, { "and", 0x50, 0 }, { "lsh", 0x60, 0 }, { "rsh", 0x70, 0 }, { "mod", 0x90, 0 },
        { "smod", 0x90, 1 }, { "xor", 0xa0, 0 }, { "mov", 0xb0, 0 }, { "arsh", 0xc0, 0 },
    };

    [Theory]
    [MemberData(nameof(AluOperations))]
    public void BinaryAluInAllWidthsAndSources(string name, int code, short offset)
    {
        AssertEncodes($"{name} %r1, %r2", (byte)(code | 0x08 | 0x07), 1, 2, offset, 0);
        AssertEncodes($"{name}64 %r3, %r4", (byte)(code | 0x08 | 0x07), 3, 4, offset, 0);
        AssertEncodes($"{name}32 %r5, %r6", (byte)(code | 0x08 | 0x04), 5, 6, offset, 0);
        AssertEncodes($"{name} %r7, 42", (byte)(code | 0x07), 7, 0, offset, 42);
        AssertEncodes($"{name}32 %r8, -3", (byte)(code | 0x04), 8, 0, offset, -3);
        AssertEncodes($"{name}64 %r9, 0xffffffff", (byte)(code | 0x07), 9, 0, offset, -1);
    }

    [Fact]
    public void Negation()
    {
        AssertEncodes("neg %r0", 0x87, 0, 0, 0, 0);
        AssertEncodes("neg64 %r3", 0x87, 3, 0, 0, 0);
        AssertEncodes("neg32 %r9", 0x84, 9, 0, 0, 0);
    }

    [Theory]
    [InlineData("movsx864 %r0, %r1", 0xbf, 8)]
    [InlineData("movsx1664 %r0, %r1", 0xbf, 16)]
    [InlineData("movsx3264 %r0, %r1", 0xbf, 32)]
    [InlineData("movsx832 %r0, %r1", 0xbc, 8)]
    [InlineData("movsx1632 %r0, %r1", 0xbc, 16)]
    public void SignExtendingMoves(string source, int opcode, short offset) =>
        AssertEncodes(source, (byte)opcode, 0, 1, offset, 0);

    [Theory]
    [InlineData("le16 %r2", 0xd4, 16)]
    [InlineData("le32 %r2", 0xd4, 32)]
    [InlineData("le64 %r2", 0xd4, 64)]
    [InlineData("be16 %r2", 0xdc, 16)]
    [InlineData("be32 %r2", 0xdc, 32)]
    [InlineData("be64 %r2", 0xdc, 64)]
    [InlineData("swap16 %r2", 0xd7, 16)]
    [InlineData("swap32 %r2", 0xd7, 32)]
    [InlineData("swap64 %r2", 0xd7, 64)]
    [InlineData("bswap16 %r2", 0xd7, 16)]
    [InlineData("bswap32 %r2", 0xd7, 32)]
    [InlineData("bswap64 %r2", 0xd7, 64)]
    public void ByteSwaps(string source, int opcode, int width) => AssertEncodes(source, (byte)opcode, 2, 0, 0, width);

    [Theory]
    [InlineData("ldxb %r0, [%r1+2]", 0x71, 0, 1, 2)]
    [InlineData("ldxh %r0, [%r1]", 0x69, 0, 1, 0)]
    [InlineData("ldxw %r3, [%r10-8]", 0x61, 3, 10, -8)]
    [InlineData("ldxdw %r9, [%r1+0x10]", 0x79, 9, 1, 16)]
    [InlineData("ldxsb %r0, [%r1+2]", 0x91, 0, 1, 2)]
    [InlineData("ldxsh %r0, [%r1-2]", 0x89, 0, 1, -2)]
    [InlineData("ldxsw %r0, [%r1 + 32767]", 0x81, 0, 1, 32767)]
    [InlineData("ldxdw %r0, [ %r1 - 32768 ]", 0x79, 0, 1, -32768)]
    [InlineData("stxb [%r1+2], %r3", 0x73, 1, 3, 2)]
    [InlineData("stxh [%r1], %r3", 0x6b, 1, 3, 0)]
    [InlineData("stxw [%r10-4], %r3", 0x63, 10, 3, -4)]
    [InlineData("stxdw [%r10-8], %r0", 0x7b, 10, 0, -8)]
    public void LoadsAndRegisterStores(string source, int opcode, int dst, int src, int offset) =>
        AssertEncodes(source, (byte)opcode, (byte)dst, (byte)src, (short)offset, 0);

    [Theory]
    [InlineData("stb [%r1+2], 0x11", 0x72, 1, 2, 0x11)]
    [InlineData("sth [%r0], 0x1234", 0x6a, 0, 0, 0x1234)]
    [InlineData("stw [%r1+2], 0x44332211", 0x62, 1, 2, 0x44332211)]
    [InlineData("stdw [%r10-16], -1", 0x7a, 10, -16, -1)]
    public void ImmediateStores(string source, int opcode, int dst, int offset, int imm) =>
        AssertEncodes(source, (byte)opcode, (byte)dst, 0, (short)offset, imm);

    [Theory]
    [InlineData("lock add [%r10-8], %r1", 0xdb, 0x00)]
    [InlineData("lock or [%r10-8], %r1", 0xdb, 0x40)]
    [InlineData("lock and [%r10-8], %r1", 0xdb, 0x50)]
    [InlineData("lock xor [%r10-8], %r1", 0xdb, 0xa0)]
    [InlineData("lock fetch add [%r10-8], %r1", 0xdb, 0x01)]
    [InlineData("lock fetch or [%r10-8], %r1", 0xdb, 0x41)]
    [InlineData("lock fetch and [%r10-8], %r1", 0xdb, 0x51)]
    [InlineData("lock fetch xor [%r10-8], %r1", 0xdb, 0xa1)]
    [InlineData("lock xchg [%r10-8], %r1", 0xdb, 0xe1)]
    [InlineData("lock fetch xchg [%r10-8], %r1", 0xdb, 0xe1)]
    [InlineData("lock cmpxchg [%r10-8], %r1", 0xdb, 0xf1)]
    [InlineData("lock add32 [%r10-8], %r1", 0xc3, 0x00)]
    [InlineData("lock fetch xor32 [%r10-8], %r1", 0xc3, 0xa1)]
    [InlineData("lock xchg32 [%r10-8], %r1", 0xc3, 0xe1)]
    [InlineData("lock cmpxchg32 [%r10-8], %r1", 0xc3, 0xf1)]
    public void Atomics(string source, int opcode, int imm) => AssertEncodes(source, (byte)opcode, 10, 1, -8, imm);

    [Theory]
    [InlineData("jeq", 0x10)]
    [InlineData("jgt", 0x20)]
    [InlineData("jge", 0x30)]
    [InlineData("jset", 0x40)]
    [InlineData("jne", 0x50)]
    [InlineData("jsgt", 0x60)]
    [InlineData("jsge", 0x70)]
    [InlineData("jlt", 0xa0)]
    [InlineData("jle", 0xb0)]
    [InlineData("jslt", 0xc0)]
    [InlineData("jsle", 0xd0)]
    public void ConditionalJumps(string name, int code)
    {
        AssertEncodes($"{name} %r1, %r2, +3", (byte)(code | 0x08 | 0x05), 1, 2, 3, 0);
        AssertEncodes($"{name} %r1, 0x10, -1", (byte)(code | 0x05), 1, 0, -1, 16);
        AssertEncodes($"{name}32 %r1, %r2, +0", (byte)(code | 0x08 | 0x06), 1, 2, 0, 0);
        AssertEncodes($"{name}32 %r1, 0xffffffff, +0x7fff", (byte)(code | 0x06), 1, 0, 32767, -1);
    }

    [Fact]
    public void UnconditionalJumpsCallsAndExit()
    {
        AssertEncodes("ja +5", 0x05, 0, 0, 5, 0);
        AssertEncodes("ja -32768", 0x05, 0, 0, -32768, 0);
        AssertEncodes("ja32 +70000", 0x06, 0, 0, 0, 70000);
        AssertEncodes("ja32 -2", 0x06, 0, 0, 0, -2);
        AssertEncodes("call 5", 0x85, 0, 0, 0, 5);
        AssertEncodes("call local +3", 0x85, 0, 1, 0, 3);
        AssertEncodes("call runtime 77", 0x85, 0, 2, 0, 77);
        AssertEncodes("call %r2", 0x8d, 2, 0, 0, 0);
        AssertEncodes("callx %r9", 0x8d, 9, 0, 0, 0);
        AssertEncodes("exit", 0x95, 0, 0, 0, 0);
    }

    [Theory]
    [InlineData("ldabsb 0x17", 0x30, 0, 0x17)]
    [InlineData("ldabsh 12", 0x28, 0, 12)]
    [InlineData("ldabsw 0", 0x20, 0, 0)]
    [InlineData("ldindb %r1, 2", 0x50, 1, 2)]
    [InlineData("ldindh %r7, -4", 0x48, 7, -4)]
    [InlineData("ldindw %r9, 0x10", 0x40, 9, 16)]
    public void LegacyPacketLoads(string source, int opcode, int src, int imm) =>
        AssertEncodes(source, (byte)opcode, 0, (byte)src, 0, imm);

    [Fact]
    public void Lddw()
    {
        var program = Assembler.Assemble("lddw %r1, 0x1122334455667788");
        Assert.Equal([new Instruction(0x18, 1, 0, 0, 0x55667788), new Instruction(0, 0, 0, 0, 0x11223344)], program);
        program = Assembler.Assemble("lddw %r0, -1");
        Assert.Equal([new Instruction(0x18, 0, 0, 0, -1), new Instruction(0, 0, 0, 0, -1)], program);
        program = Assembler.Assemble("lddw %r0, 2147483648");
        Assert.Equal([new Instruction(0x18, 0, 0, 0, int.MinValue), new Instruction(0, 0, 0, 0, 0)], program);
        program = Assembler.Assemble("lddw %r0, 0xFFFFFFFF80000000");
        Assert.Equal([new Instruction(0x18, 0, 0, 0, int.MinValue), new Instruction(0, 0, 0, 0, -1)], program);
    }

    [Theory]
    [InlineData("lddw %r1, map[fd:3]", 1, 3, 0)]
    [InlineData("lddw %r1, map[id:3]", 1, 3, 0)]
    [InlineData("lddw %r1, map[fd:3]+8", 2, 3, 8)]
    [InlineData("lddw %r1, map[id:3][0]+8", 2, 3, 8)]
    [InlineData("lddw %r1, btf_id[1234]", 3, 1234, 0)]
    [InlineData("lddw %r1, subprog[+5]", 4, 5, 0)]
    [InlineData("lddw %r1, map[idx:0]", 5, 0, 0)]
    [InlineData("lddw %r1, map[idx:2]+16", 6, 2, 16)]
    public void LddwPseudoSources(string source, int src, int imm, int nextImm)
    {
        var program = Assembler.Assemble(source);
        Assert.Equal([new Instruction(0x18, 1, (byte)src, 0, imm), new Instruction(0, 0, 0, 0, nextImm)], program);
    }

    [Fact]
    public void LabelsResolveForwardBackwardAndAcrossLddw()
    {
        var program = Assembler.Assemble("""
            start:
              mov %r0, 0
            loop: add %r0, 1
              lddw %r1, 0x100000000
              jne %r0, 10, loop   # back over the two lddw slots
              ja end
              call local func
              ja32 start
            end:
              exit
            func:
              mov %r0, 7
              exit
            """);
        Assert.Equal(11, program.Length);
        Assert.Equal(new Instruction(0x55, 0, 0, -4, 10), program[4]);
        Assert.Equal(new Instruction(0x05, 0, 0, 2, 0), program[5]);
        Assert.Equal(new Instruction(0x85, 0, 1, 0, 2), program[6]);
        Assert.Equal(new Instruction(0x06, 0, 0, 0, -8), program[7]);
    }

    [Fact]
    public void ExitIsAnImplicitLabelForTheFirstExit()
    {
        var program = Assembler.Assemble("jeq %r1, 0, exit\nmov %r0, 1\nexit\nmov %r0, 2\nexit");
        Assert.Equal(1, program[0].Offset);
        program = Assembler.Assemble("ja exit\nexit:\nmov %r0, 1\nexit");
        Assert.Equal(0, program[0].Offset);
    }

    [Fact]
    public void CommentsBlankLinesAndLineEndings()
    {
        var program = Assembler.Assemble("# header\r\n\r\nmov32 %r0, 2 # trailing\r\n  ; also a comment\rexit // done\n");
        Assert.Equal([new Instruction(0xb4, 0, 0, 0, 2), Instruction.Exit], program);
    }

    [Fact]
    public void LabelAndInstructionOnOneLine()
    {
        var program = Assembler.Assemble("a: b: mov %r0, 1\nja a\nja b");
        Assert.Equal(-2, program[1].Offset);
        Assert.Equal(-3, program[2].Offset);
    }
}
