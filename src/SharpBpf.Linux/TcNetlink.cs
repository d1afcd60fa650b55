using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using SharpBpf.Linux.Interop;
using System.Text;

namespace SharpBpf.Linux;

/// <summary>
/// tc through rtnetlink, for kernels without tcx links (before 6.6): a <c>clsact</c> qdisc on the device and a
/// direct-action <c>bpf</c> filter holding the program on its ingress or egress hook, as <c>tc filter add ... bpf da</c>
/// and libbpf's <c>bpf_tc_attach</c> do. Written here because no .NET library speaks rtnetlink's tc messages.
/// </summary>
internal static class TcNetlink
{
    private const int AfNetlink = 16, NetlinkRoute = 0;
    private const ushort NlmsgError = 2, RtmNewQdisc = 36, RtmDelQdisc = 37, RtmNewTfilter = 44, RtmDelTfilter = 45;
    private const ushort FlagRequest = 0x1, FlagAck = 0x4, FlagExclusive = 0x200, FlagCreate = 0x400;
    private const ushort TcaKind = 1, TcaOptions = 2, TcaBpfFd = 6, TcaBpfName = 7, TcaBpfFlags = 8, NlaNested = 0x8000;
    private const uint ClsactHandle = 0xFFFF0000, ClsactParent = 0xFFFFFFF1, IngressParent = 0xFFFFFFF2, EgressParent = 0xFFFFFFF3;
    private const uint DirectAction = 1;
    private const ushort EthPAllNetworkOrder = 0x0300; // htons(ETH_P_ALL)
    private const uint FilterHandle = 1, FilterPriority = 1;

    private static int _sequence;

    /// <summary>Adds clsact (unless present) and the filter; returns the action that removes what was added.</summary>
    public static Action Attach(KernelProgram program, int ifindex, bool ingress)
    {
        using var socket = Open();
        bool createdQdisc = Request(socket, RtmNewQdisc, FlagCreate | FlagExclusive, ifindex, ClsactHandle, ClsactParent, 0,
            w => w.String(TcaKind, "clsact"), allowExists: true);
        uint parent = ingress ? IngressParent : EgressParent;
        uint info = (FilterPriority << 16) | EthPAllNetworkOrder;
        using (var lease = new FdLease(program.Handle))
        {
            uint fd = lease.Fd;
            try
            {
                Request(socket, RtmNewTfilter, FlagCreate | FlagExclusive, ifindex, FilterHandle, parent, info, w =>
                {
                    w.String(TcaKind, "bpf");
                    w.Nested(TcaOptions, n =>
                    {
                        n.U32(TcaBpfFd, fd);
                        n.String(TcaBpfName, program.Name.Length > 0 ? program.Name : "sharpbpf");
                        n.U32(TcaBpfFlags, DirectAction);
                    });
                }, allowExists: false);
            }
            catch
            {
                if (createdQdisc)
                {
                    TryRequest(RtmDelQdisc, ifindex, ClsactHandle, ClsactParent, 0, w => w.String(TcaKind, "clsact"));
                }

                throw;
            }
        }

        return () =>
        {
            TryRequest(RtmDelTfilter, ifindex, FilterHandle, parent, info, w => w.String(TcaKind, "bpf"));
            if (createdQdisc)
            {
                TryRequest(RtmDelQdisc, ifindex, ClsactHandle, ClsactParent, 0, w => w.String(TcaKind, "clsact"));
            }
        };
    }

    // .NET's Socket has no AF_NETLINK, so the socket is libc's, closed through a SafeFileHandle.
    private static SafeFileHandle Open()
    {
        const int sockRaw = 3, sockCloexec = 0x80000;
        int fd = Libc.Socket(AfNetlink, sockRaw | sockCloexec, NetlinkRoute);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw new BpfSyscallException("socket", Marshal.GetLastPInvokeError(), "AF_NETLINK");
    }

    private static unsafe void Send(SafeFileHandle socket, byte[] message)
    {
        fixed (byte* data = message)
        {
            if (Libc.Send((int)socket.DangerousGetHandle(), data, message.Length, 0) != message.Length)
            {
                throw new BpfSyscallException("send", Marshal.GetLastPInvokeError(), "rtnetlink");
            }
        }
    }

    private static unsafe int Receive(SafeFileHandle socket, byte[] buffer)
    {
        fixed (byte* data = buffer)
        {
            nint received = Libc.Receive((int)socket.DangerousGetHandle(), data, buffer.Length, 0);
            return received >= 0 ? (int)received : throw new BpfSyscallException("recv", Marshal.GetLastPInvokeError(), "rtnetlink");
        }
    }

    private static void TryRequest(ushort type, int ifindex, uint handle, uint parent, uint info, Action<AttributeWriter> attributes)
    {
        try
        {
            using var socket = Open();
            Request(socket, type, 0, ifindex, handle, parent, info, attributes, allowExists: false);
        }
        catch (BpfException)
        {
            // Already gone (the device was deleted, or someone removed it): nothing left to undo.
        }
    }

    // Sends one tc message and waits for the kernel's acknowledgement; returns false when EEXIST was allowed and seen.
    private static bool Request(SafeFileHandle socket, ushort type, ushort flags, int ifindex, uint handle, uint parent, uint info,
        Action<AttributeWriter> attributes, bool allowExists)
    {
        var writer = new AttributeWriter();
        attributes(writer);
        byte[] body = writer.ToArray();
        int length = 16 + 20 + body.Length;
        var message = new byte[length];
        uint sequence = (uint)Interlocked.Increment(ref _sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(6), (ushort)(FlagRequest | FlagAck | flags));
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), sequence);
        // struct tcmsg: family (AF_UNSPEC) and padding, ifindex, handle, parent, info.
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(20), ifindex);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(24), handle);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(28), parent);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(32), info);
        body.CopyTo(message, 36);
        Send(socket, message);

        var reply = new byte[8192];
        while (true)
        {
            int received = Receive(socket, reply);
            for (int offset = 0; offset + 16 <= received;)
            {
                int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(offset));
                ushort replyType = BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(offset + 4));
                uint replySequence = BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(offset + 8));
                if (size < 16 || offset + size > received)
                {
                    throw new BpfException("rtnetlink: malformed reply");
                }

                if (replyType == NlmsgError && replySequence == sequence && size >= 20)
                {
                    int error = -BinaryPrimitives.ReadInt32LittleEndian(reply.AsSpan(offset + 16));
                    if (error == 0)
                    {
                        return true;
                    }

                    if (allowExists && error == Errno.EEXIST)
                    {
                        return false;
                    }

                    string what = type switch
                    {
                        RtmNewQdisc => "adding the clsact qdisc",
                        RtmNewTfilter => "adding the bpf filter",
                        RtmDelTfilter => "deleting the bpf filter",
                        _ => "deleting the clsact qdisc",
                    };
                    throw new BpfException($"rtnetlink: {what} on ifindex {ifindex} failed with {Errno.NameOf(error)}");
                }

                offset += (size + 3) & ~3;
            }
        }
    }

    /// <summary>Netlink attributes (struct nlattr: length, type, value padded to 4 bytes).</summary>
    private sealed class AttributeWriter
    {
        private readonly ArrayBufferWriter<byte> _bytes = new();

        public void U32(ushort type, uint value)
        {
            Span<byte> data = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(data, value);
            Put(type, data);
        }

        public void String(ushort type, string value) => Put(type, Encoding.ASCII.GetBytes(value + "\0"));

        public void Nested(ushort type, Action<AttributeWriter> build)
        {
            var inner = new AttributeWriter();
            build(inner);
            Put((ushort)(type | NlaNested), inner.ToArray());
        }

        public byte[] ToArray() => _bytes.WrittenSpan.ToArray();

        private void Put(ushort type, ReadOnlySpan<byte> value)
        {
            Span<byte> header = stackalloc byte[4];
            BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)(4 + value.Length));
            BinaryPrimitives.WriteUInt16LittleEndian(header[2..], type);
            _bytes.Write(header);
            _bytes.Write(value);
            _bytes.Write(new byte[(4 - (value.Length & 3)) & 3]);
        }
    }
}
