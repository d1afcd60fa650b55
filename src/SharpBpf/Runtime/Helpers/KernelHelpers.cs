using System.Buffers;
using System.Text;
using SharpBpf.Runtime.Contexts;

namespace SharpBpf.Runtime.Helpers;

/// <summary>
/// The kernel's general helpers (time, randomness, "current", memory probes, formatted output) as
/// <see cref="BpfHelper"/>s with their kernel ids (<c>__BPF_FUNC_MAPPER</c>) and semantics
/// (<c>kernel/bpf/helpers.c</c>, <c>kernel/trace/bpf_trace.c</c>). Memory the kernel's verifier guarantees
/// (destination buffers, format strings) is reached through <see cref="BpfExecutionContext.GetSpan"/>, so a bad
/// pointer there is a fault; the addresses the helpers probe may be anything, and an unreadable one gives -EFAULT as in
/// the kernel. The VM has one address space, so the kernel and user probes read the same memory.
/// </summary>
public static class KernelHelpers
{
    /// <summary>bpf_probe_read(dst, size, unsafe_ptr).</summary>
    public const int ProbeRead = 4;

    /// <summary>bpf_ktime_get_ns().</summary>
    public const int KtimeGetNs = 5;

    /// <summary>bpf_trace_printk(fmt, fmt_size, arg1, arg2, arg3).</summary>
    public const int TracePrintk = 6;

    /// <summary>bpf_get_prandom_u32().</summary>
    public const int GetPrandomU32 = 7;

    /// <summary>bpf_get_smp_processor_id().</summary>
    public const int GetSmpProcessorId = 8;

    /// <summary>bpf_get_current_pid_tgid().</summary>
    public const int GetCurrentPidTgid = 14;

    /// <summary>bpf_get_current_uid_gid().</summary>
    public const int GetCurrentUidGid = 15;

    /// <summary>bpf_get_current_comm(buf, size).</summary>
    public const int GetCurrentComm = 16;

    /// <summary>bpf_probe_read_str(dst, size, unsafe_ptr).</summary>
    public const int ProbeReadStr = 45;

    /// <summary>bpf_probe_read_user(dst, size, unsafe_ptr).</summary>
    public const int ProbeReadUser = 112;

    /// <summary>bpf_probe_read_kernel(dst, size, unsafe_ptr).</summary>
    public const int ProbeReadKernel = 113;

    /// <summary>bpf_probe_read_user_str(dst, size, unsafe_ptr).</summary>
    public const int ProbeReadUserStr = 114;

    /// <summary>bpf_probe_read_kernel_str(dst, size, unsafe_ptr).</summary>
    public const int ProbeReadKernelStr = 115;

    /// <summary>bpf_jiffies64().</summary>
    public const int Jiffies64 = 118;

    /// <summary>bpf_ktime_get_boot_ns().</summary>
    public const int KtimeGetBootNs = 125;

    /// <summary>bpf_snprintf(str, str_size, fmt, data, data_len).</summary>
    public const int Snprintf = 165;

    /// <summary>TASK_COMM_LEN.</summary>
    public const int TaskCommLength = 16;

    /// <summary>Registers the helpers (and, unless told otherwise, the packet helpers); returns the table.</summary>
    public static HelperTable Register(HelperTable table, HelperOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        options ??= new HelperOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.JiffiesPerSecond);

        var monotonic = options.MonotonicClock ?? HostProcess.MonotonicNanoseconds;
        var boot = options.BootClock ?? HostProcess.BootNanoseconds;
        ulong hz = (ulong)options.JiffiesPerSecond;

        // INITIAL_JIFFIES on 64-bit kernels: jiffies start 300 seconds before the 32-bit wrap.
        ulong initialJiffies = (ulong)(uint)(-300 * options.JiffiesPerSecond);

        table.Register(KtimeGetNs, "bpf_ktime_get_ns", (_, _, _, _, _, _) => monotonic());
        table.Register(KtimeGetBootNs, "bpf_ktime_get_boot_ns", (_, _, _, _, _, _) => boot());
        table.Register(Jiffies64, "bpf_jiffies64", (_, _, _, _, _, _) =>
            initialJiffies + (ulong)((UInt128)monotonic() * hz / 1_000_000_000));

        Func<uint> random = RandomSource(options.RandomSeed);
        table.Register(GetPrandomU32, "bpf_get_prandom_u32", (_, _, _, _, _, _) => random());
        table.Register(GetSmpProcessorId, "bpf_get_smp_processor_id", (ctx, _, _, _, _, _) => (ulong)(uint)ctx.ProcessorId);

        table.Register(GetCurrentPidTgid, "bpf_get_current_pid_tgid", (_, _, _, _, _, _) => options.CurrentPidTgid ?? HostProcess.PidTgid());
        table.Register(GetCurrentUidGid, "bpf_get_current_uid_gid", (_, _, _, _, _, _) => options.CurrentUidGid ?? HostProcess.UidGid());
        table.Register(GetCurrentComm, "bpf_get_current_comm", (ctx, r1, r2, _, _, _) =>
        {
            var buffer = ctx.GetSpan(r1, Size(ctx, r2, "bpf_get_current_comm"), MemoryAccess.Write);
            CopyComm(options.CurrentComm ?? HostProcess.Comm, buffer);
            return 0;
        });

        BpfHelper read = (ctx, r1, r2, r3, _, _) => ProbeReadBytes(ctx, r1, r2, r3);
        BpfHelper readString = (ctx, r1, r2, r3, _, _) => ProbeReadString(ctx, r1, r2, r3);
        table.Register(ProbeRead, "bpf_probe_read", read);
        table.Register(ProbeReadUser, "bpf_probe_read_user", read);
        table.Register(ProbeReadKernel, "bpf_probe_read_kernel", read);
        table.Register(ProbeReadStr, "bpf_probe_read_str", readString);
        table.Register(ProbeReadUserStr, "bpf_probe_read_user_str", readString);
        table.Register(ProbeReadKernelStr, "bpf_probe_read_kernel_str", readString);

        var log = options.TraceLog;
        table.Register(TracePrintk, "bpf_trace_printk", (ctx, r1, r2, r3, r4, r5) =>
        {
            var format = ctx.GetSpan(r1, Size(ctx, r2, "bpf_trace_printk"), MemoryAccess.Read);
            int nul = format.IndexOf((byte)0);
            if (nul < 0)
            {
                return unchecked((ulong)Errno.EINVAL);
            }

            var output = new ArrayBufferWriter<byte>();
            long error = BpfPrintf.Format(ctx, format[..nul], [r3, r4, r5], output);
            if (error < 0)
            {
                return (ulong)error;
            }

            var text = output.WrittenSpan;
            var kept = text[..Math.Min(text.Length, BpfPrintf.MaxOutput - 1)];
            int end = kept.IndexOf((byte)0);
            log?.Write(new TraceMessage(Encoding.UTF8.GetString(end < 0 ? kept : kept[..end]), ctx.ProcessorId));
            return (ulong)text.Length;
        });

        table.Register(Snprintf, "bpf_snprintf", (ctx, r1, r2, r3, r4, r5) =>
        {
            if (r5 % 8 != 0 || r5 > BpfPrintf.MaxArguments * 8 || (r5 != 0 && r4 == 0))
            {
                return unchecked((ulong)Errno.EINVAL);
            }

            var format = ReadFormat(ctx, r3);
            var argumentBytes = ctx.GetSpan(r4, (int)r5, MemoryAccess.Read);
            var arguments = new ulong[r5 / 8];
            for (int i = 0; i < arguments.Length; i++)
            {
                arguments[i] = BitConverter.ToUInt64(argumentBytes[(i * 8)..]);
            }

            var output = new ArrayBufferWriter<byte>();
            long error = BpfPrintf.Format(ctx, format, arguments, output);
            if (error < 0)
            {
                return (ulong)error;
            }

            var text = output.WrittenSpan;
            if (r2 != 0)
            {
                var destination = ctx.GetSpan(r1, Size(ctx, r2, "bpf_snprintf"), MemoryAccess.Write);
                int copied = Math.Min(text.Length, destination.Length - 1);
                text[..copied].CopyTo(destination);
                destination[copied] = 0;
            }

            return (ulong)text.Length + 1;
        });

        Calls.LoopHelper.Register(table);

        if (options.IncludePacketHelpers)
        {
            PacketHelpers.Register(table, options);
        }

        return table;
    }

    private static ulong ProbeReadBytes(BpfExecutionContext ctx, ulong destination, ulong size, ulong source)
    {
        var buffer = ctx.GetSpan(destination, Size(ctx, size, "bpf_probe_read"), MemoryAccess.Write);
        if (VmMemory.TryCopy(ctx, source, buffer))
        {
            return 0;
        }

        buffer.Clear();
        return unchecked((ulong)Errno.EFAULT);
    }

    private static ulong ProbeReadString(BpfExecutionContext ctx, ulong destination, ulong size, ulong source)
    {
        var buffer = ctx.GetSpan(destination, Size(ctx, size, "bpf_probe_read_str"), MemoryAccess.Write);
        long result = VmMemory.CopyString(ctx, source, buffer);
        if (result < 0)
        {
            buffer.Clear();
        }

        return (ulong)result;
    }

    // strscpy_pad(buf, comm, size): at most size - 1 bytes of the name, then NULs to the end.
    private static void CopyComm(string comm, Span<byte> buffer)
    {
        buffer.Clear();
        if (buffer.IsEmpty)
        {
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(comm);
        int length = Math.Min(Math.Min(bytes.Length, TaskCommLength - 1), buffer.Length - 1);
        bytes.AsSpan(0, length).CopyTo(buffer);
    }

    // bpf_snprintf's format is a constant string the verifier proved NUL-terminated: the VM requires the NUL in the
    // same region.
    private static ReadOnlySpan<byte> ReadFormat(BpfExecutionContext ctx, ulong address)
    {
        var region = ctx.FindRegion(address, 1, MemoryAccess.Read)
            ?? throw ProgramContext.HelperFault(ctx, $"bpf_snprintf: the format at 0x{address:x} is not readable");
        var rest = region.AsSpan()[(int)(address - region.Start)..];
        int nul = rest.IndexOf((byte)0);
        return nul >= 0
            ? rest[..nul]
            : throw ProgramContext.HelperFault(ctx, $"bpf_snprintf: the format at 0x{address:x} has no NUL before the end of region {region}");
    }

    private static Func<uint> RandomSource(int? seed)
    {
        if (seed is null)
        {
            return () => (uint)Random.Shared.NextInt64(0, 1L << 32);
        }

        var random = new Random(seed.Value);
        var gate = new Lock();
        return () =>
        {
            lock (gate)
            {
                return (uint)random.NextInt64(0, 1L << 32);
            }
        };
    }

    private static int Size(BpfExecutionContext ctx, ulong size, string helper) =>
        size <= int.MaxValue ? (int)size : throw ProgramContext.HelperFault(ctx, $"{helper}: size {size} is out of range");
}
