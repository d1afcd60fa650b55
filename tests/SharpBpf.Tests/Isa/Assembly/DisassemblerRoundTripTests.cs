using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Isa.Formatting;

namespace SharpBpf.Tests.Isa.Assembly;

/// <summary>What the disassembler prints, the assembler reads back to the same instruction slots.</summary>
public class DisassemblerRoundTripTests
{
    /// <summary>Random slots; with <paramref name="validOnly"/>, only slots <see cref="InstructionRules"/> accepts.</summary>
    private static Instruction[] RandomProgram(int seed, int length, bool validOnly)
    {
        var random = new Random(seed);
        var program = new List<Instruction>(length);
        Span<byte> bytes = stackalloc byte[Instruction.Size];
        while (program.Count < length)
        {
            random.NextBytes(bytes);
            if (random.Next(4) == 0)
            {
                // Bias towards small fields so ordinary forms turn up often.
                bytes[1] = (byte)(random.Next(11) | (random.Next(11) << 4));
                bytes[2] = (byte)random.Next(4);
                bytes[3] = 0;
            }

            var insn = Instruction.ReadFrom(bytes);
            if (insn.IsLoadImm64)
            {
                var second = new Instruction(0, 0, 0, 0, random.Next());
                if (!validOnly || InstructionRules.Check(insn, second) is null)
                {
                    program.Add(insn);
                    program.Add(second);
                }

                continue;
            }

            if (!validOnly || InstructionRules.Check(insn) is null)
            {
                program.Add(insn);
            }
        }

        return [.. program];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void UbpfListingOfAnyBytesAssemblesBackExactly(int seed)
    {
        var program = RandomProgram(seed, 2000, validOnly: false);
        foreach (var jumps in new[] { JumpTargetStyle.Offset, JumpTargetStyle.Labels })
        {
            var text = Disassembler.Disassemble(program, new DisassemblyOptions
            {
                Syntax = AssemblySyntax.Ubpf,
                SkipZeroBlocks = false,
                JumpTargets = jumps,
            });
            Assert.Equal(program, Assembler.Assemble(text));
            Assert.Equal(program, Assembler.Assemble(text, AssemblySyntax.Ubpf));
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void UbpfTextWithoutAddressesOrBytesAssemblesBackExactly(int seed)
    {
        var program = RandomProgram(seed, 2000, validOnly: true);
        var text = Disassembler.Disassemble(program, new DisassemblyOptions
        {
            Syntax = AssemblySyntax.Ubpf,
            ShowAddresses = false,
            ShowRawBytes = false,
            SkipZeroBlocks = false,
            JumpTargets = JumpTargetStyle.Labels,
        });
        Assert.Equal(program, Assembler.Assemble(text, AssemblySyntax.Ubpf));
    }

    [Theory]
    [InlineData(6)]
    [InlineData(7)]
    public void LlvmListingOfValidSlotsAssemblesBack(int seed)
    {
        var program = RandomProgram(seed, 2000, validOnly: true);
        foreach (var jumps in new[] { JumpTargetStyle.Offset, JumpTargetStyle.SymbolOffset, JumpTargetStyle.Labels })
        {
            var text = Disassembler.Disassemble(program, new DisassemblyOptions { SkipZeroBlocks = false, JumpTargets = jumps });
            var assembled = Assembler.Assemble(text, AssemblySyntax.Llvm);
            Assert.Equal(program.Length, assembled.Length);
            for (int pc = 0; pc < program.Length; pc++)
            {
                var want = program[pc];
                var got = assembled[pc];
                if (want.IsLoadImm64 && want.Src != 0)
                {
                    // llvm prints "ld_pseudo r1, SRC, LOW": the second slot's immediate is not shown.
                    Assert.Equal(want, got);
                    pc++;
                    continue;
                }

                if (want.Class == InstructionClass.Ld && want.MemoryMode == MemoryMode.Ind)
                {
                    // llvm prints "r0 = *(u32 *)skb[r1]" without the immediate.
                    Assert.Equal(want.WithImmediate(0), got);
                    continue;
                }

                Assert.Equal(want, got);
            }
        }
    }
}
