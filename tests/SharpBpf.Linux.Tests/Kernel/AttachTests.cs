using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using SharpBpf.Linux.Objects;

namespace SharpBpf.Linux.Tests.Kernel;

public class AttachTests
{
    [KernelFact]
    public void TracepointCountsThisProcesssGetpidCalls()
    {
        using var loaded = AttachPoints.Load();
        ulong before = AttachPoints.Hits(loaded, AttachPoints.Tracepoint);
        using (var attachment = loaded.Program("report_getpid").AttachTracepoint("syscalls", "sys_enter_getpid"))
        {
            Assert.Equal(BpfLinkType.PerfEvent, attachment.Link!.GetInfo().Type);
            for (int i = 0; i < 25; i++)
            {
                AttachPoints.GetPid();
            }
        }

        // Other threads of this process may call getpid too, but never fewer than these 25 calls are counted.
        ulong counted = AttachPoints.Hits(loaded, AttachPoints.Tracepoint) - before;
        Assert.InRange(counted, 25UL, 1000UL);

        // Once detached, calls are no longer seen.
        AttachPoints.GetPid();
        Assert.Equal(before + counted, AttachPoints.Hits(loaded, AttachPoints.Tracepoint));
    }

    [KernelFact]
    public void RawTracepointSeesSyscallsOfThisProcess()
    {
        using var loaded = AttachPoints.Load();
        using (loaded.Program("count_raw_sys_enter").AttachRawTracepoint("sys_enter"))
        {
            for (int i = 0; i < 10; i++)
            {
                AttachPoints.GetPid();
            }
        }

        Assert.True(AttachPoints.Hits(loaded, AttachPoints.RawTracepoint) >= 10);
    }

    [KernelFact]
    public void UprobeAndUretprobeCountCallsOfALibcFunction()
    {
        using var loaded = AttachPoints.Load();
        string libc = LibcPath();
        using (loaded.Program("count_uprobe").AttachUprobe(libc, "labs", pid: Environment.ProcessId))
        using (loaded.Program("count_uretprobe").AttachUprobe(libc, "labs", returnProbe: true, pid: Environment.ProcessId))
        {
            for (int i = 0; i < 7; i++)
            {
                Assert.Equal(i, AttachPoints.Labs(-i));
            }
        }

        Assert.True(AttachPoints.Hits(loaded, AttachPoints.Uprobe) >= 7);
        Assert.True(AttachPoints.Hits(loaded, AttachPoints.Uretprobe) >= 7);
        Assert.Throws<BpfException>(() => loaded.Program("count_uprobe").AttachUprobe(libc, "no_such_function_sharpbpf"));
    }

    [KernelFact]
    public void SocketFilterSeesEveryDatagramOfItsSocket()
    {
        using var loaded = AttachPoints.Load();
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        receiver.ReceiveTimeout = 5000;
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var buffer = new byte[64];
        using (loaded.Program("count_socket").AttachSocketFilter(receiver))
        {
            for (int i = 0; i < 3; i++)
            {
                sender.SendTo("hello"u8, receiver.LocalEndPoint!);
                Assert.Equal(5, receiver.Receive(buffer)); // the filter returns skb->len: the whole datagram is kept
            }
        }

        Assert.Equal(3UL, AttachPoints.Hits(loaded, AttachPoints.Socket));
        sender.SendTo("hello"u8, receiver.LocalEndPoint!);
        Assert.Equal(5, receiver.Receive(buffer));
        Assert.Equal(3UL, AttachPoints.Hits(loaded, AttachPoints.Socket)); // detached
    }

    [KernelFact]
    public void XdpAndTcxOnAVethSeeTrafficFromThePeer()
    {
        using var veth = new VethPair();
        using var loaded = AttachPoints.Load();
        using (var xdp = loaded.Program("count_xdp").AttachXdp(veth.HostDevice))
        using (var tcx = loaded.Program("count_tc").AttachTcx(veth.HostDevice, ingress: true))
        {
            var info = xdp.Link!.GetInfo();
            Assert.Equal(BpfLinkType.Xdp, info.Type);
            Assert.Equal((uint)ProgramAttach.InterfaceIndex(veth.HostDevice), info.IfIndex);
            Assert.Equal(BpfLinkType.Tcx, tcx.Link!.GetInfo().Type);
            veth.SendUdpFromPeer(9, 4);
        }

        Assert.True(AttachPoints.Hits(loaded, AttachPoints.Xdp) >= 4);
        Assert.True(AttachPoints.Hits(loaded, AttachPoints.Tc) >= 4);
    }

    [KernelFact]
    public void TcThroughNetlinkAddsClsactAndADirectActionFilterAndRemovesThem()
    {
        using var veth = new VethPair();
        using var loaded = AttachPoints.Load();
        ulong before = AttachPoints.Hits(loaded, AttachPoints.Tc);
        using (var tc = loaded.Program("count_tc").AttachTc(veth.HostDevice, ingress: true, TcAttachMode.Netlink))
        {
            Assert.Null(tc.Link);
            Assert.Contains("clsact", Shell.Run("tc", "qdisc", "show", "dev", veth.HostDevice));
            string filters = Shell.Run("tc", "filter", "show", "dev", veth.HostDevice, "ingress");
            Assert.Contains("direct-action", filters);
            Assert.Contains("count_tc", filters);
            veth.SendUdpFromPeer(9, 4);
            Assert.True(AttachPoints.Hits(loaded, AttachPoints.Tc) >= before + 4);
        }

        // The filter and the qdisc this attachment added are gone; traffic no longer reaches the program.
        Assert.DoesNotContain("clsact", Shell.Run("tc", "qdisc", "show", "dev", veth.HostDevice));
        ulong after = AttachPoints.Hits(loaded, AttachPoints.Tc);
        veth.SendUdpFromPeer(9, 2);
        Assert.Equal(after, AttachPoints.Hits(loaded, AttachPoints.Tc));
    }

    [KernelFact]
    public void TcAutoUsesTcxWhereTheKernelHasIt()
    {
        using var veth = new VethPair();
        using var loaded = AttachPoints.Load();
        using var tc = loaded.Program("count_tc").AttachTc(veth.HostDevice, ingress: false);
        Assert.Equal(KernelFeatures.HasTcxLinks, tc.Link is not null);
    }

    [KernelFact]
    public void XdpModesAreTheOnesTheKernelReports()
    {
        using var veth = new VethPair();
        using var loaded = AttachPoints.Load();
        var program = loaded.Program("count_xdp");
        using (program.AttachXdp(veth.HostDevice, XdpMode.Generic))
        {
            Assert.Contains("xdpgeneric", Shell.Run("ip", "link", "show", "dev", veth.HostDevice));
        }

        using (program.AttachXdp(veth.HostDevice, XdpMode.Native))
        {
            string shown = Shell.Run("ip", "link", "show", "dev", veth.HostDevice);
            Assert.Contains(" xdp ", shown);
            Assert.DoesNotContain("xdpgeneric", shown);
        }

        Assert.DoesNotContain("xdp", Shell.Run("ip", "link", "show", "dev", veth.HostDevice).Replace(veth.HostDevice, "", StringComparison.Ordinal));
    }

    [KernelFact]
    public void CgroupSkbAndSockOpsSeeAProcessInTheCgroup()
    {
        using var cgroup = new TestCgroup();
        using var loaded = AttachPoints.Load();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using (loaded.Program("count_cgroup_egress").AttachCgroup(cgroup.Path, AttachType.CgroupInetEgress))
        using (loaded.Program("count_sockops").AttachSockOps(cgroup.Path))
        {
            var accepted = listener.AcceptTcpClientAsync();
            cgroup.RunInside($"exec 3<>/dev/tcp/127.0.0.1/{port} && echo hi >&3");
            using var client = accepted.Result;
        }

        Assert.True(AttachPoints.Hits(loaded, AttachPoints.CgroupSkb) >= 1);
        Assert.True(AttachPoints.Hits(loaded, AttachPoints.SockOps) >= 1);
    }

    [KernelFact]
    public void PerfEventProgramRunsOnCpuClockSamples()
    {
        using var loaded = AttachPoints.Load();
        var cpuClock = new PerfEventAttributes { Type = (uint)PerfEventType.Software, Config = 0, SamplePeriod = 1_000_000 };
        using (loaded.Program("count_perf_event").AttachPerfEvent(cpuClock, pid: -1, cpu: 0))
        {
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (AttachPoints.Hits(loaded, AttachPoints.PerfEvent) < 3 && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(10);
            }
        }

        Assert.True(AttachPoints.Hits(loaded, AttachPoints.PerfEvent) >= 3);
    }

    [KernelFact]
    public void KprobeAttachmentSaysWhenTheKernelHasNoKprobes()
    {
        using var loaded = KernelObject.Load(ObjectLoadTests.ProjectObject("trace_exec.o"));
        var kprobe = loaded.Program("trace_openat2");
        if (PerfEvent.ProbePmuType("kprobe") is null)
        {
            var error = Assert.Throws<BpfException>(() => kprobe.AttachKprobe("do_sys_openat2"));
            Assert.Contains("no kprobe PMU", error.Message);
        }
        else
        {
            using var attachment = kprobe.AttachKprobe("do_sys_openat2");
            Assert.NotNull(attachment.Link);
        }
    }

    [KernelFact]
    public void FirewallOnAVethDropsABlockedPeerAndCountsIt()
    {
        using var veth = new VethPair();
        using var loaded = KernelObject.Load(ObjectLoadTests.ProjectObject("xdp_firewall.o"));
        byte[] peer = IPAddress.Parse(veth.PeerAddress).GetAddressBytes();
        loaded.Map("fw_blocklist").Update(peer, new byte[16]);
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Parse(veth.HostAddress), 0));
        int port = ((IPEndPoint)receiver.LocalEndPoint!).Port;
        using var events = new SharpBpf.Linux.Events.RingBufferReader(loaded.Map("fw_events"));
        using (loaded.Program("xdp_firewall").AttachXdp(veth.HostDevice))
        {
            veth.SendUdpFromPeer(port, 3);
        }

        // Every datagram was dropped before the stack saw it, and counted against the blocked source.
        Assert.Equal(0, receiver.Available);
        var entry = loaded.Map("fw_blocklist").Lookup(peer)!;
        Assert.True(BinaryPrimitives.ReadUInt64LittleEndian(entry) >= 3);

        // Each drop was reported through the ring buffer (struct fw_event: saddr, daddr, sport, dport, pkt_len, vlan,
        // protocol, reason): the block list is checked before the UDP header is parsed, so the ports are unknown (0).
        var drops = new List<byte[]>();
        while (events.Poll(record => drops.Add(record.ToArray()), timeoutMilliseconds: 200) > 0)
        {
        }

        const byte BlockedSource = 1, Udp = 17;
        var udpDrops = drops.Where(d => d.AsSpan(0, 4).SequenceEqual(peer) && d[18] == Udp).ToList();
        Assert.Equal(3, udpDrops.Count);
        Assert.All(udpDrops, d => Assert.Equal(BlockedSource, d[19]));
        Assert.All(udpDrops, d => Assert.Equal(IPAddress.Parse(veth.HostAddress).GetAddressBytes(), d.AsSpan(4, 4).ToArray()));
    }

    private static string LibcPath()
    {
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0 && Path.GetFileName(line[slash..]).StartsWith("libc.so", StringComparison.Ordinal))
            {
                return line[slash..];
            }
        }

        throw new InvalidOperationException("libc is not mapped into this process");
    }
}
