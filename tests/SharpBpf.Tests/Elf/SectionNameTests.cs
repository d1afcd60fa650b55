using SharpBpf.Objects;

namespace SharpBpf.Tests.Elf;

/// <summary>Section names against libbpf's SEC() table (tools/lib/bpf/libbpf.c, section_defs) and older conventions.</summary>
public sealed class SectionNameTests
{
    private const int NoAttach = -1;

    [Theory]
    [InlineData("socket", ProgramType.SocketFilter, NoAttach, null)]
    [InlineData("xdp", ProgramType.Xdp, (int)AttachType.Xdp, null)]
    [InlineData("xdp.frags", ProgramType.Xdp, (int)AttachType.Xdp, null)]
    [InlineData("xdp/devmap", ProgramType.Xdp, (int)AttachType.XdpDevMap, null)]
    [InlineData("xdp.frags/cpumap", ProgramType.Xdp, (int)AttachType.XdpCpuMap, null)]
    [InlineData("tc", ProgramType.SchedCls, NoAttach, null)]
    [InlineData("tc/ingress", ProgramType.SchedCls, (int)AttachType.TcxIngress, null)]
    [InlineData("tcx/egress", ProgramType.SchedCls, (int)AttachType.TcxEgress, null)]
    [InlineData("classifier", ProgramType.SchedCls, NoAttach, null)]
    [InlineData("action", ProgramType.SchedAct, NoAttach, null)]
    [InlineData("kprobe/do_sys_open", ProgramType.Kprobe, NoAttach, "do_sys_open")]
    [InlineData("kprobe", ProgramType.Kprobe, NoAttach, null)]
    [InlineData("kretprobe/kmem_cache_alloc_node", ProgramType.Kprobe, NoAttach, "kmem_cache_alloc_node")]
    [InlineData("uprobe//bin/bash:readline", ProgramType.Kprobe, NoAttach, "/bin/bash:readline")]
    [InlineData("uretprobe/libc.so.6:malloc", ProgramType.Kprobe, NoAttach, "libc.so.6:malloc")]
    [InlineData("kprobe.multi/tcp_*", ProgramType.Kprobe, (int)AttachType.TraceKprobeMulti, "tcp_*")]
    [InlineData("tracepoint/sched/sched_switch", ProgramType.Tracepoint, NoAttach, "sched/sched_switch")]
    [InlineData("tp/syscalls/sys_enter_write", ProgramType.Tracepoint, NoAttach, "syscalls/sys_enter_write")]
    [InlineData("raw_tracepoint/sched_switch", ProgramType.RawTracepoint, NoAttach, "sched_switch")]
    [InlineData("raw_tp/sched_switch", ProgramType.RawTracepoint, NoAttach, "sched_switch")]
    [InlineData("raw_tp.w/bpf_test_finish", ProgramType.RawTracepointWritable, NoAttach, "bpf_test_finish")]
    [InlineData("tp_btf/sched_switch", ProgramType.Tracing, (int)AttachType.TraceRawTracepoint, "sched_switch")]
    [InlineData("fentry/do_unlinkat", ProgramType.Tracing, (int)AttachType.TraceFentry, "do_unlinkat")]
    [InlineData("fexit/do_unlinkat", ProgramType.Tracing, (int)AttachType.TraceFexit, "do_unlinkat")]
    [InlineData("fmod_ret/security_file_open", ProgramType.Tracing, (int)AttachType.ModifyReturn, "security_file_open")]
    [InlineData("freplace/handler", ProgramType.Extension, NoAttach, "handler")]
    [InlineData("lsm/file_open", ProgramType.Lsm, (int)AttachType.LsmMac, "file_open")]
    [InlineData("lsm_cgroup/socket_bind", ProgramType.Lsm, (int)AttachType.LsmCgroup, "socket_bind")]
    [InlineData("iter/task", ProgramType.Tracing, (int)AttachType.TraceIter, "task")]
    [InlineData("syscall", ProgramType.Syscall, NoAttach, null)]
    [InlineData("struct_ops/tcp_init", ProgramType.StructOps, NoAttach, "tcp_init")]
    [InlineData("perf_event", ProgramType.PerfEvent, NoAttach, null)]
    [InlineData("lwt_in", ProgramType.LwtIn, NoAttach, null)]
    [InlineData("lwt_out", ProgramType.LwtOut, NoAttach, null)]
    [InlineData("lwt_xmit", ProgramType.LwtXmit, NoAttach, null)]
    [InlineData("lwt_seg6local", ProgramType.LwtSeg6Local, NoAttach, null)]
    [InlineData("sockops", ProgramType.SockOps, (int)AttachType.CgroupSockOps, null)]
    [InlineData("sk_skb/stream_parser", ProgramType.SkSkb, (int)AttachType.SkSkbStreamParser, null)]
    [InlineData("sk_skb/stream_verdict", ProgramType.SkSkb, (int)AttachType.SkSkbStreamVerdict, null)]
    [InlineData("sk_skb/verdict", ProgramType.SkSkb, (int)AttachType.SkSkbVerdict, null)]
    [InlineData("sk_skb", ProgramType.SkSkb, NoAttach, null)]
    [InlineData("sk_msg", ProgramType.SkMsg, (int)AttachType.SkMsgVerdict, null)]
    [InlineData("sk_lookup", ProgramType.SkLookup, (int)AttachType.SkLookup, null)]
    [InlineData("sk_reuseport", ProgramType.SkReuseport, (int)AttachType.SkReuseportSelect, null)]
    [InlineData("sk_reuseport/migrate", ProgramType.SkReuseport, (int)AttachType.SkReuseportSelectOrMigrate, null)]
    [InlineData("flow_dissector", ProgramType.FlowDissector, (int)AttachType.FlowDissector, null)]
    [InlineData("lirc_mode2", ProgramType.LircMode2, (int)AttachType.LircMode2, null)]
    [InlineData("cgroup_skb/ingress", ProgramType.CgroupSkb, (int)AttachType.CgroupInetIngress, null)]
    [InlineData("cgroup_skb/egress", ProgramType.CgroupSkb, (int)AttachType.CgroupInetEgress, null)]
    [InlineData("cgroup/skb", ProgramType.CgroupSkb, NoAttach, null)]
    [InlineData("cgroup/sock", ProgramType.CgroupSock, (int)AttachType.CgroupInetSockCreate, null)]
    [InlineData("cgroup/sock_release", ProgramType.CgroupSock, (int)AttachType.CgroupInetSockRelease, null)]
    [InlineData("cgroup/post_bind4", ProgramType.CgroupSock, (int)AttachType.CgroupInet4PostBind, null)]
    [InlineData("cgroup/connect4", ProgramType.CgroupSockAddr, (int)AttachType.CgroupInet4Connect, null)]
    [InlineData("cgroup/sendmsg6", ProgramType.CgroupSockAddr, (int)AttachType.CgroupUdp6Sendmsg, null)]
    [InlineData("cgroup/getsockname_unix", ProgramType.CgroupSockAddr, (int)AttachType.CgroupUnixGetsockname, null)]
    [InlineData("cgroup/sysctl", ProgramType.CgroupSysctl, (int)AttachType.CgroupSysctl, null)]
    [InlineData("cgroup/getsockopt", ProgramType.CgroupSockopt, (int)AttachType.CgroupGetsockopt, null)]
    [InlineData("cgroup/dev", ProgramType.CgroupDevice, (int)AttachType.CgroupDevice, null)]
    [InlineData("netfilter", ProgramType.Netfilter, (int)AttachType.Netfilter, null)]
    public void LibbpfConventions(string name, ProgramType type, int attach, string? target)
    {
        var section = ProgramSection.Resolve(name);
        Assert.Equal(SectionMatch.Exact, section.Match);
        Assert.Equal(type, section.ProgramType);
        Assert.Equal(attach == NoAttach ? null : (AttachType)attach, section.ExpectedAttachType);
        Assert.Equal(target, section.AttachTarget);
        Assert.True(section.AutoLoad);
    }

    [Theory]
    [InlineData("socket1", ProgramType.SocketFilter)]
    [InlineData("socket/0", ProgramType.SocketFilter)]
    [InlineData("xdp1", ProgramType.Xdp)]
    [InlineData("xdp_redirect_map", ProgramType.Xdp)]
    [InlineData("classifier_tc_l2_redirect", ProgramType.SchedCls)]
    [InlineData("sockops_v2", ProgramType.SockOps)]
    [InlineData("cgroup/skb_filter", ProgramType.CgroupSkb)]
    public void OldStyleNamesMatchByPrefix(string name, ProgramType type)
    {
        var section = ProgramSection.Resolve(name);
        Assert.Equal(SectionMatch.LegacyPrefix, section.Match);
        Assert.Equal(type, section.ProgramType);
    }

    [Theory]
    [InlineData("from-netdev")]
    [InlineData("2/7")]
    [InlineData("tail-32")]
    [InlineData("tcp_stats")]
    [InlineData("kprobex")]
    [InlineData("tpx/foo")]
    [InlineData("")]
    public void UnknownNamesHaveNoType(string name)
    {
        var section = ProgramSection.Resolve(name);
        Assert.Equal(SectionMatch.None, section.Match);
        Assert.Equal(ProgramType.Unspecified, section.ProgramType);
        Assert.Null(section.ExpectedAttachType);
    }

    [Fact]
    public void TraitsFollowTheConvention()
    {
        Assert.True(ProgramSection.Resolve("fentry.s/x").IsSleepable);
        Assert.True(ProgramSection.Resolve("syscall").IsSleepable);
        Assert.False(ProgramSection.Resolve("fentry/x").IsSleepable);
        Assert.True(ProgramSection.Resolve("xdp.frags").IsXdpFrags);
        Assert.False(ProgramSection.Resolve("xdp").IsXdpFrags);
        Assert.True(ProgramSection.Resolve("lsm/bprm_check_security").NeedsBtfAttachTarget);
        Assert.False(ProgramSection.Resolve("kprobe/x").NeedsBtfAttachTarget);
        var optional = ProgramSection.Resolve("?xdp");
        Assert.False(optional.AutoLoad);
        Assert.Equal(ProgramType.Xdp, optional.ProgramType);
        Assert.Equal("?xdp", optional.SectionName);
    }

    [Fact]
    public void EnumsUseKernelNumbering()
    {
        // Spot checks against include/uapi/linux/bpf.h.
        Assert.Equal(6u, (uint)ProgramType.Xdp);
        Assert.Equal(26u, (uint)ProgramType.Tracing);
        Assert.Equal(32u, (uint)ProgramType.Netfilter);
        Assert.Equal(37u, (uint)AttachType.Xdp);
        Assert.Equal(46u, (uint)AttachType.TcxIngress);
        Assert.Equal(56u, (uint)AttachType.TraceKprobeSession);
        Assert.Equal(12u, (uint)MapType.ArrayOfMaps);
        Assert.Equal(27u, (uint)MapType.RingBuffer);
        Assert.Equal(33u, (uint)MapType.Arena);
    }
}
