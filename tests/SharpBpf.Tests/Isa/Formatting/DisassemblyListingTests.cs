using SharpBpf.Isa;
using SharpBpf.Isa.Formatting;

namespace SharpBpf.Tests.Isa.Formatting;

/// <summary>Listing layout options and jump-target labels.</summary>
public sealed class DisassemblyListingTests
{
    // 0: r0 = 0; 1: if r1 == 0 goto 3; 2: goto 0; 3: exit
    private static readonly Instruction[] Loop =
    [
        new(0xb7, 0, 0, 0, 0),
        new(0x15, 1, 0, 1, 0),
        new(0x05, 0, 0, -3, 0),
        Instruction.Exit,
    ];

    [Fact]
    public void DefaultListingHasAddressesBytesAndOffsets()
    {
        string expected =
            "       0:\tb7 00 00 00 00 00 00 00\tr0 = 0x0\n" +
            "       1:\t15 01 01 00 00 00 00 00\tif r1 == 0x0 goto +0x1\n" +
            "       2:\t05 00 fd ff 00 00 00 00\tgoto -0x3\n" +
            "       3:\t95 00 00 00 00 00 00 00\texit\n";
        Assert.Equal(expected, Disassembler.Disassemble(Loop));
    }

    [Fact]
    public void AddressesAndBytesCanBeLeftOut()
    {
        Assert.Equal(
            "\tr0 = 0x0\n\tif r1 == 0x0 goto +0x1\n\tgoto -0x3\n\texit\n",
            Disassembler.Disassemble(Loop, new DisassemblyOptions { ShowAddresses = false, ShowRawBytes = false }));
        Assert.Equal(
            "\tb7 00 00 00 00 00 00 00\tr0 = 0x0\n",
            Disassembler.Disassemble(Loop.AsSpan(0, 1), new DisassemblyOptions { ShowAddresses = false }));
    }

    [Fact]
    public void SymbolOffsetsAnnotateJumpsLikeLlvmObjdump()
    {
        string listing = Disassembler.Disassemble(
            Loop, new DisassemblyOptions { JumpTargets = JumpTargetStyle.SymbolOffset, ShowRawBytes = false, SymbolName = "prog" });
        Assert.Equal(
            "       0:\tr0 = 0x0\n" +
            "       1:\tif r1 == 0x0 goto +0x1 <prog+0x18>\n" +
            "       2:\tgoto -0x3 <prog>\n" +
            "       3:\texit\n",
            listing);
    }

    [Fact]
    public void LabelsReplaceOffsetsInLlvmSyntax()
    {
        string listing = Disassembler.Disassemble(
            Loop, new DisassemblyOptions { JumpTargets = JumpTargetStyle.Labels, ShowAddresses = false, ShowRawBytes = false });
        Assert.Equal("L0:\n\tr0 = 0x0\n\tif r1 == 0x0 goto L3\n\tgoto L0\nL3:\n\texit\n", listing);
    }

    [Fact]
    public void LabelsReplaceOffsetsInUbpfSyntaxIncludingLocalCalls()
    {
        Instruction[] program =
        [
            new(0x85, 0, 1, 0, 2), // call local -> 3
            new(0x55, 1, 0, 1, 7), // if r1 != 7 goto 3
            Instruction.Exit,
            new(0xb7, 0, 0, 0, 1),
            Instruction.Exit,
        ];
        string listing = Disassembler.Disassemble(program, new DisassemblyOptions
        {
            Syntax = AssemblySyntax.Ubpf,
            JumpTargets = JumpTargetStyle.Labels,
            ShowRawBytes = false,
        });
        Assert.Equal(
            "       0:\tcall local L3\n" +
            "       1:\tjne %r1, 7, L3\n" +
            "       2:\texit\n" +
            "L3:\n" +
            "       3:\tmov %r0, 1\n" +
            "       4:\texit\n",
            listing);
    }

    [Fact]
    public void TargetsOutsideTheProgramOrInsideAnLddwStayNumeric()
    {
        var (first, second) = Instruction.LoadImm64(1, 0x1122334455667788);
        Instruction[] program =
        [
            new(0x05, 0, 0, 1, 0), // goto 2: the second slot of the lddw
            first,
            second,
            new(0x05, 0, 0, 5, 0), // goto 9: past the end
            Instruction.Exit,
        ];
        string listing = Disassembler.Disassemble(program, new DisassemblyOptions
        {
            JumpTargets = JumpTargetStyle.Labels,
            ShowAddresses = false,
            ShowRawBytes = false,
        });
        Assert.Equal("\tgoto +0x1\n\tr1 = 0x1122334455667788 ll\n\tgoto +0x5\n\texit\n", listing);
    }

    [Fact]
    public void LddwTakesOneLineWithBothSlots()
    {
        var (first, second) = Instruction.LoadImm64(3, 0xfffffffffffffffe);
        string listing = Disassembler.Disassemble([first, second, Instruction.Exit]);
        Assert.Equal(
            "       0:\t18 03 00 00 fe ff ff ff 00 00 00 00 ff ff ff ff\tr3 = -0x2 ll\n" +
            "       2:\t95 00 00 00 00 00 00 00\texit\n",
            listing);
    }

    [Fact]
    public void ZeroBlocksCanBeShown()
    {
        Instruction[] program = [Instruction.Exit, default, default, Instruction.Exit];
        Assert.Equal(
            "\texit\n\t\t...\n\texit\n",
            Disassembler.Disassemble(program, new DisassemblyOptions { ShowAddresses = false, ShowRawBytes = false }));
        Assert.Equal(
            "\texit\n\t<unknown>\n\t<unknown>\n\texit\n",
            Disassembler.Disassemble(program, new DisassemblyOptions { ShowAddresses = false, ShowRawBytes = false, SkipZeroBlocks = false }));
    }

    [Fact]
    public void EmptyProgramGivesEmptyListing() => Assert.Equal(string.Empty, Disassembler.Disassemble([]));

    [Fact]
    public void FormatRejectsPcOutsideTheProgram()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Disassembler.Format(Loop, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Disassembler.Format(Loop, -1));
    }

    [Fact]
    public void LoneLddwSlotIsUnknownInLlvmSyntax()
    {
        var (first, _) = Instruction.LoadImm64(1, 5);
        Assert.Equal("<unknown>", Disassembler.Format(first));
        Assert.Equal("<unknown>", Disassembler.Format([Instruction.Exit, first], 1));
    }
}
