using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace SharpBpf.Capture;

/// <summary>
/// Reads pcapng files: section header, interface description, enhanced packet and simple packet blocks, any number
/// of sections (each with its own byte order) and interfaces; other blocks and options are skipped, except the
/// interfaces' timestamp resolution and offset, which timestamps need. Packets must come from Ethernet interfaces.
/// Open it with <see cref="CaptureReader.Open(Stream, bool)"/>.
/// </summary>
public sealed class PcapNgReader : CaptureReader
{
    /// <summary>The block type of a section header block (also the file's magic number).</summary>
    public const uint SectionHeaderBlockType = 0x0a0d0d0a;

    /// <summary>The block type of an interface description block.</summary>
    public const uint InterfaceDescriptionBlockType = 1;

    /// <summary>The block type of a simple packet block.</summary>
    public const uint SimplePacketBlockType = 3;

    /// <summary>The block type of an enhanced packet block.</summary>
    public const uint EnhancedPacketBlockType = 6;

    /// <summary>The byte-order magic of a section header block.</summary>
    public const uint ByteOrderMagic = 0x1a2b3c4d;

    private const int OptionTimestampResolution = 9;
    private const int OptionTimestampOffset = 14;

    private readonly List<Interface> _interfaces = [];
    private bool _bigEndian;
    private bool _inSection;

    internal PcapNgReader(CaptureInput input) : base(input)
    {
    }

    /// <summary>The number of sections seen so far.</summary>
    public int Sections { get; private set; }

    /// <summary>The link types of the current section's interfaces, by interface id.</summary>
    public IReadOnlyList<LinkType> InterfaceLinkTypes => _interfaces.ConvertAll(i => i.LinkType);

    /// <inheritdoc/>
    private protected override bool TryReadCore([NotNullWhen(true)] out CapturePacket? packet)
    {
        Span<byte> header = stackalloc byte[8];
        Span<byte> magic = stackalloc byte[4];
        Span<byte> trailer = stackalloc byte[4];
        while (true)
        {
            packet = null;
            long offset = Input.Position;
            if (!Input.TryReadExactly(header, "block header"))
            {
                if (!_inSection)
                {
                    throw new CaptureFormatException("the file has no section header block", offset);
                }

                return false;
            }

            uint type = BinaryPrimitives.ReadUInt32LittleEndian(header); // the section header's type reads the same both ways
            int consumed = 8;
            if (type == SectionHeaderBlockType)
            {
                Input.ReadExactly(magic, "section header byte-order magic");
                consumed += 4;
                if (BinaryPrimitives.ReadUInt32LittleEndian(magic) == ByteOrderMagic)
                {
                    _bigEndian = false;
                }
                else if (BinaryPrimitives.ReadUInt32BigEndian(magic) == ByteOrderMagic)
                {
                    _bigEndian = true;
                }
                else
                {
                    throw new CaptureFormatException($"section header byte-order magic {Convert.ToHexStringLower(magic)} is not 1a2b3c4d in either byte order", offset + 8);
                }
            }
            else
            {
                type = U32(header);
                if (!_inSection)
                {
                    throw new CaptureFormatException($"block type 0x{type:x} comes before the first section header block", offset);
                }
            }

            uint total = U32(header[4..]);
            if (total < 12 || total % 4 != 0 || total > MaxBlockLength || (type == SectionHeaderBlockType && total < 28))
            {
                throw new CaptureFormatException($"block type 0x{type:x} has total length {total}; it must be a multiple of 4 from {(type == SectionHeaderBlockType ? 28 : 12)} to {MaxBlockLength}", offset + 4);
            }

            int bodyLength = (int)total - 4 - consumed;
            bool wanted = type is SectionHeaderBlockType or InterfaceDescriptionBlockType or EnhancedPacketBlockType or SimplePacketBlockType;
            byte[]? body = null;
            if (wanted)
            {
                body = new byte[bodyLength];
                Input.ReadExactly(body, $"body of block type 0x{type:x} ({bodyLength} bytes)");
            }
            else
            {
                Input.Skip(bodyLength, $"body of block type 0x{type:x}");
            }

            Input.ReadExactly(trailer, "block trailing length");
            if (U32(trailer) != total)
            {
                throw new CaptureFormatException($"block type 0x{type:x} ends with length {U32(trailer)} but began with {total}", Input.Position - 4);
            }

            switch (type)
            {
                case SectionHeaderBlockType:
                    ReadSectionHeader(body!, offset);
                    break;
                case InterfaceDescriptionBlockType:
                    ReadInterface(body!, offset);
                    break;
                case EnhancedPacketBlockType:
                    packet = ReadEnhancedPacket(body!, offset);
                    return true;
                case SimplePacketBlockType:
                    packet = ReadSimplePacket(body!, offset);
                    return true;
            }
        }
    }

    private void ReadSectionHeader(byte[] body, long offset)
    {
        // body: (byte-order magic already consumed) major u16, minor u16, section length i64, options.
        if (body.Length < 12)
        {
            throw new CaptureFormatException("section header block is too short", offset);
        }

        int major = U16(body);
        if (major != 1)
        {
            throw new CaptureFormatException($"pcapng version {major}.{U16(body.AsSpan(2))} is not supported (only 1.x)", offset + 12);
        }

        _interfaces.Clear();
        _inSection = true;
        Sections++;
    }

    private void ReadInterface(byte[] body, long offset)
    {
        if (body.Length < 8)
        {
            throw new CaptureFormatException($"interface description block has a {body.Length}-byte body; it needs 8", offset);
        }

        var linkType = (LinkType)U16(body);
        uint snapLength = U32(body.AsSpan(4));
        long unitsPerSecond = 1_000_000;
        bool binary = false;
        int binaryExponent = 0;
        long offsetSeconds = 0;
        foreach (var (code, value, at) in Options(body, 8, offset))
        {
            if (code == OptionTimestampResolution && value.Length >= 1)
            {
                byte resolution = value[0];
                if ((resolution & 0x80) == 0)
                {
                    if (resolution > 18)
                    {
                        throw new CaptureFormatException($"timestamp resolution 10^-{resolution} is beyond what 64 bits hold", at);
                    }

                    unitsPerSecond = (long)Math.Pow(10, resolution);
                }
                else
                {
                    binaryExponent = resolution & 0x7f;
                    if (binaryExponent > 62)
                    {
                        throw new CaptureFormatException($"timestamp resolution 2^-{binaryExponent} is beyond what 64 bits hold", at);
                    }

                    binary = true;
                }
            }
            else if (code == OptionTimestampOffset && value.Length >= 8)
            {
                offsetSeconds = (long)U64(value);
            }
        }

        _interfaces.Add(new Interface(linkType, snapLength, binary ? 1L << binaryExponent : unitsPerSecond, offsetSeconds));
    }

    private CapturePacket ReadEnhancedPacket(byte[] body, long offset)
    {
        if (body.Length < 20)
        {
            throw new CaptureFormatException($"enhanced packet block has a {body.Length}-byte body; it needs 20", offset);
        }

        uint interfaceId = U32(body);
        var port = Port(interfaceId, offset);
        ulong units = ((ulong)U32(body.AsSpan(4)) << 32) | U32(body.AsSpan(8));
        uint captured = U32(body.AsSpan(12));
        uint original = U32(body.AsSpan(16));
        if (captured > MaxPacketLength || captured > body.Length - 20)
        {
            throw new CaptureFormatException($"enhanced packet block claims {captured} captured bytes; its body holds {body.Length - 20}", offset + 20);
        }

        return new CapturePacket(PacketsRead, offset, port.Nanoseconds(units), Clamp(original), (int)interfaceId, body.AsSpan(20, (int)captured).ToArray());
    }

    private CapturePacket ReadSimplePacket(byte[] body, long offset)
    {
        if (body.Length < 4)
        {
            throw new CaptureFormatException($"simple packet block has a {body.Length}-byte body; it needs 4", offset);
        }

        var port = Port(0, offset);
        uint original = U32(body);
        long captured = Math.Min(original, body.Length - 4);
        if (port.SnapLength != 0)
        {
            captured = Math.Min(captured, port.SnapLength);
        }

        if (captured > MaxPacketLength)
        {
            throw new CaptureFormatException($"simple packet block holds {captured} bytes, more than the {MaxPacketLength} a packet may have", offset);
        }

        return new CapturePacket(PacketsRead, offset, 0, Clamp(original), 0, body.AsSpan(4, (int)captured).ToArray());
    }

    private Interface Port(uint interfaceId, long offset)
    {
        if (interfaceId >= (uint)_interfaces.Count)
        {
            throw new CaptureFormatException($"packet on interface {interfaceId}, but the section describes {_interfaces.Count} interface(s)", offset + 8);
        }

        var port = _interfaces[(int)interfaceId];
        if (port.LinkType != LinkType.Ethernet)
        {
            throw new CaptureFormatException($"packet on interface {interfaceId} of link type {(int)port.LinkType} ({port.LinkType}); only Ethernet (1) frames can be run", offset);
        }

        return port;
    }

    // (code, value, file offset) of each option from body[start..], up to opt_endofopt or the end of the body.
    private List<(int Code, byte[] Value, long Offset)> Options(byte[] body, int start, long blockOffset)
    {
        var options = new List<(int, byte[], long)>();
        int at = start;
        while (at + 4 <= body.Length)
        {
            int code = U16(body.AsSpan(at));
            int length = U16(body.AsSpan(at + 2));
            long fileOffset = blockOffset + 8 + at;
            if (code == 0)
            {
                break;
            }

            int padded = (length + 3) & ~3;
            if (at + 4 + padded > body.Length)
            {
                throw new CaptureFormatException($"option {code} claims {length} bytes, past the end of its block", fileOffset);
            }

            options.Add((code, body.AsSpan(at + 4, length).ToArray(), fileOffset));
            at += 4 + padded;
        }

        return options;
    }

    private static int Clamp(uint value) => value > int.MaxValue ? int.MaxValue : (int)value;

    private int U16(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b);

    private uint U32(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);

    private ulong U64(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b);

    private sealed record Interface(LinkType LinkType, uint SnapLength, long UnitsPerSecond, long OffsetSeconds)
    {
        // Saturates rather than wraps: a timestamp past year 2262 is not worth an exception.
        public long Nanoseconds(ulong units)
        {
            UInt128 ns = (UInt128)units * 1_000_000_000UL / (ulong)UnitsPerSecond;
            Int128 total = (Int128)ns + (Int128)OffsetSeconds * 1_000_000_000L;
            return total > long.MaxValue ? long.MaxValue : total < long.MinValue ? long.MinValue : (long)total;
        }
    }
}
