using SharpBpf.Runtime.Contexts;

namespace SharpBpf.Verification;

/// <summary>
/// Context access rules per program type (the kernel's <c>*_is_valid_access</c> callbacks), on top of the
/// layouts the VM uses (<see cref="ContextLayouts"/>).
/// </summary>
public static class ProgramContexts
{
    /// <summary>sizeof(struct pt_regs) on x86-64: the kprobe context.</summary>
    public const int PtRegsSize = 168;

    /// <summary>The most a tracepoint record may be (PERF_MAX_TRACE_SIZE).</summary>
    public const int MaxTraceSize = 8192;

    /// <summary>Raw tracepoints see up to 12 u64 arguments (MAX_BPF_FUNC_ARGS).</summary>
    public const int RawTracepointArgsSize = 12 * 8;

    /// <summary>sizeof(struct bpf_perf_event_data): pt_regs, sample_period, addr.</summary>
    public const int PerfEventDataSize = PtRegsSize + 16;

    /// <summary>sizeof(struct bpf_sock_ops).</summary>
    public const int SockOpsSize = 224;

    /// <summary>sizeof(struct bpf_sock).</summary>
    public const int SockSize = 80;

    /// <summary>
    /// Checks a context access; returns what the load produces (<see cref="RegisterType.Scalar"/>, or a packet pointer
    /// type) when allowed, else null. <paramref name="expectedAttachType"/> matters to cgroup sock programs (null: the
    /// kernel's default for the type).
    /// </summary>
    public static RegisterType? Check(ProgramType type, int off, int size, bool write, bool signExtend, AttachType? expectedAttachType = null)
    {
        switch (type)
        {
            case ProgramType.SockOps:
                return signExtend ? null : CheckSockOps(off, size, write);
            case ProgramType.CgroupSock:
                return !signExtend && IsValidSockAccess(off, size) && SockFieldAllowed(off, write, expectedAttachType ?? AttachType.CgroupInetSockCreate)
                    ? RegisterType.Scalar : null;
            case ProgramType.Xdp:
                return CheckLayout(ContextLayouts.Xdp, off, size, write, signExtend);
            case ProgramType.SocketFilter:
                return CheckLayout(ContextLayouts.SocketFilter, off, size, write, signExtend);
            case ProgramType.SchedCls:
            case ProgramType.SchedAct:
                return CheckLayout(ContextLayouts.TrafficControl, off, size, write, signExtend);
            case ProgramType.CgroupSkb:
                return write && !IsCgroupSkbWritable(off) ? null : CheckLayout(ContextLayouts.TrafficControl, off, size, write, signExtend);
            case ProgramType.Kprobe:
                return !write && off >= 0 && off < PtRegsSize && off % size == 0 && off + size <= PtRegsSize ? RegisterType.Scalar : null;
            case ProgramType.Tracepoint:
                return !write && off >= 8 && off < MaxTraceSize && off % size == 0 ? RegisterType.Scalar : null;
            case ProgramType.RawTracepoint:
            case ProgramType.RawTracepointWritable:
            case ProgramType.Tracing:
                return !write && off >= 0 && off < RawTracepointArgsSize && off % size == 0 ? RegisterType.Scalar : null;
            case ProgramType.PerfEvent:
                if (write || off < 0 || off >= PerfEventDataSize || off % size != 0)
                {
                    return null;
                }

                return off < PtRegsSize ? (size == 8 ? RegisterType.Scalar : null) : RegisterType.Scalar;
            default:
                return null;
        }
    }

    /// <summary>struct bpf_sock_ops (<c>sock_ops_is_valid_access</c>): 4-byte fields, a few 8-byte ones, reply and sk_txhash writable.</summary>
    private static RegisterType? CheckSockOps(int off, int size, bool write)
    {
        const int reply = 4, skTxhash = 164, bytesReceived = 168, sk = 184, skbData = 192, skbDataEnd = 200, skbTcpFlags = 212, skbHwtstamp = 216;
        if (off < 0 || off >= SockOpsSize || off % size != 0)
        {
            return null;
        }

        if (write)
        {
            return off is reply or skTxhash && size == 4 ? RegisterType.Scalar : null;
        }

        return off switch
        {
            >= bytesReceived and < sk => size == 8 ? RegisterType.Scalar : null,
            // The socket, or NULL when the hook runs on a request or timewait socket (PTR_TO_SOCKET_OR_NULL).
            >= sk and < skbData => size == 8 ? RegisterType.Socket : null,
            >= skbData and < skbDataEnd => size == 8 ? RegisterType.Packet : null,
            >= skbDataEnd and < skbDataEnd + 8 => size == 8 ? RegisterType.PacketEnd : null,
            skbTcpFlags => RegisterType.Scalar,
            >= skbHwtstamp => size == 8 ? RegisterType.Scalar : null,
            _ => size == 4 ? RegisterType.Scalar : null,
        };
    }

    /// <summary>offsetof(struct bpf_sock, type): from here to the end of priority, sock_common pointers may not read.</summary>
    private const int SockTypeOffset = 8;

    /// <summary>offsetof(struct bpf_sock, src_ip4).</summary>
    private const int SockSrcIp4Offset = 24;

    /// <summary>offsetofend(struct bpf_tcp_sock, icsk_retransmits).</summary>
    private const int TcpSockSize = 112;

    /// <summary>
    /// Reads through a socket pointer of <paramref name="type"/> (the kernel's <c>check_sock_access</c>):
    /// <c>bpf_sock_common_is_valid_access</c>, <c>bpf_sock_is_valid_access</c>, <c>bpf_tcp_sock_is_valid_access</c>
    /// or <c>bpf_xdp_sock_is_valid_access</c>.
    /// </summary>
    internal static bool IsValidSocketAccess(RegisterType type, int off, int size)
    {
        const int bytesReceived = 80, bytesAcked = 88;
        switch (type)
        {
            case RegisterType.SockCommon:
                return off is not (>= SockTypeOffset and < SockSrcIp4Offset) && IsValidSockAccess(off, size);
            case RegisterType.Socket:
                return IsValidSockAccess(off, size);
            case RegisterType.TcpSock:
                return off >= 0 && off < TcpSockSize && off % size == 0 && size == (off is bytesReceived or bytesAcked ? 8 : 4);
            case RegisterType.XdpSock:
                // struct bpf_xdp_sock has one field, queue_id.
                return off == 0 && size == 4;
            default:
                return false;
        }
    }

    /// <summary>Reads of struct bpf_sock (<c>bpf_sock_is_valid_access</c>).</summary>
    private static bool IsValidSockAccess(int off, int size)
    {
        const int family = 4, type = 8, protocol = 12, srcIp4 = 24, srcPort = 44, dstPort = 48, dstIp4 = 52, state = 72, rxQueue = 76;
        if (off < 0 || off >= SockSize || off % size != 0)
        {
            return false;
        }

        return off switch
        {
            // Narrow reads at the start of these fields, anywhere inside the address fields.
            state or family or type or protocol or srcPort or rxQueue or (>= srcIp4 and < srcPort) or (>= dstIp4 and < state) => size <= 4, // src_ip6 and dst_ip6 follow the ip4 fields
            >= dstPort and < dstPort + 2 => size <= (size == 4 ? 4 : 2),
            >= dstPort + 2 and < dstIp4 => false,
            _ => size == 4,
        };
    }

    /// <summary>Which bpf_sock fields a cgroup sock program of an attach type may read or write (<c>__sock_filter_check_attach_type</c>).</summary>
    private static bool SockFieldAllowed(int off, bool write, AttachType attach)
    {
        bool create = attach is AttachType.CgroupInetSockCreate or AttachType.CgroupInetSockRelease;
        return off switch
        {
            // bound_dev_if, mark, priority: read and written by socket creation and release hooks only.
            0 or 16 or 20 => create,
            >= 24 and < 28 => !write && attach == AttachType.CgroupInet4PostBind,
            >= 28 and < 44 => !write && attach == AttachType.CgroupInet6PostBind,
            >= 44 and < 48 => !write && attach is AttachType.CgroupInet4PostBind or AttachType.CgroupInet6PostBind,
            _ => !write,
        };
    }

    private static bool IsCgroupSkbWritable(int off) => off is >= 8 and < 12 || off is >= 32 and < 36 || off is >= 48 and < 68;

    private static RegisterType? CheckLayout(ContextLayout layout, int off, int size, bool write, bool signExtend)
    {
        if (layout.CheckAccess(off, size, write, signExtend, out var field) is not null)
        {
            return null;
        }

        if (field is { Name: "sk", Size: 8 } && layout.Name == "__sk_buff")
        {
            // The kernel's __sk_buff.sk is PTR_TO_SOCK_COMMON_OR_NULL, not a number: no arithmetic on it.
            return RegisterType.SockCommon;
        }

        if (field is { Kind: ContextFieldKind.PacketPointer })
        {
            return field.Name switch
            {
                "data" => RegisterType.Packet,
                "data_end" => RegisterType.PacketEnd,
                _ => RegisterType.PacketMeta,
            };
        }

        return RegisterType.Scalar;
    }

    /// <summary>Whether programs of this type may store into packet data (<c>may_access_direct_pkt_data</c>).</summary>
    public static bool MayWritePacket(ProgramType type) => type is ProgramType.Xdp or ProgramType.SchedCls or ProgramType.SchedAct;

    /// <summary>Whether the legacy <c>ld_abs</c>/<c>ld_ind</c> packet loads are allowed (<c>may_access_skb</c>).</summary>
    public static bool MayUseLegacyPacketLoads(ProgramType type) => type is ProgramType.SocketFilter or ProgramType.SchedCls or ProgramType.SchedAct;
}
