using System.Buffers.Binary;
using System.Text;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Contexts;
using SharpBpf.Runtime.Helpers;

namespace SharpBpf.Tests.Runtime.Contexts;

/// <summary>Assembles LLVM-syntax programs, converts them for a context and runs them on the checked interpreter.</summary>
internal static class ContextTestSupport
{
    public static BpfProgram Assemble(string source) => BpfProgram.Create(Assembler.Assemble(source, AssemblySyntax.Llvm));

    public static BpfExecutionContext NewExecutionContext(HelperOptions? options = null, int cpu = 0) =>
        new(KernelHelpers.Register(new HelperTable(), options)) { ProcessorId = cpu };

    /// <summary>Converts the program for the context, runs it once and returns r0.</summary>
    public static ulong Run(ProgramContext context, string source, HelperOptions? options = null)
    {
        var program = new Interpreter(context.ConvertProgram(Assemble(source)));
        return context.Run(program, NewExecutionContext(options));
    }

    /// <summary>Runs a program with no context of interest (r1 = 0) on fresh helpers.</summary>
    public static ulong RunPlain(string source, HelperOptions? options = null, BpfExecutionContext? execution = null)
    {
        var program = new Interpreter(Assemble(source));
        return program.Run(execution ?? NewExecutionContext(options));
    }

    /// <summary>LLVM statements that store <paramref name="text"/> and a NUL at r10 + <paramref name="offset"/> (8-aligned).</summary>
    public static string StoreString(string text, int offset)
    {
        var bytes = Encoding.ASCII.GetBytes(text + "\0");
        var padded = new byte[(bytes.Length + 7) & ~7];
        bytes.CopyTo(padded, 0);
        var lines = new StringBuilder();
        for (int i = 0; i < padded.Length; i += 8)
        {
            ulong chunk = BinaryPrimitives.ReadUInt64LittleEndian(padded.AsSpan(i));
            lines.AppendLine($"r9 = 0x{chunk:x} ll");
            lines.AppendLine($"*(u64 *)(r10 {Signed(offset + i)}) = r9");
        }

        return lines.ToString();
    }

    public static string Signed(int offset) => offset < 0 ? $"- {-offset}" : $"+ {offset}";

    /// <summary>An Ethernet + IPv4 + UDP frame with correct checksums, built by hand.</summary>
    public static byte[] UdpFrame(byte[] payload, uint sourceIp = 0xc0a80001, uint destinationIp = 0xc0a80002, ushort sourcePort = 1234, ushort destinationPort = 53, byte[]? destinationMac = null)
    {
        var frame = new byte[14 + 20 + 8 + payload.Length];
        (destinationMac ?? [0x02, 0, 0, 0, 0, 0x02]).CopyTo(frame, 0);
        new byte[] { 0x02, 0, 0, 0, 0, 0x01 }.CopyTo(frame, 6);
        frame[12] = 0x08;
        frame[13] = 0x00;
        var ip = frame.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload.Length));
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], 0x1234);
        ip[8] = 64;
        ip[9] = 17;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], sourceIp);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], destinationIp);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Ipv4Header(ip));
        var udp = frame.AsSpan(34, 8 + payload.Length);
        BinaryPrimitives.WriteUInt16BigEndian(udp, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload.Length));
        payload.CopyTo(udp[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], InternetChecksum.Udp(ip, udp));
        return frame;
    }
}

/// <summary>RFC 1071 checksums computed from scratch, independent of the VM's checksum code.</summary>
internal static class InternetChecksum
{
    /// <summary>The ones'-complement of the ones'-complement sum of big-endian 16-bit words.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data, uint initial = 0)
    {
        ulong sum = initial;
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            sum += (uint)((data[i] << 8) | data[i + 1]);
        }

        if ((data.Length & 1) != 0)
        {
            sum += (uint)(data[^1] << 8);
        }

        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    /// <summary>The IPv4 header checksum (the checksum field taken as zero).</summary>
    public static ushort Ipv4Header(ReadOnlySpan<byte> header)
    {
        var copy = header.ToArray();
        copy[10] = copy[11] = 0;
        return Compute(copy);
    }

    /// <summary>The UDP checksum over the IPv4 pseudo-header and the datagram (the checksum field taken as zero); 0 becomes 0xffff.</summary>
    public static ushort Udp(ReadOnlySpan<byte> ipHeader, ReadOnlySpan<byte> datagram)
    {
        var pseudo = new byte[12 + datagram.Length];
        ipHeader.Slice(12, 8).CopyTo(pseudo);
        pseudo[9] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)datagram.Length);
        datagram.CopyTo(pseudo.AsSpan(12));
        pseudo[12 + 6] = pseudo[12 + 7] = 0;
        ushort check = Compute(pseudo);
        return check == 0 ? (ushort)0xffff : check;
    }
}
