using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace SharpBpf.Capture;

/// <summary>
/// Reads classic libpcap files: either byte order, microsecond (<c>a1b2c3d4</c>) or nanosecond (<c>a1b23c4d</c>)
/// timestamps, version 2.x, Ethernet link type. Open it with <see cref="CaptureReader.Open(Stream, bool)"/>.
/// </summary>
public sealed class PcapReader : CaptureReader
{
    /// <summary>The magic number of microsecond-resolution files, as written in the file's byte order.</summary>
    public const uint MicrosecondMagic = 0xa1b2c3d4;

    /// <summary>The magic number of nanosecond-resolution files.</summary>
    public const uint NanosecondMagic = 0xa1b23c4d;

    private const int FileHeaderLength = 24;
    private const int RecordHeaderLength = 16;

    private readonly bool _bigEndian;
    private readonly bool _nanoseconds;

    internal PcapReader(CaptureInput input) : base(input)
    {
        Span<byte> header = stackalloc byte[FileHeaderLength];
        input.ReadExactly(header, "pcap file header");
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        _bigEndian = magic is 0xd4c3b2a1 or 0x4d3cb2a1;
        _nanoseconds = magic is NanosecondMagic or 0x4d3cb2a1;
        int major = U16(header[4..]);
        int minor = U16(header[6..]);
        if (major != 2)
        {
            throw new CaptureFormatException($"pcap version {major}.{minor} is not supported (only 2.x)", 4);
        }

        SnapLength = U32(header[16..]);
        uint network = U32(header[20..]);
        LinkType = (LinkType)(int)(network & 0x03ff_ffff);
        if (LinkType != LinkType.Ethernet)
        {
            throw new CaptureFormatException($"link type {(int)LinkType} ({LinkType}) is not supported; only Ethernet (1) frames can be run", 20);
        }
    }

    /// <summary>The file's link type (always <see cref="LinkType.Ethernet"/> once opened).</summary>
    public LinkType LinkType { get; }

    /// <summary>The snapshot length the file declares.</summary>
    public uint SnapLength { get; }

    /// <summary>Whether timestamps are in nanoseconds (else microseconds).</summary>
    public bool HasNanosecondTimestamps => _nanoseconds;

    /// <summary>Whether the file is big-endian.</summary>
    public bool IsBigEndian => _bigEndian;

    internal static bool IsMagic(uint littleEndianMagic) =>
        littleEndianMagic is MicrosecondMagic or NanosecondMagic or 0xd4c3b2a1 or 0x4d3cb2a1;

    /// <inheritdoc/>
    private protected override bool TryReadCore([NotNullWhen(true)] out CapturePacket? packet)
    {
        packet = null;
        long offset = Input.Position;
        Span<byte> header = stackalloc byte[RecordHeaderLength];
        if (!Input.TryReadExactly(header, "pcap record header"))
        {
            return false;
        }

        uint seconds = U32(header);
        uint fraction = U32(header[4..]);
        uint captured = U32(header[8..]);
        uint original = U32(header[12..]);
        if (captured > MaxPacketLength)
        {
            throw new CaptureFormatException($"record of packet {PacketsRead} claims {captured} captured bytes, more than the {MaxPacketLength} a packet may have", offset);
        }

        var data = new byte[captured];
        Input.ReadExactly(data, $"data of packet {PacketsRead} ({captured} bytes)");
        long nanoseconds = seconds * 1_000_000_000L + (_nanoseconds ? fraction : fraction * 1000L);
        int originalLength = original > int.MaxValue ? int.MaxValue : (int)original;
        packet = new CapturePacket(PacketsRead, offset, nanoseconds, originalLength, 0, data);
        return true;
    }

    private int U16(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b);

    private uint U32(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);
}
