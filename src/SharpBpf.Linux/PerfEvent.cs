using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using SharpBpf.Linux.Interop;

namespace SharpBpf.Linux;

/// <summary>The perf event types BPF uses (enum perf_type_id), plus the dynamic PMU types read from sysfs.</summary>
public enum PerfEventType : uint
{
    /// <summary>PERF_TYPE_HARDWARE: CPU counters.</summary>
    Hardware = 0,
    /// <summary>PERF_TYPE_SOFTWARE: kernel software counters (cpu-clock, bpf-output...).</summary>
    Software = 1,
    /// <summary>PERF_TYPE_TRACEPOINT: a tracefs tracepoint, config = its id.</summary>
    Tracepoint = 2,
}

/// <summary>The fields of struct perf_event_attr that BPF attachment and event reading use.</summary>
public sealed class PerfEventAttributes
{
    /// <summary>The size of struct perf_event_attr passed to the kernel (PERF_ATTR_SIZE_VER8).</summary>
    public const int Size = 136;

    /// <summary>The event type: a <see cref="PerfEventType"/> or a dynamic PMU type (uprobe, kprobe).</summary>
    public required uint Type { get; init; }

    /// <summary>The type-specific config (tracepoint id, software counter, probe flags...).</summary>
    public ulong Config { get; init; }

    /// <summary>Sample every this many events (or, with <see cref="UseFrequency"/>, this many times per second).</summary>
    public ulong SamplePeriod { get; init; }

    /// <summary>What samples carry (PERF_SAMPLE_* bits; PERF_SAMPLE_RAW = 0x400 for BPF output).</summary>
    public ulong SampleType { get; init; }

    /// <summary>Whether <see cref="SamplePeriod"/> is a frequency (the attr's freq bit).</summary>
    public bool UseFrequency { get; init; }

    /// <summary>Whether the event starts disabled (enabled later by ioctl).</summary>
    public bool Disabled { get; init; }

    /// <summary>Wake the reader after this many events.</summary>
    public uint WakeupEvents { get; init; }

    /// <summary>config1 (for uprobes and kprobes: a pointer to the path or function name; set by the attach helpers).</summary>
    public ulong Config1 { get; init; }

    /// <summary>config2 (for uprobes: the file offset; for kprobes: the offset in the function).</summary>
    public ulong Config2 { get; init; }

    internal void WriteTo(Span<byte> attr)
    {
        attr.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(attr, Type);
        BinaryPrimitives.WriteUInt32LittleEndian(attr[4..], Size);
        BinaryPrimitives.WriteUInt64LittleEndian(attr[8..], Config);
        BinaryPrimitives.WriteUInt64LittleEndian(attr[16..], SamplePeriod);
        BinaryPrimitives.WriteUInt64LittleEndian(attr[24..], SampleType);
        ulong bits = (Disabled ? 1UL : 0) | (UseFrequency ? 1UL << 10 : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(attr[40..], bits);
        BinaryPrimitives.WriteUInt32LittleEndian(attr[48..], WakeupEvents);
        BinaryPrimitives.WriteUInt64LittleEndian(attr[56..], Config1);
        BinaryPrimitives.WriteUInt64LittleEndian(attr[64..], Config2);
    }
}

/// <summary>perf_event_open(2) and the sysfs/tracefs look-ups that BPF attachment needs.</summary>
public static unsafe class PerfEvent
{
    private const ulong FlagCloseOnExec = 1 << 3;
    private const ulong IocEnable = 0x2400;
    private const ulong IocSetBpf = 0x40042408;
    private static readonly string[] TracefsRoots = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

    /// <summary>The perf_event_open system call number of this architecture.</summary>
    public static long SyscallNumber => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 298,
        Architecture.Arm64 or Architecture.RiscV64 or Architecture.LoongArch64 => 241,
        var other => throw new PlatformNotSupportedException($"no perf_event_open number is known for {other}"),
    };

    /// <summary>Opens a perf event; <paramref name="pid"/> -1 with a CPU watches that CPU, a pid with CPU -1 watches that process.</summary>
    /// <exception cref="BpfSyscallException">perf_event_open failed.</exception>
    public static SafeFileHandle Open(PerfEventAttributes attributes, int pid, int cpu, int groupFd = -1)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        Span<byte> attr = stackalloc byte[PerfEventAttributes.Size];
        attributes.WriteTo(attr);
        fixed (byte* p = attr)
        {
            long fd = Libc.Syscall5(SyscallNumber, p, pid, cpu, groupFd, (long)FlagCloseOnExec);
            return fd >= 0
                ? new SafeFileHandle(new IntPtr(fd), ownsHandle: true)
                : throw new BpfSyscallException("perf_event_open", Marshal.GetLastPInvokeError(), $"type {attributes.Type} config 0x{attributes.Config:x} pid {pid} cpu {cpu}");
        }
    }

    /// <summary>PERF_EVENT_IOC_ENABLE.</summary>
    public static void Enable(SafeFileHandle perfEvent) => IoctlOrThrow(perfEvent, IocEnable, 0, "PERF_EVENT_IOC_ENABLE");

    /// <summary>PERF_EVENT_IOC_SET_BPF: the older, link-less way to run a program on a perf event (lasts while the event is open).</summary>
    public static void SetBpf(SafeFileHandle perfEvent, ProgramHandle program)
    {
        ArgumentNullException.ThrowIfNull(program);
        using var lease = new FdLease(program);
        IoctlOrThrow(perfEvent, IocSetBpf, lease.Fd, "PERF_EVENT_IOC_SET_BPF");
    }

    private static void IoctlOrThrow(SafeFileHandle handle, ulong request, long argument, string name)
    {
        ArgumentNullException.ThrowIfNull(handle);
        bool added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            if (Libc.Ioctl((int)handle.DangerousGetHandle(), request, argument) != 0)
            {
                throw new BpfSyscallException("ioctl", Marshal.GetLastPInvokeError(), name);
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>The tracefs directory, mounting tracefs at /sys/kernel/tracing when no tracefs is reachable.</summary>
    /// <exception cref="BpfSyscallException">tracefs is absent and cannot be mounted.</exception>
    public static string TracefsRoot()
    {
        foreach (var root in TracefsRoots)
        {
            if (File.Exists(Path.Combine(root, "available_events")) || Directory.Exists(Path.Combine(root, "events")))
            {
                return root;
            }
        }

        Directory.CreateDirectory(TracefsRoots[0]);
        if (Libc.Mount("tracefs", TracefsRoots[0], "tracefs", 0, IntPtr.Zero) != 0)
        {
            throw new BpfSyscallException("mount", Marshal.GetLastPInvokeError(), $"tracefs on {TracefsRoots[0]}");
        }

        return TracefsRoots[0];
    }

    /// <summary>The id of tracepoint <paramref name="category"/>:<paramref name="name"/> (tracefs events/CATEGORY/NAME/id).</summary>
    /// <exception cref="BpfException">The kernel has no such tracepoint.</exception>
    public static uint TracepointId(string category, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(category);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (category.Contains('/', StringComparison.Ordinal) || name.Contains('/', StringComparison.Ordinal) || category.StartsWith('.') || name.StartsWith('.'))
        {
            throw new ArgumentException($"'{category}:{name}' is not a tracepoint name");
        }

        string path = Path.Combine(TracefsRoot(), "events", category, name, "id");
        if (!File.Exists(path))
        {
            throw new BpfException($"the kernel has no tracepoint {category}:{name} ({path} does not exist)");
        }

        return uint.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The dynamic PMU type of a probe kind ("uprobe" or "kprobe") from /sys/bus/event_source/devices/KIND/type, or
    /// null when the kernel has no such PMU (for kprobes: built without CONFIG_KPROBE_EVENTS).
    /// </summary>
    public static uint? ProbePmuType(string kind)
    {
        string path = $"/sys/bus/event_source/devices/{kind}/type";
        return File.Exists(path) ? uint.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture) : null;
    }

    /// <summary>
    /// The config bit that makes a probe PMU event a return probe, from /sys/bus/event_source/devices/KIND/format/retprobe
    /// ("config:0" on every kernel so far).
    /// </summary>
    public static int ProbeReturnBit(string kind)
    {
        string path = $"/sys/bus/event_source/devices/{kind}/format/retprobe";
        if (File.Exists(path))
        {
            string text = File.ReadAllText(path).Trim();
            if (text.StartsWith("config:", StringComparison.Ordinal) && int.TryParse(text.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out int bit))
            {
                return bit;
            }
        }

        return 0;
    }
}
