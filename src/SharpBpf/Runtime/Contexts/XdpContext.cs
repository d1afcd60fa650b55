using System.Runtime.InteropServices;
using SharpBpf.Runtime.Helpers;

namespace SharpBpf.Runtime.Contexts;

/// <summary>The verdicts of an XDP program (<c>enum xdp_action</c>).</summary>
public enum XdpAction : uint
{
    /// <summary>XDP_ABORTED: drop and signal a program error.</summary>
    Aborted = 0,
    /// <summary>XDP_DROP.</summary>
    Drop = 1,
    /// <summary>XDP_PASS: hand the packet to the network stack.</summary>
    Pass = 2,
    /// <summary>XDP_TX: send it back out of the interface it arrived on.</summary>
    Transmit = 3,
    /// <summary>XDP_REDIRECT: send it where <c>bpf_redirect</c>/<c>bpf_redirect_map</c> said.</summary>
    Redirect = 4,
}

/// <summary>Where a program asked for a packet to be redirected.</summary>
/// <param name="Ifindex">The target interface (<c>bpf_redirect</c>), or null for a map target.</param>
/// <param name="MapHandle">The map handle passed to <c>bpf_redirect_map</c>, or 0.</param>
/// <param name="Key">The map key passed to <c>bpf_redirect_map</c>.</param>
/// <param name="Flags">The helper's flags (<c>BPF_F_INGRESS</c>, <c>BPF_F_BROADCAST</c>...).</param>
public sealed record PacketRedirect(uint? Ifindex, ulong MapHandle, ulong Key, ulong Flags);

/// <summary>
/// An XDP packet buffer and <c>struct xdp_md</c>, laid out as the kernel's <c>BPF_PROG_TEST_RUN</c> lays out a
/// linear frame: one 4096-byte pinned frame with <see cref="Headroom"/> bytes before the packet and
/// <see cref="TailroomReserve"/> bytes reserved at the end, so <c>bpf_xdp_adjust_head/tail/meta</c> have the
/// kernel's room and limits.
/// </summary>
/// <remarks>
/// Programs must be converted with <see cref="ProgramContext.ConvertProgram"/> (the VM's stand-in for the kernel's
/// context conversion). During a run the packet <c>[data, data_end)</c> and the metadata <c>[data_meta, data)</c>
/// are read-write regions; the <c>xdp_md</c> memory is read-only.
/// </remarks>
public sealed class XdpContext : ProgramContext
{
    /// <summary>XDP_PACKET_HEADROOM: the room before the packet.</summary>
    public const int Headroom = 256;

    /// <summary>The frame size (one page, as in the kernel's test runs and most drivers).</summary>
    public const int FrameSize = 4096;

    /// <summary>SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86-64: the end of the frame programs cannot reach.</summary>
    public const int TailroomReserve = 320;

    /// <summary>sizeof(struct xdp_frame): the start of the frame that <c>bpf_xdp_adjust_head/meta</c> keep free.</summary>
    public const int XdpFrameReserve = 40;

    /// <summary>The largest packet a frame holds (the kernel moves longer test packets into fragments).</summary>
    public const int MaxPacketLength = FrameSize - Headroom - TailroomReserve;

    /// <summary>ETH_HLEN: the shortest packet XDP accepts and the adjust helpers keep.</summary>
    public const int MinPacketLength = 14;

    /// <summary>The largest metadata area (its length is a u8 in <c>skb_shared_info</c>).</summary>
    public const int MaxMetadataLength = 255;

    private readonly byte[] _frame;
    private readonly ulong _frameStart;

    // The part of the frame packets have occupied since it was last cleared (programs can write nowhere else).
    private int _dirtyStart;
    private int _dirtyEnd = FrameSize;
    private int _data;
    private int _dataEnd;
    private int _dataMeta;
    private MemoryRegion? _packetRegion;
    private MemoryRegion? _metaRegion;

    /// <summary>Creates an XDP context for programs converted for <paramref name="layout"/> (default <see cref="ContextLayouts.Xdp"/>).</summary>
    public XdpContext(ContextLayout? layout = null) : base(layout ?? ContextLayouts.Xdp, MemoryAccess.Read)
    {
        _frame = GC.AllocateArray<byte>(FrameSize, pinned: true);
        _frameStart = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(_frame, 0);
        _data = _dataEnd = _dataMeta = Headroom;
    }

    /// <summary>xdp_md.ingress_ifindex (1, the loopback device of the kernel's test runs, by default).</summary>
    public uint IngressIfindex { get; set; } = 1;

    /// <summary>xdp_md.rx_queue_index.</summary>
    public uint RxQueueIndex { get; set; }

    /// <summary>xdp_md.egress_ifindex (devmap programs only).</summary>
    public uint EgressIfindex { get; set; }

    /// <summary>The packet <c>[data, data_end)</c> as the last run left it.</summary>
    public Span<byte> Packet => _frame.AsSpan(_data, _dataEnd - _data);

    /// <summary>The metadata <c>[data_meta, data)</c>.</summary>
    public Span<byte> Metadata => _frame.AsSpan(_dataMeta, _data - _dataMeta);

    /// <summary>
    /// The bytes the kernel's test run returns as data_out: <c>[data_meta, data_end)</c>, metadata followed by the packet.
    /// </summary>
    public ReadOnlySpan<byte> Output => _frame.AsSpan(_dataMeta, _dataEnd - _dataMeta);

    /// <summary>The offset of data from the start of the frame.</summary>
    public int DataOffset => _data;

    /// <summary>The verdict of the last run, from its r0 (values above 4 are invalid actions, which the kernel drops).</summary>
    public XdpAction Action => (XdpAction)(uint)ReturnValue;

    /// <summary>The redirect the last run asked for with <c>bpf_redirect</c>/<c>bpf_redirect_map</c>, or null.</summary>
    public PacketRedirect? Redirect { get; internal set; }

    /// <summary>
    /// Loads a packet: the frame is cleared, the packet copied to <see cref="Headroom"/> and the metadata placed just
    /// before it, as the kernel's test run does with a <c>ctx_in</c> whose data is the metadata length.
    /// </summary>
    /// <exception cref="ArgumentException">The packet is shorter than 14 or longer than <see cref="MaxPacketLength"/> bytes, or the metadata length is not a multiple of 4 up to 216.</exception>
    public void SetPacket(ReadOnlySpan<byte> packet, ReadOnlySpan<byte> metadata = default)
    {
        if (packet.Length < MinPacketLength || packet.Length > MaxPacketLength)
        {
            throw new ArgumentException($"an XDP packet has {MinPacketLength} to {MaxPacketLength} bytes; this one has {packet.Length}", nameof(packet));
        }

        if (MetadataLengthInvalid(metadata.Length) || metadata.Length > Headroom - XdpFrameReserve)
        {
            throw new ArgumentException($"XDP metadata is a multiple of 4 bytes up to {Headroom - XdpFrameReserve}; this one has {metadata.Length}", nameof(metadata));
        }

        // The kernel's test run starts from a zeroed frame; only what the last run used can be dirty.
        _frame.AsSpan(_dirtyStart, _dirtyEnd - _dirtyStart).Clear();
        _data = Headroom;
        _dataEnd = Headroom + packet.Length;
        _dataMeta = Headroom - metadata.Length;
        packet.CopyTo(_frame.AsSpan(_data));
        metadata.CopyTo(_frame.AsSpan(_dataMeta));
        _dirtyStart = _dataMeta;
        _dirtyEnd = _dataEnd;
    }

    /// <inheritdoc/>
    private protected override void BeforeRun()
    {
        Redirect = null;
        ContextRegion.AsSpan().Clear();
        WriteU32(12, IngressIfindex);
        WriteU32(16, RxQueueIndex);
        WriteU32(20, EgressIfindex);
        WritePointers();
    }

    /// <inheritdoc/>
    private protected override void AddPacketRegions(BpfExecutionContext context)
    {
        _packetRegion = Wrap(_data, _dataEnd, "xdp packet");
        _metaRegion = Wrap(_dataMeta, _data, "xdp metadata");
        if (_packetRegion is not null)
        {
            context.AddRegion(_packetRegion);
        }

        if (_metaRegion is not null)
        {
            context.AddRegion(_metaRegion);
        }
    }

    /// <inheritdoc/>
    private protected override void RemovePacketRegions(BpfExecutionContext context)
    {
        if (_packetRegion is not null)
        {
            context.RemoveRegion(_packetRegion);
        }

        if (_metaRegion is not null)
        {
            context.RemoveRegion(_metaRegion);
        }

        _packetRegion = _metaRegion = null;
    }

    /// <summary>bpf_xdp_adjust_head: moves data by <paramref name="delta"/>, carrying the metadata along.</summary>
    internal long AdjustHead(int delta)
    {
        int metaLength = _data - _dataMeta;
        long data = (long)_data + delta;
        if (data < XdpFrameReserve + metaLength || data > _dataEnd - MinPacketLength)
        {
            return Errno.EINVAL;
        }

        if (metaLength != 0)
        {
            _frame.AsSpan(_dataMeta, metaLength).CopyTo(_frame.AsSpan(_dataMeta + delta));
        }

        _dataMeta += delta;
        _data = (int)data;
        Refresh();
        return 0;
    }

    /// <summary>bpf_xdp_adjust_tail: moves data_end by <paramref name="delta"/>, zeroing what it grows into.</summary>
    internal long AdjustTail(int delta)
    {
        long dataEnd = (long)_dataEnd + delta;
        if (dataEnd > FrameSize - TailroomReserve || dataEnd < _data + MinPacketLength)
        {
            return Errno.EINVAL;
        }

        if (delta > 0)
        {
            _frame.AsSpan(_dataEnd, delta).Clear();
        }

        _dataEnd = (int)dataEnd;
        Refresh();
        return 0;
    }

    /// <summary>bpf_xdp_adjust_meta: moves data_meta by <paramref name="delta"/>.</summary>
    internal long AdjustMeta(int delta)
    {
        long meta = (long)_dataMeta + delta;
        if (meta < XdpFrameReserve || meta > _data)
        {
            return Errno.EINVAL;
        }

        if (MetadataLengthInvalid((int)(_data - meta)))
        {
            return Errno.EACCES;
        }

        _dataMeta = (int)meta;
        Refresh();
        return 0;
    }

    private static bool MetadataLengthInvalid(int length) => (length & 3) != 0 || length > MaxMetadataLength;

    private void WritePointers()
    {
        WritePointer("data", _frameStart + (ulong)_data);
        WritePointer("data_end", _frameStart + (ulong)_dataEnd);
        WritePointer("data_meta", _frameStart + (ulong)_dataMeta);
    }

    // After an adjust helper: new pointers in the context, new regions in the running execution context.
    private void Refresh()
    {
        _dirtyStart = Math.Min(_dirtyStart, _dataMeta);
        _dirtyEnd = Math.Max(_dirtyEnd, _dataEnd);
        WritePointers();
        if (Attached is { } context)
        {
            RemovePacketRegions(context);
            AddPacketRegions(context);
        }
    }

    private unsafe MemoryRegion? Wrap(int start, int end, string name) =>
        end > start ? MemoryRegion.FromPointer((void*)(_frameStart + (ulong)start), end - start, MemoryAccess.ReadWrite, MemoryRegionKind.Packet, name) : null;
}
