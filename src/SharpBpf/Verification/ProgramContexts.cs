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

    /// <summary>
    /// Checks a context access; returns what the load produces (<see cref="RegisterType.Scalar"/>, or a packet pointer
    /// type) when allowed, else null.
    /// </summary>
    public static RegisterType? Check(ProgramType type, int off, int size, bool write, bool signExtend)
    {
        switch (type)
        {
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

    private static bool IsCgroupSkbWritable(int off) => off is >= 8 and < 12 || off is >= 32 and < 36 || off is >= 48 and < 68;

    private static RegisterType? CheckLayout(ContextLayout layout, int off, int size, bool write, bool signExtend)
    {
        if (layout.CheckAccess(off, size, write, signExtend, out var field) is not null)
        {
            return null;
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
