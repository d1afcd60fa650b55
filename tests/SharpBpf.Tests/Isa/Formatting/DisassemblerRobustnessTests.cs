using System.Globalization;
using SharpBpf.Isa;
using SharpBpf.Isa.Formatting;

namespace SharpBpf.Tests.Isa.Formatting;

/// <summary>Any bytes at all format without throwing, in both syntaxes and every listing mode.</summary>
public sealed class DisassemblerRobustnessTests
{
    private static Instruction RandomSlot(Random random, byte opcode)
    {
        Span<byte> bytes = stackalloc byte[Instruction.Size];
        random.NextBytes(bytes);
        bytes[0] = opcode;

        // Bias towards the values decoders branch on.
        switch (random.Next(4))
        {
            case 0:
                bytes[2] = bytes[3] = 0;
                break;
            case 1:
                bytes[4] = (byte)random.Next(3) switch { 0 => 16, 1 => 32, _ => 64 };
                bytes[5] = bytes[6] = bytes[7] = 0;
                break;
            case 2:
                bytes[2] = (byte)random.Next(3) switch { 0 => 1, 1 => 8, _ => 16 };
                bytes[3] = 0;
                break;
        }

        return Instruction.ReadFrom(bytes);
    }

    [Fact]
    public void EveryOpcodeWithRandomFieldsFormats()
    {
        var random = new Random(9669);
        byte[] bytes = new byte[Instruction.Size];
        for (int opcode = 0; opcode < 256; opcode++)
        {
            for (int i = 0; i < 200; i++)
            {
                var insn = RandomSlot(random, (byte)opcode);
                Instruction[] pair = [insn, RandomSlot(random, (byte)random.Next(256))];
                foreach (var syntax in new[] { AssemblySyntax.Llvm, AssemblySyntax.Ubpf })
                {
                    string single = Disassembler.Format(insn, syntax);
                    string withNext = Disassembler.Format(pair, 0, syntax);
                    if (string.IsNullOrWhiteSpace(single) || string.IsNullOrWhiteSpace(withNext) || withNext.Contains('\n', StringComparison.Ordinal))
                    {
                        Assert.Fail($"{insn} in {syntax}: '{single}' / '{withNext}'");
                    }
                }

                // Raw uBPF text stands for exactly the slot's bytes.
                string ubpf = Disassembler.Format(insn, AssemblySyntax.Ubpf);
                if (ubpf.StartsWith(".8byte 0x", StringComparison.Ordinal))
                {
                    ulong value = ulong.Parse(ubpf.AsSpan(9), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    insn.WriteTo(bytes);
                    Assert.Equal(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes), value);
                }
            }
        }
    }

    [Fact]
    public void RandomProgramsDisassembleInEveryMode()
    {
        var random = new Random(4242);
        var optionSets = new List<DisassemblyOptions>();
        foreach (var syntax in new[] { AssemblySyntax.Llvm, AssemblySyntax.Ubpf })
        {
            foreach (var style in new[] { JumpTargetStyle.Offset, JumpTargetStyle.SymbolOffset, JumpTargetStyle.Labels })
            {
                optionSets.Add(new DisassemblyOptions { Syntax = syntax, JumpTargets = style });
                optionSets.Add(new DisassemblyOptions { Syntax = syntax, JumpTargets = style, ShowAddresses = false, ShowRawBytes = false, SkipZeroBlocks = false });
            }
        }

        for (int round = 0; round < 400; round++)
        {
            var program = new Instruction[random.Next(1, 40)];
            for (int i = 0; i < program.Length; i++)
            {
                // Small jump offsets and zero slots, so that labels and zero blocks occur.
                var insn = RandomSlot(random, (byte)random.Next(256));
                program[i] = random.Next(8) switch
                {
                    0 => insn.WithOffset((short)random.Next(-program.Length, program.Length)),
                    1 => default,
                    _ => insn,
                };
            }

            foreach (var options in optionSets)
            {
                string listing = Disassembler.Disassemble(program, options);
                Assert.EndsWith("\n", listing, StringComparison.Ordinal);
            }
        }
    }
}
