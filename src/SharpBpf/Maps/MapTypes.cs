namespace SharpBpf.Maps;

/// <summary>Map creation flags (<c>map_flags</c>), as the kernel's <c>BPF_F_*</c> values.</summary>
[Flags]
public enum MapFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>BPF_F_NO_PREALLOC: allocate hash elements on demand (required by LPM tries).</summary>
    NoPrealloc = 1 << 0,
    /// <summary>BPF_F_NO_COMMON_LRU: one LRU list per CPU (accepted; the VM keeps one list).</summary>
    NoCommonLru = 1 << 1,
    /// <summary>BPF_F_NUMA_NODE: a NUMA node is given (accepted and ignored).</summary>
    NumaNode = 1 << 2,
    /// <summary>BPF_F_RDONLY: the host may not write the map.</summary>
    ReadOnly = 1 << 3,
    /// <summary>BPF_F_WRONLY: the host may not read the map.</summary>
    WriteOnly = 1 << 4,
    /// <summary>BPF_F_STACK_BUILD_ID.</summary>
    StackBuildId = 1 << 5,
    /// <summary>BPF_F_ZERO_SEED: hash with seed 0 (reproducible layout).</summary>
    ZeroSeed = 1 << 6,
    /// <summary>BPF_F_RDONLY_PROG: programs may only read the values (their memory is read-only).</summary>
    ReadOnlyProgram = 1 << 7,
    /// <summary>BPF_F_WRONLY_PROG: programs may only write.</summary>
    WriteOnlyProgram = 1 << 8,
    /// <summary>BPF_F_CLONE.</summary>
    Clone = 1 << 9,
    /// <summary>BPF_F_MMAPABLE: the array can be memory-mapped (arrays only).</summary>
    Mmapable = 1 << 10,
    /// <summary>BPF_F_PRESERVE_ELEMS: perf event arrays keep their entries (perf event arrays only).</summary>
    PreserveElements = 1 << 11,
    /// <summary>BPF_F_INNER_MAP: inner maps of this spec may differ in max_entries.</summary>
    InnerMap = 1 << 12,
}

/// <summary>
/// The result of a map operation: 0 or a negative Linux errno, exactly what the kernel's helpers return to
/// programs (so <c>(ulong)(long)result</c> is the helper's r0).
/// </summary>
public enum MapResult
{
    /// <summary>Success.</summary>
    Success = 0,
    /// <summary>-EPERM: not permitted (a read-only or frozen map written by the host).</summary>
    NotPermitted = -1,
    /// <summary>-ENOENT: no such element (or BPF_EXIST on a missing key, an empty queue, the end of an iteration).</summary>
    NotFound = -2,
    /// <summary>-E2BIG: out of range or full (an array index past max_entries, a full hash or queue).</summary>
    TooBig = -7,
    /// <summary>-EBADF: the value names no program or map.</summary>
    BadDescriptor = -9,
    /// <summary>-EAGAIN: try again (a ring buffer without room for an output).</summary>
    TryAgain = -11,
    /// <summary>-ENOMEM: out of memory (or beyond the map set's memory limit).</summary>
    NoMemory = -12,
    /// <summary>-EFAULT: bad address.</summary>
    Fault = -14,
    /// <summary>-EBUSY: busy.</summary>
    Busy = -16,
    /// <summary>-EEXIST: BPF_NOEXIST on an existing key.</summary>
    Exists = -17,
    /// <summary>-EINVAL: invalid argument (bad flags, bad sizes, delete from an array).</summary>
    Invalid = -22,
    /// <summary>-ENOSPC: no space (a full LPM trie, a full perf buffer).</summary>
    NoSpace = -28,
    /// <summary>-EOPNOTSUPP: the map type does not support the operation.</summary>
    OperationNotSupported = -95,
    /// <summary>-ENOTSUPP (kernel-internal 524): the combination is not supported (an LRU map without prealloc).</summary>
    NotSupported = -524,
}

/// <summary>Helpers for <see cref="MapResult"/>.</summary>
public static class MapResultExtensions
{
    /// <summary>The kernel's name for the result ("-ENOENT"...), or "0".</summary>
    public static string ToErrnoName(this MapResult result) => result switch
    {
        MapResult.Success => "0",
        MapResult.NotPermitted => "-EPERM",
        MapResult.NotFound => "-ENOENT",
        MapResult.TooBig => "-E2BIG",
        MapResult.BadDescriptor => "-EBADF",
        MapResult.TryAgain => "-EAGAIN",
        MapResult.NoMemory => "-ENOMEM",
        MapResult.Fault => "-EFAULT",
        MapResult.Busy => "-EBUSY",
        MapResult.Exists => "-EEXIST",
        MapResult.Invalid => "-EINVAL",
        MapResult.NoSpace => "-ENOSPC",
        MapResult.OperationNotSupported => "-EOPNOTSUPP",
        MapResult.NotSupported => "-ENOTSUPP",
        _ => ((int)result).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The value a helper returns in r0 for this result (the negative errno, sign-extended).</summary>
    public static ulong ToHelperReturn(this MapResult result) => (ulong)(long)(int)result;
}

/// <summary>A map could not be created, or an operation the host asked for failed.</summary>
public sealed class MapException : BpfException
{
    /// <summary>Creates the exception.</summary>
    public MapException(MapResult result, string message) : base($"{message} ({result.ToErrnoName()})")
    {
        Result = result;
    }

    /// <summary>Creates an exception without an errno.</summary>
    public MapException() : this(MapResult.Invalid, "map error") { }

    /// <summary>Creates an exception with a message.</summary>
    public MapException(string message) : this(MapResult.Invalid, message) { }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public MapException(string message, Exception innerException) : base(message, innerException)
    {
        Result = MapResult.Invalid;
    }

    /// <summary>The errno the kernel would return for the same request.</summary>
    public MapResult Result { get; }
}
