using SharpBpf.Runtime;
using SharpBpf.Runtime.Contexts;
using SharpBpf.Runtime.Helpers;
using static SharpBpf.Tests.Runtime.Contexts.ContextTestSupport;

namespace SharpBpf.Tests.Runtime.Contexts;

/// <summary>XDP programs on the VM's xdp_md and frame: pointers, packet writes, the adjust helpers and redirects.</summary>
public class XdpContextTests
{
    private const ulong Einval = unchecked((ulong)-22L);
    private const ulong Eacces = unchecked((ulong)-13L);

    private static byte[] Packet(int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(i + 1);
        }

        return bytes;
    }

    private static XdpContext Context(int length = 60, byte[]? metadata = null)
    {
        var xdp = new XdpContext();
        xdp.SetPacket(Packet(length), metadata);
        return xdp;
    }

    [Fact]
    public void ProgramsSeeThePacketBoundsAndInterfaceFields()
    {
        var xdp = Context(60);
        xdp.IngressIfindex = 9;
        xdp.RxQueueIndex = 3;
        ulong r0 = Run(xdp, """
            r2 = *(u32 *)(r1 + 0)
            r3 = *(u32 *)(r1 + 4)
            r0 = r3
            r0 -= r2
            r4 = *(u32 *)(r1 + 12)
            r4 <<= 32
            r0 |= r4
            r5 = *(u32 *)(r1 + 16)
            r5 <<= 16
            r0 |= r5
            exit
            """);

        Assert.Equal((9UL << 32) | (3UL << 16) | 60UL, r0);
    }

    [Fact]
    public void AProgramRewritesThePacketAndTransmitsIt()
    {
        var xdp = Context(60);
        var original = xdp.Packet.ToArray();
        Run(xdp, """
            r2 = *(u32 *)(r1 + 0)
            r3 = *(u32 *)(r1 + 4)
            r4 = r2
            r4 += 14
            if r4 > r3 goto drop
            r5 = *(u32 *)(r2 + 0)
            r6 = *(u16 *)(r2 + 4)
            r7 = *(u32 *)(r2 + 6)
            r8 = *(u16 *)(r2 + 10)
            *(u32 *)(r2 + 0) = r7
            *(u16 *)(r2 + 4) = r8
            *(u32 *)(r2 + 6) = r5
            *(u16 *)(r2 + 10) = r6
            r0 = 3
            exit
            drop:
            r0 = 1
            exit
            """);

        Assert.Equal(XdpAction.Transmit, xdp.Action);
        Assert.Equal(original[6..12], xdp.Packet[..6].ToArray());
        Assert.Equal(original[..6], xdp.Packet[6..12].ToArray());
        Assert.Equal(original[12..], xdp.Packet[12..].ToArray());
    }

    [Fact]
    public void ReadingPastDataEndFaults()
    {
        var xdp = Context(20);
        var error = Assert.Throws<BpfExecutionException>(() => Run(xdp, """
            r2 = *(u32 *)(r1 + 0)
            r0 = *(u8 *)(r2 + 20)
            exit
            """));
        Assert.Equal(FaultKind.MemoryAccess, error.Fault.Kind);
    }

    [Fact]
    public void TheXdpMdIsReadOnlyEvenThroughPointersTheConversionCannotProve()
    {
        var xdp = Context(20);
        var error = Assert.Throws<BpfExecutionException>(() => Run(xdp, """
            r2 = r1
            r2 += 0
            *(u32 *)(r2 + 12) = 5
            r0 = 2
            exit
            """));
        Assert.Equal(FaultKind.MemoryAccess, error.Fault.Kind);
    }

    [Fact]
    public void AnUnconvertedProgramReadsZeroForThePointerFields()
    {
        var xdp = Context(20);
        var program = new Interpreter(Assemble("r0 = *(u32 *)(r1 + 0)\nexit"));
        Assert.Equal(0UL, xdp.Run(program, NewExecutionContext()));
    }

    private static string AdjustHead(int delta) => $"r6 = r1\nr2 = {delta}\ncall 44\nexit";

    [Theory]
    [InlineData(14, 0UL, 46)]
    [InlineData(46, 0UL, 14)]
    [InlineData(47, Einval, 60)]
    [InlineData(-216, 0UL, 276)]
    [InlineData(-217, Einval, 60)]
    public void AdjustHeadMovesDataWithinTheKernelsLimits(int delta, ulong expected, int length)
    {
        var xdp = Context(60);
        Assert.Equal(expected, Run(xdp, AdjustHead(delta)));
        Assert.Equal(length, xdp.Packet.Length);
        if (delta > 0 && expected == 0)
        {
            Assert.Equal(Packet(60)[delta..], xdp.Packet.ToArray());
        }
    }

    [Fact]
    public void AdjustHeadCarriesTheMetadataAlongAndKeepsItsRoom()
    {
        byte[] meta = [0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8];
        var xdp = Context(60, meta);
        Assert.Equal(0UL, Run(xdp, AdjustHead(-100)));
        Assert.Equal(meta, xdp.Metadata.ToArray());
        Assert.Equal(160, xdp.Packet.Length);
        Assert.Equal(XdpContext.Headroom - 100, xdp.DataOffset);

        var limit = Context(60, meta);
        Assert.Equal(0UL, Run(limit, AdjustHead(-208)));
        var beyond = Context(60, meta);
        Assert.Equal(Einval, Run(beyond, AdjustHead(-209)));
    }

    [Theory]
    [InlineData(3460, 0UL, 3520)]
    [InlineData(3461, Einval, 60)]
    [InlineData(-46, 0UL, 14)]
    [InlineData(-47, Einval, 60)]
    public void AdjustTailMovesDataEndWithinTheKernelsLimits(int delta, ulong expected, int length)
    {
        var xdp = Context(60);
        Assert.Equal(expected, Run(xdp, $"r2 = {delta}\ncall 65\nexit"));
        Assert.Equal(length, xdp.Packet.Length);
    }

    [Fact]
    public void AdjustTailZeroesTheBytesItGrowsInto()
    {
        var xdp = Context(60);
        ulong r0 = Run(xdp, """
            r6 = r1
            r2 = -10
            call 65
            r7 = r0
            r1 = r6
            r2 = 10
            call 65
            r0 |= r7
            exit
            """);

        Assert.Equal(0UL, r0);
        Assert.Equal(Packet(60)[..50], xdp.Packet[..50].ToArray());
        Assert.Equal(new byte[10], xdp.Packet[50..].ToArray());
    }

    [Theory]
    [InlineData(-4, 0UL, 4)]
    [InlineData(-216, 0UL, 216)]
    [InlineData(-3, Eacces, 0)]
    [InlineData(-220, Einval, 0)]
    [InlineData(4, Einval, 0)]
    public void AdjustMetaMovesDataMetaWithinTheKernelsLimits(int delta, ulong expected, int length)
    {
        var xdp = Context(60);
        Assert.Equal(expected, Run(xdp, $"r2 = {delta}\ncall 54\nexit"));
        Assert.Equal(length, xdp.Metadata.Length);
    }

    [Fact]
    public void MetadataIsReadableBetweenDataMetaAndData()
    {
        var xdp = Context(60, [1, 2, 3, 4]);
        ulong r0 = Run(xdp, """
            r2 = *(u32 *)(r1 + 8)
            r3 = *(u32 *)(r1 + 0)
            r4 = r2
            r4 += 4
            if r4 > r3 goto out
            r0 = *(u32 *)(r2 + 0)
            exit
            out:
            r0 = 0
            exit
            """);

        Assert.Equal(0x04030201UL, r0);
        Assert.Equal([1, 2, 3, 4, .. Packet(60)], xdp.Output.ToArray());
    }

    [Fact]
    public void RedirectRecordsTheTarget()
    {
        var xdp = Context(60);
        Assert.Equal(4UL, Run(xdp, "r1 = 7\nr2 = 0\ncall 23\nexit"));
        Assert.Equal(XdpAction.Redirect, xdp.Action);
        Assert.Equal(new PacketRedirect(7, 0, 0, 0), xdp.Redirect);

        // XDP's bpf_redirect accepts no flags.
        Assert.Equal(0UL, Run(xdp, "r1 = 7\nr2 = 1\ncall 23\nexit"));
        Assert.Null(xdp.Redirect);
    }

    [Fact]
    public void RedirectMapFallsBackToTheFlagsActionWhenTheKeyIsMissing()
    {
        var options = new HelperOptions { RedirectTargets = (_, key) => key == 1 };
        var xdp = Context(60);
        Assert.Equal(2UL, Run(xdp, "r1 = 0x1234\nr2 = 5\nr3 = 2\ncall 51\nexit", options));
        Assert.Null(xdp.Redirect);

        Assert.Equal(4UL, Run(xdp, "r1 = 0x1234\nr2 = 1\nr3 = 2\ncall 51\nexit", options));
        Assert.Equal(new PacketRedirect(null, 0x1234, 1, 2), xdp.Redirect);

        Assert.Equal(0UL, Run(xdp, "r1 = 0x1234\nr2 = 1\nr3 = 0x20\ncall 51\nexit", options));
        Assert.Equal(4UL, Run(xdp, "r1 = 0x1234\nr2 = 5\nr3 = 8\ncall 51\nexit", options));
    }

    [Fact]
    public void AdjustHelpersRefuseAPointerThatIsNotTheContext()
    {
        var xdp = Context(60);
        var error = Assert.Throws<BpfExecutionException>(() => Run(xdp, "r1 = r10\nr2 = 4\ncall 44\nexit"));
        Assert.Equal(FaultKind.HelperError, error.Fault.Kind);
    }

    [Theory]
    [InlineData(13)]
    [InlineData(XdpContext.MaxPacketLength + 1)]
    public void PacketsOutsideTheFrameLimitsAreRefused(int length) =>
        Assert.Throws<ArgumentException>(() => new XdpContext().SetPacket(new byte[length]));

    [Fact]
    public void AContextIsReusableAcrossRuns()
    {
        var xdp = new XdpContext();
        var program = new Interpreter(xdp.ConvertProgram(Assemble("""
            r2 = *(u32 *)(r1 + 0)
            r0 = *(u8 *)(r2 + 0)
            exit
            """)));
        var execution = NewExecutionContext();
        for (int i = 0; i < 3; i++)
        {
            xdp.SetPacket([(byte)(i + 40), .. new byte[20]]);
            Assert.Equal((ulong)(i + 40), xdp.Run(program, execution));
        }
    }
}
