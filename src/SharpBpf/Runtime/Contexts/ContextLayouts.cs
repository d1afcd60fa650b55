namespace SharpBpf.Runtime.Contexts;

/// <summary>
/// The kernel's program contexts (offsets from <c>include/uapi/linux/bpf.h</c>, access rules from the
/// <c>*_is_valid_access</c> callbacks of <c>net/core/filter.c</c>).
/// </summary>
public static class ContextLayouts
{
    /// <summary>The size of <c>struct xdp_md</c>.</summary>
    public const int XdpMdSize = 24;

    /// <summary>The size of <c>struct __sk_buff</c>.</summary>
    public const int SkBuffSize = 192;

    /// <summary>
    /// <c>struct xdp_md</c> for XDP programs: data, data_end and data_meta are packet pointers; ingress_ifindex and
    /// rx_queue_index are read-only; egress_ifindex is not accessible (only devmap programs may read it).
    /// </summary>
    public static ContextLayout Xdp { get; } = CreateXdp(devmap: false);

    /// <summary><c>struct xdp_md</c> for XDP programs attached to a devmap entry, which may read egress_ifindex.</summary>
    public static ContextLayout XdpDevmap { get; } = CreateXdp(devmap: true);

    /// <summary>
    /// <c>struct __sk_buff</c> for socket filters: no direct packet access (data/data_end are refused), only
    /// <c>cb[]</c> is writable, and tc_classid, wire_len, tstamp and hwtstamp are not accessible.
    /// </summary>
    public static ContextLayout SocketFilter { get; } = CreateSkb(trafficControl: false);

    /// <summary>
    /// <c>struct __sk_buff</c> for tc classifiers and actions: direct packet access; mark, queue_mapping, priority,
    /// tc_index, cb[], tc_classid and tstamp are writable.
    /// </summary>
    public static ContextLayout TrafficControl { get; } = CreateSkb(trafficControl: true);

    private static ContextLayout CreateXdp(bool devmap)
    {
        List<ContextField> fields =
        [
            new("data", 0, 4, true, false, Kind: ContextFieldKind.PacketPointer),
            new("data_end", 4, 4, true, false, Kind: ContextFieldKind.PacketPointer),
            new("data_meta", 8, 4, true, false, Kind: ContextFieldKind.PacketPointer),
            new("ingress_ifindex", 12, 4, true, false),
            new("rx_queue_index", 16, 4, true, false),
        ];
        if (devmap)
        {
            fields.Add(new("egress_ifindex", 20, 4, true, false));
        }

        return new ContextLayout("xdp_md", XdpMdSize, fields);
    }

    private static ContextLayout CreateSkb(bool trafficControl)
    {
        bool tc = trafficControl;
        List<ContextField> fields =
        [
            Narrow("len", 0),
            Narrow("pkt_type", 4),
            Narrow("mark", 8, writable: tc),
            Narrow("queue_mapping", 12, writable: tc),
            Narrow("protocol", 16),
            Narrow("vlan_present", 20),
            Narrow("vlan_tci", 24),
            Narrow("vlan_proto", 28),
            Narrow("priority", 32, writable: tc),
            Narrow("ingress_ifindex", 36),
            Narrow("ifindex", 40),
            Narrow("tc_index", 44, writable: tc),
            new("cb", 48, 20, true, true, ContextAccessSizes.AnyAligned),
            Narrow("hash", 68),
            Narrow("napi_id", 84),
            new("sk", 168, 8, true, false),
            Narrow("gso_segs", 164),
            Narrow("gso_size", 176),
        ];
        if (tc)
        {
            fields.Add(Narrow("tc_classid", 72, writable: true));
            fields.Add(new("data", 76, 4, true, false, Kind: ContextFieldKind.PacketPointer));
            fields.Add(new("data_end", 80, 4, true, false, Kind: ContextFieldKind.PacketPointer));
            fields.Add(new("data_meta", 140, 4, true, false, Kind: ContextFieldKind.PacketPointer));
            fields.Add(new("tstamp", 152, 8, true, true));
            fields.Add(Narrow("wire_len", 160));
            fields.Add(new("tstamp_type", 180, 1, true, false));
            fields.Add(new("hwtstamp", 184, 8, true, false));
        }

        return new ContextLayout("__sk_buff", SkBuffSize, fields);
    }

    private static ContextField Narrow(string name, int offset, bool writable = false) =>
        new(name, offset, 4, true, writable, ContextAccessSizes.Narrow);
}
