namespace SharpBpf.Linux;

/// <summary>The commands of the bpf() system call (enum bpf_cmd); the kernel name is BPF_ plus the member in upper snake case.</summary>
public enum BpfCommand
{
    /// <summary>Create a map.</summary>
    MapCreate = 0,
    /// <summary>Read an element of a map.</summary>
    MapLookupElem = 1,
    /// <summary>Create or replace an element of a map.</summary>
    MapUpdateElem = 2,
    /// <summary>Remove an element of a map.</summary>
    MapDeleteElem = 3,
    /// <summary>Iterate over the keys of a map.</summary>
    MapGetNextKey = 4,
    /// <summary>Verify and load a program.</summary>
    ProgLoad = 5,
    /// <summary>Pin an object on a bpf file system.</summary>
    ObjPin = 6,
    /// <summary>Open a pinned object.</summary>
    ObjGet = 7,
    /// <summary>Attach a program (legacy, non-link attachment).</summary>
    ProgAttach = 8,
    /// <summary>Detach a program attached with <see cref="ProgAttach"/>.</summary>
    ProgDetach = 9,
    /// <summary>Run a program once or many times on supplied input.</summary>
    ProgTestRun = 10,
    /// <summary>Find the next loaded program id.</summary>
    ProgGetNextId = 11,
    /// <summary>Find the next map id.</summary>
    MapGetNextId = 12,
    /// <summary>Open a program by id.</summary>
    ProgGetFdById = 13,
    /// <summary>Open a map by id.</summary>
    MapGetFdById = 14,
    /// <summary>Describe the object behind a file descriptor.</summary>
    ObjGetInfoByFd = 15,
    /// <summary>List programs attached to a hook.</summary>
    ProgQuery = 16,
    /// <summary>Attach a program to a raw tracepoint.</summary>
    RawTracepointOpen = 17,
    /// <summary>Load BTF type information.</summary>
    BtfLoad = 18,
    /// <summary>Open a BTF object by id.</summary>
    BtfGetFdById = 19,
    /// <summary>Ask what a task's file descriptor has attached.</summary>
    TaskFdQuery = 20,
    /// <summary>Read and remove an element atomically.</summary>
    MapLookupAndDeleteElem = 21,
    /// <summary>Make a map read-only for user space.</summary>
    MapFreeze = 22,
    /// <summary>Find the next BTF object id.</summary>
    BtfGetNextId = 23,
    /// <summary>Read many elements.</summary>
    MapLookupBatch = 24,
    /// <summary>Read and remove many elements.</summary>
    MapLookupAndDeleteBatch = 25,
    /// <summary>Write many elements.</summary>
    MapUpdateBatch = 26,
    /// <summary>Remove many elements.</summary>
    MapDeleteBatch = 27,
    /// <summary>Attach a program through a link.</summary>
    LinkCreate = 28,
    /// <summary>Replace the program of a link.</summary>
    LinkUpdate = 29,
    /// <summary>Open a link by id.</summary>
    LinkGetFdById = 30,
    /// <summary>Find the next link id.</summary>
    LinkGetNextId = 31,
    /// <summary>Turn on system-wide statistics while the returned descriptor is open.</summary>
    EnableStats = 32,
    /// <summary>Create an iterator from an iterator link.</summary>
    IterCreate = 33,
    /// <summary>Detach a link without closing it.</summary>
    LinkDetach = 34,
    /// <summary>Bind a map to a program's lifetime.</summary>
    ProgBindMap = 35,
    /// <summary>Create a delegation token.</summary>
    TokenCreate = 36,
}

/// <summary>Link types (enum bpf_link_type).</summary>
public enum BpfLinkType : uint
{
    /// <summary>BPF_LINK_TYPE_UNSPEC.</summary>
    Unspecified = 0,
    /// <summary>BPF_LINK_TYPE_RAW_TRACEPOINT.</summary>
    RawTracepoint = 1,
    /// <summary>BPF_LINK_TYPE_TRACING.</summary>
    Tracing = 2,
    /// <summary>BPF_LINK_TYPE_CGROUP.</summary>
    Cgroup = 3,
    /// <summary>BPF_LINK_TYPE_ITER.</summary>
    Iterator = 4,
    /// <summary>BPF_LINK_TYPE_NETNS.</summary>
    NetworkNamespace = 5,
    /// <summary>BPF_LINK_TYPE_XDP.</summary>
    Xdp = 6,
    /// <summary>BPF_LINK_TYPE_PERF_EVENT.</summary>
    PerfEvent = 7,
    /// <summary>BPF_LINK_TYPE_KPROBE_MULTI.</summary>
    KprobeMulti = 8,
    /// <summary>BPF_LINK_TYPE_STRUCT_OPS.</summary>
    StructOps = 9,
    /// <summary>BPF_LINK_TYPE_NETFILTER.</summary>
    Netfilter = 10,
    /// <summary>BPF_LINK_TYPE_TCX.</summary>
    Tcx = 11,
    /// <summary>BPF_LINK_TYPE_UPROBE_MULTI.</summary>
    UprobeMulti = 12,
    /// <summary>BPF_LINK_TYPE_NETKIT.</summary>
    Netkit = 13,
    /// <summary>BPF_LINK_TYPE_SOCKMAP.</summary>
    SockMap = 14,
}

/// <summary>The map_flags of map creation (BPF_F_*).</summary>
[Flags]
public enum MapCreateFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>BPF_F_NO_PREALLOC: allocate hash elements on demand.</summary>
    NoPrealloc = 1u << 0,
    /// <summary>BPF_F_NO_COMMON_LRU: one LRU list per CPU.</summary>
    NoCommonLru = 1u << 1,
    /// <summary>BPF_F_NUMA_NODE: honour the numa node field.</summary>
    NumaNode = 1u << 2,
    /// <summary>BPF_F_RDONLY: user space may only read.</summary>
    ReadOnly = 1u << 3,
    /// <summary>BPF_F_WRONLY: user space may only write.</summary>
    WriteOnly = 1u << 4,
    /// <summary>BPF_F_STACK_BUILD_ID: stack traces hold build ids.</summary>
    StackBuildId = 1u << 5,
    /// <summary>BPF_F_ZERO_SEED: a fixed hash seed (testing only).</summary>
    ZeroSeed = 1u << 6,
    /// <summary>BPF_F_RDONLY_PROG: programs may only read.</summary>
    ReadOnlyProgram = 1u << 7,
    /// <summary>BPF_F_WRONLY_PROG: programs may only write.</summary>
    WriteOnlyProgram = 1u << 8,
    /// <summary>BPF_F_CLONE: clone local storage to child sockets.</summary>
    Clone = 1u << 9,
    /// <summary>BPF_F_MMAPABLE: the array may be mapped into memory.</summary>
    Mmapable = 1u << 10,
    /// <summary>BPF_F_PRESERVE_ELEMS: keep perf event array entries after the file closes.</summary>
    PreserveElements = 1u << 11,
    /// <summary>BPF_F_INNER_MAP: inner maps may differ in max_entries.</summary>
    InnerMap = 1u << 12,
    /// <summary>BPF_F_LINK: a struct_ops map usable as a link.</summary>
    Link = 1u << 13,
    /// <summary>BPF_F_PATH_FD: the pin path is relative to path_fd.</summary>
    PathFd = 1u << 14,
    /// <summary>BPF_F_VTYPE_BTF_OBJ_FD: value_type_btf_obj_fd is valid.</summary>
    ValueTypeBtfObjectFd = 1u << 15,
    /// <summary>BPF_F_TOKEN_FD: map_token_fd is valid.</summary>
    TokenFd = 1u << 16,
    /// <summary>BPF_F_SEGV_ON_FAULT: arena faults kill the task.</summary>
    SegvOnFault = 1u << 17,
    /// <summary>BPF_F_NO_USER_CONV: arena pointers are not converted.</summary>
    NoUserConversion = 1u << 18,
}

/// <summary>The prog_flags of program loading (BPF_F_*).</summary>
[Flags]
public enum ProgramLoadFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>BPF_F_STRICT_ALIGNMENT: check alignment as strict architectures would.</summary>
    StrictAlignment = 1u << 0,
    /// <summary>BPF_F_ANY_ALIGNMENT: accept any alignment (testing only).</summary>
    AnyAlignment = 1u << 1,
    /// <summary>BPF_F_TEST_RND_HI32: randomise the upper halves of 32-bit results (testing only).</summary>
    TestRandomHigh32 = 1u << 2,
    /// <summary>BPF_F_TEST_STATE_FREQ: prune states more often (testing only).</summary>
    TestStateFrequency = 1u << 3,
    /// <summary>BPF_F_SLEEPABLE: the program may sleep.</summary>
    Sleepable = 1u << 4,
    /// <summary>BPF_F_XDP_HAS_FRAGS: the XDP program understands multi-buffer packets.</summary>
    XdpHasFragments = 1u << 5,
    /// <summary>BPF_F_XDP_DEV_BOUND_ONLY: bound to one device.</summary>
    XdpDeviceBoundOnly = 1u << 6,
    /// <summary>BPF_F_TEST_REG_INVARIANTS: check register invariants (testing only).</summary>
    TestRegisterInvariants = 1u << 7,
    /// <summary>BPF_F_TOKEN_FD: prog_token_fd is valid.</summary>
    TokenFd = 1u << 16,
}

/// <summary>Statistics that <see cref="BpfCommand.EnableStats"/> can switch on (enum bpf_stats_type).</summary>
public enum BpfStatsType : uint
{
    /// <summary>BPF_STATS_RUN_TIME: count runs and run time of every program.</summary>
    RunTime = 0,
}

/// <summary>The kinds of kernel object that have ids.</summary>
public enum BpfObjectKind
{
    /// <summary>A program.</summary>
    Program,
    /// <summary>A map.</summary>
    Map,
    /// <summary>A link.</summary>
    Link,
    /// <summary>A BTF object.</summary>
    Btf,
}
