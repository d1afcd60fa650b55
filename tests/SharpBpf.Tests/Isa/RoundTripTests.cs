using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Isa.Formatting;

namespace SharpBpf.Tests.Isa;

/// <summary>
/// Property: assembling the disassembly of any valid instruction gives back the same bytes, in both syntaxes.
/// LLVM syntax cannot express four forms, exactly as llvm-objdump prints them: local and kfunc calls (both
/// print as <c>call imm</c>), <c>lddw</c> with a pseudo source (<c>ld_pseudo</c> drops the high half) and indirect
/// legacy packet loads with an immediate (<c>skb[r1]</c> omits it); those are checked in uBPF syntax only.
/// </summary>
public class RoundTripTests
{
    private const int Samples = 30_000;

    [Theory]
    [InlineData(AssemblySyntax.Ubpf)]
    [InlineData(AssemblySyntax.Llvm)]
    public void AssembleOfDisassembleIsTheIdentity(AssemblySyntax syntax)
    {
        var random = new Random(9669 + (int)syntax);
        int checkedCount = 0;
        var opcodesSeen = new HashSet<byte>();
        for (int i = 0; i < Samples; i++)
        {
            var program = RandomValidInstruction(random);
            if (syntax == AssemblySyntax.Llvm && !LlvmCanExpress(program[0]))
            {
                continue;
            }

            string text = Disassembler.Format(program, 0, syntax);
            Instruction[] back;
            try
            {
                back = Assembler.Assemble(text, syntax);
            }
            catch (AssemblyException e)
            {
                Assert.Fail($"'{text}' (from {program[0]}) does not assemble: {e.Message}");
                return;
            }

            Assert.True(program.AsSpan().SequenceEqual(back), $"'{text}': {program[0]} came back as {string.Join(", ", back)}");
            checkedCount++;
            opcodesSeen.Add(program[0].Opcode);
        }

        // Every opcode the RFC defines must have been drawn (the generator is not stuck in a corner).
        int known = Enumerable.Range(0, 256).Count(op => IsKnown((byte)op));
        Assert.True(opcodesSeen.Count >= known - (syntax == AssemblySyntax.Llvm ? 0 : 0), $"saw {opcodesSeen.Count} of {known} opcodes");
        Assert.True(checkedCount > Samples / 2, $"only {checkedCount} instructions checked");
    }

    private static bool LlvmCanExpress(Instruction insn) =>
        !(insn.Opcode == Opcode.Call && insn.Src != (byte)CallKind.Helper)
        && !(insn.IsLoadImm64 && insn.Src != 0)
        && !(insn.Class == InstructionClass.Ld && insn.MemoryMode == MemoryMode.Ind && insn.Immediate != 0);

    private static bool IsKnown(byte opcode)
    {
        // Try the field patterns an opcode may need to be valid.
        foreach (int imm in new[] { 0, 16, 0x01 })
        {
            foreach (byte dst in new byte[] { 0, 1 })
            {
                if (InstructionRules.Check(new Instruction(opcode, dst, 0, 0, imm), new Instruction(0, 0, 0, 0, 0)) is null)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>A valid instruction (two slots for lddw) with fields drawn to hit corner values.</summary>
    private static Instruction[] RandomValidInstruction(Random random)
    {
        while (true)
        {
            byte opcode = (byte)random.Next(256);
            byte dst = (byte)random.Next(11);
            byte src = (byte)random.Next(11);
            short offset = random.Next(3) switch
            {
                0 => 0,
                1 => (short)random.Next(-300, 300),
                _ => (short)random.Next(short.MinValue, short.MaxValue + 1),
            };
            int imm = random.Next(6) switch
            {
                0 => 0,
                1 => random.Next(-20, 20),
                2 => new[] { 16, 32, 64, 1, 8 }[random.Next(5)],
                3 => new[] { 0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1 }[random.Next(10)],
                4 => new[] { int.MinValue, int.MaxValue, -1 }[random.Next(3)],
                _ => random.Next(int.MinValue, int.MaxValue),
            };

            // Fields that are reserved for most forms are often zero, so that valid encodings are common.
            if (random.Next(2) == 0)
            {
                src = 0;
            }

            if (random.Next(2) == 0)
            {
                offset = (short)new[] { 0, 1, 8, 16, 32 }[random.Next(5)];
            }

            var insn = new Instruction(opcode, dst, src, offset, imm);
            if (opcode == Opcode.LoadImm64)
            {
                var second = new Instruction(0, 0, 0, 0, random.Next(2) == 0 ? 0 : random.Next(int.MinValue, int.MaxValue));
                insn = new Instruction(opcode, dst, (byte)random.Next(7), 0, imm);
                if (InstructionRules.Check(insn, second) is null)
                {
                    return [insn, second];
                }

                continue;
            }

            if (InstructionRules.Check(insn, new Instruction(0, 0, 0, 0, 0)) is null)
            {
                return [insn];
            }
        }
    }
}
