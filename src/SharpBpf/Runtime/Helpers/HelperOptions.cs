using SharpBpf.Runtime.Contexts;

namespace SharpBpf.Runtime.Helpers;

/// <summary>What <c>bpf_csum_diff</c> returns; the helper changed in Linux 6.13.</summary>
public enum ChecksumDiffSemantics
{
    /// <summary>
    /// Linux 6.13 and later: the ones'-complement sum folded to 16 bits (not complemented), the same on every
    /// architecture, with no limit on the sizes, which need not be multiples of 4; with both sizes 0 the seed itself.
    /// </summary>
    Folded16Bit,
    /// <summary>
    /// Linux 6.12 and earlier on x86-64: the unfolded 32-bit <c>csum_partial</c> of the complemented old words and the
    /// new ones; both sizes multiples of 4 and from_size + to_size at most 512.
    /// </summary>
    Unfolded32Bit,
}

/// <summary>
/// What <see cref="KernelHelpers.Register"/> offers programs: where output goes and where "current", time and
/// randomness come from. The defaults describe the host process; tests substitute fixed values.
/// </summary>
public sealed record HelperOptions
{
    /// <summary>Where <c>bpf_trace_printk</c> writes; null discards the messages (the helper still formats and returns).</summary>
    public TraceLog? TraceLog { get; init; }

    /// <summary>CLOCK_MONOTONIC in nanoseconds for <c>bpf_ktime_get_ns</c> and <c>bpf_jiffies64</c>; the host's when null.</summary>
    public Func<ulong>? MonotonicClock { get; init; }

    /// <summary>CLOCK_BOOTTIME in nanoseconds for <c>bpf_ktime_get_boot_ns</c>; the host's when null.</summary>
    public Func<ulong>? BootClock { get; init; }

    /// <summary>CONFIG_HZ: jiffies per second for <c>bpf_jiffies64</c> (250, a common distribution setting, by default).</summary>
    public int JiffiesPerSecond { get; init; } = 250;

    /// <summary>A seed for <c>bpf_get_prandom_u32</c>, for reproducible runs; null draws from a shared random source.</summary>
    public int? RandomSeed { get; init; }

    /// <summary>What <c>bpf_get_current_pid_tgid</c> returns; the calling host thread's (tgid &lt;&lt; 32) | tid when null.</summary>
    public ulong? CurrentPidTgid { get; init; }

    /// <summary>What <c>bpf_get_current_uid_gid</c> returns; the host process's (gid &lt;&lt; 32) | uid when null.</summary>
    public ulong? CurrentUidGid { get; init; }

    /// <summary>What <c>bpf_get_current_comm</c> copies (at most 15 bytes are kept); the calling host thread's name (the kernel's <c>current->comm</c>) when null.</summary>
    public string? CurrentComm { get; init; }

    /// <summary>Whether to register the XDP, socket filter and tc helpers of <see cref="PacketHelpers"/> too (true by default).</summary>
    public bool IncludePacketHelpers { get; init; } = true;

    /// <summary>Which kernel's <c>bpf_csum_diff</c> to follow (current kernels' by default).</summary>
    public ChecksumDiffSemantics ChecksumDiff { get; init; }

    /// <summary>Which <c>bpf_redirect_map</c> keys exist (all when null).</summary>
    public RedirectTargetLookup? RedirectTargets { get; init; }
}
