using System.Buffers.Binary;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Contexts;
using SharpBpf.Runtime.Helpers;

namespace SharpBpf.Linux.Tests.Kernel;

/// <summary>
/// The VM's program contexts and packet helpers against the kernel: the same program runs in the kernel's
/// BPF_PROG_TEST_RUN and on the interpreter with <see cref="XdpContext"/> or <see cref="SkbContext"/>, and the
/// verdicts, output packets and context fields must agree.
/// </summary>
public class ContextComparisonTests
{
    private static BpfProgram Assemble(string source, string name) =>
        BpfProgram.Create(Assembler.Assemble(source, AssemblySyntax.Llvm), name);

    private static BpfExecutionContext Execution() => new(KernelHelpers.Register(new HelperTable()));

    private static byte[] UdpFrame()
    {
        byte[] payload = [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8];
        var frame = new byte[14 + 20 + 8 + payload.Length];
        new byte[] { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00 }.CopyTo(frame, 0);
        var ip = frame.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(28 + payload.Length));
        ip[8] = 64;
        ip[9] = 17;
        new byte[] { 192, 168, 0, 1, 192, 168, 0, 2 }.CopyTo(ip[12..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Fold(Sum(ip)));
        var udp = frame.AsSpan(34);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 1234);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 53);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload.Length));
        payload.CopyTo(udp[8..]);
        var pseudo = new byte[12];
        ip.Slice(12, 8).CopyTo(pseudo);
        pseudo[9] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)udp.Length);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], Fold(Sum(pseudo) + Sum(udp)));
        return frame;
    }

    private static uint Sum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            sum += (uint)((data[i] << 8) | data[i + 1]);
        }

        return sum;
    }

    private static ushort Fold(uint sum)
    {
        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    private static (TestRunResult Kernel, XdpContext Vm) RunXdp(string source, byte[] packet)
    {
        var program = Assemble(source, "sb_ctx_xdp");
        using var kernel = KernelProgram.Load(program, ProgramType.Xdp);
        var kernelResult = kernel.TestRun(new TestRunOptions { Data = packet, DataOutCapacity = XdpContext.FrameSize });

        var xdp = new XdpContext();
        xdp.SetPacket(packet);
        xdp.Run(new Interpreter(xdp.ConvertProgram(program)), Execution());
        return (kernelResult, xdp);
    }

    private static (TestRunResult Kernel, SkbContext Vm) RunSkb(string source, SkbProgramKind kind, byte[] frame)
    {
        var program = Assemble(source, "sb_ctx_skb");
        var type = kind == SkbProgramKind.SocketFilter ? ProgramType.SocketFilter : ProgramType.SchedCls;
        using var kernel = KernelProgram.Load(program, type);
        var kernelResult = kernel.TestRun(new TestRunOptions { Data = frame, Context = new byte[ContextLayouts.SkBuffSize], DataOutCapacity = frame.Length + 64 });

        var skb = new SkbContext(kind);
        skb.SetPacket(frame);
        skb.Run(new Interpreter(skb.ConvertProgram(program)), Execution());
        return (kernelResult, skb);
    }

    [KernelFact]
    public void XdpMacSwapMatchesTheKernel()
    {
        var (kernel, vm) = RunXdp("""
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
            """, UdpFrame());

        Assert.Equal(kernel.ReturnValue, (uint)vm.ReturnValue);
        Assert.Equal(kernel.Data, vm.Output.ToArray());
    }

    // Calls an adjust helper with one delta, then writes its result into the first 4 bytes of the (new) packet.
    private static string AdjustProbe(int helper, int delta) => $"""
        r6 = r1
        r2 = {delta}
        call {helper}
        r7 = r0
        r2 = *(u32 *)(r6 + 0)
        r3 = *(u32 *)(r6 + 4)
        r4 = r2
        r4 += 4
        if r4 > r3 goto out
        *(u32 *)(r2 + 0) = r7
        out:
        r0 = 2
        exit
        """;

    [KernelTheory]
    [InlineData(PacketHelpers.XdpAdjustHead, 14)]
    [InlineData(PacketHelpers.XdpAdjustHead, -40)]
    [InlineData(PacketHelpers.XdpAdjustHead, -216)]
    [InlineData(PacketHelpers.XdpAdjustHead, -217)]
    [InlineData(PacketHelpers.XdpAdjustHead, 40)]
    [InlineData(PacketHelpers.XdpAdjustHead, 41)]
    [InlineData(PacketHelpers.XdpAdjustTail, -20)]
    [InlineData(PacketHelpers.XdpAdjustTail, -40)]
    [InlineData(PacketHelpers.XdpAdjustTail, -41)]
    [InlineData(PacketHelpers.XdpAdjustTail, 100)]
    [InlineData(PacketHelpers.XdpAdjustTail, 3466)]
    [InlineData(PacketHelpers.XdpAdjustTail, 3467)]
    public void XdpAdjustHelpersMatchTheKernel(int helper, int delta)
    {
        // A 54-byte frame: adjust_tail may grow it by 4096 - 320 - 256 - 54 = 3466 bytes and shrink it to 14.
        var (kernel, vm) = RunXdp(AdjustProbe(helper, delta), UdpFrame());
        Assert.Equal(kernel.ReturnValue, (uint)vm.ReturnValue);
        Assert.Equal(Convert.ToHexString(kernel.Data), Convert.ToHexString(vm.Output));
    }

    [KernelTheory(XdpHelper = PacketHelpers.XdpAdjustMeta)]
    [InlineData(-8)]
    [InlineData(-3)]
    [InlineData(-216)]
    [InlineData(-220)]
    [InlineData(4)]
    public void XdpAdjustMetaMatchesTheKernel(int delta) => XdpAdjustHelpersMatchTheKernel(PacketHelpers.XdpAdjustMeta, delta);

    [KernelFact(XdpHelper = PacketHelpers.XdpAdjustMeta)]
    public void XdpMetadataWrittenByTheProgramComesOutFirst()
    {
        var (kernel, vm) = RunXdp("""
            r6 = r1
            r2 = -8
            call 54
            if r0 != 0 goto abort
            r2 = *(u32 *)(r6 + 8)
            r3 = *(u32 *)(r6 + 0)
            r4 = r2
            r4 += 8
            if r4 > r3 goto abort
            r5 = 0x11223344
            *(u32 *)(r2 + 0) = r5
            *(u32 *)(r2 + 4) = r5
            r1 = r6
            r2 = 14
            call 44
            if r0 != 0 goto abort
            r0 = 2
            exit
            abort:
            r0 = 0
            exit
            """, UdpFrame());

        Assert.Equal(2u, kernel.ReturnValue);
        Assert.Equal(kernel.ReturnValue, (uint)vm.ReturnValue);
        Assert.Equal(Convert.ToHexString(kernel.Data), Convert.ToHexString(vm.Output));
    }

    [KernelTheory]
    [InlineData(12)]
    [InlineData(16)]
    public void XdpInterfaceFieldsMatchTheKernelsTestRun(int offset)
    {
        var (kernel, vm) = RunXdp($"r0 = *(u32 *)(r1 + {offset})\nexit", UdpFrame());
        Assert.Equal(kernel.ReturnValue, (uint)vm.ReturnValue);
    }

    [KernelFact]
    public void XdpRedirectVerdictsMatchTheKernel()
    {
        var (kernel, vm) = RunXdp("r1 = 1\nr2 = 0\ncall 23\nexit", UdpFrame());
        Assert.Equal(kernel.ReturnValue, (uint)vm.ReturnValue);
        var (kernelFlags, vmFlags) = RunXdp("r1 = 1\nr2 = 1\ncall 23\nexit", UdpFrame());
        Assert.Equal(kernelFlags.ReturnValue, (uint)vmFlags.ReturnValue);
    }

    public static TheoryData<string, int> SkbFields => new()
    {
        { "len", 0 }, { "pkt_type", 4 }, { "mark", 8 }, { "queue_mapping", 12 }, { "protocol", 16 },
        { "vlan_present", 20 }, { "vlan_tci", 24 }, { "priority", 32 }, { "ingress_ifindex", 36 },
        { "ifindex", 40 }, { "tc_index", 44 }, { "hash", 68 }, { "napi_id", 84 }, { "gso_segs", 164 }, { "gso_size", 176 },
    };

    [KernelTheory]
    [MemberData(nameof(SkbFields))]
    public void SocketFilterFieldsMatchTheKernel(string field, int offset)
    {
        var (kernel, vm) = RunSkb($"r0 = *(u32 *)(r1 + {offset})\nexit", SkbProgramKind.SocketFilter, UdpFrame());
        Assert.True(kernel.ReturnValue == (uint)vm.ReturnValue, $"{field}: kernel {kernel.ReturnValue:x}, VM {vm.ReturnValue:x}");
    }

    [KernelTheory]
    [MemberData(nameof(SkbFields))]
    public void TcFieldsMatchTheKernel(string field, int offset)
    {
        var (kernel, vm) = RunSkb($"r0 = *(u32 *)(r1 + {offset})\nexit", SkbProgramKind.TrafficControl, UdpFrame());
        Assert.True(kernel.ReturnValue == (uint)vm.ReturnValue, $"{field}: kernel {kernel.ReturnValue:x}, VM {vm.ReturnValue:x}");
    }

    [KernelFact]
    public void TcPacketBoundsAndWireLengthMatchTheKernel()
    {
        var (kernel, vm) = RunSkb("""
            r2 = *(u32 *)(r1 + 76)
            r3 = *(u32 *)(r1 + 80)
            r0 = r3
            r0 -= r2
            r4 = *(u32 *)(r1 + 160)
            r4 <<= 16
            r0 |= r4
            exit
            """, SkbProgramKind.TrafficControl, UdpFrame());
        Assert.Equal(kernel.ReturnValue, (uint)vm.ReturnValue);
    }

    [KernelFact]
    public void SocketFilterLoadsMatchTheKernel()
    {
        var (kernel, vm) = RunSkb("""
            r6 = r1
            r2 = 0
            r3 = r10
            r3 += -24
            r4 = 20
            call 26
            r7 = r0
            r8 = *(u8 *)(r10 - 24)
            r0 = *(u8 *)skb[9]
            r8 <<= 8
            r0 |= r8
            r7 <<= 16
            r0 |= r7
            r1 = 7
            *(u32 *)(r6 + 48) = r1
            exit
            """, SkbProgramKind.SocketFilter, UdpFrame());

        Assert.Equal(kernel.ReturnValue, (uint)vm.ReturnValue);

        // The kernel's test run hands back a socket filter's frame with the Ethernet header zeroed.
        Assert.Equal(new byte[14], kernel.Data[..14]);
        Assert.Equal(kernel.Data[14..], vm.Frame[14..].ToArray());
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(kernel.Context.AsSpan(48)), vm.ControlBlock[0]);
    }

    [KernelFact]
    public void SocketFilterLoadPastTheEndMatchesTheKernel()
    {
        var (kernel, vm) = RunSkb("""
            r2 = 40
            r3 = r10
            r3 += -16
            r4 = 16
            call 26
            exit
            """, SkbProgramKind.SocketFilter, UdpFrame());
        Assert.Equal(kernel.ReturnValue, (uint)vm.ReturnValue);
        Assert.Equal(unchecked((uint)-14), kernel.ReturnValue);
    }

    [KernelFact]
    public void TcChecksumRewriteMatchesTheKernel()
    {
        var (kernel, vm) = RunSkb("""
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
            r1 = 0x77
            *(u32 *)(r6 + 8) = r1
            r1 = 5
            *(u32 *)(r6 + 32) = r1
            exit
            """, SkbProgramKind.TrafficControl, UdpFrame());

        Assert.Equal(kernel.ReturnValue, (uint)vm.ReturnValue);
        Assert.Equal(Convert.ToHexString(kernel.Data), Convert.ToHexString(vm.Frame));
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(kernel.Context.AsSpan(8)), vm.Mark);
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(kernel.Context.AsSpan(32)), vm.Priority);
    }

    [KernelTheory]
    [InlineData(0x0a0b0c0dUL, 0x01020304UL, 0)]
    [InlineData(0UL, 0xffffffffUL, 1)]
    [InlineData(0x12345678UL, 0x12345678UL, 0x100)]
    [InlineData(0UL, 0UL, 0)]
    public void CsumDiffMatchesTheKernel(ulong from, ulong to, int seed)
    {
        var (kernel, vm) = RunSkb($"""
            r1 = 0x{from:x} ll
            *(u64 *)(r10 - 8) = r1
            r1 = 0x{to:x} ll
            *(u64 *)(r10 - 16) = r1
            r1 = r10
            r1 += -8
            r2 = 8
            r3 = r10
            r3 += -16
            r4 = 8
            r5 = {seed}
            call 28
            exit
            """, SkbProgramKind.TrafficControl, UdpFrame());
        Assert.Equal(kernel.ReturnValue, (uint)vm.ReturnValue);
    }

    [KernelTheory]
    [InlineData(0, 516)]
    [InlineData(300, 300)]
    [InlineData(0, 2)]
    [InlineData(6, 4)]
    [InlineData(400, 0)]
    public void CsumDiffSizesMatchTheKernel(int fromSize, int toSize)
    {
        // Both buffers are the packet itself, which is long enough for sizes past the old 512-byte limit.
        var frame = new byte[600];
        UdpFrame().CopyTo(frame, 0);
        for (int i = 54; i < frame.Length; i++)
        {
            frame[i] = (byte)(i * 13);
        }

        int need = Math.Max(fromSize + 8, toSize);
        var (kernel, vm) = RunSkb($"""
            r2 = *(u32 *)(r1 + 76)
            r3 = *(u32 *)(r1 + 80)
            r4 = r2
            r4 += {need}
            if r4 > r3 goto out
            r1 = r2
            r1 += 8
            r3 = r2
            r2 = {fromSize}
            r4 = {toSize}
            r5 = 0x1234
            call 28
            exit
            out:
            r0 = 0xbad
            exit
            """, SkbProgramKind.TrafficControl, frame);
        Assert.Equal(kernel.ReturnValue, (uint)vm.ReturnValue);
        Assert.NotEqual(0xbadu, kernel.ReturnValue);
    }

    [KernelFact]
    public void L4MangledZeroMatchesTheKernel()
    {
        var frame = UdpFrame();
        frame[40] = 0x34;
        frame[41] = 0x12;
        var (kernel, vm) = RunSkb("r2 = 40\nr3 = 0\nr4 = 0x1234\nr5 = 0x24\ncall 11\nexit", SkbProgramKind.TrafficControl, frame);
        Assert.Equal(kernel.ReturnValue, (uint)vm.ReturnValue);
        Assert.Equal(Convert.ToHexString(kernel.Data), Convert.ToHexString(vm.Frame));
    }
}

/// <summary>
/// The VM's general helpers against the kernel's, through raw tracepoint test runs, which run in the calling
/// thread (so "current" is this test's thread in both) and return the low 32 bits of r0.
/// </summary>
public class HelperComparisonTests
{
    private static (uint Kernel, uint Vm) Run(string source)
    {
        var program = BpfProgram.Create(Assembler.Assemble(source, AssemblySyntax.Llvm), "sb_helpers");
        using var kernel = KernelProgram.Load(program, ProgramType.RawTracepoint);
        uint kernelResult = kernel.TestRun(new TestRunOptions()).ReturnValue;
        var execution = new BpfExecutionContext(KernelHelpers.Register(new HelperTable()));
        uint vmResult = (uint)new Interpreter(program).Run(execution);
        return (kernelResult, vmResult);
    }

    [KernelTheory]
    [InlineData("call 14\nexit")]
    [InlineData("call 14\nr0 >>= 32\nexit")]
    [InlineData("call 15\nexit")]
    [InlineData("call 15\nr0 >>= 32\nexit")]
    [InlineData("r1 = r10\nr1 += -16\nr2 = 16\ncall 16\nr0 = *(u32 *)(r10 - 16)\nexit")]
    [InlineData("r1 = r10\nr1 += -16\nr2 = 16\ncall 16\nr0 = *(u32 *)(r10 - 12)\nexit")]
    [InlineData("r1 = r10\nr1 += -16\nr2 = 16\ncall 16\nr0 = *(u32 *)(r10 - 8)\nexit")]
    [InlineData("r1 = r10\nr1 += -16\nr2 = 16\ncall 16\nr0 = *(u32 *)(r10 - 4)\nexit")]
    [InlineData("r1 = -1\n*(u64 *)(r10 - 16) = r1\nr1 = r10\nr1 += -16\nr2 = 5\ncall 16\nr0 = *(u32 *)(r10 - 12)\nexit")]
    [InlineData("r1 = -1\n*(u64 *)(r10 - 16) = r1\nr1 = r10\nr1 += -16\nr2 = 5\ncall 16\nr0 = *(u32 *)(r10 - 16)\nexit")]
    public void CurrentTaskHelpersMatchTheKernel(string source)
    {
        var (kernel, vm) = Run(source);
        Assert.Equal(kernel, vm);
    }

    private static string Printk(string format, string arguments)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(format + "\0");
        var padded = new byte[(bytes.Length + 7) & ~7];
        bytes.CopyTo(padded, 0);
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < padded.Length; i += 8)
        {
            text.AppendLine($"r1 = 0x{BinaryPrimitives.ReadUInt64LittleEndian(padded.AsSpan(i)):x} ll");
            text.AppendLine($"*(u64 *)(r10 - {96 - i}) = r1");
        }

        text.AppendLine("r1 = r10\nr1 += -96");
        text.AppendLine($"r2 = {bytes.Length}");
        text.AppendLine(arguments);
        text.AppendLine("call 6\nexit");
        return text.ToString();
    }

    [KernelTheory]
    [InlineData("sharpbpf %d %u %x", "r3 = -5\nr4 = 7\nr5 = 255")]
    [InlineData("sharpbpf %lld %llx %5d", "r3 = -5\nr4 = 0x1234\nr5 = 42")]
    [InlineData("sharpbpf %-7d|%07d", "r3 = 3\nr4 = 4")]
    [InlineData("sharpbpf %p", "r3 = 0")]
    [InlineData("sharpbpf %c%c", "r3 = 104\nr4 = 105")]
    [InlineData("sharpbpf %d%d%d%d", "r3 = 1\nr4 = 2\nr5 = 3")]
    [InlineData("sharpbpf %q", "r3 = 1")]
    [InlineData("sharpbpf %sx", "r3 = r10")]
    [InlineData("sharpbpf %1100d", "r3 = 1")]
    public void TracePrintkReturnValuesMatchTheKernel(string format, string arguments)
    {
        // The kernel writes the message to the trace buffer; the return value (length or error) is compared.
        var (kernel, vm) = Run(Printk(format, arguments));
        Assert.Equal(kernel, vm);
    }

    [KernelFact]
    public void ProbeReadStrMatchesTheKernel()
    {
        const string Source = """
            r1 = 0x6f6c6c6568 ll
            *(u64 *)(r10 - 8) = r1
            r1 = r10
            r1 += -24
            r2 = 16
            r3 = r10
            r3 += -8
            call 115
            r6 = r0
            r0 = *(u32 *)(r10 - 24)
            r0 += r6
            exit
            """;
        var (kernel, vm) = Run(Source);
        Assert.Equal(kernel, vm);
    }
}
