using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace SharpBpf.Capture;

/// <summary>
/// A streaming reader of packet capture files: classic pcap (<see cref="PcapReader"/>) or pcapng
/// (<see cref="PcapNgReader"/>), chosen by <see cref="Open(Stream, bool)"/> from the file's magic number.
/// </summary>
/// <remarks>
/// <para>Our own readers rather than a package: no NuGet package reads both formats well on .NET 10 without the
/// native libpcap, and these are small enough to check completely.</para>
/// <para>Readers hold at most one record or block in memory (bounded by <see cref="MaxPacketLength"/> and
/// <see cref="MaxBlockLength"/>), whatever the file's size, and need no seeking, so they read pipes as well as files.
/// Every malformed input (a truncated header or record, an absurd length, an unknown magic, a link type other than
/// Ethernet for a packet) raises <see cref="CaptureFormatException"/> with the offset of the offending structure;
/// no other exception comes from the bytes of the file.</para>
/// </remarks>
public abstract class CaptureReader : IDisposable
{
    /// <summary>The largest packet accepted (libpcap's MAXIMUM_SNAPLEN).</summary>
    public const int MaxPacketLength = 262_144;

    /// <summary>The largest pcapng block accepted (libpcap's limit, 16 MiB).</summary>
    public const int MaxBlockLength = 16 * 1024 * 1024;

    private readonly CaptureInput _input;
    private long _packets;

    private protected CaptureReader(CaptureInput input) => _input = input;

    /// <summary>The number of bytes of the file consumed so far.</summary>
    public long Position => _input.Position;

    /// <summary>The number of packets returned so far.</summary>
    public long PacketsRead => _packets;

    private protected CaptureInput Input => _input;

    /// <summary>Opens a capture of either format, detected from its first four bytes.</summary>
    /// <param name="stream">The file's bytes; read sequentially.</param>
    /// <param name="leaveOpen">Whether disposing the reader leaves <paramref name="stream"/> open.</param>
    /// <exception cref="CaptureFormatException">The stream is empty, truncated, or neither pcap nor pcapng.</exception>
    public static CaptureReader Open(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var input = new CaptureInput(stream, leaveOpen);
        try
        {
            Span<byte> magic = stackalloc byte[4];
            if (!input.TryReadExactly(magic, "magic number"))
            {
                throw new CaptureFormatException("the file is empty; a capture starts with a pcap or pcapng magic number", 0);
            }

            uint little = BinaryPrimitives.ReadUInt32LittleEndian(magic);
            input.Unread(magic);
            if (PcapReader.IsMagic(little))
            {
                return new PcapReader(input);
            }

            if (little == PcapNgReader.SectionHeaderBlockType)
            {
                return new PcapNgReader(input);
            }

            throw new CaptureFormatException($"magic number {Convert.ToHexStringLower(magic)} is neither pcap (a1b2c3d4, a1b23c4d) nor pcapng (0a0d0d0a)", 0);
        }
        catch
        {
            input.Dispose();
            throw;
        }
    }

    /// <summary>Opens a capture file of either format.</summary>
    /// <exception cref="CaptureFormatException">The file is empty, truncated, or neither pcap nor pcapng.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static CaptureReader Open(string path) =>
        Open(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.SequentialScan));

    /// <summary>Reads the next packet; false at the end of the file.</summary>
    /// <exception cref="CaptureFormatException">The file is malformed at this point.</exception>
    public bool TryRead([NotNullWhen(true)] out CapturePacket? packet)
    {
        if (!TryReadCore(out packet))
        {
            return false;
        }

        _packets++;
        return true;
    }

    /// <summary>The remaining packets, read as the enumeration advances.</summary>
    public IEnumerable<CapturePacket> ReadAll()
    {
        while (TryRead(out var packet))
        {
            yield return packet;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the stream unless it was to be left open.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _input.Dispose();
        }
    }

    /// <summary>Reads the next packet (the index is <see cref="PacketsRead"/>).</summary>
    private protected abstract bool TryReadCore([NotNullWhen(true)] out CapturePacket? packet);
}

/// <summary>Sequential reads over a stream with the file offset, clean end-of-file detection and one pushed-back prefix.</summary>
internal sealed class CaptureInput(Stream stream, bool leaveOpen) : IDisposable
{
    private byte[] _pushedBack = [];
    private int _pushedBackStart;

    public long Position { get; private set; }

    /// <summary>Gives back bytes just read, to be read again (used once, for the magic number).</summary>
    public void Unread(ReadOnlySpan<byte> bytes)
    {
        _pushedBack = bytes.ToArray();
        _pushedBackStart = 0;
        Position -= bytes.Length;
    }

    /// <summary>Fills <paramref name="buffer"/>; false when the file ended before its first byte, an error when it ended inside.</summary>
    public bool TryReadExactly(Span<byte> buffer, string what)
    {
        long start = Position;
        int filled = 0;
        while (filled < buffer.Length)
        {
            int n = ReadSome(buffer[filled..]);
            if (n == 0)
            {
                if (filled == 0)
                {
                    return false;
                }

                throw new CaptureFormatException($"the file ends inside the {what}: {filled} of {buffer.Length} bytes", start);
            }

            filled += n;
        }

        return true;
    }

    /// <summary>Fills <paramref name="buffer"/>; the file must not end before.</summary>
    public void ReadExactly(Span<byte> buffer, string what)
    {
        long start = Position;
        if (!TryReadExactly(buffer, what) && buffer.Length > 0)
        {
            throw new CaptureFormatException($"the file ends before the {what} ({buffer.Length} bytes)", start);
        }
    }

    /// <summary>Skips <paramref name="count"/> bytes; the file must not end before.</summary>
    public void Skip(long count, string what)
    {
        long start = Position;
        Span<byte> scratch = stackalloc byte[4096];
        long left = count;
        while (left > 0)
        {
            int n = ReadSome(scratch[..(int)Math.Min(left, scratch.Length)]);
            if (n == 0)
            {
                throw new CaptureFormatException($"the file ends inside the {what}: {count - left} of {count} bytes", start);
            }

            left -= n;
        }
    }

    public void Dispose()
    {
        if (!leaveOpen)
        {
            stream.Dispose();
        }
    }

    private int ReadSome(Span<byte> buffer)
    {
        int n;
        if (_pushedBackStart < _pushedBack.Length)
        {
            n = Math.Min(buffer.Length, _pushedBack.Length - _pushedBackStart);
            _pushedBack.AsSpan(_pushedBackStart, n).CopyTo(buffer);
            _pushedBackStart += n;
        }
        else
        {
            n = stream.Read(buffer);
        }

        Position += n;
        return n;
    }
}
