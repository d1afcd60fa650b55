using SharpBpf.Runtime.Contexts;
using static SharpBpf.Tests.Runtime.Contexts.ContextTestSupport;

namespace SharpBpf.Tests.Runtime.Contexts;

/// <summary>
/// Classic-BPF style loads with the kernel's negative bases: SKF_NET_OFF (-0x100000) counts from the network header
/// and SKF_LL_OFF (-0x200000) from the link-layer header, whatever skb->data points at.
/// </summary>
public class LegacyLoadOffsetTests
{
    private const int NetBase = -0x100000;
    private const int LinkBase = -0x200000;

    [Theory]
    [InlineData(SkbProgramKind.SocketFilter)]
    [InlineData(SkbProgramKind.TrafficControl)]
    public void NegativeBasesAddressTheNetworkAndLinkLayerHeaders(SkbProgramKind kind)
    {
        var frame = UdpFrame([1, 2, 3, 4]);
        var skb = new SkbContext(kind);

        skb.SetPacket(frame);
        Assert.Equal(17ul, Run(skb, $"r6 = r1\nr0 = *(u8 *)skb[{NetBase + 9}]\nexit"));      // IPv4 protocol
        skb.SetPacket(frame);
        Assert.Equal(0x0800ul, Run(skb, $"r6 = r1\nr0 = *(u16 *)skb[{LinkBase + 12}]\nexit")); // EtherType
        skb.SetPacket(frame);
        Assert.Equal(0x0102ul, Run(skb, $"r6 = r1\nr0 = *(u16 *)skb[{NetBase + 28}]\nexit")); // first payload bytes

        // skb->data is the network header for socket filters and the Ethernet header for tc.
        skb.SetPacket(frame);
        ulong atZero = Run(skb, "r6 = r1\nr0 = *(u8 *)skb[0]\nexit");
        Assert.Equal(kind == SkbProgramKind.SocketFilter ? 0x45ul : 0x02ul, atZero);
    }

    [Fact]
    public void LoadsPastEitherEndEndTheProgramWithZero()
    {
        var frame = UdpFrame([9]);
        var skb = new SkbContext(SkbProgramKind.SocketFilter);
        skb.SetPacket(frame);
        Assert.Equal(0ul, Run(skb, $"r6 = r1\nr0 = *(u8 *)skb[{NetBase + frame.Length - 14}]\nr0 = 7\nexit"));
        skb.SetPacket(frame);
        Assert.Equal(0ul, Run(skb, $"r6 = r1\nr0 = *(u8 *)skb[{LinkBase - 1}]\nr0 = 7\nexit"));
        skb.SetPacket(frame);
        Assert.Equal(7ul, Run(skb, $"r6 = r1\nr0 = *(u8 *)skb[{NetBase + frame.Length - 15}]\nr0 = 7\nexit"));
    }
}
