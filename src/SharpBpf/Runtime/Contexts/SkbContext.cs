using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace SharpBpf.Runtime.Contexts;

/// <summary>Which kind of program sees a <c>struct __sk_buff</c>.</summary>
public enum SkbProgramKind
{
    /// <summary>
    /// BPF_PROG_TYPE_SOCKET_FILTER: the packet starts at the network header (the Ethernet header has been pulled),
    /// no direct packet access, only <c>cb[]</c> writable, no packet-changing helpers.
    /// </summary>
    SocketFilter,
    /// <summary>
    /// BPF_PROG_TYPE_SCHED_CLS / SCHED_ACT: the packet starts at the Ethernet header, direct packet access, writable
    /// mark/priority/tc_index/tc_classid/queue_mapping/tstamp/cb[], and the store and checksum helpers.
    /// </summary>
    TrafficControl,
}

/// <summary>The tc verdicts (<c>TC_ACT_*</c>) tc programs return.</summary>
public enum TcAction
{
    /// <summary>TC_ACT_UNSPEC: use the default action.</summary>
    Unspecified = -1,
    /// <summary>TC_ACT_OK: let the packet through.</summary>
    Ok = 0,
    /// <summary>TC_ACT_RECLASSIFY.</summary>
    Reclassify = 1,
    /// <summary>TC_ACT_SHOT: drop.</summary>
    Shot = 2,
    /// <summary>TC_ACT_PIPE.</summary>
    Pipe = 3,
    /// <summary>TC_ACT_STOLEN.</summary>
    Stolen = 4,
    /// <summary>TC_ACT_QUEUED.</summary>
    Queued = 5,
    /// <summary>TC_ACT_REPEAT.</summary>
    Repeat = 6,
    /// <summary>TC_ACT_REDIRECT: send where <c>bpf_redirect</c> said.</summary>
    Redirect = 7,
}

/// <summary>
/// A socket buffer and <c>struct __sk_buff</c> for socket filters and tc programs, set up as the kernel's
/// <c>BPF_PROG_TEST_RUN</c> sets up an skb on the loopback device from a full Ethernet frame.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="SetPacket"/> takes the whole frame. As in the kernel, <c>eth_type_trans</c> derives
/// <see cref="Protocol"/> and <see cref="PacketType"/> from the Ethernet header and pulls it: a socket filter sees
/// <c>skb->data</c> at the network header and <c>len</c> excluding the 14-byte Ethernet header (so
/// <c>bpf_skb_load_bytes(skb, 0, ...)</c> and <c>ldabs</c> offset 0 read the IP header), while tc programs see the
/// frame from the Ethernet header. The kernel's test run returns a socket filter's frame with the Ethernet header
/// zeroed; <see cref="Frame"/> keeps the bytes the host supplied.
/// </para>
/// <para>
/// Programs must be converted with <see cref="ProgramContext.ConvertProgram"/>. Writable fields a program changed
/// are read back into the properties after each run; writes to read-only fields through pointers the conversion
/// could not prove are discarded. The skb is linear and its checksum state is CHECKSUM_NONE, so checksum-offload
/// details (<c>BPF_F_RECOMPUTE_CSUM</c>, <c>BPF_F_PSEUDO_HDR</c>) change only the packet bytes as the kernel would
/// in that state.
/// </para>
/// </remarks>
public sealed class SkbContext : ProgramContext
{
    /// <summary>ETH_HLEN.</summary>
    public const int EthernetHeaderLength = 14;

    /// <summary>The largest frame accepted.</summary>
    public const int MaxFrameLength = 65535;

    private byte[] _buffer = GC.AllocateArray<byte>(2048, pinned: true);
    private int _frameLength;
    private MemoryRegion? _packetRegion;

    // The whole frame, read by legacy loads (which may address the link-layer and network headers).
    private MemoryRegion? _frameRegion;

    /// <summary>Creates an skb context for one kind of program.</summary>
    public SkbContext(SkbProgramKind kind)
        : base(kind == SkbProgramKind.SocketFilter ? ContextLayouts.SocketFilter : ContextLayouts.TrafficControl,
               MemoryAccess.ReadWrite)
    {
        Kind = kind;
    }

    /// <summary>The kind of program this context is for.</summary>
    public SkbProgramKind Kind { get; }

    /// <summary>The hardware address of the receiving device (the loopback device's is all zeros), for <see cref="PacketType"/>.</summary>
    public IReadOnlyList<byte> DeviceAddress { get; set; } = new byte[6];

    /// <summary>__sk_buff.pkt_type (PACKET_HOST 0, BROADCAST 1, MULTICAST 2, OTHERHOST 3), set by <see cref="SetPacket"/>.</summary>
    public uint PacketType { get; set; }

    /// <summary>__sk_buff.protocol: the EtherType in network byte order as stored (IPv4 reads as 0x0008), set by <see cref="SetPacket"/>.</summary>
    public uint Protocol { get; set; }

    /// <summary>__sk_buff.mark (writable by tc programs).</summary>
    public uint Mark { get; set; }

    /// <summary>__sk_buff.queue_mapping (writable by tc programs).</summary>
    public uint QueueMapping { get; set; }

    /// <summary>__sk_buff.vlan_present.</summary>
    public uint VlanPresent { get; set; }

    /// <summary>__sk_buff.vlan_tci.</summary>
    public uint VlanTci { get; set; }

    /// <summary>__sk_buff.vlan_proto.</summary>
    public uint VlanProto { get; set; }

    /// <summary>__sk_buff.priority (writable by tc programs).</summary>
    public uint Priority { get; set; }

    /// <summary>__sk_buff.ingress_ifindex.</summary>
    public uint IngressIfindex { get; set; }

    /// <summary>__sk_buff.ifindex (1, the loopback device, by default).</summary>
    public uint Ifindex { get; set; } = 1;

    /// <summary>__sk_buff.tc_index (writable by tc programs).</summary>
    public uint TcIndex { get; set; }

    /// <summary>__sk_buff.cb[0..4], the scratch words programs may write.</summary>
    public uint[] ControlBlock { get; } = new uint[5];

    /// <summary>__sk_buff.hash (cleared by <c>bpf_skb_store_bytes</c> with BPF_F_INVALIDATE_HASH).</summary>
    public uint Hash { get; set; }

    /// <summary>__sk_buff.tc_classid (tc programs).</summary>
    public uint TcClassId { get; set; }

    /// <summary>__sk_buff.napi_id.</summary>
    public uint NapiId { get; set; }

    /// <summary>__sk_buff.tstamp (tc programs, writable).</summary>
    public ulong Timestamp { get; set; }

    /// <summary>__sk_buff.wire_len: 0 means the frame length, as in the kernel's test run.</summary>
    public uint WireLength { get; set; }

    /// <summary>__sk_buff.gso_segs.</summary>
    public uint GsoSegments { get; set; }

    /// <summary>__sk_buff.gso_size.</summary>
    public uint GsoSize { get; set; }

    /// <summary>__sk_buff.hwtstamp (tc programs).</summary>
    public ulong HardwareTimestamp { get; set; }

    /// <summary>The whole frame, Ethernet header included, as the last run left it.</summary>
    public Span<byte> Frame => _buffer.AsSpan(0, _frameLength);

    /// <summary>The packet as the program sees it (from <c>skb->data</c>): the frame, or for socket filters the frame after the Ethernet header.</summary>
    public Span<byte> Packet => _buffer.AsSpan(DataOffset, _frameLength - DataOffset);

    /// <summary>The offset of <c>skb->data</c> in <see cref="Frame"/>: 14 for socket filters, 0 for tc.</summary>
    public int DataOffset => Kind == SkbProgramKind.SocketFilter ? EthernetHeaderLength : 0;

    /// <summary>__sk_buff.len: the length of <see cref="Packet"/>.</summary>
    public int Length => _frameLength - DataOffset;

    /// <summary>The last run's r0 as a tc verdict (for tc programs).</summary>
    public TcAction Action => (TcAction)(int)(uint)ReturnValue;

    /// <summary>The redirect the last run asked for with <c>bpf_redirect</c>, or null.</summary>
    public PacketRedirect? Redirect { get; internal set; }

    /// <summary>
    /// Loads a frame (from its Ethernet header) and derives <see cref="Protocol"/> and <see cref="PacketType"/> as
    /// <c>eth_type_trans</c> does.
    /// </summary>
    /// <exception cref="ArgumentException">The frame is shorter than 14 or longer than <see cref="MaxFrameLength"/> bytes.</exception>
    public void SetPacket(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < EthernetHeaderLength || frame.Length > MaxFrameLength)
        {
            throw new ArgumentException($"a frame has {EthernetHeaderLength} to {MaxFrameLength} bytes; this one has {frame.Length}", nameof(frame));
        }

        if (frame.Length > _buffer.Length)
        {
            _buffer = GC.AllocateArray<byte>(frame.Length, pinned: true);
        }

        frame.CopyTo(_buffer);
        _frameLength = frame.Length;
        Protocol = EtherTypeOf(frame);
        PacketType = PacketTypeOf(frame[..6], DeviceAddress);
    }

    /// <summary>skb->protocol as <c>eth_type_trans</c> derives it, in the stored (network) byte order.</summary>
    internal static uint EtherTypeOf(ReadOnlySpan<byte> frame)
    {
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        if (type >= 0x0600)
        {
            return BinaryPrimitives.ReverseEndianness(type);
        }

        // 802.3 frames: raw IPX (0xffff after the header) or 802.2 LLC.
        bool rawIpx = frame.Length >= 16 && frame[14] == 0xff && frame[15] == 0xff;
        return BinaryPrimitives.ReverseEndianness((ushort)(rawIpx ? 0x0001 : 0x0004));
    }

    private static uint PacketTypeOf(ReadOnlySpan<byte> destination, IReadOnlyList<byte> device)
    {
        bool own = device.Count == 6;
        for (int i = 0; own && i < 6; i++)
        {
            own = destination[i] == device[i];
        }

        if (own)
        {
            return 0;
        }

        if ((destination[0] & 1) != 0)
        {
            return destination.IndexOfAnyExcept((byte)0xff) < 0 ? 1u : 2u;
        }

        return 3;
    }

    /// <inheritdoc/>
    private protected override MemoryRegion? LegacyPacket => _frameRegion;

    /// <inheritdoc/>
    private protected override int LegacyDataOffset => DataOffset;

    /// <inheritdoc/>
    private protected override int LegacyNetworkOffset => EthernetHeaderLength;

    /// <inheritdoc/>
    private protected override void BeforeRun()
    {
        Redirect = null;
        ContextRegion.AsSpan().Clear();
        WriteU32(0, (uint)Length);
        WriteU32(4, PacketType);
        WriteU32(8, Mark);
        WriteU32(12, QueueMapping);
        WriteU32(16, Protocol);
        WriteU32(20, VlanPresent);
        WriteU32(24, VlanTci);
        WriteU32(28, VlanProto);
        WriteU32(32, Priority);
        WriteU32(36, IngressIfindex);
        WriteU32(40, Ifindex);
        WriteU32(44, TcIndex);
        for (int i = 0; i < 5; i++)
        {
            WriteU32(48 + (4 * i), ControlBlock[i]);
        }

        WriteU32(68, Hash);
        WriteU32(84, NapiId);
        WriteU32(164, GsoSegments);
        WriteU32(176, GsoSize);
        if (Kind == SkbProgramKind.TrafficControl)
        {
            WriteU32(72, TcClassId);
            WriteU64(152, Timestamp);
            WriteU32(160, WireLength == 0 ? (uint)_frameLength : WireLength);
            WriteU64(184, HardwareTimestamp);
            ulong data = BufferAddress + (ulong)DataOffset;
            WritePointer("data", data);
            WritePointer("data_end", data + (ulong)Length);
            WritePointer("data_meta", data);
        }

        unsafe
        {
            _packetRegion = MemoryRegion.FromPointer(
                (void*)(BufferAddress + (ulong)DataOffset), Length,
                MemoryAccess.ReadWrite, MemoryRegionKind.Packet, "skb packet");
            _frameRegion = MemoryRegion.FromPointer(
                (void*)BufferAddress, _frameLength, MemoryAccess.Read, MemoryRegionKind.Packet, "skb frame");
        }
    }

    /// <inheritdoc/>
    private protected override void AfterRun()
    {
        for (int i = 0; i < 5; i++)
        {
            ControlBlock[i] = ReadU32(48 + (4 * i));
        }

        if (Kind == SkbProgramKind.TrafficControl)
        {
            Mark = ReadU32(8);
            QueueMapping = ReadU32(12);
            Priority = ReadU32(32);
            TcIndex = ReadU32(44);
            TcClassId = ReadU32(72);
            Timestamp = ReadU64(152);
        }

        _packetRegion = null;
        _frameRegion = null;
    }

    /// <inheritdoc/>
    private protected override void AddPacketRegions(BpfExecutionContext context)
    {
        // Socket filters have no direct packet access: their packet is reachable only through helpers and ldabs.
        if (Kind == SkbProgramKind.TrafficControl && _packetRegion is { Length: > 0 })
        {
            context.AddRegion(_packetRegion);
        }
    }

    /// <inheritdoc/>
    private protected override void RemovePacketRegions(BpfExecutionContext context)
    {
        if (_packetRegion is not null)
        {
            context.RemoveRegion(_packetRegion);
        }
    }

    /// <summary>Clears the hash (BPF_F_INVALIDATE_HASH) in the context memory and the property.</summary>
    internal void InvalidateHash()
    {
        Hash = 0;
        WriteU32(68, 0);
    }

    private ulong BufferAddress => (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(_buffer, 0);
}
