using System.Buffers.Binary;

namespace SharpBpf.Capture;

/// <summary>Writes a classic little-endian pcap file (v2.4), with microsecond or nanosecond timestamps.</summary>
public sealed class PcapWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly bool _nanoseconds;
    private bool _disposed;

    /// <summary>Writes the file header.</summary>
    /// <param name="stream">Where to write.</param>
    /// <param name="linkType">The link type of every packet.</param>
    /// <param name="snapLength">The snapshot length: longer packets are cut to it (their original length is kept).</param>
    /// <param name="nanosecondTimestamps">Whether to write nanosecond (<c>a1b23c4d</c>) rather than microsecond timestamps.</param>
    /// <param name="leaveOpen">Whether disposing the writer leaves <paramref name="stream"/> open.</param>
    public PcapWriter(Stream stream, LinkType linkType = LinkType.Ethernet, int snapLength = 65535, bool nanosecondTimestamps = false, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(snapLength);
        _stream = stream;
        _leaveOpen = leaveOpen;
        _nanoseconds = nanosecondTimestamps;
        SnapLength = snapLength;
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, nanosecondTimestamps ? PcapReader.NanosecondMagic : PcapReader.MicrosecondMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], (uint)linkType);
        _stream.Write(header);
    }

    /// <summary>The snapshot length.</summary>
    public int SnapLength { get; }

    /// <summary>The number of packets written.</summary>
    public long PacketsWritten { get; private set; }

    /// <summary>Writes one packet.</summary>
    /// <param name="data">The bytes, from the link-layer header.</param>
    /// <param name="timestampNanoseconds">The capture time in nanoseconds since the Unix epoch (not negative).</param>
    /// <param name="originalLength">The length on the wire; the data length when negative.</param>
    public void Write(ReadOnlySpan<byte> data, long timestampNanoseconds, int originalLength = -1)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(timestampNanoseconds);
        int captured = Math.Min(data.Length, SnapLength);
        Span<byte> header = stackalloc byte[16];
        long seconds = timestampNanoseconds / 1_000_000_000L;
        long fraction = timestampNanoseconds % 1_000_000_000L;
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)(_nanoseconds ? fraction : fraction / 1000));
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)captured);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)(originalLength < 0 ? data.Length : Math.Max(originalLength, captured)));
        _stream.Write(header);
        _stream.Write(data[..captured]);
        PacketsWritten++;
    }

    /// <summary>Writes a packet read from another capture, keeping its timestamp and original length.</summary>
    public void Write(CapturePacket packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        Write(packet.Data, Math.Max(0, packet.TimestampNanoseconds), packet.OriginalLength);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stream.Flush();
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }
}
