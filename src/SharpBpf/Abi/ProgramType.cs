namespace SharpBpf;

/// <summary>BPF program types, numbered as the kernel's <c>enum bpf_prog_type</c>.</summary>
public enum ProgramType : uint
{
    /// <summary>BPF_PROG_TYPE_UNSPEC: no type known (for example a custom section name).</summary>
    Unspecified = 0,
    /// <summary>BPF_PROG_TYPE_SOCKET_FILTER: a socket filter.</summary>
    SocketFilter = 1,
    /// <summary>BPF_PROG_TYPE_KPROBE: a kprobe, kretprobe, uprobe or usdt program.</summary>
    Kprobe = 2,
    /// <summary>BPF_PROG_TYPE_SCHED_CLS: a tc classifier.</summary>
    SchedCls = 3,
    /// <summary>BPF_PROG_TYPE_SCHED_ACT: a tc action.</summary>
    SchedAct = 4,
    /// <summary>BPF_PROG_TYPE_TRACEPOINT: a tracepoint program.</summary>
    Tracepoint = 5,
    /// <summary>BPF_PROG_TYPE_XDP: an XDP program.</summary>
    Xdp = 6,
    /// <summary>BPF_PROG_TYPE_PERF_EVENT: a perf event program.</summary>
    PerfEvent = 7,
    /// <summary>BPF_PROG_TYPE_CGROUP_SKB: a cgroup packet filter.</summary>
    CgroupSkb = 8,
    /// <summary>BPF_PROG_TYPE_CGROUP_SOCK: a cgroup socket hook.</summary>
    CgroupSock = 9,
    /// <summary>BPF_PROG_TYPE_LWT_IN: a lightweight tunnel input program.</summary>
    LwtIn = 10,
    /// <summary>BPF_PROG_TYPE_LWT_OUT: a lightweight tunnel output program.</summary>
    LwtOut = 11,
    /// <summary>BPF_PROG_TYPE_LWT_XMIT: a lightweight tunnel transmit program.</summary>
    LwtXmit = 12,
    /// <summary>BPF_PROG_TYPE_SOCK_OPS: a socket operations program.</summary>
    SockOps = 13,
    /// <summary>BPF_PROG_TYPE_SK_SKB: a sockmap skb program.</summary>
    SkSkb = 14,
    /// <summary>BPF_PROG_TYPE_CGROUP_DEVICE: a cgroup device controller.</summary>
    CgroupDevice = 15,
    /// <summary>BPF_PROG_TYPE_SK_MSG: a sockmap message program.</summary>
    SkMsg = 16,
    /// <summary>BPF_PROG_TYPE_RAW_TRACEPOINT: a raw tracepoint program.</summary>
    RawTracepoint = 17,
    /// <summary>BPF_PROG_TYPE_CGROUP_SOCK_ADDR: a cgroup socket address hook.</summary>
    CgroupSockAddr = 18,
    /// <summary>BPF_PROG_TYPE_LWT_SEG6LOCAL: an SRv6 local action.</summary>
    LwtSeg6Local = 19,
    /// <summary>BPF_PROG_TYPE_LIRC_MODE2: an infrared decoder.</summary>
    LircMode2 = 20,
    /// <summary>BPF_PROG_TYPE_SK_REUSEPORT: a SO_REUSEPORT selector.</summary>
    SkReuseport = 21,
    /// <summary>BPF_PROG_TYPE_FLOW_DISSECTOR: a flow dissector.</summary>
    FlowDissector = 22,
    /// <summary>BPF_PROG_TYPE_CGROUP_SYSCTL: a cgroup sysctl hook.</summary>
    CgroupSysctl = 23,
    /// <summary>BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: a raw tracepoint that may write its arguments.</summary>
    RawTracepointWritable = 24,
    /// <summary>BPF_PROG_TYPE_CGROUP_SOCKOPT: a cgroup get/setsockopt hook.</summary>
    CgroupSockopt = 25,
    /// <summary>BPF_PROG_TYPE_TRACING: fentry, fexit, fmod_ret, tp_btf and iterators.</summary>
    Tracing = 26,
    /// <summary>BPF_PROG_TYPE_STRUCT_OPS: an implementation of a kernel struct_ops member.</summary>
    StructOps = 27,
    /// <summary>BPF_PROG_TYPE_EXT: a freplace extension.</summary>
    Extension = 28,
    /// <summary>BPF_PROG_TYPE_LSM: an LSM hook.</summary>
    Lsm = 29,
    /// <summary>BPF_PROG_TYPE_SK_LOOKUP: a socket lookup program.</summary>
    SkLookup = 30,
    /// <summary>BPF_PROG_TYPE_SYSCALL: a program that can run syscalls.</summary>
    Syscall = 31,
    /// <summary>BPF_PROG_TYPE_NETFILTER: a netfilter hook.</summary>
    Netfilter = 32,
}
