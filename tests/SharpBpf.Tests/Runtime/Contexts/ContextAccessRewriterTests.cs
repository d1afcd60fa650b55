using SharpBpf.Isa;
using SharpBpf.Runtime.Contexts;
using static SharpBpf.Tests.Runtime.Contexts.ContextTestSupport;

namespace SharpBpf.Tests.Runtime.Contexts;

/// <summary>The VM's context conversion: which loads become pointer loads, and which accesses are refused.</summary>
public class ContextAccessRewriterTests
{
    private static ContextRewriteResult Rewrite(string source, ContextLayout? layout = null) =>
        ContextAccessRewriter.Rewrite(Assemble(source), layout ?? ContextLayouts.Xdp);

    [Fact]
    public void PointerFieldLoadsThroughR1BecomeDoubleWordLoadsOfTheShadowSlots()
    {
        var result = Rewrite("""
            r2 = *(u32 *)(r1 + 0)
            r3 = *(u32 *)(r1 + 4)
            r4 = *(u32 *)(r1 + 8)
            r5 = *(u32 *)(r1 + 12)
            r0 = 2
            exit
            """);

        Assert.Equal([0, 1, 2], result.RewrittenPcs.ToArray());
        Assert.Equal([0, 1, 2, 3], result.CheckedAccessPcs.ToArray());
        var code = result.Program.Instructions;

        // xdp_md is 24 bytes, so the slots of data, data_end and data_meta are at 24, 32 and 40.
        Assert.Equal(Instruction.Memory(InstructionClass.Ldx, MemoryMode.Mem, MemorySize.DoubleWord, 2, 1, 24), code[0]);
        Assert.Equal(Instruction.Memory(InstructionClass.Ldx, MemoryMode.Mem, MemorySize.DoubleWord, 3, 1, 32), code[1]);
        Assert.Equal(Instruction.Memory(InstructionClass.Ldx, MemoryMode.Mem, MemorySize.DoubleWord, 4, 1, 40), code[2]);
        Assert.Equal(Instruction.Memory(InstructionClass.Ldx, MemoryMode.Mem, MemorySize.Word, 5, 1, 12), code[3]);
        Assert.Equal(48, ContextLayouts.Xdp.RegionSize);
    }

    [Fact]
    public void CopiesAndStackSpillsOfTheContextAreFollowed()
    {
        var result = Rewrite("""
            r6 = r1
            *(u64 *)(r10 - 16) = r1
            call 7
            r7 = *(u64 *)(r10 - 16)
            r2 = *(u32 *)(r6 + 0)
            r3 = *(u32 *)(r7 + 4)
            r0 = 2
            exit
            """);

        Assert.Equal([4, 5], result.RewrittenPcs.ToArray());
    }

    [Fact]
    public void RegistersTheAnalysisCannotProveAreLeftAlone()
    {
        var result = Rewrite("""
            r6 = r1
            r6 += 0
            r2 = *(u32 *)(r6 + 0)
            call 7
            r3 = *(u32 *)(r1 + 0)
            *(u64 *)(r10 - 8) = r6
            *(u32 *)(r10 - 4) = 0
            r5 = *(u64 *)(r10 - 8)
            r0 = *(u32 *)(r5 + 0)
            exit
            """);

        // r6 was modified; r1 is clobbered by the call; the spill slot was partly overwritten.
        Assert.Empty(result.RewrittenPcs.ToArray());
    }

    [Fact]
    public void PathsMeetByIntersection()
    {
        var result = Rewrite("""
            r6 = r1
            if r2 == 0 goto skip
            r6 = r10
            skip:
            r3 = *(u32 *)(r6 + 0)
            r4 = *(u32 *)(r1 + 4)
            r0 = 0
            exit
            """);

        Assert.Equal([4], result.RewrittenPcs.ToArray());
    }

    [Fact]
    public void ACalleeGetsTheContextWhenEveryCallerPassesIt()
    {
        var result = Rewrite("""
            r6 = r1
            call read_data
            r1 = r6
            call read_data
            exit
            read_data:
            r0 = *(u32 *)(r1 + 0)
            exit
            """);

        Assert.Equal([5], result.RewrittenPcs.ToArray());

        var mixed = Rewrite("""
            r6 = r1
            call read_data
            r1 = 0
            call read_data
            exit
            read_data:
            r0 = *(u32 *)(r1 + 0)
            exit
            """);
        Assert.Empty(mixed.RewrittenPcs.ToArray());
    }

    [Theory]
    [InlineData("*(u32 *)(r1 + 0) = r2", "may not be written")]
    [InlineData("r2 = *(u16 *)(r1 + 0)", "wrong size")]
    [InlineData("r2 = *(u64 *)(r1 + 0)", "runs past")]
    [InlineData("r2 = *(s32 *)(r1 + 4)", "sign extension")]
    [InlineData("r2 = *(u32 *)(r1 + 20)", "not an accessible field")]
    [InlineData("r2 = *(u32 *)(r1 + 24)", "outside")]
    [InlineData("r2 = *(u32 *)(r1 - 4)", "outside")]
    [InlineData("r2 = *(u32 *)(r1 + 2)", "not aligned")]
    [InlineData("lock *(u32 *)(r1 + 12) += w2", "atomic")]
    public void XdpAccessesTheKernelRefusesAreRejected(string access, string reason)
    {
        var error = Assert.Throws<ContextAccessException>(() => Rewrite($"r2 = 1\n{access}\nr0 = 2\nexit"));
        Assert.Equal(1, error.Pc);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DevmapProgramsMayReadTheEgressInterface()
    {
        var result = Rewrite("r0 = *(u32 *)(r1 + 20)\nexit", ContextLayouts.XdpDevmap);
        Assert.Equal([0], result.CheckedAccessPcs.ToArray());
        Assert.Empty(result.RewrittenPcs.ToArray());
    }

    [Theory]
    [InlineData("r2 = *(u32 *)(r1 + 76)", false)]
    [InlineData("*(u32 *)(r1 + 8) = r2", false)]
    [InlineData("*(u32 *)(r1 + 48) = r2", true)]
    [InlineData("*(u64 *)(r1 + 56) = r2", true)]
    [InlineData("r2 = *(u8 *)(r1 + 0)", true)]
    [InlineData("r2 = *(u16 *)(r1 + 18)", true)]
    [InlineData("r2 = *(u32 *)(r1 + 72)", false)]
    [InlineData("r2 = *(u64 *)(r1 + 152)", false)]
    [InlineData("r2 = *(u32 *)(r1 + 88)", false)]
    [InlineData("r2 = *(u64 *)(r1 + 168)", true)]
    public void SocketFiltersHaveNoPacketPointersAndWriteOnlyTheControlBlock(string access, bool allowed)
    {
        string source = $"r2 = 1\n{access}\nr0 = 0\nexit";
        if (allowed)
        {
            Assert.Equal([1], Rewrite(source, ContextLayouts.SocketFilter).CheckedAccessPcs.ToArray());
        }
        else
        {
            Assert.Throws<ContextAccessException>(() => Rewrite(source, ContextLayouts.SocketFilter));
        }
    }

    [Theory]
    [InlineData("*(u32 *)(r1 + 8) = r2", true)]
    [InlineData("*(u32 *)(r1 + 32) = r2", true)]
    [InlineData("*(u32 *)(r1 + 44) = r2", true)]
    [InlineData("*(u32 *)(r1 + 72) = r2", true)]
    [InlineData("*(u64 *)(r1 + 152) = r2", true)]
    [InlineData("*(u16 *)(r1 + 8) = r2", false)]
    [InlineData("*(u32 *)(r1 + 0) = r2", false)]
    [InlineData("*(u32 *)(r1 + 68) = r2", false)]
    [InlineData("*(u64 *)(r1 + 184) = r2", false)]
    [InlineData("r2 = *(u8 *)(r1 + 180)", true)]
    [InlineData("r2 = *(u32 *)(r1 + 180)", false)]
    [InlineData("r2 = *(u64 *)(r1 + 144)", false)]
    public void TcProgramsWriteTheKernelsWritableFields(string access, bool allowed)
    {
        string source = $"r2 = 1\n{access}\nr0 = 0\nexit";
        if (allowed)
        {
            Assert.Equal([1], Rewrite(source, ContextLayouts.TrafficControl).CheckedAccessPcs.ToArray());
        }
        else
        {
            Assert.Throws<ContextAccessException>(() => Rewrite(source, ContextLayouts.TrafficControl));
        }
    }

    [Fact]
    public void TcPacketPointersAreRewrittenToSlotsAfterTheSkBuff()
    {
        var result = Rewrite("""
            r2 = *(u32 *)(r1 + 76)
            r3 = *(u32 *)(r1 + 80)
            r4 = *(u32 *)(r1 + 140)
            r0 = 0
            exit
            """, ContextLayouts.TrafficControl);

        Assert.Equal([0, 1, 2], result.RewrittenPcs.ToArray());
        Assert.Equal([192, 200, 208], result.RewrittenPcs.Select(pc => (int)result.Program.Instructions[pc].Offset));
    }

    [Fact]
    public void TracingContextsAcceptAnyAlignedReadAndNoWrite()
    {
        var layout = ContextLayout.Raw("pt_regs", PtRegs.Size);
        Assert.Equal([0], ContextAccessRewriter.Rewrite(Assemble("r0 = *(u64 *)(r1 + 112)\nexit"), layout).CheckedAccessPcs.ToArray());
        Assert.Throws<ContextAccessException>(() => ContextAccessRewriter.Rewrite(Assemble("*(u64 *)(r1 + 0) = 1\nexit"), layout));
        Assert.Throws<ContextAccessException>(() => ContextAccessRewriter.Rewrite(Assemble("r0 = *(u64 *)(r1 + 164)\nexit"), layout));
    }
}
