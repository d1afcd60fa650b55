using SharpBpf.Isa;

namespace SharpBpf.Linux;

/// <summary>What BPF_MAP_CREATE needs: the shape of the map and its optional BTF description.</summary>
public sealed class MapCreateOptions
{
    /// <summary>The map type.</summary>
    public required MapType Type { get; init; }

    /// <summary>The key size in bytes (0 for queues, stacks and bloom filters).</summary>
    public required uint KeySize { get; init; }

    /// <summary>The value size in bytes (per CPU for per-CPU maps).</summary>
    public required uint ValueSize { get; init; }

    /// <summary>The capacity (for ring buffers: the size in bytes, a power-of-two multiple of the page size).</summary>
    public required uint MaxEntries { get; init; }

    /// <summary>Creation flags.</summary>
    public MapCreateFlags Flags { get; init; }

    /// <summary>The object name (up to 15 characters of [A-Za-z0-9_.]), or null for none.</summary>
    public string? Name { get; init; }

    /// <summary>For map-in-map types: a template of the inner maps.</summary>
    public MapHandle? InnerMap { get; init; }

    /// <summary>The NUMA node, used with <see cref="MapCreateFlags.NumaNode"/>.</summary>
    public uint NumaNode { get; init; }

    /// <summary>The network device to offload the map to, or 0.</summary>
    public uint IfIndex { get; init; }

    /// <summary>The BTF object that describes key and value, or null.</summary>
    public BtfHandle? Btf { get; init; }

    /// <summary>The BTF type id of the key in <see cref="Btf"/>.</summary>
    public uint BtfKeyTypeId { get; init; }

    /// <summary>The BTF type id of the value in <see cref="Btf"/>.</summary>
    public uint BtfValueTypeId { get; init; }

    /// <summary>For struct_ops maps: the kernel (vmlinux) BTF type id of the value.</summary>
    public uint BtfVmlinuxValueTypeId { get; init; }

    /// <summary>Type-specific extra (bloom filter hash count, arena address...).</summary>
    public ulong MapExtra { get; init; }
}

/// <summary>What BPF_PROG_LOAD needs, and how to collect the verifier log.</summary>
public sealed class ProgramLoadOptions
{
    /// <summary>The largest verifier log buffer the loader will grow to (16 MiB), to keep memory bounded.</summary>
    public const int DefaultMaxLogSize = 16 << 20;

    /// <summary>The program type.</summary>
    public required ProgramType Type { get; init; }

    /// <summary>The instructions.</summary>
    public required ReadOnlyMemory<Instruction> Instructions { get; init; }

    /// <summary>The license; helpers marked GPL-only need a GPL-compatible one.</summary>
    public string License { get; init; } = "GPL";

    /// <summary>The object name (up to 15 characters of [A-Za-z0-9_.]), or null for none.</summary>
    public string? Name { get; init; }

    /// <summary>Verifier log level: 0 none, 1 basic, 2 verbose, 4 statistics (may be combined).</summary>
    public uint LogLevel { get; init; }

    /// <summary>The first log buffer size; grown on ENOSPC up to <see cref="MaxLogSize"/>.</summary>
    public int InitialLogSize { get; init; } = 64 * 1024;

    /// <summary>The largest log buffer to try.</summary>
    public int MaxLogSize { get; init; } = DefaultMaxLogSize;

    /// <summary>When the load fails with <see cref="LogLevel"/> 0, load again at level 1 to report the verifier's reason.</summary>
    public bool LogOnFailure { get; init; } = true;

    /// <summary>The kernel version (only kprobes of very old kernels checked it).</summary>
    public uint KernelVersion { get; init; }

    /// <summary>Load flags.</summary>
    public ProgramLoadFlags Flags { get; init; }

    /// <summary>The attach type the program will be attached with, for types that need it at load time.</summary>
    public AttachType ExpectedAttachType { get; init; }

    /// <summary>The network device to offload to, or 0.</summary>
    public uint IfIndex { get; init; }

    /// <summary>The BTF object holding the types that <see cref="FuncInfo"/> and <see cref="LineInfo"/> refer to.</summary>
    public BtfHandle? Btf { get; init; }

    /// <summary>Packed struct bpf_func_info records.</summary>
    public ReadOnlyMemory<byte> FuncInfo { get; init; }

    /// <summary>The size of one func info record (8 for struct bpf_func_info).</summary>
    public uint FuncInfoRecordSize { get; init; } = 8;

    /// <summary>Packed struct bpf_line_info records.</summary>
    public ReadOnlyMemory<byte> LineInfo { get; init; }

    /// <summary>The size of one line info record (16 for struct bpf_line_info).</summary>
    public uint LineInfoRecordSize { get; init; } = 16;

    /// <summary>The BTF id of the kernel function or type to attach to (tracing, LSM, struct_ops, extensions).</summary>
    public uint AttachBtfId { get; init; }

    /// <summary>For extensions and tracing of BPF programs: the target program.</summary>
    public ProgramHandle? AttachProgram { get; init; }

    /// <summary>For attachment to a kernel module's BTF: the module BTF object (mutually exclusive with <see cref="AttachProgram"/>).</summary>
    public BtfHandle? AttachBtfObject { get; init; }

    /// <summary>Descriptors referred to by index from the instructions (BPF_PSEUDO_MAP_IDX, kfunc module BTFs).</summary>
    public IReadOnlyList<BpfFileDescriptor>? FdArray { get; init; }
}

/// <summary>The input of one BPF_PROG_TEST_RUN.</summary>
public sealed class TestRunOptions
{
    /// <summary>The packet (or other data) the program sees.</summary>
    public ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>The room for the data after the run; by default the input length plus 256 bytes.</summary>
    public int? DataOutCapacity { get; init; }

    /// <summary>The context passed in (e.g. struct xdp_md or __sk_buff), or empty.</summary>
    public ReadOnlyMemory<byte> Context { get; init; }

    /// <summary>The room for the context after the run; by default the input context length.</summary>
    public int? ContextOutCapacity { get; init; }

    /// <summary>How many times to run (0 and 1 both mean once).</summary>
    public uint Repeat { get; init; }

    /// <summary>Test run flags (BPF_F_TEST_RUN_ON_CPU = 1, BPF_F_TEST_XDP_LIVE_FRAMES = 2, BPF_F_TEST_SKB_CHECKSUM_COMPLETE = 4).</summary>
    public uint Flags { get; init; }

    /// <summary>The CPU to run on, with BPF_F_TEST_RUN_ON_CPU.</summary>
    public uint Cpu { get; init; }

    /// <summary>For live XDP frames: the batch size.</summary>
    public uint BatchSize { get; init; }
}

/// <summary>What one BPF_PROG_TEST_RUN produced.</summary>
/// <param name="ReturnValue">The program's return value (r0, truncated to 32 bits).</param>
/// <param name="Data">The data after the run.</param>
/// <param name="Context">The context after the run (empty when none was requested).</param>
/// <param name="DurationNanoseconds">The kernel's average time per run, in nanoseconds.</param>
public sealed record TestRunResult(uint ReturnValue, byte[] Data, byte[] Context, uint DurationNanoseconds)
{
    /// <summary>The average time per run.</summary>
    public TimeSpan Duration => TimeSpan.FromTicks(DurationNanoseconds / 100);
}

/// <summary>What BPF_LINK_CREATE needs.</summary>
public sealed class LinkCreateOptions
{
    /// <summary>The program to attach.</summary>
    public required ProgramHandle Program { get; init; }

    /// <summary>The target object (a cgroup directory, a netns, a program...), or null when <see cref="TargetIfIndex"/> is used.</summary>
    public System.Runtime.InteropServices.SafeHandle? Target { get; init; }

    /// <summary>The target network interface index, when <see cref="Target"/> is null.</summary>
    public uint TargetIfIndex { get; init; }

    /// <summary>The attach type.</summary>
    public required AttachType AttachType { get; init; }

    /// <summary>Link flags.</summary>
    public uint Flags { get; init; }

    /// <summary>The first word of the attach-specific part: target_btf_id for tracing links.</summary>
    public uint TargetBtfId { get; init; }

    /// <summary>The raw attach-specific part (up to 48 bytes, from offset 16 of the attribute); overrides <see cref="TargetBtfId"/>.</summary>
    public ReadOnlyMemory<byte> Extra { get; init; }
}
