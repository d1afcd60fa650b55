using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using SharpBpf.Linux.Interop;

namespace SharpBpf.Linux;

/// <summary>How an XDP program is attached to a device.</summary>
public enum XdpMode
{
    /// <summary>Let the kernel choose: the driver's native hook where it has one, else generic.</summary>
    Default = 0,
    /// <summary>XDP_FLAGS_SKB_MODE: the generic hook every device has (after the skb is built).</summary>
    Generic = 1 << 1,
    /// <summary>XDP_FLAGS_DRV_MODE: the driver's own hook; refused where the driver has none.</summary>
    Native = 1 << 2,
}

/// <summary>How a tc program is attached.</summary>
public enum TcAttachMode
{
    /// <summary>tcx where the kernel has it, else netlink.</summary>
    Auto,
    /// <summary>A tcx link (BPF_TCX_INGRESS/EGRESS, Linux 6.6+).</summary>
    Tcx,
    /// <summary>A direct-action bpf filter on a clsact qdisc, through rtnetlink (any kernel with clsact, 4.5+).</summary>
    Netlink,
}

/// <summary>
/// A program attached somewhere. Disposing detaches it: the BPF link is closed, or the socket option removed, and any
/// perf event opened for the attachment is closed.
/// </summary>
public sealed class KernelAttachment : IDisposable
{
    private readonly SafeHandle? _perfEvent;
    private Action? _detach;

    internal KernelAttachment(string target, KernelLink? link, SafeHandle? perfEvent = null, Action? detach = null)
    {
        Target = target;
        Link = link;
        _perfEvent = perfEvent;
        _detach = detach;
    }

    /// <summary>What the program is attached to, for messages (e.g. "xdp on lo (ifindex 1)").</summary>
    public string Target { get; }

    /// <summary>The BPF link holding the attachment, or null for link-less attachments (socket filters).</summary>
    public KernelLink? Link { get; }

    /// <summary>Detaches.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _detach, null)?.Invoke();
        Link?.Dispose();
        _perfEvent?.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => Target;
}

/// <summary>Attaching programs to the kernel's hooks; each method returns the <see cref="KernelAttachment"/> that holds it.</summary>
public static class ProgramAttach
{
    private const int SolSocket = 1, SoAttachBpf = 50, SoDetachBpf = 27;

    /// <summary>The interface index of a network device (from /sys/class/net/NAME/ifindex).</summary>
    /// <exception cref="BpfException">No such device.</exception>
    public static int InterfaceIndex(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        string path = Path.Combine("/sys/class/net", name, "ifindex");
        return name.Contains('/', StringComparison.Ordinal) || !File.Exists(path)
            ? throw new BpfException($"no network device '{name}'")
            : int.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>Attaches an XDP program to a device with a BPF link (BPF_XDP).</summary>
    public static KernelAttachment AttachXdp(this KernelProgram program, string device, XdpMode mode = XdpMode.Default)
    {
        ArgumentNullException.ThrowIfNull(program);
        int index = InterfaceIndex(device);
        var link = KernelLink.Create(new LinkCreateOptions
        {
            Program = program.Handle, TargetIfIndex = (uint)index, AttachType = AttachType.Xdp, Flags = (uint)mode,
        });
        return new KernelAttachment($"xdp on {device} (ifindex {index}, {mode})", link);
    }

    /// <summary>Attaches a tc (sched_cls) program to a device's ingress or egress with a tcx link.</summary>
    public static KernelAttachment AttachTcx(this KernelProgram program, string device, bool ingress)
    {
        ArgumentNullException.ThrowIfNull(program);
        int index = InterfaceIndex(device);
        var link = KernelLink.Create(new LinkCreateOptions
        {
            Program = program.Handle, TargetIfIndex = (uint)index, AttachType = ingress ? AttachType.TcxIngress : AttachType.TcxEgress,
        });
        return new KernelAttachment($"tcx {(ingress ? "ingress" : "egress")} on {device} (ifindex {index})", link);
    }

    /// <summary>
    /// Attaches a tc (sched_cls) program to a device's ingress or egress: with a tcx link where the kernel has them
    /// (6.6+), otherwise through rtnetlink as a direct-action <c>bpf</c> filter on a <c>clsact</c> qdisc (added when
    /// missing, removed again on dispose if this call added it).
    /// </summary>
    /// <param name="program">The program.</param>
    /// <param name="device">The network device.</param>
    /// <param name="ingress">Ingress (true) or egress.</param>
    /// <param name="mode">Which mechanism to use; <see cref="TcAttachMode.Auto"/> prefers tcx.</param>
    public static KernelAttachment AttachTc(this KernelProgram program, string device, bool ingress, TcAttachMode mode = TcAttachMode.Auto)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (mode == TcAttachMode.Tcx || (mode == TcAttachMode.Auto && KernelFeatures.HasTcxLinks))
        {
            return program.AttachTcx(device, ingress);
        }

        int index = InterfaceIndex(device);
        var detach = TcNetlink.Attach(program, index, ingress);
        return new KernelAttachment($"tc clsact {(ingress ? "ingress" : "egress")} bpf filter on {device} (ifindex {index})", null, detach: detach);
    }

    /// <summary>Attaches a socket filter to a socket (SO_ATTACH_BPF); disposing detaches it (SO_DETACH_BPF).</summary>
    public static unsafe KernelAttachment AttachSocketFilter(this KernelProgram program, Socket socket)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(socket);
        using (var lease = new FdLease(program.Handle))
        {
            int fd = (int)lease.Fd;
            if (Libc.SetSocketOption(socket.Handle, SolSocket, SoAttachBpf, &fd, sizeof(int)) != 0)
            {
                throw new BpfSyscallException("setsockopt", Marshal.GetLastPInvokeError(), "SO_ATTACH_BPF");
            }
        }

        return new KernelAttachment($"socket filter on socket {socket.Handle}", null, detach: () =>
        {
            if (!socket.SafeHandle.IsClosed)
            {
                int unused = 0;
                _ = Libc.SetSocketOption(socket.Handle, SolSocket, SoDetachBpf, &unused, sizeof(int));
            }
        });
    }

    /// <summary>Attaches a program to a cgroup v2 hook with a BPF link (cgroup skb, sock, sockops, sysctl...).</summary>
    public static KernelAttachment AttachCgroup(this KernelProgram program, string cgroupPath, AttachType attachType)
    {
        ArgumentNullException.ThrowIfNull(program);
        using var directory = LinuxSystem.OpenDirectory(cgroupPath);
        var link = KernelLink.Create(new LinkCreateOptions { Program = program.Handle, Target = directory, AttachType = attachType });
        return new KernelAttachment($"{attachType} on cgroup {cgroupPath}", link);
    }

    /// <summary>Attaches a sockops program to a cgroup v2 (BPF_CGROUP_SOCK_OPS).</summary>
    public static KernelAttachment AttachSockOps(this KernelProgram program, string cgroupPath) =>
        program.AttachCgroup(cgroupPath, AttachType.CgroupSockOps);

    /// <summary>Attaches a raw tracepoint program (BPF_RAW_TRACEPOINT_OPEN).</summary>
    public static KernelAttachment AttachRawTracepoint(this KernelProgram program, string tracepoint) =>
        new($"raw tracepoint {tracepoint}", KernelLink.AttachRawTracepoint(program, tracepoint));

    /// <summary>Attaches a tracepoint program to <paramref name="category"/>:<paramref name="name"/> (tracefs id, perf event, link).</summary>
    public static KernelAttachment AttachTracepoint(this KernelProgram program, string category, string name)
    {
        uint id = PerfEvent.TracepointId(category, name);
        return program.AttachPerfEvent(new PerfEventAttributes { Type = (uint)PerfEventType.Tracepoint, Config = id }, pid: -1, cpu: 0, $"tracepoint {category}:{name}");
    }

    /// <summary>
    /// Attaches a uprobe (or uretprobe) on function <paramref name="symbol"/> of a native binary or library, for
    /// every process (<paramref name="pid"/> -1) or one.
    /// </summary>
    /// <exception cref="BpfException">The kernel has no uprobe PMU, or the binary no such function.</exception>
    public static unsafe KernelAttachment AttachUprobe(this KernelProgram program, string binaryPath, string symbol, bool returnProbe = false, int pid = -1)
    {
        ArgumentNullException.ThrowIfNull(program);
        uint type = PerfEvent.ProbePmuType("uprobe") ?? throw new BpfException("the kernel has no uprobe PMU (/sys/bus/event_source/devices/uprobe): uprobes cannot be attached");
        ulong offset = NativeSymbols.FileOffset(binaryPath, symbol);
        byte[] path = BpfSyscall.NulTerminated(Path.GetFullPath(binaryPath));
        fixed (byte* p = path)
        {
            var attributes = new PerfEventAttributes
            {
                Type = type, Config = returnProbe ? 1UL << PerfEvent.ProbeReturnBit("uprobe") : 0, Config1 = (ulong)p, Config2 = offset,
            };
            return program.AttachPerfEvent(attributes, pid, pid == -1 ? 0 : -1,
                $"{(returnProbe ? "uretprobe" : "uprobe")} {binaryPath}:{symbol} (offset 0x{offset:x}){(pid == -1 ? "" : $" pid {pid}")}");
        }
    }

    /// <summary>Attaches a kprobe (or kretprobe) on a kernel function through the kprobe PMU.</summary>
    /// <exception cref="BpfException">The kernel has no kprobe PMU (built without kprobe events).</exception>
    public static unsafe KernelAttachment AttachKprobe(this KernelProgram program, string function, bool returnProbe = false)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(function);
        uint type = PerfEvent.ProbePmuType("kprobe")
            ?? throw new BpfException($"the kernel has no kprobe PMU (/sys/bus/event_source/devices/kprobe): kprobes cannot be attached to {function} on this kernel");
        byte[] name = BpfSyscall.NulTerminated(function);
        fixed (byte* p = name)
        {
            var attributes = new PerfEventAttributes { Type = type, Config = returnProbe ? 1UL << PerfEvent.ProbeReturnBit("kprobe") : 0, Config1 = (ulong)p };
            return program.AttachPerfEvent(attributes, -1, 0, $"{(returnProbe ? "kretprobe" : "kprobe")} {function}");
        }
    }

    /// <summary>
    /// Opens a perf event and runs the program on it, through a BPF link (BPF_PERF_EVENT) where the kernel has
    /// them, else PERF_EVENT_IOC_SET_BPF; the event is enabled, and closed on dispose.
    /// </summary>
    public static KernelAttachment AttachPerfEvent(this KernelProgram program, PerfEventAttributes attributes, int pid, int cpu, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        var perfEvent = PerfEvent.Open(attributes, pid, cpu);
        KernelLink? link = null;
        try
        {
            try
            {
                link = KernelLink.Create(new LinkCreateOptions { Program = program.Handle, Target = perfEvent, AttachType = AttachType.PerfEvent });
            }
            catch (BpfSyscallException e) when (e.ErrorNumber == Errno.EINVAL)
            {
                PerfEvent.SetBpf(perfEvent, program.Handle); // kernels before 5.15 have no perf event links
            }

            PerfEvent.Enable(perfEvent);
            return new KernelAttachment(description ?? $"perf event type {attributes.Type} config 0x{attributes.Config:x}", link, perfEvent);
        }
        catch
        {
            link?.Dispose();
            perfEvent.Dispose();
            throw;
        }
    }
}
