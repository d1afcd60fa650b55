using System.Buffers.Binary;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Contexts;
using SharpBpf.Runtime.Helpers;
using static SharpBpf.Tests.Runtime.Contexts.ContextTestSupport;

namespace SharpBpf.Tests.Runtime.Contexts;

/// <summary>Socket filters and tc programs on the VM's __sk_buff: layout, packet helpers and checksums.</summary>
public class SkbContextTests
{
    private const ulong Efault = unchecked((ulong)-14L);
    private const ulong Einval = unchecked((ulong)-22L);

    private static readonly byte[] Payload = [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6];

    private static SkbContext Skb(SkbProgramKind kind, byte[]? frame = null)
    {
        var skb = new SkbContext(kind);
        skb.SetPacket(frame ?? UdpFrame(Payload));
        return skb;
    }

    [Fact]
    public void SocketFiltersSeeThePacketFromTheNetworkHeader()
    {
        var skb = Skb(SkbProgramKind.SocketFilter);
        ulong r0 = Run(skb, """
            r0 = *(u32 *)(r1 + 0)
            r2 = *(u32 *)(r1 + 16)
            r2 <<= 32
            r0 |= r2
            r3 = *(u32 *)(r1 + 40)
            r3 <<= 16
            r0 |= r3
            exit
            """);

        int frameLength = 14 + 20 + 8 + Payload.Length;
        Assert.Equal((0x0008UL << 32) | (1UL << 16) | (uint)(frameLength - 14), r0);
        Assert.Equal(frameLength - 14, skb.Length);
        Assert.Equal(0x45, skb.Packet[0]);
    }

    [Fact]
    public void SocketFiltersLoadBytesAndLegacyPacketsRelativeToTheNetworkHeader()
    {
        var skb = Skb(SkbProgramKind.SocketFilter);
        ulong r0 = Run(skb, """
            r6 = r1
            r2 = 0
            r3 = r10
            r3 += -24
            r4 = 20
            call 26
            if r0 != 0 goto fail
            r7 = *(u8 *)(r10 - 24)
            r8 = *(u8 *)(r10 - 15)
            r7 <<= 8
            r7 |= r8
            r0 = *(u8 *)skb[9]
            r7 <<= 8
            r0 |= r7
            exit
            fail:
            r0 = 0xdead
            exit
            """);

        // Version/IHL 0x45, protocol 17 from the helper, protocol 17 again from ldabs.
        Assert.Equal(0x451111UL, r0);
    }

    [Fact]
    public void LoadBytesPastTheEndFailsAndClearsTheBuffer()
    {
        var skb = Skb(SkbProgramKind.SocketFilter);
        int length = skb.Length;
        ulong r0 = Run(skb, $"""
            r6 = r1
            r1 = -1
            *(u64 *)(r10 - 8) = r1
            r1 = r6
            r2 = {length - 4}
            r3 = r10
            r3 += -8
            r4 = 8
            call 26
            r7 = *(u64 *)(r10 - 8)
            if r7 != 0 goto dirty
            exit
            dirty:
            r0 = 1
            exit
            """);

        Assert.Equal(Efault, r0);
    }

    [Fact]
    public void PacketTypeFollowsTheDestinationAddress()
    {
        Assert.Equal(0u, Skb(SkbProgramKind.SocketFilter, UdpFrame(Payload, destinationMac: new byte[6])).PacketType);
        Assert.Equal(1u, Skb(SkbProgramKind.SocketFilter, UdpFrame(Payload, destinationMac: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).PacketType);
        Assert.Equal(2u, Skb(SkbProgramKind.SocketFilter, UdpFrame(Payload, destinationMac: [0x01, 0, 0x5e, 0, 0, 1])).PacketType);
        Assert.Equal(3u, Skb(SkbProgramKind.SocketFilter).PacketType);
    }

    [Fact]
    public void SocketFiltersWriteTheControlBlock()
    {
        var skb = Skb(SkbProgramKind.SocketFilter);
        skb.ControlBlock[1] = 41;
        ulong r0 = Run(skb, """
            r2 = *(u32 *)(r1 + 52)
            r2 += 1
            *(u32 *)(r1 + 48) = r2
            r0 = 0
            exit
            """);

        Assert.Equal(0UL, r0);
        Assert.Equal(42u, skb.ControlBlock[0]);
    }

    [Fact]
    public void SocketFiltersMayNotChangeThePacket()
    {
        var skb = Skb(SkbProgramKind.SocketFilter);
        var error = Assert.Throws<BpfExecutionException>(() => Run(skb, """
            *(u32 *)(r10 - 4) = 0
            r2 = 0
            r3 = r10
            r3 += -4
            r4 = 4
            r5 = 0
            call 9
            exit
            """));
        Assert.Equal(FaultKind.HelperError, error.Fault.Kind);
    }

    [Fact]
    public void TcProgramsReadTheFrameDirectlyAndWriteTheirFields()
    {
        var skb = Skb(SkbProgramKind.TrafficControl);
        ulong r0 = Run(skb, """
            r2 = *(u32 *)(r1 + 76)
            r3 = *(u32 *)(r1 + 80)
            r4 = r2
            r4 += 14
            if r4 > r3 goto out
            r0 = *(u16 *)(r2 + 12)
            r5 = 0x55
            *(u32 *)(r1 + 8) = r5
            r5 = 6
            *(u32 *)(r1 + 32) = r5
            r5 = 0x10002
            *(u32 *)(r1 + 72) = r5
            exit
            out:
            r0 = 0xffff
            exit
            """);

        Assert.Equal(0x0008UL, r0);
        Assert.Equal(0x55u, skb.Mark);
        Assert.Equal(6u, skb.Priority);
        Assert.Equal(0x10002u, skb.TcClassId);
        Assert.Equal(14 + 20 + 8 + Payload.Length, skb.Length);
    }

    private const string RewriteDestination = """
        r6 = r1
        r2 = 30
        r3 = r10
        r3 += -8
        r4 = 4
        call 26
        r7 = *(u32 *)(r10 - 8)
        r8 = 0x0100000a
        *(u32 *)(r10 - 16) = r8
        r1 = r6
        r2 = 24
        r3 = r7
        r4 = r8
        r5 = 4
        call 10
        r9 = r0
        r1 = r6
        r2 = 40
        r3 = r7
        r4 = r8
        r5 = 0x14
        call 11
        r9 |= r0
        r1 = r6
        r2 = 30
        r3 = r10
        r3 += -16
        r4 = 4
        r5 = 2
        call 9
        r0 |= r9
        exit
        """;

    [Fact]
    public void ChecksumReplaceKeepsTheIpAndUdpChecksumsValid()
    {
        var skb = Skb(SkbProgramKind.TrafficControl);
        skb.Hash = 77;
        Assert.Equal(0UL, Run(skb, RewriteDestination));
        AssertValidChecksums(skb.Frame, expectedDestination: [10, 0, 0, 1]);
        Assert.Equal(0u, skb.Hash);
    }

    [Fact]
    public void ChecksumReplaceByDiffMatchesTheFourByteForm()
    {
        var skb = Skb(SkbProgramKind.TrafficControl);
        ulong r0 = Run(skb, """
            r6 = r1
            r2 = 30
            r3 = r10
            r3 += -8
            r4 = 4
            call 26
            r8 = 0x0100000a
            *(u32 *)(r10 - 16) = r8
            r1 = r10
            r1 += -8
            r2 = 4
            r3 = r10
            r3 += -16
            r4 = 4
            r5 = 0
            call 28
            r7 = r0
            r1 = r6
            r2 = 24
            r3 = 0
            r4 = r7
            r5 = 0
            call 10
            r9 = r0
            r1 = r6
            r2 = 40
            r3 = 0
            r4 = r7
            r5 = 0x10
            call 11
            r9 |= r0
            r1 = r6
            r2 = 30
            r3 = r10
            r3 += -16
            r4 = 4
            r5 = 0
            call 9
            r0 |= r9
            exit
            """);

        Assert.Equal(0UL, r0);
        AssertValidChecksums(skb.Frame, expectedDestination: [10, 0, 0, 1]);
    }

    [Fact]
    public void TwoByteReplacementsKeepTheUdpChecksumValid()
    {
        // Change the destination port 53 -> 5353 (memory order: 0x3500 -> 0xe914).
        var skb = Skb(SkbProgramKind.TrafficControl);
        ulong r0 = Run(skb, """
            r6 = r1
            r2 = 40
            r3 = 0x3500
            r4 = 0xe914
            r5 = 0x12
            call 11
            r7 = r0
            *(u16 *)(r10 - 2) = 0xe914
            r1 = r6
            r2 = 36
            r3 = r10
            r3 += -2
            r4 = 2
            r5 = 0
            call 9
            r0 |= r7
            exit
            """);

        Assert.Equal(0UL, r0);
        Assert.Equal(5353, BinaryPrimitives.ReadUInt16BigEndian(skb.Frame[36..]));
        AssertValidChecksums(skb.Frame, expectedDestination: [192, 168, 0, 2]);
    }

    [Fact]
    public void MarkMangled0LeavesAnAbsentUdpChecksumAlone()
    {
        var frame = UdpFrame(Payload);
        frame[40] = frame[41] = 0;
        var skb = Skb(SkbProgramKind.TrafficControl, frame);
        Assert.Equal(0UL, Run(skb, "r2 = 40\nr3 = 1\nr4 = 2\nr5 = 0x34\ncall 11\nexit"));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(skb.Frame[40..]));

        // With BPF_F_MARK_ENFORCE the zero is updated.
        Assert.Equal(0UL, Run(skb, "r2 = 40\nr3 = 1\nr4 = 2\nr5 = 0x74\ncall 11\nexit"));
        Assert.NotEqual(0, BinaryPrimitives.ReadUInt16LittleEndian(skb.Frame[40..]));
    }

    [Fact]
    public void MarkMangled0WritesAllOnesForAComputedZero()
    {
        // check 0x1234 (memory order), +0x1234: ~0x1234 + 0x1234 folds to 0xffff, complemented to 0.
        var frame = UdpFrame(Payload);
        frame[40] = 0x34;
        frame[41] = 0x12;
        var mangled = Skb(SkbProgramKind.TrafficControl, frame);
        Assert.Equal(0UL, Run(mangled, "r2 = 40\nr3 = 0\nr4 = 0x1234\nr5 = 0x24\ncall 11\nexit"));
        Assert.Equal(0xffff, BinaryPrimitives.ReadUInt16LittleEndian(mangled.Frame[40..]));

        var plain = Skb(SkbProgramKind.TrafficControl, frame);
        Assert.Equal(0UL, Run(plain, "r2 = 40\nr3 = 0\nr4 = 0x1234\nr5 = 4\ncall 11\nexit"));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(plain.Frame[40..]));
    }

    [Theory]
    [InlineData("r2 = 25\nr3 = 0\nr4 = 0\nr5 = 4\ncall 10", Efault)]
    [InlineData("r2 = 0x10000\nr3 = 0\nr4 = 0\nr5 = 4\ncall 10", Efault)]
    [InlineData("r2 = 24\nr3 = 0\nr4 = 0\nr5 = 0x10\ncall 10", Einval)]
    [InlineData("r2 = 24\nr3 = 1\nr4 = 0\nr5 = 0\ncall 10", Einval)]
    [InlineData("r2 = 24\nr3 = 0\nr4 = 0\nr5 = 3\ncall 10", Einval)]
    [InlineData("r2 = 40\nr3 = 0\nr4 = 0\nr5 = 0x104\ncall 11", Einval)]
    [InlineData("r2 = 52\nr3 = 0\nr4 = 0\nr5 = 4\ncall 11", Efault)]
    public void ChecksumHelpersCheckTheirArguments(string call, ulong expected)
    {
        var skb = Skb(SkbProgramKind.TrafficControl);
        var before = skb.Frame.ToArray();
        Assert.Equal(expected, Run(skb, call + "\nexit"));
        Assert.Equal(before, skb.Frame.ToArray());
    }

    [Theory]
    [InlineData(0, 4, 0UL)]
    [InlineData(48, 4, 0UL)]
    [InlineData(49, 4, Efault)]
    [InlineData(0, 53, Efault)]
    public void StoreBytesStaysInsideThePacket(int offset, int length, ulong expected)
    {
        var skb = Skb(SkbProgramKind.TrafficControl);
        Assert.Equal(52, skb.Length);
        Assert.Equal(expected, Run(skb, $"""
            r2 = {offset}
            r3 = r10
            r3 += -64
            r4 = {length}
            r5 = 1
            call 9
            exit
            """));
    }

    [Fact]
    public void StoreBytesRefusesUnknownFlags()
    {
        var skb = Skb(SkbProgramKind.TrafficControl);
        Assert.Equal(Einval, Run(skb, "r2 = 0\nr3 = r10\nr3 += -8\nr4 = 4\nr5 = 4\ncall 9\nexit"));
    }

    [Fact]
    public void TcRedirectAcceptsOnlyTheIngressFlag()
    {
        var skb = Skb(SkbProgramKind.TrafficControl);
        Assert.Equal(7UL, Run(skb, "r1 = 3\nr2 = 1\ncall 23\nexit"));
        Assert.Equal(TcAction.Redirect, skb.Action);
        Assert.Equal(new PacketRedirect(3, 0, 0, 1), skb.Redirect);

        Assert.Equal(2UL, Run(skb, "r1 = 3\nr2 = 2\ncall 23\nexit"));
        Assert.Null(skb.Redirect);
    }

    [Theory]
    [InlineData(new byte[] { 1, 2, 3, 4 }, new byte[] { 10, 11, 12, 13 }, 0u, 0x09090909UL, 0x1212UL)]
    [InlineData(new byte[0], new byte[0], 0x12345u, 0x12345UL, 0x12345UL)]
    [InlineData(new byte[0], new byte[] { 0xff, 0xff, 0xff, 0xff }, 1u, 1UL, 1UL)]
    [InlineData(new byte[0], new byte[] { 0, 0, 0, 0 }, 0u, 0UL, 0UL)]
    [InlineData(new byte[] { 0, 0, 0, 0 }, new byte[0], 0u, 0xffffffffUL, 0UL)]
    public void CsumDiffSumsTheComplementedOldAndTheNewWords(byte[] from, byte[] to, uint seed, ulong unfolded, ulong folded)
    {
        // Hand-computed: words are read little-endian; ~0x04030201 + 0x0d0c0b0a = 0x1_09090908, carry folded in
        // (0x09090909), and since Linux 6.13 folded again to 16 bits (0x0909 + 0x0909).
        string source = $"""
            r1 = 0x{LittleEndian(from):x}
            *(u32 *)(r10 - 8) = r1
            r1 = 0x{LittleEndian(to):x}
            *(u32 *)(r10 - 16) = r1
            r1 = r10
            r1 += -8
            r2 = {from.Length}
            r3 = r10
            r3 += -16
            r4 = {to.Length}
            r5 = {seed}
            call 28
            exit
            """;
        Assert.Equal(unfolded, RunPlain(source, new HelperOptions { ChecksumDiff = ChecksumDiffSemantics.Unfolded32Bit }));
        Assert.Equal(folded, RunPlain(source));
    }

    [Theory]
    [InlineData(3, 4)]
    [InlineData(4, 2)]
    [InlineData(260, 256)]
    public void CsumDiffBefore613RefusesBadSizes(int fromSize, int toSize) =>
        Assert.Equal(Einval, RunPlain($"r1 = r10\nr1 += -512\nr2 = {fromSize}\nr3 = r10\nr3 += -512\nr4 = {toSize}\nr5 = 0\ncall 28\nexit",
            new HelperOptions { ChecksumDiff = ChecksumDiffSemantics.Unfolded32Bit }));

    [Fact]
    public void CsumDiffSince613AcceptsAnySize()
    {
        // to = 01 02 (zero-padded little-endian word 0x0201), seed 0x10000: 0x10201 folds to 0x0001 + 0x0201 = 0x0202.
        string source = "*(u16 *)(r10 - 2) = 0x0201\nr1 = 0\nr2 = 0\nr3 = r10\nr3 += -2\nr4 = 2\nr5 = 0x10000\ncall 28\nexit";
        Assert.Equal(0x0202UL, RunPlain(source));
    }

    [Fact]
    public void EthertypesFollowEthTypeTrans()
    {
        byte[] frame = new byte[20];
        frame[12] = 0x86;
        frame[13] = 0xdd;
        Assert.Equal(0xdd86u, SkbContext.EtherTypeOf(frame));
        frame[12] = 0x00;
        frame[13] = 0x40;
        Assert.Equal(0x0400u, SkbContext.EtherTypeOf(frame));
        frame[14] = frame[15] = 0xff;
        Assert.Equal(0x0100u, SkbContext.EtherTypeOf(frame));
    }

    private static uint LittleEndian(byte[] bytes) => bytes.Length == 0 ? 0 : BinaryPrimitives.ReadUInt32LittleEndian(bytes);

    private static void AssertValidChecksums(ReadOnlySpan<byte> frame, byte[] expectedDestination)
    {
        var ip = frame.Slice(14, 20);
        var udp = frame[34..];
        Assert.Equal(expectedDestination, ip.Slice(16, 4).ToArray());
        Assert.Equal(InternetChecksum.Ipv4Header(ip), BinaryPrimitives.ReadUInt16BigEndian(ip[10..]));
        Assert.Equal(InternetChecksum.Udp(ip, udp), BinaryPrimitives.ReadUInt16BigEndian(udp[6..]));
    }
}
