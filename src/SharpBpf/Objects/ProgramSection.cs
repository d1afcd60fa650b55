namespace SharpBpf.Objects;

/// <summary>How a program section name was matched against the section table.</summary>
public enum SectionMatch
{
    /// <summary>No convention matched; the program type is <see cref="ProgramType.Unspecified"/> and the host must choose.</summary>
    None,
    /// <summary>Matched exactly as libbpf 1.x would.</summary>
    Exact,
    /// <summary>Matched only by prefix, as pre-1.0 libbpf and the kernel's samples/bpf loader did (for example <c>socket1</c>, <c>xdp_prog</c>).</summary>
    LegacyPrefix,
}

/// <summary>What a program's ELF section name says about it, following libbpf's <c>SEC()</c> conventions.</summary>
/// <param name="SectionName">The full section name.</param>
/// <param name="Convention">The table entry that matched (for example <c>kprobe+</c> or <c>xdp</c>), or null.</param>
/// <param name="ProgramType">The program type (kernel numbering).</param>
/// <param name="ExpectedAttachType">The expected attach type to pass at load time, or null when the kernel wants none.</param>
/// <param name="AttachTarget">The text after the convention's '/' (a function, tracepoint or hook name), or null.</param>
/// <param name="Match">How the name matched.</param>
/// <param name="IsSleepable">Whether the program is sleepable (<c>.s</c> variants, <c>syscall</c>).</param>
/// <param name="IsXdpFrags">Whether an XDP program supports multi-buffer packets (<c>xdp.frags</c>).</param>
/// <param name="NeedsBtfAttachTarget">Whether loading needs the attach target's kernel BTF id (fentry, lsm, iter...).</param>
/// <param name="AutoLoad">False when the section name starts with '?', libbpf's "do not load by default" marker.</param>
public sealed record ProgramSection(
    string SectionName,
    string? Convention,
    ProgramType ProgramType,
    AttachType? ExpectedAttachType,
    string? AttachTarget,
    SectionMatch Match,
    bool IsSleepable,
    bool IsXdpFrags,
    bool NeedsBtfAttachTarget,
    bool AutoLoad)
{
    [Flags]
    private enum Traits
    {
        None = 0,
        Sleepable = 1,
        Frags = 2,
        Btf = 4,
    }

    private readonly record struct Definition(string Pattern, ProgramType Type, AttachType? Attach, Traits Traits);

    // The order matters: the first match wins, so more specific names come before their prefixes.
    // A trailing '+' means "exactly this, or this followed by '/' and a target"; a trailing '/' means
    // "this followed by anything"; otherwise the name must match exactly (libbpf 1.x rules).
    private static readonly Definition[] Table =
    [
        new("socket", ProgramType.SocketFilter, null, Traits.None),
        new("sk_reuseport/migrate", ProgramType.SkReuseport, AttachType.SkReuseportSelectOrMigrate, Traits.None),
        new("sk_reuseport", ProgramType.SkReuseport, AttachType.SkReuseportSelect, Traits.None),
        new("kprobe+", ProgramType.Kprobe, null, Traits.None),
        new("uprobe+", ProgramType.Kprobe, null, Traits.None),
        new("uprobe.s+", ProgramType.Kprobe, null, Traits.Sleepable),
        new("kretprobe+", ProgramType.Kprobe, null, Traits.None),
        new("uretprobe+", ProgramType.Kprobe, null, Traits.None),
        new("uretprobe.s+", ProgramType.Kprobe, null, Traits.Sleepable),
        new("kprobe.multi+", ProgramType.Kprobe, AttachType.TraceKprobeMulti, Traits.None),
        new("kretprobe.multi+", ProgramType.Kprobe, AttachType.TraceKprobeMulti, Traits.None),
        new("kprobe.session+", ProgramType.Kprobe, AttachType.TraceKprobeSession, Traits.None),
        new("uprobe.multi+", ProgramType.Kprobe, AttachType.TraceUprobeMulti, Traits.None),
        new("uretprobe.multi+", ProgramType.Kprobe, AttachType.TraceUprobeMulti, Traits.None),
        new("uprobe.multi.s+", ProgramType.Kprobe, AttachType.TraceUprobeMulti, Traits.Sleepable),
        new("uretprobe.multi.s+", ProgramType.Kprobe, AttachType.TraceUprobeMulti, Traits.Sleepable),
        new("ksyscall+", ProgramType.Kprobe, null, Traits.None),
        new("kretsyscall+", ProgramType.Kprobe, null, Traits.None),
        new("usdt+", ProgramType.Kprobe, null, Traits.None),
        new("usdt.s+", ProgramType.Kprobe, null, Traits.Sleepable),
        new("tc/ingress", ProgramType.SchedCls, AttachType.TcxIngress, Traits.None),
        new("tc/egress", ProgramType.SchedCls, AttachType.TcxEgress, Traits.None),
        new("tcx/ingress", ProgramType.SchedCls, AttachType.TcxIngress, Traits.None),
        new("tcx/egress", ProgramType.SchedCls, AttachType.TcxEgress, Traits.None),
        new("tc", ProgramType.SchedCls, null, Traits.None),
        new("classifier", ProgramType.SchedCls, null, Traits.None),
        new("action", ProgramType.SchedAct, null, Traits.None),
        new("netkit/primary", ProgramType.SchedCls, AttachType.NetkitPrimary, Traits.None),
        new("netkit/peer", ProgramType.SchedCls, AttachType.NetkitPeer, Traits.None),
        new("tracepoint+", ProgramType.Tracepoint, null, Traits.None),
        new("tp+", ProgramType.Tracepoint, null, Traits.None),
        new("raw_tracepoint+", ProgramType.RawTracepoint, null, Traits.None),
        new("raw_tp+", ProgramType.RawTracepoint, null, Traits.None),
        new("raw_tracepoint.w+", ProgramType.RawTracepointWritable, null, Traits.None),
        new("raw_tp.w+", ProgramType.RawTracepointWritable, null, Traits.None),
        new("tp_btf+", ProgramType.Tracing, AttachType.TraceRawTracepoint, Traits.Btf),
        new("fentry+", ProgramType.Tracing, AttachType.TraceFentry, Traits.Btf),
        new("fmod_ret+", ProgramType.Tracing, AttachType.ModifyReturn, Traits.Btf),
        new("fexit+", ProgramType.Tracing, AttachType.TraceFexit, Traits.Btf),
        new("fentry.s+", ProgramType.Tracing, AttachType.TraceFentry, Traits.Btf | Traits.Sleepable),
        new("fmod_ret.s+", ProgramType.Tracing, AttachType.ModifyReturn, Traits.Btf | Traits.Sleepable),
        new("fexit.s+", ProgramType.Tracing, AttachType.TraceFexit, Traits.Btf | Traits.Sleepable),
        new("freplace+", ProgramType.Extension, null, Traits.Btf),
        new("lsm+", ProgramType.Lsm, AttachType.LsmMac, Traits.Btf),
        new("lsm.s+", ProgramType.Lsm, AttachType.LsmMac, Traits.Btf | Traits.Sleepable),
        new("lsm_cgroup+", ProgramType.Lsm, AttachType.LsmCgroup, Traits.Btf),
        new("iter+", ProgramType.Tracing, AttachType.TraceIter, Traits.Btf),
        new("iter.s+", ProgramType.Tracing, AttachType.TraceIter, Traits.Btf | Traits.Sleepable),
        new("syscall", ProgramType.Syscall, null, Traits.Sleepable),
        new("xdp.frags/devmap", ProgramType.Xdp, AttachType.XdpDevMap, Traits.Frags),
        new("xdp/devmap", ProgramType.Xdp, AttachType.XdpDevMap, Traits.None),
        new("xdp.frags/cpumap", ProgramType.Xdp, AttachType.XdpCpuMap, Traits.Frags),
        new("xdp/cpumap", ProgramType.Xdp, AttachType.XdpCpuMap, Traits.None),
        new("xdp.frags", ProgramType.Xdp, AttachType.Xdp, Traits.Frags),
        new("xdp", ProgramType.Xdp, AttachType.Xdp, Traits.None),
        new("perf_event", ProgramType.PerfEvent, null, Traits.None),
        new("lwt_in", ProgramType.LwtIn, null, Traits.None),
        new("lwt_out", ProgramType.LwtOut, null, Traits.None),
        new("lwt_xmit", ProgramType.LwtXmit, null, Traits.None),
        new("lwt_seg6local", ProgramType.LwtSeg6Local, null, Traits.None),
        new("sockops", ProgramType.SockOps, AttachType.CgroupSockOps, Traits.None),
        new("sk_skb/stream_parser", ProgramType.SkSkb, AttachType.SkSkbStreamParser, Traits.None),
        new("sk_skb/stream_verdict", ProgramType.SkSkb, AttachType.SkSkbStreamVerdict, Traits.None),
        new("sk_skb/verdict", ProgramType.SkSkb, AttachType.SkSkbVerdict, Traits.None),
        new("sk_skb", ProgramType.SkSkb, null, Traits.None),
        new("sk_msg", ProgramType.SkMsg, AttachType.SkMsgVerdict, Traits.None),
        new("lirc_mode2", ProgramType.LircMode2, AttachType.LircMode2, Traits.None),
        new("flow_dissector", ProgramType.FlowDissector, AttachType.FlowDissector, Traits.None),
        new("cgroup_skb/ingress", ProgramType.CgroupSkb, AttachType.CgroupInetIngress, Traits.None),
        new("cgroup_skb/egress", ProgramType.CgroupSkb, AttachType.CgroupInetEgress, Traits.None),
        new("cgroup/skb", ProgramType.CgroupSkb, null, Traits.None),
        new("cgroup/sock_create", ProgramType.CgroupSock, AttachType.CgroupInetSockCreate, Traits.None),
        new("cgroup/sock_release", ProgramType.CgroupSock, AttachType.CgroupInetSockRelease, Traits.None),
        new("cgroup/sock", ProgramType.CgroupSock, AttachType.CgroupInetSockCreate, Traits.None),
        new("cgroup/post_bind4", ProgramType.CgroupSock, AttachType.CgroupInet4PostBind, Traits.None),
        new("cgroup/post_bind6", ProgramType.CgroupSock, AttachType.CgroupInet6PostBind, Traits.None),
        new("cgroup/bind4", ProgramType.CgroupSockAddr, AttachType.CgroupInet4Bind, Traits.None),
        new("cgroup/bind6", ProgramType.CgroupSockAddr, AttachType.CgroupInet6Bind, Traits.None),
        new("cgroup/connect4", ProgramType.CgroupSockAddr, AttachType.CgroupInet4Connect, Traits.None),
        new("cgroup/connect6", ProgramType.CgroupSockAddr, AttachType.CgroupInet6Connect, Traits.None),
        new("cgroup/connect_unix", ProgramType.CgroupSockAddr, AttachType.CgroupUnixConnect, Traits.None),
        new("cgroup/sendmsg4", ProgramType.CgroupSockAddr, AttachType.CgroupUdp4Sendmsg, Traits.None),
        new("cgroup/sendmsg6", ProgramType.CgroupSockAddr, AttachType.CgroupUdp6Sendmsg, Traits.None),
        new("cgroup/sendmsg_unix", ProgramType.CgroupSockAddr, AttachType.CgroupUnixSendmsg, Traits.None),
        new("cgroup/recvmsg4", ProgramType.CgroupSockAddr, AttachType.CgroupUdp4Recvmsg, Traits.None),
        new("cgroup/recvmsg6", ProgramType.CgroupSockAddr, AttachType.CgroupUdp6Recvmsg, Traits.None),
        new("cgroup/recvmsg_unix", ProgramType.CgroupSockAddr, AttachType.CgroupUnixRecvmsg, Traits.None),
        new("cgroup/getpeername4", ProgramType.CgroupSockAddr, AttachType.CgroupInet4Getpeername, Traits.None),
        new("cgroup/getpeername6", ProgramType.CgroupSockAddr, AttachType.CgroupInet6Getpeername, Traits.None),
        new("cgroup/getpeername_unix", ProgramType.CgroupSockAddr, AttachType.CgroupUnixGetpeername, Traits.None),
        new("cgroup/getsockname4", ProgramType.CgroupSockAddr, AttachType.CgroupInet4Getsockname, Traits.None),
        new("cgroup/getsockname6", ProgramType.CgroupSockAddr, AttachType.CgroupInet6Getsockname, Traits.None),
        new("cgroup/getsockname_unix", ProgramType.CgroupSockAddr, AttachType.CgroupUnixGetsockname, Traits.None),
        new("cgroup/sysctl", ProgramType.CgroupSysctl, AttachType.CgroupSysctl, Traits.None),
        new("cgroup/getsockopt", ProgramType.CgroupSockopt, AttachType.CgroupGetsockopt, Traits.None),
        new("cgroup/setsockopt", ProgramType.CgroupSockopt, AttachType.CgroupSetsockopt, Traits.None),
        new("cgroup/dev", ProgramType.CgroupDevice, AttachType.CgroupDevice, Traits.None),
        new("struct_ops+", ProgramType.StructOps, null, Traits.None),
        new("struct_ops.s+", ProgramType.StructOps, null, Traits.Sleepable),
        new("sk_lookup", ProgramType.SkLookup, AttachType.SkLookup, Traits.None),
        new("netfilter", ProgramType.Netfilter, AttachType.Netfilter, Traits.None),
    ];

    // Pre-1.0 libbpf accepted any name starting with these ("sloppy" prefixes); newer names such as
    // "tc" or "tp" are left out so that, say, "tcp_stats" is not taken for a tc program.
    private static readonly HashSet<string> LegacyPrefixes = new(StringComparer.Ordinal)
    {
        "socket", "sk_reuseport", "classifier", "action", "xdp", "perf_event", "lwt_in", "lwt_out", "lwt_xmit",
        "lwt_seg6local", "sockops", "sk_skb", "sk_msg", "lirc_mode2", "flow_dissector", "cgroup_skb/ingress",
        "cgroup_skb/egress", "cgroup/skb", "cgroup/sock", "cgroup/dev",
    };

    /// <summary>The conventions this table knows, in matching order (libbpf's notation: '+' allows a '/target' suffix).</summary>
    public static IReadOnlyList<string> Conventions { get; } = Array.ConvertAll(Table, d => d.Pattern);

    /// <summary>
    /// Interprets a section name. libbpf 1.x rules are tried first; if none matches, the name is matched
    /// by prefix as older loaders did, so <c>socket1</c> is a socket filter and <c>xdp_prog</c> an XDP program.
    /// Names that match nothing (iproute2/Cilium names such as <c>from-netdev</c> or <c>2/7</c>) get
    /// <see cref="ProgramType.Unspecified"/>.
    /// </summary>
    public static ProgramSection Resolve(string sectionName)
    {
        ArgumentNullException.ThrowIfNull(sectionName);
        bool autoLoad = !sectionName.StartsWith('?');
        string name = autoLoad ? sectionName : sectionName[1..];
        foreach (var definition in Table)
        {
            if (MatchesExactly(definition.Pattern, name, out string? target))
            {
                return Create(sectionName, definition, target, SectionMatch.Exact, autoLoad);
            }
        }

        foreach (var definition in Table)
        {
            if (LegacyPrefixes.Contains(definition.Pattern) && name.StartsWith(definition.Pattern, StringComparison.Ordinal))
            {
                return Create(sectionName, definition, null, SectionMatch.LegacyPrefix, autoLoad);
            }
        }

        return new ProgramSection(sectionName, null, ProgramType.Unspecified, null, null, SectionMatch.None, false, false, false, autoLoad);
    }

    private static bool MatchesExactly(string pattern, string name, out string? target)
    {
        target = null;
        if (pattern.EndsWith('+'))
        {
            int length = pattern.Length - 1;
            if (name.Length < length || string.CompareOrdinal(name, 0, pattern, 0, length) != 0)
            {
                return false;
            }

            if (name.Length == length)
            {
                return true;
            }

            if (name[length] != '/')
            {
                return false;
            }

            target = name[(length + 1)..];
            return true;
        }

        return string.Equals(pattern, name, StringComparison.Ordinal);
    }

    private static ProgramSection Create(string sectionName, Definition definition, string? target, SectionMatch match, bool autoLoad) =>
        new(sectionName, definition.Pattern, definition.Type, definition.Attach, string.IsNullOrEmpty(target) ? null : target, match,
            (definition.Traits & Traits.Sleepable) != 0, (definition.Traits & Traits.Frags) != 0, (definition.Traits & Traits.Btf) != 0, autoLoad);
}
