using SharpBpf.Runtime.Contexts;
using SharpBpf.Runtime.Helpers;
using SharpBpf.Tests.Runtime.Contexts;

namespace SharpBpf.Tests.Runtime.Calls;

/// <summary>bpf_xdp_load_bytes/bpf_xdp_store_bytes (189/190), which calls_loops.o uses, with the kernel's error codes.</summary>
public class XdpBytesHelperTests
{
    // load(ctx, offset r6, stack buffer, 4): returns (result << 32) | the 4 bytes read (big-endian view of the packet).
    private static string Load(string offset, int length = 4) => $"""
        r6 = r1
        *(u64 *)(r10 - 8) = 0
        r1 = r6
        r2 = {offset}
        r3 = r10
        r3 += -8
        r4 = {length}
        call 189
        r0 <<= 32
        r1 = *(u32 *)(r10 - 8)
        r1 = be32 r1
        r0 |= r1
        exit
        """;

    private static XdpContext Packet()
    {
        var xdp = new XdpContext();
        xdp.SetPacket([.. Enumerable.Range(0, 20).Select(i => (byte)(0x10 + i))]);
        return xdp;
    }

    [Fact]
    public void LoadsCopyFromThePacket()
    {
        Assert.Equal(0x11121314UL, ContextTestSupport.Run(Packet(), Load("1")));
        Assert.Equal(0x20212223UL, ContextTestSupport.Run(Packet(), Load("16")));
    }

    [Fact]
    public void RangesPastThePacketAreInvalidAndHugeOnesAFault()
    {
        Assert.Equal(unchecked((ulong)Errno.EINVAL) << 32, ContextTestSupport.Run(Packet(), Load("17")));
        Assert.Equal(unchecked((ulong)Errno.EFAULT) << 32, ContextTestSupport.Run(Packet(), Load("0x10000")));
    }

    [Fact]
    public void StoresWriteIntoThePacket()
    {
        var xdp = Packet();
        const string store = """
            *(u32 *)(r10 - 4) = 0x44332211
            r2 = 2
            r3 = r10
            r3 += -4
            r4 = 4
            call 190
            exit
            """;
        Assert.Equal(0UL, ContextTestSupport.Run(xdp, store));
        Assert.Equal(new byte[] { 0x10, 0x11, 0x11, 0x22, 0x33, 0x44, 0x16 }, xdp.Packet[..7].ToArray());
    }
}
