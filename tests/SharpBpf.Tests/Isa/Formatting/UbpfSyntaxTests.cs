using SharpBpf.Isa;
using SharpBpf.Isa.Formatting;

namespace SharpBpf.Tests.Isa.Formatting;

/// <summary>The uBPF / bpf_conformance dialect, instruction by instruction.</summary>
public sealed class UbpfSyntaxTests
{
    private static string Ubpf(byte opcode, byte dst = 0, byte src = 0, short offset = 0, int immediate = 0) =>
        Disassembler.Format(new Instruction(opcode, dst, src, offset, immediate), AssemblySyntax.Ubpf);

    [Theory]
    [InlineData(0xb4, 0, 0, 0, 0, "mov32 %r0, 0")]
    [InlineData(0xb7, 1, 0, 0, 1, "mov %r1, 1")]
    [InlineData(0xb7, 1, 0, 0, 10, "mov %r1, 10")]
    [InlineData(0xb7, 1, 0, 0, 11, "mov %r1, 0xb")]
    [InlineData(0x07, 1, 0, 0, -1, "add %r1, -1")]
    [InlineData(0x07, 1, 0, 0, 0x1234, "add %r1, 0x1234")]
    [InlineData(0x07, 1, 0, 0, int.MinValue, "add %r1, 0x80000000")]
    [InlineData(0x04, 9, 0, 0, -100, "add32 %r9, -100")]
    [InlineData(0x0f, 1, 2, 0, 0, "add %r1, %r2")]
    [InlineData(0x1c, 3, 4, 0, 0, "sub32 %r3, %r4")]
    [InlineData(0x27, 1, 0, 0, 3, "mul %r1, 3")]
    [InlineData(0x37, 1, 0, 0, 3, "div %r1, 3")]
    [InlineData(0x3f, 1, 2, 1, 0, "sdiv %r1, %r2")]
    [InlineData(0x34, 1, 0, 1, -3, "sdiv32 %r1, -3")]
    [InlineData(0x94, 1, 0, 1, 3, "smod32 %r1, 3")]
    [InlineData(0x9f, 1, 2, 0, 0, "mod %r1, %r2")]
    [InlineData(0x47, 1, 0, 0, 0xff, "or %r1, 0xff")]
    [InlineData(0x5c, 1, 2, 0, 0, "and32 %r1, %r2")]
    [InlineData(0x67, 1, 0, 0, 32, "lsh %r1, 0x20")]
    [InlineData(0x7c, 1, 2, 0, 0, "rsh32 %r1, %r2")]
    [InlineData(0xa7, 1, 0, 0, -1, "xor %r1, -1")]
    [InlineData(0xc4, 0, 0, 0, -16, "arsh32 %r0, -16")]
    [InlineData(0xcf, 0, 1, 0, 0, "arsh %r0, %r1")]
    [InlineData(0x87, 0, 0, 0, 0, "neg %r0")]
    [InlineData(0x84, 5, 0, 0, 0, "neg32 %r5")]
    [InlineData(0xbf, 0, 1, 8, 0, "movsx864 %r0, %r1")]
    [InlineData(0xbf, 0, 1, 16, 0, "movsx1664 %r0, %r1")]
    [InlineData(0xbf, 0, 1, 32, 0, "movsx3264 %r0, %r1")]
    [InlineData(0xbc, 0, 1, 8, 0, "movsx832 %r0, %r1")]
    [InlineData(0xbc, 0, 1, 16, 0, "movsx1632 %r0, %r1")]
    [InlineData(0xd4, 0, 0, 0, 16, "le16 %r0")]
    [InlineData(0xd4, 2, 0, 0, 64, "le64 %r2")]
    [InlineData(0xdc, 0, 0, 0, 32, "be32 %r0")]
    [InlineData(0xd7, 0, 0, 0, 16, "bswap16 %r0")]
    [InlineData(0xd7, 0, 0, 0, 64, "bswap64 %r0")]
    public void Arithmetic(byte opcode, byte dst, byte src, short offset, int immediate, string expected) =>
        Assert.Equal(expected, Ubpf(opcode, dst, src, offset, immediate));

    [Theory]
    [InlineData(0x79, 0, 10, -8, 0, "ldxdw %r0, [%r10-8]")]
    [InlineData(0x61, 0, 1, 0, 0, "ldxw %r0, [%r1]")]
    [InlineData(0x69, 0, 1, 2, 0, "ldxh %r0, [%r1+2]")]
    [InlineData(0x71, 9, 0, 0x7fff, 0, "ldxb %r9, [%r0+32767]")]
    [InlineData(0x91, 0, 1, 2, 0, "ldxsb %r0, [%r1+2]")]
    [InlineData(0x89, 0, 1, -2, 0, "ldxsh %r0, [%r1-2]")]
    [InlineData(0x81, 0, 1, short.MinValue, 0, "ldxsw %r0, [%r1-32768]")]
    [InlineData(0x7a, 10, 0, -8, 5, "stdw [%r10-8], 5")]
    [InlineData(0x62, 1, 0, 4, 0x11223344, "stw [%r1+4], 0x11223344")]
    [InlineData(0x6a, 1, 0, 0, -1, "sth [%r1], -1")]
    [InlineData(0x72, 1, 0, 0, 0x7f, "stb [%r1], 0x7f")]
    [InlineData(0x7b, 10, 1, -8, 0, "stxdw [%r10-8], %r1")]
    [InlineData(0x63, 10, 1, -4, 0, "stxw [%r10-4], %r1")]
    [InlineData(0x6b, 1, 2, 0, 0, "stxh [%r1], %r2")]
    [InlineData(0x73, 1, 2, 1, 0, "stxb [%r1+1], %r2")]
    [InlineData(0xdb, 10, 1, -8, 0x00, "lock add [%r10-8], %r1")]
    [InlineData(0xc3, 10, 1, -8, 0x00, "lock add32 [%r10-8], %r1")]
    [InlineData(0xdb, 10, 1, -8, 0x40, "lock or [%r10-8], %r1")]
    [InlineData(0xc3, 10, 1, -8, 0x50, "lock and32 [%r10-8], %r1")]
    [InlineData(0xdb, 10, 1, -8, 0xa0, "lock xor [%r10-8], %r1")]
    [InlineData(0xdb, 10, 1, -8, 0x01, "lock fetch add [%r10-8], %r1")]
    [InlineData(0xc3, 10, 1, -8, 0x41, "lock fetch or32 [%r10-8], %r1")]
    [InlineData(0xdb, 10, 1, -8, 0x51, "lock fetch and [%r10-8], %r1")]
    [InlineData(0xc3, 10, 1, -8, 0xa1, "lock fetch xor32 [%r10-8], %r1")]
    [InlineData(0xdb, 10, 1, -8, 0xe1, "lock xchg [%r10-8], %r1")]
    [InlineData(0xc3, 10, 1, -8, 0xe1, "lock xchg32 [%r10-8], %r1")]
    [InlineData(0xdb, 10, 1, -8, 0xf1, "lock cmpxchg [%r10-8], %r1")]
    [InlineData(0xc3, 1, 2, 0, 0xf1, "lock cmpxchg32 [%r1], %r2")]
    [InlineData(0x20, 0, 0, 0, 12, "ldabsw 0xc")]
    [InlineData(0x28, 0, 0, 0, 2, "ldabsh 2")]
    [InlineData(0x30, 0, 0, 0, 0, "ldabsb 0")]
    [InlineData(0x48, 0, 1, 0, 4, "ldindh %r1, 4")]
    [InlineData(0x40, 0, 7, 0, -2, "ldindw %r7, -2")]
    public void Memory(byte opcode, byte dst, byte src, short offset, int immediate, string expected) =>
        Assert.Equal(expected, Ubpf(opcode, dst, src, offset, immediate));

    [Theory]
    [InlineData(0x15, 1, 0, 2, 5, "jeq %r1, 5, +2")]
    [InlineData(0x1d, 1, 2, -3, 0, "jeq %r1, %r2, -3")]
    [InlineData(0x16, 1, 0, 0, 0x100, "jeq32 %r1, 0x100, +0")]
    [InlineData(0x25, 1, 0, 1, 4, "jgt %r1, 4, +1")]
    [InlineData(0x3e, 1, 2, 1, 0, "jge32 %r1, %r2, +1")]
    [InlineData(0x45, 1, 0, 1, 8, "jset %r1, 8, +1")]
    [InlineData(0x5d, 0, 1, 7, 0, "jne %r0, %r1, +7")]
    [InlineData(0x6e, 1, 2, 0, 0, "jsgt32 %r1, %r2, +0")]
    [InlineData(0x75, 1, 0, -1, -1, "jsge %r1, -1, -1")]
    [InlineData(0xa6, 1, 0, 2, 3, "jlt32 %r1, 3, +2")]
    [InlineData(0xbd, 1, 2, 2, 0, "jle %r1, %r2, +2")]
    [InlineData(0xc5, 1, 0, 32767, 0, "jslt %r1, 0, +32767")]
    [InlineData(0xd5, 1, 0, 1, -3, "jsle %r1, -3, +1")]
    [InlineData(0xde, 1, 2, short.MinValue, 0, "jsle32 %r1, %r2, -32768")]
    [InlineData(0x05, 0, 0, -1, 0, "ja -1")]
    [InlineData(0x05, 0, 0, 0, 0, "ja +0")]
    [InlineData(0x06, 0, 0, 0, 5, "ja32 +5")]
    [InlineData(0x06, 0, 0, 0, int.MinValue, "ja32 -2147483648")]
    [InlineData(0x85, 0, 0, 0, 5, "call 5")]
    [InlineData(0x85, 0, 0, 0, 0x7fffffff, "call 0x7fffffff")]
    [InlineData(0x85, 0, 1, 0, 3, "call local +3")]
    [InlineData(0x85, 0, 1, 0, -4, "call local -4")]
    [InlineData(0x85, 0, 2, 0, 0x1234, "call kfunc 0x1234")]
    [InlineData(0x85, 0, 2, 1, 7, "call kfunc 7, 1")]
    [InlineData(0x8d, 2, 0, 0, 0, "call %r2")]
    [InlineData(0x95, 0, 0, 0, 0, "exit")]
    public void JumpsAndCalls(byte opcode, byte dst, byte src, short offset, int immediate, string expected) =>
        Assert.Equal(expected, Ubpf(opcode, dst, src, offset, immediate));

    [Theory]
    [InlineData(0x18, 0, 0, 0x55667788, 0x11223344, "lddw %r0, 0x1122334455667788")]
    [InlineData(0x18, 1, 0, -1, -1, "lddw %r1, 0xffffffffffffffff")]
    [InlineData(0x18, 1, 0, 1, 0, "lddw %r1, 0x1")]
    [InlineData(0x18, 1, 1, 5, 0, "lddw %r1, map[fd:5]")]
    [InlineData(0x18, 1, 2, 5, 16, "lddw %r1, map[fd:5]+0x10")]
    [InlineData(0x18, 1, 2, 5, 0, "lddw %r1, map[fd:5]+0")]
    [InlineData(0x18, 2, 3, 0x4242, 0, "lddw %r2, btf_id[0x4242]")]
    [InlineData(0x18, 2, 4, 3, 0, "lddw %r2, subprog[+3]")]
    [InlineData(0x18, 2, 4, -5, 0, "lddw %r2, subprog[-5]")]
    [InlineData(0x18, 2, 5, 0, 0, "lddw %r2, map[idx:0]")]
    [InlineData(0x18, 2, 6, 1, 8, "lddw %r2, map[idx:1]+8")]
    [InlineData(0x18, 2, 1, 1, 8, ".8byte 0x0000000100001218")] // map fd with a value offset
    [InlineData(0x18, 2, 7, 1, 0, ".8byte 0x0000000100007218")] // undefined pseudo source
    public void LoadImm64(byte opcode, byte dst, byte src, int low, int high, string expected)
    {
        Instruction[] program = [new(opcode, dst, src, 0, low), new(0, 0, 0, 0, high), Instruction.Exit];
        Assert.Equal(expected, Disassembler.Format(program, 0, AssemblySyntax.Ubpf));
        Assert.Equal("exit", Disassembler.Format(program, 2, AssemblySyntax.Ubpf));

        // The listing shows a complete lddw on one line, a raw first slot on its own.
        int lines = Disassembler.Disassemble(program, new DisassemblyOptions { Syntax = AssemblySyntax.Ubpf }).Count(c => c == '\n');
        Assert.Equal(expected.StartsWith(".8byte", StringComparison.Ordinal) ? 3 : 2, lines);
    }

    [Theory]
    [InlineData(0x07, 1, 3, 0, 5, ".8byte 0x0000000500003107")] // K form with a source register
    [InlineData(0x0f, 1, 2, 0, 5, ".8byte 0x000000050000210f")] // X form with an immediate
    [InlineData(0x07, 1, 0, 1, 5, ".8byte 0x0000000500010107")] // offset on add
    [InlineData(0x87, 1, 0, 0, 1, ".8byte 0x0000000100000187")] // neg with an immediate
    [InlineData(0xdf, 1, 0, 0, 16, ".8byte 0x00000010000001df")] // ALU64 | X | END is undefined
    [InlineData(0xd4, 1, 0, 0, 8, ".8byte 0x00000008000001d4")] // le8
    [InlineData(0xbc, 1, 2, 32, 0, ".8byte 0x00000000002021bc")] // movsx32 to 32 bits
    [InlineData(0xbf, 1, 2, 1, 0x10000, ".8byte 0x00010000000121bf")] // LLVM addr_space_cast
    [InlineData(0xe5, 0, 0, 4, 0, ".8byte 0x00000000000400e5")] // LLVM may_goto
    [InlineData(0x95, 0, 0, 0, 1, ".8byte 0x0000000100000095")] // exit with an immediate
    [InlineData(0x05, 1, 0, 1, 0, ".8byte 0x0000000000010105")] // ja with dst
    [InlineData(0x85, 0, 3, 0, 1, ".8byte 0x0000000100003085")] // unknown call kind
    [InlineData(0xc3, 1, 2, 0, 0x02, ".8byte 0x00000002000021c3")] // unknown atomic operation
    [InlineData(0xd3, 1, 2, 0, 0x00, ".8byte 0x00000000000021d3")] // 16-bit atomic
    [InlineData(0x61, 1, 2, 0, 1, ".8byte 0x0000000100002161")] // ldx with an immediate
    [InlineData(0x07, 11, 0, 0, 1, ".8byte 0x0000000100000b07")] // r11
    [InlineData(0x0f, 1, 15, 0, 0, ".8byte 0x000000000000f10f")] // r15
    [InlineData(0x79, 1, 12, 0, 0, ".8byte 0x000000000000c179")] // r12
    [InlineData(0x00, 0, 0, 0, 0, ".8byte 0x0000000000000000")]
    [InlineData(0xff, 0xf, 0xf, -1, -1, ".8byte 0xffffffffffffffff")]
    public void UnrepresentableSlotsAreRaw(byte opcode, byte dst, byte src, short offset, int immediate, string expected) =>
        Assert.Equal(expected, Ubpf(opcode, dst, src, offset, immediate));

    [Fact]
    public void LoadImm64WithoutACleanSecondSlotIsRaw()
    {
        var first = new Instruction(0x18, 1, 0, 0, 1);
        Assert.Equal(".8byte 0x0000000100000118", Disassembler.Format(first, AssemblySyntax.Ubpf));

        // A second slot with an opcode cannot be written as lddw: the first slot goes raw
        // and the second is shown on its own.
        Instruction[] program = [first, Instruction.Exit];
        Assert.Equal(".8byte 0x0000000100000118", Disassembler.Format(program, 0, AssemblySyntax.Ubpf));
        string listing = Disassembler.Disassemble(program, new DisassemblyOptions { Syntax = AssemblySyntax.Ubpf, ShowRawBytes = false });
        Assert.Equal("       0:\t.8byte 0x0000000100000118\n       1:\texit\n", listing);
    }
}
