using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Isa.Assembly;

/// <summary>
/// A real `bpftool prog dump xlated` listing (Fixtures/asm/gen-bpftool.sh) assembles back to the
/// kernel's xlated instruction bytes.
/// </summary>
public class BpftoolFixtureTests
{
    [Fact]
    public void XlatedDumpAssemblesBackToTheKernelsInstructions()
    {
        var text = File.ReadAllText(Fixtures.Path("asm", "bpftool.xlated"));
        var hex = string.Concat(File.ReadLines(Fixtures.Path("asm", "bpftool.hex")).Select(l => l.Trim()));
        var expected = Instruction.Decode(Convert.FromHexString(hex));
        var program = Assembler.Assemble(text);
        Assert.Equal(expected.Length, program.Length);
        int exact = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            var want = expected[i];
            if (want.Opcode == Opcode.Call && want.Src == (byte)CallKind.Local)
            {
                // The kernel keeps a verified bpf-to-bpf call's target in off and the callee index in imm;
                // the text "call pc+8" gives the RFC encoding (target in imm).
                Assert.Equal(new Instruction(Opcode.Call, 0, (byte)CallKind.Local, 0, want.Offset), program[i]);
            }
            else if (want.Opcode is 0xbc or 0xbf && want.Offset != 0 && program[i].Offset == 0)
            {
                // bpftool's own disassembler predates movsx and prints "w1 = (s8)w1" as "w1 = w1".
                Assert.Equal(want.WithOffset(0), program[i]);
            }
            else
            {
                Assert.Equal(want, program[i]);
                exact++;
            }
        }

        Assert.True(exact >= expected.Length - 2);
    }
}
