using System.Buffers.Binary;
using SharpBpf.Runtime.Helpers;

namespace SharpBpf.Runtime.Contexts;

/// <summary>Decides whether a <c>bpf_redirect_map</c> key names a target (the VM has no device or CPU maps).</summary>
/// <param name="mapHandle">The map argument (r1).</param>
/// <param name="key">The key (r2).</param>
public delegate bool RedirectTargetLookup(ulong mapHandle, ulong key);

/// <summary>
/// The packet helpers of XDP, socket filter and tc programs, with the kernel's ids, argument checks and error codes
/// (<c>net/core/filter.c</c>). They act on the <see cref="XdpContext"/> or <see cref="SkbContext"/> the program is
/// running with; a context argument that is not that context, or a helper the program type may not call (the
/// kernel's verifier would refuse the program), is a fault.
/// </summary>
public static class PacketHelpers
{
    /// <summary>bpf_skb_store_bytes(skb, offset, from, len, flags).</summary>
    public const int SkbStoreBytes = 9;

    /// <summary>bpf_l3_csum_replace(skb, offset, from, to, flags).</summary>
    public const int L3CsumReplace = 10;

    /// <summary>bpf_l4_csum_replace(skb, offset, from, to, flags).</summary>
    public const int L4CsumReplace = 11;

    /// <summary>bpf_redirect(ifindex, flags).</summary>
    public const int Redirect = 23;

    /// <summary>bpf_skb_load_bytes(skb, offset, to, len).</summary>
    public const int SkbLoadBytes = 26;

    /// <summary>bpf_csum_diff(from, from_size, to, to_size, seed).</summary>
    public const int CsumDiff = 28;

    /// <summary>bpf_xdp_adjust_head(xdp_md, delta).</summary>
    public const int XdpAdjustHead = 44;

    /// <summary>bpf_redirect_map(map, key, flags).</summary>
    public const int RedirectMap = 51;

    /// <summary>bpf_xdp_adjust_meta(xdp_md, delta).</summary>
    public const int XdpAdjustMeta = 54;

    /// <summary>bpf_xdp_adjust_tail(xdp_md, delta).</summary>
    public const int XdpAdjustTail = 65;

    /// <summary>bpf_skb_load_bytes_relative(skb, offset, to, len, start_header).</summary>
    public const int SkbLoadBytesRelative = 68;

    /// <summary>bpf_xdp_load_bytes(xdp_md, offset, buf, len).</summary>
    public const int XdpLoadBytes = 189;

    /// <summary>bpf_xdp_store_bytes(xdp_md, offset, buf, len).</summary>
    public const int XdpStoreBytes = 190;

    /// <summary>BPF_HDR_START_MAC: offsets of bpf_skb_load_bytes_relative count from the Ethernet header.</summary>
    public const ulong HeaderStartMac = 0;

    /// <summary>BPF_HDR_START_NET: offsets of bpf_skb_load_bytes_relative count from the network header.</summary>
    public const ulong HeaderStartNet = 1;

    /// <summary>BPF_F_RECOMPUTE_CSUM.</summary>
    public const ulong RecomputeChecksumFlag = 1;

    /// <summary>BPF_F_INVALIDATE_HASH.</summary>
    public const ulong InvalidateHashFlag = 2;

    /// <summary>BPF_F_HDR_FIELD_MASK: the field size (0, 2 or 4) in the checksum helpers' flags.</summary>
    public const ulong HeaderFieldMask = 0xf;

    /// <summary>BPF_F_PSEUDO_HDR.</summary>
    public const ulong PseudoHeaderFlag = 1 << 4;

    /// <summary>BPF_F_MARK_MANGLED_0: keep a zero (absent) UDP checksum, and write 0xffff for a computed 0.</summary>
    public const ulong MarkMangled0Flag = 1 << 5;

    /// <summary>BPF_F_MARK_ENFORCE.</summary>
    public const ulong MarkEnforceFlag = 1 << 6;

    /// <summary>BPF_F_IPV6.</summary>
    public const ulong Ipv6Flag = 1 << 7;

    /// <summary>BPF_F_INGRESS.</summary>
    public const ulong IngressFlag = 1;

    /// <summary>BPF_F_BROADCAST.</summary>
    public const ulong BroadcastFlag = 1 << 3;

    /// <summary>BPF_F_EXCLUDE_INGRESS.</summary>
    public const ulong ExcludeIngressFlag = 1 << 4;

    /// <summary>The largest from_size + to_size of bpf_csum_diff up to Linux 6.12 (the kernel's 512-byte scratch area).</summary>
    public const int MaxChecksumDiffBytes = 512;

    /// <summary>
    /// Registers the packet helpers; returns the table. Of the options, <see cref="HelperOptions.RedirectTargets"/>
    /// and <see cref="HelperOptions.ChecksumDiff"/> apply.
    /// </summary>
    public static HelperTable Register(HelperTable table, HelperOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        var redirectTargets = options?.RedirectTargets;
        var csumDiff = options?.ChecksumDiff ?? ChecksumDiffSemantics.Folded16Bit;

        table.Register(XdpAdjustHead, "bpf_xdp_adjust_head", (ctx, r1, r2, _, _, _) =>
            (ulong)ProgramContext.FromHelperArgument<XdpContext>(ctx, r1, "bpf_xdp_adjust_head").AdjustHead((int)r2));

        table.Register(XdpAdjustTail, "bpf_xdp_adjust_tail", (ctx, r1, r2, _, _, _) =>
            (ulong)ProgramContext.FromHelperArgument<XdpContext>(ctx, r1, "bpf_xdp_adjust_tail").AdjustTail((int)r2));

        table.Register(XdpAdjustMeta, "bpf_xdp_adjust_meta", (ctx, r1, r2, _, _, _) =>
            (ulong)ProgramContext.FromHelperArgument<XdpContext>(ctx, r1, "bpf_xdp_adjust_meta").AdjustMeta((int)r2));

        table.Register(Redirect, "bpf_redirect", (ctx, r1, r2, _, _, _) =>
        {
            switch (ProgramContext.CurrentOf(ctx))
            {
                case XdpContext xdp:
                    if (r2 != 0)
                    {
                        return (ulong)XdpAction.Aborted;
                    }

                    xdp.Redirect = new PacketRedirect((uint)r1, 0, 0, 0);
                    return (ulong)XdpAction.Redirect;

                case SkbContext { Kind: SkbProgramKind.TrafficControl } skb:
                    if ((r2 & ~IngressFlag) != 0)
                    {
                        return (ulong)TcAction.Shot;
                    }

                    skb.Redirect = new PacketRedirect((uint)r1, 0, 0, r2);
                    return (ulong)TcAction.Redirect;

                default:
                    throw ProgramContext.HelperFault(ctx, "bpf_redirect: only XDP and tc programs may redirect");
            }
        });

        table.Register(RedirectMap, "bpf_redirect_map", (ctx, r1, r2, r3, _, _) =>
        {
            if (ProgramContext.CurrentOf(ctx) is not XdpContext xdp)
            {
                throw ProgramContext.HelperFault(ctx, "bpf_redirect_map: only XDP programs may redirect through a map");
            }

            const ulong actionMask = 3;
            if ((r3 & ~(actionMask | BroadcastFlag | ExcludeIngressFlag)) != 0)
            {
                return (ulong)XdpAction.Aborted;
            }

            if ((r3 & BroadcastFlag) == 0 && redirectTargets is not null && !redirectTargets(r1, r2))
            {
                return r3 & actionMask;
            }

            xdp.Redirect = new PacketRedirect(null, r1, r2, r3);
            return (ulong)XdpAction.Redirect;
        });

        table.Register(XdpLoadBytes, "bpf_xdp_load_bytes", (ctx, r1, r2, r3, r4, _) =>
            XdpCopy(ctx, r1, r2, r3, r4, store: false));

        table.Register(XdpStoreBytes, "bpf_xdp_store_bytes", (ctx, r1, r2, r3, r4, _) =>
            XdpCopy(ctx, r1, r2, r3, r4, store: true));

        table.Register(SkbLoadBytes, "bpf_skb_load_bytes", (ctx, r1, r2, r3, r4, _) =>
        {
            var skb = ProgramContext.FromHelperArgument<SkbContext>(ctx, r1, "bpf_skb_load_bytes");
            var to = ctx.GetSpan(r3, Size(ctx, r4, "bpf_skb_load_bytes"), MemoryAccess.Write);
            uint offset = (uint)r2;
            if (offset > int.MaxValue || (long)offset + to.Length > skb.Length)
            {
                to.Clear();
                return unchecked((ulong)Errno.EFAULT);
            }

            skb.Packet.Slice((int)offset, to.Length).CopyTo(to);
            return 0;
        });

        table.Register(SkbLoadBytesRelative, "bpf_skb_load_bytes_relative", (ctx, r1, r2, r3, r4, r5) =>
        {
            var skb = ProgramContext.FromHelperArgument<SkbContext>(ctx, r1, "bpf_skb_load_bytes_relative");
            var to = ctx.GetSpan(r3, Size(ctx, r4, "bpf_skb_load_bytes_relative"), MemoryAccess.Write);

            // The MAC header is the frame's first byte and the network header follows the 14-byte Ethernet header,
            // for socket filters and tc alike; the end is the end of the frame (the skb is linear).
            int start = r5 switch
            {
                HeaderStartMac => 0,
                HeaderStartNet => SkbContext.EthernetHeaderLength,
                _ => -1,
            };
            uint offset = (uint)r2;
            if (start < 0 || offset > 0xffff || start + (long)offset + to.Length > skb.Frame.Length)
            {
                to.Clear();
                return unchecked((ulong)Errno.EFAULT);
            }

            skb.Frame.Slice(start + (int)offset, to.Length).CopyTo(to);
            return 0;
        });

        table.Register(SkbStoreBytes, "bpf_skb_store_bytes", (ctx, r1, r2, r3, r4, r5) =>
        {
            var skb = TcSkb(ctx, r1, "bpf_skb_store_bytes");
            var from = ctx.GetSpan(r3, Size(ctx, r4, "bpf_skb_store_bytes"), MemoryAccess.Read);
            uint offset = (uint)r2;
            if ((r5 & ~(RecomputeChecksumFlag | InvalidateHashFlag)) != 0)
            {
                return unchecked((ulong)Errno.EINVAL);
            }

            if (offset > int.MaxValue || (long)offset + from.Length > skb.Length)
            {
                return unchecked((ulong)Errno.EFAULT);
            }

            from.CopyTo(skb.Packet[(int)offset..]);
            if ((r5 & InvalidateHashFlag) != 0)
            {
                skb.InvalidateHash();
            }

            return 0;
        });

        table.Register(L3CsumReplace, "bpf_l3_csum_replace", (ctx, r1, r2, r3, r4, r5) =>
        {
            var skb = TcSkb(ctx, r1, "bpf_l3_csum_replace");
            if ((r5 & ~HeaderFieldMask) != 0)
            {
                return unchecked((ulong)Errno.EINVAL);
            }

            if (!ChecksumField(skb, (uint)r2, out var field))
            {
                return unchecked((ulong)Errno.EFAULT);
            }

            if (!ReplaceInChecksum(BinaryPrimitives.ReadUInt16LittleEndian(field), r5 & HeaderFieldMask, r3, r4, layer4: false, out ushort check))
            {
                return unchecked((ulong)Errno.EINVAL);
            }

            BinaryPrimitives.WriteUInt16LittleEndian(field, check);
            return 0;
        });

        table.Register(L4CsumReplace, "bpf_l4_csum_replace", (ctx, r1, r2, r3, r4, r5) =>
        {
            var skb = TcSkb(ctx, r1, "bpf_l4_csum_replace");
            const ulong allowed = MarkMangled0Flag | MarkEnforceFlag | PseudoHeaderFlag | HeaderFieldMask | Ipv6Flag;
            if ((r5 & ~allowed) != 0)
            {
                return unchecked((ulong)Errno.EINVAL);
            }

            if (!ChecksumField(skb, (uint)r2, out var field))
            {
                return unchecked((ulong)Errno.EFAULT);
            }

            bool mangledZero = (r5 & MarkMangled0Flag) != 0;
            ushort check = BinaryPrimitives.ReadUInt16LittleEndian(field);
            if (mangledZero && (r5 & MarkEnforceFlag) == 0 && check == 0)
            {
                return 0;
            }

            // With CHECKSUM_NONE the pseudo-header flag changes nothing but the field itself.
            if (!ReplaceInChecksum(check, r5 & HeaderFieldMask, r3, r4, layer4: true, out check))
            {
                return unchecked((ulong)Errno.EINVAL);
            }

            if (mangledZero && check == 0)
            {
                check = 0xffff;
            }

            BinaryPrimitives.WriteUInt16LittleEndian(field, check);
            return 0;
        });

        table.Register(CsumDiff, "bpf_csum_diff", (ctx, r1, r2, r3, r4, r5) =>
        {
            bool unfolded = csumDiff == ChecksumDiffSemantics.Unfolded32Bit;
            if (unfolded && (((r2 | r4) & 3) != 0 || r2 + r4 > MaxChecksumDiffBytes))
            {
                return unchecked((ulong)Errno.EINVAL);
            }

            var from = ctx.GetSpan(r1, Size(ctx, r2, "bpf_csum_diff"), MemoryAccess.Read);
            var to = ctx.GetSpan(r3, Size(ctx, r4, "bpf_csum_diff"), MemoryAccess.Read);
            uint seed = (uint)r5;
            if (unfolded)
            {
                // Linux 6.12 and earlier: csum_partial over the complemented old words and the new ones.
                Span<byte> diff = stackalloc byte[MaxChecksumDiffBytes];
                for (int i = 0; i < from.Length; i++)
                {
                    diff[i] = (byte)~from[i];
                }

                to.CopyTo(diff[from.Length..]);
                return Checksum.Partial(diff[..(from.Length + to.Length)], seed);
            }

            // Linux 6.13 and later: the same sum folded to 16 bits, any sizes (a short tail is zero-padded).
            if (!from.IsEmpty && !to.IsEmpty)
            {
                return Checksum.From32To16(Checksum.Sub(Checksum.Partial(to, seed), Checksum.Partial(from, 0)));
            }

            if (!to.IsEmpty)
            {
                return Checksum.From32To16(Checksum.Partial(to, seed));
            }

            return from.IsEmpty ? seed : Checksum.From32To16(~Checksum.Partial(from, ~seed));
        });

        return table;
    }

    // The field update of bpf_l3/l4_csum_replace: size 0 adds a precomputed difference (from must be 0), 2 and 4
    // replace a 16- or 32-bit value. The l4 helper's 2-byte case is the 4-byte replacement of the zero-extended
    // values, as in inet_proto_csum_replace2; the l3 one folds 16-bit words (csum_replace2).
    private static bool ReplaceInChecksum(ushort check, ulong size, ulong from, ulong to, bool layer4, out ushort result)
    {
        result = size switch
        {
            0 when from == 0 => Checksum.ReplaceByDiff(check, (uint)to),
            2 when layer4 => Checksum.Replace4(check, (ushort)from, (ushort)to),
            2 => Checksum.Replace2(check, (ushort)from, (ushort)to),
            4 => Checksum.Replace4(check, (uint)from, (uint)to),
            _ => check,
        };
        return size is 2 or 4 || (size == 0 && from == 0);
    }

    private static SkbContext TcSkb(BpfExecutionContext ctx, ulong address, string helper)
    {
        var skb = ProgramContext.FromHelperArgument<SkbContext>(ctx, address, helper);
        if (skb.Kind != SkbProgramKind.TrafficControl)
        {
            throw ProgramContext.HelperFault(ctx, $"{helper}: socket filters may not call it (the kernel's verifier refuses the program)");
        }

        return skb;
    }

    // The 16-bit checksum at an even offset below 64 KiB inside the packet, as the checksum helpers require.
    private static bool ChecksumField(SkbContext skb, uint offset, out Span<byte> field)
    {
        if (offset > 0xffff || (offset & 1) != 0 || offset + 2 > skb.Length)
        {
            field = default;
            return false;
        }

        field = skb.Packet.Slice((int)offset, 2);
        return true;
    }

    private static int Size(BpfExecutionContext ctx, ulong size, string helper) =>
        size <= int.MaxValue ? (int)size : throw ProgramContext.HelperFault(ctx, $"{helper}: size {size} is out of range");

    // bpf_xdp_load_bytes/bpf_xdp_store_bytes (bpf_xdp_pointer): offset or length above 0xffff is -EFAULT, a range past
    // the packet -EINVAL; the VM's frames are linear (no fragments).
    private static ulong XdpCopy(BpfExecutionContext ctx, ulong context, ulong offsetArgument, ulong buffer, ulong lengthArgument, bool store)
    {
        string helper = store ? "bpf_xdp_store_bytes" : "bpf_xdp_load_bytes";
        var xdp = ProgramContext.FromHelperArgument<XdpContext>(ctx, context, helper);
        uint offset = (uint)offsetArgument;
        uint length = (uint)lengthArgument;
        if (offset > 0xffff || length > 0xffff)
        {
            return unchecked((ulong)Errno.EFAULT);
        }

        var bytes = ctx.GetSpan(buffer, (int)length, store ? MemoryAccess.Read : MemoryAccess.Write);
        var packet = xdp.Packet;
        if (offset + length > (uint)packet.Length)
        {
            return unchecked((ulong)Errno.EINVAL);
        }

        var range = packet.Slice((int)offset, (int)length);
        if (store)
        {
            bytes.CopyTo(range);
        }
        else
        {
            range.CopyTo(bytes);
        }

        return 0;
    }
}
