using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;

namespace SharpBpf.Tests.Isa.Assembly;

/// <summary>
/// The LLVM syntax forms llvm-mc cannot check (bpftool/kernel spellings, listings, pseudo loads,
/// labels), against hand-written RFC 9669 encodings.
/// </summary>
public class LlvmSyntaxTests
{
    private static Instruction One(string source)
    {
        var program = Assembler.Assemble(source);
        Assert.Single(program);
        Assert.Equal(program, Assembler.Assemble(source, AssemblySyntax.Llvm));
        return program[0];
    }

    [Theory]
    [InlineData("(bf) r6 = r1", 0xbf, 6, 1, 0, 0)]
    [InlineData("(61) r1 = *(u32 *)(r6 +112)", 0x61, 1, 6, 112, 0)]
    [InlineData("(63) *(u32 *)(r10 -4) = r1", 0x63, 10, 1, -4, 0)]
    [InlineData("(62) *(u32 *)(r10 -4) = 7", 0x62, 10, 0, -4, 7)]
    [InlineData("(07) r2 += -4", 0x07, 2, 0, 0, -4)]
    [InlineData("(35) if r0 >= 0x4 goto pc+3", 0x35, 0, 0, 3, 4)]
    [InlineData("(5d) if r1 != r2 goto pc-3", 0x5d, 1, 2, -3, 0)]
    [InlineData("(05) goto pc+1", 0x05, 0, 0, 1, 0)]
    [InlineData("(06) gotol pc+70000", 0x06, 0, 0, 0, 70000)]
    [InlineData("(85) call bpf_map_lookup_elem#1", 0x85, 0, 0, 0, 1)]
    [InlineData("(85) call unknown#195", 0x85, 0, 0, 0, 195)]
    [InlineData("(85) call pc+8#bpf_prog_a405419c9d1a9d7b_sub", 0x85, 0, 1, 0, 8)]
    [InlineData("(85) call pc-2", 0x85, 0, 1, 0, -2)]
    [InlineData("(db) lock *(u64 *)(r0 +0) += r1", 0xdb, 0, 1, 0, 0x00)]
    [InlineData("(c3) lock *(u32 *)(r1 +0) ^= r2", 0xc3, 1, 2, 0, 0xa0)]
    [InlineData("(db) r1 = atomic64_fetch_add((u64 *)(r0 +0), r1)", 0xdb, 0, 1, 0, 0x01)]
    [InlineData("(c3) r1 = atomic_fetch_and((u32 *)(r0 -8), r1)", 0xc3, 0, 1, -8, 0x51)]
    [InlineData("(db) r3 = atomic64_xchg((u64 *)(r10 -8), r3)", 0xdb, 10, 3, -8, 0xe1)]
    [InlineData("(c3) r3 = atomic_xchg((u32 *)(r10 -8), r3)", 0xc3, 10, 3, -8, 0xe1)]
    [InlineData("(db) r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)", 0xdb, 1, 2, 0, 0xf1)]
    [InlineData("(c3) r0 = atomic_cmpxchg((u32 *)(r1 +4), r0, r2)", 0xc3, 1, 2, 4, 0xf1)]
    [InlineData("(30) r0 = *(u8 *)skb[23]", 0x30, 0, 0, 0, 23)]
    [InlineData("(48) r0 = *(u16 *)skb[r1 + 2]", 0x48, 0, 1, 0, 2)]
    [InlineData("(40) r0 = *(u32 *)skb[r7 - 4]", 0x40, 0, 7, 0, -4)]
    [InlineData("(dc) r1 = be16 r1", 0xdc, 1, 0, 0, 16)]
    [InlineData("(d4) r1 = le32 r1", 0xd4, 1, 0, 0, 32)]
    [InlineData("(d7) r1 = bswap64 r1", 0xd7, 1, 0, 0, 64)]
    [InlineData("(bc) w1 = (s8)w2", 0xbc, 1, 2, 8, 0)]
    [InlineData("(87) r0 = -r0", 0x87, 0, 0, 0, 0)]
    [InlineData("(84) w3 = -w3", 0x84, 3, 0, 0, 0)]
    [InlineData("(3c) w1 s/= w2", 0x3c, 1, 2, 1, 0)]
    [InlineData("(97) r1 s%= 3", 0x97, 1, 0, 1, 3)]
    [InlineData("(8d) callx r2", 0x8d, 2, 0, 0, 0)]
    [InlineData("(95) exit", 0x95, 0, 0, 0, 0)]
    [InlineData("(e5) may_goto pc+2", 0xe5, 0, 0, 2, 0)]
    [InlineData("(bf) r1 = addr_space_cast(r2, 0, 1)", 0xbf, 1, 2, 1, 1)]
    public void BpftoolXlatedLines(string text, int opcode, int dst, int src, int offset, int imm)
    {
        var expected = new Instruction((byte)opcode, (byte)dst, (byte)src, (short)offset, imm);
        Assert.Equal(expected, One(text));
        Assert.Equal(expected, One("  42: " + text));
        Assert.Equal(expected, One(text[5..])); // without the opcode column
    }

    [Theory]
    [InlineData("(18) r1 = map[id:47]", 1, 47, 0)]
    [InlineData("(18) r1 = map[id:47][0]+16", 2, 47, 16)]
    [InlineData("(18) r2 = 0xffff888100000000", 0, 0, unchecked((int)0xffff8881))]
    [InlineData("r1 = map[fd:5] ll", 1, 5, 0)]
    [InlineData("r1 = map[idx:1]+8", 6, 1, 8)]
    [InlineData("r1 = btf_id[99]", 3, 99, 0)]
    [InlineData("r1 = subprog[-3]", 4, -3, 0)]
    [InlineData("r1 = 0xffff888100000000 ll", 0, 0, unchecked((int)0xffff8881))]
    public void LoadImm64Forms(string text, int src, int imm, int nextImm)
    {
        var program = Assembler.Assemble(text);
        byte dst = text.Contains("r2", StringComparison.Ordinal) ? (byte)2 : (byte)1;
        Assert.Equal([new Instruction(0x18, dst, (byte)src, 0, imm), new Instruction(0, 0, 0, 0, nextImm)], program);
    }

    [Fact]
    public void OpcodeColumnMustMatchTheStatement()
    {
        var ex = Assert.Throws<AssemblyException>(() => Assembler.Assemble("   3: (b7) r1 = r2"));
        Assert.Equal(1, ex.Line);
        Assert.Equal(7, ex.Column);
        Assert.Contains("0xb7", ex.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void ObjdumpListingLines()
    {
        Assert.Equal(new Instruction(0xb7, 0, 0, 0, 0), One("       0:\tb7 00 00 00 00 00 00 00\tr0 = 0x0"));
        Assert.Equal(new Instruction(0xc6, 2, 0, 17, 1), One("       2:\tc6 02 11 00 01 00 00 00\tif w2 s< 0x1 goto +0x11 <g+0xa0>"));
        Assert.Equal(new Instruction(0x85, 0, 1, 0, 0x13), One("      10:\t85 10 00 00 13 00 00 00\tcall 0x13"));
        Assert.Equal(new Instruction(0x85, 0, 2, 0, -1), One("      11:\t85 20 00 00 ff ff ff ff\tcall -0x1"));
        Assert.Equal(new Instruction(0x85, 0, 0, 0, 1), One("      12:\t85 00 00 00 01 00 00 00\tcall 0x1"));
        Assert.Equal(new Instruction(0xc3, 1, 2, 0, 0x40), One("      20:\tc3 21 00 00 40 00 00 00\t<unknown>"));
        var lddw = Assembler.Assemble("      23:\t18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00\tr1 = 0x0 ll");
        Assert.Equal([new Instruction(0x18, 1, 0, 0, 0), new Instruction(0, 0, 0, 0, 0)], lddw);
    }

    [Fact]
    public void ObjdumpHeadersRelocationsAndSymbolsAreUnderstood()
    {
        var program = Assembler.Assemble("""

            c.o:	file format elf64-bpf

            Disassembly of section .text:

            0000000000000000 <g>:
                   0:	05 00 01 00 00 00 00 00	goto +0x1 <h>
                   1:	18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00	r1 = 0x0 ll
            		0000000000000008:  R_BPF_64_64	m

            0000000000000018 <h>:
                   3:	05 00 fc ff 00 00 00 00	goto g
            """);
        Assert.Equal(4, program.Length);
        Assert.Equal(-4, program[3].Offset);
    }

    [Fact]
    public void LabelsAndNamedTargets()
    {
        var program = Assembler.Assemble("""
            LBB0_1:
              r0 += 1
              if r0 < 10 goto LBB0_1
              if w0 == w1 goto LBB0_2
              call func
              gotol LBB0_1
            LBB0_2:
              exit
            func:
              exit
            """);
        Assert.Equal(new Instruction(0xa5, 0, 0, -2, 10), program[1]);
        Assert.Equal(new Instruction(0x1e, 0, 1, 2, 0), program[2]);
        Assert.Equal(new Instruction(0x85, 0, 1, 0, 2), program[3]);
        Assert.Equal(new Instruction(0x06, 0, 0, 0, -5), program[4]);
    }

    [Fact]
    public void MixedSyntaxIsDetectedPerLine()
    {
        var program = Assembler.Assemble("mov %r0, 1\nr0 += 2\nlock add [%r10-8], %r0\nlock *(u64 *)(r10 - 8) += r0\nexit");
        Assert.Equal(
            [new Instruction(0xb7, 0, 0, 0, 1), new Instruction(0x07, 0, 0, 0, 2), new Instruction(0xdb, 10, 0, -8, 0),
             new Instruction(0xdb, 10, 0, -8, 0), Instruction.Exit],
            program);
    }

    [Fact]
    public void BpftoolFunctionHeadersAndSourceCommentsAreUnderstood()
    {
        var program = Assembler.Assemble("""
            int prog(struct __sk_buff * skb):
            ; return sub(1);
               0: (85) call sub#0
               1: (95) exit
            int sub(int x):
               2: (b7) r0 = 1
               3: (95) exit
            """);
        Assert.Equal(new Instruction(0x85, 0, 0, 0, 0), program[0]);
        program = Assembler.Assemble("int prog(void):\n0: (05) goto sub\nint sub(void):\n1: (95) exit");
        Assert.Equal(0, program[0].Offset);
    }

    [Fact]
    public void RawSlotsPseudoLoadsAndKfuncCalls()
    {
        // .8byte: one slot given as its 64-bit little-endian value (opcode in the low byte).
        Assert.Equal(new Instruction(0xff, 0x0b, 0x0c, 0x1234, 0x55667788), One(".8byte 0x556677881234cbff"));
        Assert.Equal(
            [new Instruction(0x18, 1, 2, 0, 5), new Instruction(0, 0, 0, 0, 0)],
            Assembler.Assemble("ld_pseudo\tr1, 0x2, 0x5"));
        Assert.Equal(new Instruction(0x85, 0, 2, 3, 0x1234), One("call kfunc 0x1234, 3"));
        Assert.Equal(new Instruction(0x85, 0, 2, 0, 77), One("call kfunc 77"));
        Assert.Equal(new Instruction(0x85, 0, 2, -2, 9), One("      11:\t85 20 fe ff 09 00 00 00\tcall 0x9"));
    }

    [Fact]
    public void DirectivesThatEmitNothingAreIgnoredOthersRejected()
    {
        Assert.Equal([Instruction.Exit], Assembler.Assemble("\t.text\n\t.globl f\n\t.p2align 3\nf:\n\t.cfi_startproc\n\texit"));
        var ex = Assert.Throws<AssemblyException>(() => Assembler.Assemble("exit\n .quad 5"));
        Assert.Equal(2, ex.Line);
        Assert.Equal(2, ex.Column);
        Assert.Equal(".quad", ex.Found);
    }
}
