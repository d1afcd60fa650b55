namespace SharpBpf.Capture;

/// <summary>LINKTYPE_* values of pcap and pcapng (the link-layer header of the packets).</summary>
public enum LinkType
{
    /// <summary>LINKTYPE_NULL: BSD loopback.</summary>
    Null = 0,
    /// <summary>LINKTYPE_ETHERNET: IEEE 802.3 Ethernet, the only link type the readers accept for packets.</summary>
    Ethernet = 1,
    /// <summary>LINKTYPE_RAW: raw IPv4 or IPv6.</summary>
    Raw = 101,
    /// <summary>LINKTYPE_LINUX_SLL: Linux "cooked" capture.</summary>
    LinuxCooked = 113,
    /// <summary>LINKTYPE_LINUX_SLL2: Linux "cooked" capture v2.</summary>
    LinuxCooked2 = 276,
}

/// <summary>One packet read from a capture file.</summary>
/// <param name="Index">The packet's position among the packets of the file (0, 1, ...).</param>
/// <param name="FileOffset">The byte offset of its record (pcap) or block (pcapng) in the file.</param>
/// <param name="TimestampNanoseconds">The capture time in nanoseconds since the Unix epoch (0 when the format has none, as in pcapng simple packets).</param>
/// <param name="OriginalLength">The packet's length on the wire (at least <c>Data.Length</c> unless the file says otherwise).</param>
/// <param name="InterfaceId">For pcapng: the interface it was captured on (per section); 0 for pcap.</param>
/// <param name="Data">The captured bytes (from the link-layer header). The array belongs to the caller.</param>
public sealed record CapturePacket(long Index, long FileOffset, long TimestampNanoseconds, int OriginalLength, int InterfaceId, byte[] Data)
{
    /// <summary>The capture time.</summary>
    public DateTimeOffset Timestamp => DateTimeOffset.UnixEpoch.AddTicks(TimestampNanoseconds / 100);
}
