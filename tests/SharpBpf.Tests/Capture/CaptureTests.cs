using System.Buffers.Binary;
using SharpBpf.Capture;
using SharpBpf.Testing;

namespace SharpBpf.Tests.Capture;

/// <summary>pcap and pcapng reading and pcap writing: the project's capture, hand-built files of every variant, damage.</summary>
public class CaptureTests
{
    private static string TrafficPath => Path.Combine(SharedData.RepositoryRoot, "bpf", "pcap", "traffic.pcap");

    [Fact]
    public void ReadsTheProjectCaptureAsItsGeneratorDescribesIt()
    {
        var lengths = File.ReadAllLines(Path.Combine(SharedData.RepositoryRoot, "bpf", "pcap", "traffic.csv")).Skip(1)
            .Select(l => int.Parse(l.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        using var reader = CaptureReader.Open(TrafficPath);
        var pcap = Assert.IsType<PcapReader>(reader);
        var packets = reader.ReadAll().ToList();
        Assert.Equal(lengths, packets.Select(p => p.Data.Length));
        Assert.All(packets, p => Assert.Equal(p.Data.Length, p.OriginalLength));
        Assert.Equal(Enumerable.Range(0, packets.Count).Select(i => (long)i), packets.Select(p => p.Index));
        Assert.InRange(packets[0].Timestamp, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 1, 1, 0, 0, 1, TimeSpan.Zero));
        Assert.True(packets.Zip(packets.Skip(1)).All(p => p.First.TimestampNanoseconds <= p.Second.TimestampNanoseconds));
        Assert.Equal(24, packets[0].FileOffset);
        Assert.False(pcap.IsBigEndian);
        Assert.False(pcap.HasNanosecondTimestamps);
        Assert.Equal(65535u, pcap.SnapLength);
        Assert.Equal(new FileInfo(TrafficPath).Length, reader.Position);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WriterRoundTripsPacketsTimestampsAndLengths(bool nanoseconds)
    {
        var stream = new MemoryStream();
        using (var writer = new PcapWriter(stream, snapLength: 100, nanosecondTimestamps: nanoseconds, leaveOpen: true))
        {
            writer.Write([1, 2, 3], 1_700_000_000_123_456_789);
            writer.Write(new byte[150], 5, originalLength: 9000);
            writer.Write([], 0);
            Assert.Equal(3, writer.PacketsWritten);
        }

        stream.Position = 0;
        using var reader = CaptureReader.Open(stream);
        var packets = reader.ReadAll().ToList();
        Assert.Equal(3, packets.Count);
        Assert.Equal([1, 2, 3], packets[0].Data);
        Assert.Equal(nanoseconds ? 1_700_000_000_123_456_789 : 1_700_000_000_123_456_000, packets[0].TimestampNanoseconds);
        Assert.Equal(100, packets[1].Data.Length); // cut to the snap length
        Assert.Equal(9000, packets[1].OriginalLength);
        Assert.Equal(nanoseconds ? 5 : 0, packets[1].TimestampNanoseconds);
        Assert.Empty(packets[2].Data);
        Assert.Equal(nanoseconds, ((PcapReader)reader).HasNanosecondTimestamps);
    }

    [Fact]
    public void WriterCopiesTheProjectCaptureByteForByte()
    {
        var original = File.ReadAllBytes(TrafficPath);
        var copy = new MemoryStream();
        using (var reader = CaptureReader.Open(new MemoryStream(original)))
        using (var writer = new PcapWriter(copy, leaveOpen: true))
        {
            foreach (var packet in reader.ReadAll())
            {
                writer.Write(packet);
            }
        }

        Assert.Equal(original, copy.ToArray());
    }

    [Theory]
    [InlineData(0xa1b2c3d4u, true, 1_000u)]
    [InlineData(0xa1b23c4du, true, 1u)]
    [InlineData(0xa1b2c3d4u, false, 1_000u)]
    [InlineData(0xa1b23c4du, false, 1u)]
    public void ReadsBothByteOrdersAndResolutions(uint magic, bool bigEndian, uint nanosecondsPerUnit)
    {
        var file = new List<byte>();
        file.AddRange(U32(magic, bigEndian));
        file.AddRange(U16(2, bigEndian));
        file.AddRange(U16(4, bigEndian));
        file.AddRange(new byte[8]);
        file.AddRange(U32(262144, bigEndian));
        file.AddRange(U32(1, bigEndian));
        file.AddRange(U32(10, bigEndian));      // seconds
        file.AddRange(U32(250, bigEndian));     // fraction
        file.AddRange(U32(4, bigEndian));       // captured
        file.AddRange(U32(60, bigEndian));      // original
        file.AddRange(new byte[] { 9, 8, 7, 6 });
        using var reader = CaptureReader.Open(new MemoryStream([.. file]));
        var packet = Assert.Single(reader.ReadAll());
        Assert.Equal(new byte[] { 9, 8, 7, 6 }, packet.Data);
        Assert.Equal(10_000_000_000L + (250L * nanosecondsPerUnit), packet.TimestampNanoseconds);
        Assert.Equal(60, packet.OriginalLength);
        Assert.Equal(bigEndian, ((PcapReader)reader).IsBigEndian);
    }

    [Fact]
    public void ReadsPcapNgSectionsInterfacesAndBlocks()
    {
        var file = new List<byte>();
        // Section 1, little-endian: an Ethernet interface with nanosecond timestamps (if_tsresol 9) and a comment option.
        file.AddRange(Shb(bigEndian: false));
        file.AddRange(Idb(false, 1, 0, Option(false, 1, "eth0 comment"u8.ToArray()), Option(false, 9, [9]), EndOfOptions(false)));
        file.AddRange(Epb(false, 0, 1_700_000_000_000_000_001UL, [1, 2, 3, 4, 5], 60, Option(false, 1, "hi"u8.ToArray()), EndOfOptions(false)));
        file.AddRange(Block(false, 0x0bad, new byte[12]));                // an unknown block: skipped
        file.AddRange(Block(false, 5, new byte[20]));                     // interface statistics: skipped
        file.AddRange(Spb(false, 6, [7, 7, 7, 7, 7, 7]));
        // Section 2, big-endian: two interfaces, the default microseconds and binary 2^-10 seconds with a 100 s offset.
        file.AddRange(Shb(bigEndian: true));
        file.AddRange(Idb(true, 1, 0));
        file.AddRange(Idb(true, 1, 3, Option(true, 9, [0x8a]), Option(true, 14, U64(100, true)), EndOfOptions(true)));
        file.AddRange(Epb(true, 1, 2048, [0xaa, 0xbb], 2));
        file.AddRange(Epb(true, 0, 5, [0xcc], 1));
        file.AddRange(Spb(true, 3, [1, 2, 3]));                            // interface 0 has no snap length limit here

        using var reader = CaptureReader.Open(new MemoryStream([.. file]));
        var ng = Assert.IsType<PcapNgReader>(reader);
        var packets = reader.ReadAll().ToList();
        Assert.Equal(2, ng.Sections);
        Assert.Equal(5, packets.Count);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, packets[0].Data);
        Assert.Equal(1_700_000_000_000_000_001L, packets[0].TimestampNanoseconds);
        Assert.Equal(60, packets[0].OriginalLength);
        Assert.Equal(new byte[] { 7, 7, 7, 7, 7, 7 }, packets[1].Data);
        Assert.Equal(0, packets[1].TimestampNanoseconds);
        Assert.Equal(1, packets[2].InterfaceId);
        Assert.Equal(new byte[] { 0xaa, 0xbb }, packets[2].Data);
        Assert.Equal((2048L * 1_000_000_000 / 1024) + 100_000_000_000L, packets[2].TimestampNanoseconds); // 2 s + the 100 s offset
        Assert.Equal(5_000L, packets[3].TimestampNanoseconds);
        Assert.Equal(new byte[] { 1, 2, 3 }, packets[4].Data); // SPB: the original length, without the block's padding
        Assert.Equal(3, packets[4].OriginalLength);
        Assert.Equal([0L, 1, 2, 3, 4], packets.Select(p => p.Index));
    }

    [Fact]
    public void SimplePacketsAreCutToTheSnapLength()
    {
        var file = new List<byte>();
        file.AddRange(Shb(false));
        file.AddRange(Idb(false, 1, 4));
        file.AddRange(Spb(false, 8, [1, 2, 3, 4, 5, 6, 7, 8]));
        using var reader = CaptureReader.Open(new MemoryStream([.. file]));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, Assert.Single(reader.ReadAll()).Data);
    }

    [Fact]
    public void OtherLinkTypesAreClearErrors()
    {
        var pcap = File.ReadAllBytes(TrafficPath)[..24];
        pcap[20] = 113; // LINKTYPE_LINUX_SLL
        var e = Assert.Throws<CaptureFormatException>(() => CaptureReader.Open(new MemoryStream(pcap)));
        Assert.Equal(20, e.Offset);
        Assert.Contains("link type 113 (LinuxCooked) is not supported; only Ethernet (1)", e.Message);

        var ng = new List<byte>();
        ng.AddRange(Shb(false));
        ng.AddRange(Idb(false, 1, 0));
        ng.AddRange(Idb(false, 101, 0));
        ng.AddRange(Epb(false, 0, 1, [1], 1));
        ng.AddRange(Epb(false, 1, 1, [1], 1));
        using var reader = CaptureReader.Open(new MemoryStream([.. ng]));
        Assert.True(reader.TryRead(out _));
        var e2 = Assert.Throws<CaptureFormatException>(() => reader.TryRead(out _));
        Assert.Contains("link type 101 (Raw)", e2.Message);
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("unknown-magic")]
    [InlineData("pcap-version")]
    [InlineData("pcap-absurd-length")]
    [InlineData("pcapng-block-length")]
    [InlineData("pcapng-unaligned-length")]
    [InlineData("pcapng-trailer-mismatch")]
    [InlineData("pcapng-byte-order")]
    [InlineData("pcapng-no-interface")]
    [InlineData("pcapng-epb-overrun")]
    [InlineData("pcapng-option-overrun")]
    [InlineData("pcapng-block-before-section")]
    public void MalformedFilesRaiseCaptureFormatExceptionWithTheOffset(string kind)
    {
        var valid = File.ReadAllBytes(TrafficPath)[..(24 + 16 + 95)];
        byte[] file;
        long offset;
        switch (kind)
        {
            case "empty": file = []; offset = 0; break;
            case "unknown-magic": file = [1, 2, 3, 4, 5, 6, 7, 8]; offset = 0; break;
            case "pcap-version": file = (byte[])valid.Clone(); file[4] = 1; offset = 4; break;
            case "pcap-absurd-length":
                file = (byte[])valid.Clone();
                BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(24 + 8), 0xffff_fff0);
                offset = 24;
                break;
            case "pcapng-block-length":
                file = [.. Shb(false), .. U32(1, false), .. U32(0x7fff_fff0, false)];
                offset = 28 + 4;
                break;
            case "pcapng-unaligned-length":
                file = [.. Shb(false), .. U32(1, false), .. U32(22, false), .. new byte[16]];
                offset = 28 + 4;
                break;
            case "pcapng-trailer-mismatch":
                file = [.. Shb(false), .. Idb(false, 1, 0)];
                file[^1] = 0x7f;
                offset = file.Length - 4;
                break;
            case "pcapng-byte-order":
                file = [.. Shb(false)];
                file[8] = 0x11;
                offset = 8;
                break;
            case "pcapng-no-interface":
                file = [.. Shb(false), .. Epb(false, 0, 1, [1], 1)];
                offset = 28 + 8;
                break;
            case "pcapng-epb-overrun":
            {
                file = [.. Shb(false), .. Idb(false, 1, 0), .. Epb(false, 0, 1, [1, 2, 3, 4], 4)];
                int epb = 28 + 20;
                BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(epb + 8 + 12), 5000); // captured length
                offset = epb + 20;
                break;
            }

            case "pcapng-option-overrun":
                file = [.. Shb(false), .. Idb(false, 1, 0, Option(false, 9, [6]))];
                BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(28 + 16 + 2), 200);
                offset = 28 + 16;
                break;
            case "pcapng-block-before-section":
                file = [.. Shb(false)];
                file[0] = 1; // now an interface block, before any section header... and not a capture magic
                offset = 0;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }

        var e = Assert.Throws<CaptureFormatException>(() =>
        {
            using var reader = CaptureReader.Open(new MemoryStream(file));
            _ = reader.ReadAll().ToList();
        });
        Assert.Equal(offset, e.Offset);
        Assert.StartsWith($"capture offset {offset}: ", e.Message);
    }

    [Fact]
    public void EveryTruncationIsACleanEndOrACaptureFormatException()
    {
        foreach (var file in SampleFiles())
        {
            int complete = Count(file);
            for (int length = 0; length < file.Length; length++)
            {
                try
                {
                    int read = Count(file[..length]);
                    Assert.True(read < complete, $"a {length}-byte prefix read {read} packets");
                }
                catch (CaptureFormatException e)
                {
                    Assert.InRange(e.Offset, 0, length);
                }
            }
        }
    }

    [Fact]
    public void RandomDamageRaisesNothingButCaptureFormatException()
    {
        var random = new Random(20261125);
        var samples = SampleFiles().ToList();
        for (int i = 0; i < 3000; i++)
        {
            var file = (byte[])samples[i % samples.Count].Clone();
            int flips = random.Next(1, 6);
            for (int f = 0; f < flips; f++)
            {
                int at = random.Next(file.Length);
                file[at] = random.Next(3) switch { 0 => (byte)random.Next(256), 1 => 0xff, _ => 0 };
            }

            if (random.Next(4) == 0)
            {
                file = file[..random.Next(file.Length)];
            }

            try
            {
                Count(file);
            }
            catch (CaptureFormatException)
            {
                // the only exception malformed input may raise
            }
        }
    }

    [Fact]
    public void ReadsAStreamThatCannotSeekOneByteAtATimeWithoutReadingAhead()
    {
        // A capture of a billion packets generated on demand: the reader must hand out the first ones at once.
        using var source = new GeneratedCapture(packets: 1_000_000_000);
        using var reader = CaptureReader.Open(source);
        var first = reader.ReadAll().Take(1000).ToList();
        Assert.Equal(1000, first.Count);
        Assert.All(first, p => Assert.Equal((byte)p.Index, p.Data[0]));
        Assert.Equal(24 + (1000 * (16 + 64)), source.BytesRead);
    }

    private static int Count(byte[] file)
    {
        using var reader = CaptureReader.Open(new MemoryStream(file));
        return reader.ReadAll().Count();
    }

    private static IEnumerable<byte[]> SampleFiles()
    {
        var pcap = new MemoryStream();
        using (var reader = CaptureReader.Open(TrafficPath))
        using (var writer = new PcapWriter(pcap, leaveOpen: true))
        {
            foreach (var packet in reader.ReadAll().Take(6))
            {
                writer.Write(packet);
            }
        }

        yield return pcap.ToArray();
        yield return
        [
            .. Shb(false), .. Idb(false, 1, 0, Option(false, 9, [9]), EndOfOptions(false)), .. Epb(false, 0, 1, [1, 2, 3, 4, 5], 5),
            .. Spb(false, 3, [1, 2, 3]), .. Shb(true), .. Idb(true, 1, 0), .. Epb(true, 0, 7, [9, 9], 2),
        ];
    }

    // ---------------------------------------------------------------- pcapng blocks, built from the specification

    private static byte[] U16(ushort value, bool bigEndian)
    {
        var b = new byte[2];
        if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(b, value); else BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        return b;
    }

    private static byte[] U32(uint value, bool bigEndian)
    {
        var b = new byte[4];
        if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, value); else BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return b;
    }

    private static byte[] U64(ulong value, bool bigEndian)
    {
        var b = new byte[8];
        if (bigEndian) BinaryPrimitives.WriteUInt64BigEndian(b, value); else BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        return b;
    }

    private static byte[] Padded(byte[] data) => [.. data, .. new byte[(4 - (data.Length % 4)) % 4]];

    private static byte[] Block(bool be, uint type, byte[] body)
    {
        uint total = (uint)(12 + body.Length);
        return [.. U32(type, be), .. U32(total, be), .. body, .. U32(total, be)];
    }

    private static byte[] Option(bool be, ushort code, byte[] value) => [.. U16(code, be), .. U16((ushort)value.Length, be), .. Padded(value)];

    private static byte[] EndOfOptions(bool be) => [.. U16(0, be), .. U16(0, be)];

    private static byte[] Shb(bool bigEndian) =>
        Block(bigEndian, 0x0a0d0d0a, [.. U32(0x1a2b3c4d, bigEndian), .. U16(1, bigEndian), .. U16(0, bigEndian), .. U64(ulong.MaxValue, bigEndian)]);

    private static byte[] Idb(bool be, ushort linkType, uint snapLength, params byte[][] options) =>
        Block(be, 1, [.. U16(linkType, be), .. U16(0, be), .. U32(snapLength, be), .. options.SelectMany(o => o)]);

    private static byte[] Epb(bool be, uint interfaceId, ulong timestamp, byte[] data, uint originalLength, params byte[][] options) =>
        Block(be, 6, [.. U32(interfaceId, be), .. U32((uint)(timestamp >> 32), be), .. U32((uint)timestamp, be), .. U32((uint)data.Length, be),
            .. U32(originalLength, be), .. Padded(data), .. options.SelectMany(o => o)]);

    private static byte[] Spb(bool be, uint originalLength, byte[] data) => Block(be, 3, [.. U32(originalLength, be), .. Padded(data)]);

    /// <summary>A non-seekable stream producing a pcap of 64-byte packets on demand, one byte per read.</summary>
    private sealed class GeneratedCapture(long packets) : Stream
    {
        private long _position;

        public long BytesRead => _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (buffer.IsEmpty || _position >= 24 + (packets * 80))
            {
                return 0;
            }

            buffer[0] = ByteAt(_position++);
            return 1;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private static byte ByteAt(long position)
        {
            if (position < 24)
            {
                byte[] header = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
                return header[position];
            }

            long inRecord = (position - 24) % 80;
            long index = (position - 24) / 80;
            return inRecord switch
            {
                8 or 12 => 64, // captured and original length
                < 16 => 0,
                16 => (byte)index,
                _ => 0x5a,
            };
        }
    }
}
