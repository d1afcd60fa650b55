namespace SharpBpf.Verification;

/// <summary>What a helper argument must be (the kernel's <c>enum bpf_arg_type</c>, the kinds SharpBPF checks).</summary>
public enum HelperArgument : byte
{
    /// <summary>Unused: the register is not read.</summary>
    None,
    /// <summary>Any initialised value, scalar or pointer (ARG_ANYTHING).</summary>
    Anything,
    /// <summary>A map pointer (ARG_CONST_MAP_PTR).</summary>
    MapPointer,
    /// <summary>Memory of the map's key size (ARG_PTR_TO_MAP_KEY).</summary>
    MapKey,
    /// <summary>Memory of the map's value size, read (ARG_PTR_TO_MAP_VALUE).</summary>
    MapValue,
    /// <summary>Memory of the map's value size, written (ARG_PTR_TO_UNINIT_MAP_VALUE).</summary>
    UninitMapValue,
    /// <summary>Memory read by the helper, sized by the next argument (ARG_PTR_TO_MEM | MEM_RDONLY).</summary>
    ReadMemory,
    /// <summary>Like <see cref="ReadMemory"/> but NULL is allowed (with size 0).</summary>
    ReadMemoryOrNull,
    /// <summary>Memory written by the helper, sized by the next argument (ARG_PTR_TO_UNINIT_MEM).</summary>
    WriteMemory,
    /// <summary>The size of the previous memory argument, non-zero (ARG_CONST_SIZE).</summary>
    Size,
    /// <summary>The size of the previous memory argument, may be zero (ARG_CONST_SIZE_OR_ZERO).</summary>
    SizeOrZero,
    /// <summary>A constant allocation size, may be zero (ARG_CONST_ALLOC_SIZE_OR_ZERO).</summary>
    AllocSizeOrZero,
    /// <summary>The program's context (ARG_PTR_TO_CTX).</summary>
    Context,
    /// <summary>Ring buffer memory being released (ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE).</summary>
    ReleaseRingbufMemory,
    /// <summary>A socket being released (ARG_PTR_TO_BTF_ID_SOCK_COMMON | OBJ_RELEASE).</summary>
    ReleaseSocket,
    /// <summary>The struct bpf_spin_lock inside a map value (ARG_PTR_TO_SPIN_LOCK).</summary>
    SpinLock,
    /// <summary>A callback function (ARG_PTR_TO_FUNC).</summary>
    Function,
    /// <summary>A stack pointer or NULL (ARG_PTR_TO_STACK_OR_NULL).</summary>
    StackOrNull,
    /// <summary>A read-only constant string in a frozen map (ARG_PTR_TO_CONST_STR).</summary>
    ConstString,
    /// <summary>The program's context or NULL (ARG_PTR_TO_CTX_OR_NULL).</summary>
    ContextOrNull,
    /// <summary>A number, never a pointer (ARG_SCALAR).</summary>
    Scalar,
    /// <summary>Any socket view, not NULL (ARG_PTR_TO_SOCK_COMMON).</summary>
    SockCommon,
    /// <summary>Any socket view, not NULL, for a helper that does not release it (ARG_PTR_TO_BTF_ID_SOCK_COMMON).</summary>
    SockCommonBtf,
    /// <summary>NULL, or memory of the map's value size, read (ARG_PTR_TO_MAP_VALUE_OR_NULL).</summary>
    MapValueOrNull,
}

/// <summary>What a helper returns (the kernel's <c>enum bpf_return_type</c>, the kinds SharpBPF models).</summary>
public enum HelperReturn : byte
{
    /// <summary>A number (RET_INTEGER).</summary>
    Integer,
    /// <summary>Nothing; R0 is left uninitialised (RET_VOID).</summary>
    Void,
    /// <summary>A map value or NULL (RET_PTR_TO_MAP_VALUE_OR_NULL).</summary>
    MapValueOrNull,
    /// <summary>Ring buffer memory of the requested size, or NULL, holding a reference (RET_PTR_TO_RINGBUF_MEM_OR_NULL).</summary>
    RingbufMemoryOrNull,
    /// <summary>A socket or NULL, holding a reference (RET_PTR_TO_SOCKET_OR_NULL).</summary>
    SocketOrNull,
    /// <summary>A socket's common part or NULL, holding a reference (RET_PTR_TO_SOCK_COMMON_OR_NULL).</summary>
    SockCommonOrNull,
    /// <summary>A full socket or NULL, holding no reference of its own (RET_PTR_TO_SOCKET_OR_NULL of the socket casts).</summary>
    FullSocketOrNull,
    /// <summary>A TCP socket or NULL, holding no reference of its own (RET_PTR_TO_TCP_SOCK_OR_NULL).</summary>
    TcpSockOrNull,
}

/// <summary>Which program types may call a helper (the kernel's per-type <c>get_func_proto</c>).</summary>
[Flags]
public enum HelperAvailability
{
    /// <summary>Nobody.</summary>
    None = 0,
    /// <summary>Every program type (bpf_base_func_proto for a privileged loader).</summary>
    All = 1,
    /// <summary>kprobe, tracepoint, raw tracepoint and perf event programs.</summary>
    Tracing = 2,
    /// <summary>Socket filters.</summary>
    SocketFilter = 4,
    /// <summary>tc classifiers and actions.</summary>
    TrafficControl = 8,
    /// <summary>XDP programs.</summary>
    Xdp = 16,
    /// <summary>cgroup skb programs.</summary>
    CgroupSkb = 32,
    /// <summary>cgroup sock programs (socket creation, release and bind hooks).</summary>
    CgroupSock = 64,
    /// <summary>sock_ops programs.</summary>
    SockOps = 128,
    /// <summary>perf event programs, on top of <see cref="Tracing"/>.</summary>
    PerfEvent = 256,
    /// <summary>cgroup hooks that run in the calling process (<c>cgroup_current_func_proto</c>): cgroup sock programs.</summary>
    CgroupCurrent = 512,
}

/// <summary>A helper's prototype: argument kinds, return kind, who may call it and whether it changes packet data.</summary>
/// <param name="Id">The helper id.</param>
/// <param name="Return">What it returns.</param>
/// <param name="Arguments">R1 to R5.</param>
/// <param name="Availability">Which program types may call it.</param>
/// <param name="ChangesPacketData">Whether it invalidates packet pointers (<c>bpf_helper_changes_pkt_data</c>).</param>
/// <param name="GplOnly">Whether a GPL-compatible license is required.</param>
public sealed record HelperPrototype(int Id, HelperReturn Return, HelperArgument[] Arguments, HelperAvailability Availability, bool ChangesPacketData = false, bool GplOnly = false)
{
    /// <summary>The kernel's name.</summary>
    public string Name => HelperNames.Find(Id) ?? $"helper#{Id}";
}

/// <summary>
/// The prototypes SharpBPF's verifier knows (from the kernel's <c>bpf_func_proto</c> definitions), available to the
/// program types the running kernel (6.18) gives them to: it makes many tracing helpers part of every type's base set.
/// </summary>
public static class HelperPrototypes
{
    private static readonly Dictionary<int, HelperPrototype> ById = Build();

    /// <summary>The prototype of helper <paramref name="id"/>, or null when SharpBPF does not model it.</summary>
    public static HelperPrototype? Find(int id) => ById.GetValueOrDefault(id);

    /// <summary>Every known prototype.</summary>
    public static IEnumerable<HelperPrototype> All => ById.Values;

    /// <summary>Whether a program of <paramref name="type"/> may call the helper.</summary>
    public static bool IsAvailable(HelperPrototype proto, ProgramType type)
    {
        ArgumentNullException.ThrowIfNull(proto);
        return (proto.Availability & (HelperAvailability.All | CategoriesOf(type))) != 0;
    }

    /// <summary>The prototype a program of <paramref name="type"/> gets for helper <paramref name="id"/>, or null when it may not call it.</summary>
    public static HelperPrototype? Find(int id, ProgramType type)
    {
        // Some helpers have a different prototype per program type (the kernel's get_func_proto picks one).
        var categories = CategoriesOf(type);
        if (Variants.TryGetValue(id, out var variants))
        {
            foreach (var variant in variants)
            {
                if ((variant.Availability & categories) != 0)
                {
                    return variant;
                }
            }
        }

        return Find(id) is { } proto && IsAvailable(proto, type) ? proto : null;
    }

    /// <summary>The helper sets a program type draws from.</summary>
    public static HelperAvailability CategoriesOf(ProgramType type) => type switch
    {
        ProgramType.Kprobe or ProgramType.Tracepoint or ProgramType.RawTracepoint or ProgramType.RawTracepointWritable or ProgramType.Tracing => HelperAvailability.Tracing,
        ProgramType.PerfEvent => HelperAvailability.Tracing | HelperAvailability.PerfEvent,
        ProgramType.SocketFilter => HelperAvailability.SocketFilter,
        ProgramType.SchedCls or ProgramType.SchedAct => HelperAvailability.TrafficControl,
        ProgramType.Xdp => HelperAvailability.Xdp,
        ProgramType.CgroupSkb => HelperAvailability.CgroupSkb,
        ProgramType.CgroupSock => HelperAvailability.CgroupSock | HelperAvailability.CgroupCurrent,
        ProgramType.SockOps => HelperAvailability.SockOps,
        _ => HelperAvailability.None,
    };

    private static readonly Dictionary<int, HelperPrototype[]> Variants = BuildVariants();

    private static Dictionary<int, HelperPrototype[]> BuildVariants()
    {
        const HelperReturn integer = HelperReturn.Integer;
        return new Dictionary<int, HelperPrototype[]>
        {
            // bpf_get_cgroup_classid of the current task takes no argument; tc's reads the packet's.
            [17] = [new(17, integer, [], HelperAvailability.Tracing | HelperAvailability.PerfEvent | HelperAvailability.SocketFilter |
                HelperAvailability.Xdp | HelperAvailability.CgroupCurrent | HelperAvailability.SockOps)],
            // bpf_get_netns_cookie of packet programs.
            [122] = [new(122, integer, [HelperArgument.Context], HelperAvailability.SocketFilter | HelperAvailability.TrafficControl | HelperAvailability.CgroupSkb)],
            // bpf_sk_storage_get of cgroup sock programs: their context is the socket.
            [107] = [new(107, HelperReturn.MapValueOrNull, [HelperArgument.MapPointer, HelperArgument.Context, HelperArgument.MapValueOrNull, HelperArgument.Anything],
                HelperAvailability.CgroupSock)],
        };
    }

    private static Dictionary<int, HelperPrototype> Build()
    {
        const HelperAvailability all = HelperAvailability.All;
        const HelperAvailability tracing = HelperAvailability.Tracing;
        const HelperAvailability skb = HelperAvailability.SocketFilter | HelperAvailability.TrafficControl | HelperAvailability.CgroupSkb;
        const HelperAvailability tc = HelperAvailability.TrafficControl;
        const HelperAvailability xdp = HelperAvailability.Xdp;
        const HelperAvailability net = skb | xdp;
        const HelperAvailability sockOps = HelperAvailability.SockOps, cgroupSock = HelperAvailability.CgroupSock;
        const HelperArgument any = HelperArgument.Anything, map = HelperArgument.MapPointer, ctx = HelperArgument.Context;
        const HelperArgument mem = HelperArgument.ReadMemory, uninit = HelperArgument.WriteMemory;
        const HelperArgument size = HelperArgument.Size, sizeOrZero = HelperArgument.SizeOrZero;
        const HelperReturn integer = HelperReturn.Integer;
        var list = new List<HelperPrototype>
        {
            new(1, HelperReturn.MapValueOrNull, [map, HelperArgument.MapKey], all),
            new(2, integer, [map, HelperArgument.MapKey, HelperArgument.MapValue, any], all),
            new(3, integer, [map, HelperArgument.MapKey], all),
            new(4, integer, [uninit, sizeOrZero, any], tracing, GplOnly: true),
            new(5, integer, [], all),
            new(6, integer, [mem, size], all, GplOnly: true),
            new(7, integer, [], all),
            new(8, integer, [], all),
            new(9, integer, [ctx, any, mem, size, any], tc, ChangesPacketData: true),
            new(10, integer, [ctx, any, any, any, any], tc, ChangesPacketData: true),
            new(11, integer, [ctx, any, any, any, any], tc, ChangesPacketData: true),
            new(12, HelperReturn.Void, [ctx, map, any], all),
            new(13, integer, [ctx, any, any], tc, ChangesPacketData: true),
            new(14, integer, [], all),
            new(17, integer, [ctx], tc),
            new(18, integer, [ctx, any, any], tc, ChangesPacketData: true),
            new(19, integer, [ctx], tc, ChangesPacketData: true),
            new(20, integer, [ctx, uninit, size, any], tc),
            new(21, integer, [ctx, mem, size, any], tc),
            new(22, integer, [map, any], all),
            new(24, integer, [ctx], tc),
            new(27, integer, [ctx, map, any], tracing),
            new(29, integer, [ctx, uninit, size], tc),
            new(30, integer, [ctx, mem, size], tc),
            new(31, integer, [ctx, any, any], tc, ChangesPacketData: true),
            new(32, integer, [ctx, any], tc),
            new(33, integer, [ctx, map, any], tc),
            new(34, integer, [ctx], tc),
            new(35, integer, [], all),
            new(37, integer, [map, any], all),
            new(38, integer, [ctx, any, any], tc, ChangesPacketData: true),
            new(39, integer, [ctx, any], tc, ChangesPacketData: true),
            new(40, integer, [ctx, any], tc),
            new(41, integer, [ctx], tc),
            new(42, integer, [], all),
            new(43, integer, [ctx, any, any], tc, ChangesPacketData: true),
            new(46, integer, [ctx], skb | sockOps | cgroupSock),
            new(47, integer, [ctx], skb),
            new(48, integer, [ctx, any], tc),
            new(50, integer, [ctx, any, any, any], tc, ChangesPacketData: true),
            new(55, integer, [map, any, uninit, size], all),
            new(69, integer, [ctx, HelperArgument.ReadMemory, size, any], tc | xdp),
            new(80, integer, [], all),
            new(15, integer, [], all),
            new(16, integer, [uninit, size], all),
            new(23, integer, [any, any], tc | xdp),
            new(25, integer, [ctx, map, any, mem, sizeOrZero], tracing | net | sockOps | cgroupSock, GplOnly: true),
            new(26, integer, [ctx, any, uninit, size], skb),
            new(28, integer, [HelperArgument.ReadMemoryOrNull, sizeOrZero, HelperArgument.ReadMemoryOrNull, sizeOrZero, any], tc | xdp),
            new(44, integer, [ctx, any], xdp, ChangesPacketData: true),
            new(45, integer, [uninit, size, any], tracing, GplOnly: true),
            new(51, integer, [map, any, any], xdp),
            // The running kernel (6.18) refuses bpf_xdp_adjust_meta to XDP programs loaded without a device.
            new(54, integer, [ctx, any], HelperAvailability.None, ChangesPacketData: true),
            new(65, integer, [ctx, any], xdp, ChangesPacketData: true),
            new(68, integer, [ctx, any, uninit, size, any], skb),
            new(87, integer, [map, HelperArgument.MapValue, any], all),
            new(88, integer, [map, HelperArgument.UninitMapValue], all),
            new(89, integer, [map, HelperArgument.UninitMapValue], all),
            new(112, integer, [uninit, sizeOrZero, any], all, GplOnly: true),
            new(113, integer, [uninit, sizeOrZero, any], all, GplOnly: true),
            new(114, integer, [uninit, sizeOrZero, any], all, GplOnly: true),
            new(115, integer, [uninit, sizeOrZero, any], all, GplOnly: true),
            new(118, integer, [], all),
            new(125, integer, [], all),
            new(130, integer, [map, mem, sizeOrZero, any], all),
            new(131, HelperReturn.RingbufMemoryOrNull, [map, HelperArgument.AllocSizeOrZero, any], all),
            new(132, HelperReturn.Void, [HelperArgument.ReleaseRingbufMemory, any], all),
            new(133, HelperReturn.Void, [HelperArgument.ReleaseRingbufMemory, any], all),
            new(134, integer, [map, any], all),
            // Socket lookups (tc, XDP and cgroup skb variants share the argument kinds) and their release.
            new(84, HelperReturn.SocketOrNull, [ctx, mem, sizeOrZero, any, any], tc | xdp | HelperAvailability.CgroupSkb),
            new(85, HelperReturn.SocketOrNull, [ctx, mem, sizeOrZero, any, any], tc | xdp | HelperAvailability.CgroupSkb),
            new(99, HelperReturn.SockCommonOrNull, [ctx, mem, sizeOrZero, any, any], tc | xdp | HelperAvailability.CgroupSkb),
            // bpf_spin_lock and bpf_spin_unlock (tracing programs may not use locks; other types are not modelled yet).
            new(93, HelperReturn.Void, [HelperArgument.SpinLock], tc | xdp | HelperAvailability.CgroupSkb),
            new(94, HelperReturn.Void, [HelperArgument.SpinLock], tc | xdp | HelperAvailability.CgroupSkb),
            new(86, integer, [HelperArgument.ReleaseSocket], tc | xdp | HelperAvailability.CgroupSkb),
            // Socket casts: bpf_sk_fullsock, bpf_tcp_sock, bpf_get_listener_sock.
            new(95, HelperReturn.FullSocketOrNull, [HelperArgument.SockCommon], tc | HelperAvailability.CgroupSkb),
            new(96, HelperReturn.TcpSockOrNull, [HelperArgument.SockCommon], tc | HelperAvailability.CgroupSkb | sockOps),
            new(98, HelperReturn.FullSocketOrNull, [HelperArgument.SockCommon], tc | HelperAvailability.CgroupSkb),
            // Socket local storage: bpf_sk_storage_get and bpf_sk_storage_delete on a socket.
            new(107, HelperReturn.MapValueOrNull, [map, HelperArgument.SockCommonBtf, HelperArgument.MapValueOrNull, any], tc | HelperAvailability.CgroupSkb | sockOps),
            new(108, integer, [map, HelperArgument.SockCommonBtf], tc | HelperAvailability.CgroupSkb | sockOps),
            // Helpers that take a socket: SYN cookies, bpf_sk_assign, the socket's cgroup.
            new(100, integer, [HelperArgument.SockCommonBtf, mem, size, mem, size], tc | xdp),
            new(110, integer, [HelperArgument.SockCommonBtf, mem, size, mem, size], tc | xdp),
            new(124, integer, [ctx, HelperArgument.SockCommonBtf, any], tc),
            new(128, integer, [HelperArgument.SockCommonBtf], HelperAvailability.CgroupSkb),
            new(129, integer, [HelperArgument.SockCommonBtf, any], HelperAvailability.CgroupSkb),
            new(165, integer, [uninit, sizeOrZero, HelperArgument.ConstString, HelperArgument.ReadMemoryOrNull, sizeOrZero], all, GplOnly: true),
            new(181, integer, [HelperArgument.Scalar, HelperArgument.Function, HelperArgument.StackOrNull, any], all),
            new(164, integer, [map, HelperArgument.Function, HelperArgument.StackOrNull, any], all),
            new(189, integer, [ctx, any, uninit, size], xdp),
            new(49, integer, [ctx, any, any, mem, size], sockOps),
            new(53, integer, [ctx, map, HelperArgument.MapKey, any], sockOps),
            new(56, integer, [ctx, uninit, size], HelperAvailability.PerfEvent),
            new(57, integer, [ctx, any, any, uninit, size], sockOps),
            new(59, integer, [ctx, any], sockOps),
            new(67, integer, [ctx, uninit, sizeOrZero, any], tracing, GplOnly: true),
            new(70, integer, [ctx, map, HelperArgument.MapKey, any], sockOps),
            new(160, integer, [], cgroupSock),
            new(122, integer, [HelperArgument.ContextOrNull], sockOps | cgroupSock),
            new(195, HelperReturn.MapValueOrNull, [map, HelperArgument.MapKey, any], all),
        };
        return list.ToDictionary(p => p.Id);
    }
}
