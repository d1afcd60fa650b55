using System.Globalization;
using SharpBpf.Runtime.Contexts;

namespace SharpBpf.Hosting;

/// <summary>Which context a program gets when it runs on a packet.</summary>
public enum PacketContextKind
{
    /// <summary>The program cannot run on packets (tracing and other program types).</summary>
    None,
    /// <summary>An XDP frame and <c>struct xdp_md</c>.</summary>
    Xdp,
    /// <summary>A socket filter's <c>struct __sk_buff</c> (the packet starts at the network header).</summary>
    SocketFilter,
    /// <summary>A tc classifier or action's <c>struct __sk_buff</c> (the packet starts at the Ethernet header).</summary>
    TrafficControl,
}

/// <summary>What one run of a program over one packet gave.</summary>
/// <remarks>
/// A packet the kernel's <c>BPF_PROG_TEST_RUN</c> refuses (shorter than an Ethernet header; for skb programs, an
/// IPv4 or IPv6 frame whose network header is cut short; longer than an XDP frame holds) is not run: its
/// <see cref="Refusal"/> says why and <see cref="Verdict"/> is <c>EINVAL</c>, as the kernel's test run fails with -EINVAL.
/// </remarks>
public sealed class PacketRunResult
{
    internal PacketRunResult(PacketContextKind kind, string refusal)
    {
        Kind = kind;
        Refusal = refusal;
        Packet = [];
    }

    internal PacketRunResult(PacketContextKind kind, ulong returnValue, byte[] packet, PacketRedirect? redirect, long instructions)
    {
        Kind = kind;
        ReturnValue = returnValue;
        Packet = packet;
        Redirect = redirect;
        InstructionsExecuted = instructions;
    }

    /// <summary>
    /// A result produced outside the VM, by the kernel's <c>BPF_PROG_TEST_RUN</c> (r0 and the data it returned), so
    /// that both can be shown and compared the same way.
    /// </summary>
    /// <param name="kind">The program's context kind.</param>
    /// <param name="returnValue">The kernel's r0.</param>
    /// <param name="packet">The data the kernel returned.</param>
    public static PacketRunResult FromTestRun(PacketContextKind kind, ulong returnValue, byte[] packet) => new(kind, returnValue, packet, null, 0);

    /// <summary>A frame the kernel's <c>BPF_PROG_TEST_RUN</c> refused (with the reason it gave).</summary>
    public static PacketRunResult RefusedByTestRun(PacketContextKind kind, string reason) => new(kind, reason);

    /// <summary>
    /// The mean time of one run of the program in nanoseconds, the context's set-up excluded (as
    /// <c>BPF_PROG_TEST_RUN</c> reports its duration); 0 for results from outside the VM and refused frames.
    /// </summary>
    public double NanosecondsPerRun { get; init; }

    /// <summary>The context the program ran with.</summary>
    public PacketContextKind Kind { get; }

    /// <summary>Why the packet was not run (the kernel's test run refuses it with -EINVAL), or null when it ran.</summary>
    public string? Refusal { get; }

    /// <summary>Whether the program ran.</summary>
    public bool Ran => Refusal is null;

    /// <summary>The program's r0.</summary>
    public ulong ReturnValue { get; }

    /// <summary>For XDP programs that ran: the action.</summary>
    public XdpAction? XdpAction => Ran && Kind == PacketContextKind.Xdp ? (XdpAction)(uint)ReturnValue : null;

    /// <summary>For tc programs that ran: the action.</summary>
    public TcAction? TcAction => Ran && Kind == PacketContextKind.TrafficControl ? (TcAction)(int)(uint)ReturnValue : null;

    /// <summary>
    /// The packet as the program left it, from its Ethernet header: for XDP <c>[data, data_end)</c> after any
    /// <c>bpf_xdp_adjust_head/tail</c>, for skb programs the whole frame (for socket filters with the Ethernet header cleared, as the kernel's test run returns it). Empty when the packet was refused.
    /// </summary>
    public byte[] Packet { get; }

    /// <summary>Where the program asked for the packet to go with <c>bpf_redirect</c>/<c>bpf_redirect_map</c>, or null.</summary>
    public PacketRedirect? Redirect { get; }

    /// <summary>The number of instructions the run executed.</summary>
    public long InstructionsExecuted { get; }

    /// <summary>
    /// The verdict as the kernel names it: <c>XDP_PASS</c>..., <c>TC_ACT_OK</c>... (the number for values without a
    /// name), for socket filters the number of bytes to keep, or <c>EINVAL</c> for a refused packet.
    /// </summary>
    public string Verdict => Refusal is not null ? "EINVAL" : Kind switch
    {
        PacketContextKind.Xdp => XdpActionName(ReturnValue),
        PacketContextKind.TrafficControl => TcActionName(ReturnValue),
        _ => ((uint)ReturnValue).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Whether the packet goes on: XDP PASS, TX and REDIRECT; tc anything but SHOT and STOLEN; a socket filter
    /// keeping at least one byte. False for refused packets.
    /// </summary>
    public bool Delivered => Ran && Kind switch
    {
        PacketContextKind.Xdp => (uint)ReturnValue is 2 or 3 or 4,
        PacketContextKind.TrafficControl => (int)(uint)ReturnValue is not (2 or 4),
        _ => (uint)ReturnValue != 0,
    };

    /// <summary>The name of an XDP action (<c>XDP_ABORTED</c> ... <c>XDP_REDIRECT</c>), or the number.</summary>
    public static string XdpActionName(ulong value) => (uint)value switch
    {
        0 => "XDP_ABORTED",
        1 => "XDP_DROP",
        2 => "XDP_PASS",
        3 => "XDP_TX",
        4 => "XDP_REDIRECT",
        var other => other.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The name of a tc action (<c>TC_ACT_UNSPEC</c> ... <c>TC_ACT_REDIRECT</c>), or the number.</summary>
    public static string TcActionName(ulong value) => (int)(uint)value switch
    {
        -1 => "TC_ACT_UNSPEC",
        0 => "TC_ACT_OK",
        1 => "TC_ACT_RECLASSIFY",
        2 => "TC_ACT_SHOT",
        3 => "TC_ACT_PIPE",
        4 => "TC_ACT_STOLEN",
        5 => "TC_ACT_QUEUED",
        6 => "TC_ACT_REPEAT",
        7 => "TC_ACT_REDIRECT",
        var other => other.ToString(CultureInfo.InvariantCulture),
    };

    /// <inheritdoc/>
    public override string ToString() => Refusal is null ? Verdict : $"EINVAL ({Refusal})";
}
