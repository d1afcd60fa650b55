namespace SharpBpf;

/// <summary>The kind of a map, numbered as the kernel's <c>enum bpf_map_type</c>.</summary>
public enum MapType : uint
{
    /// <summary>BPF_MAP_TYPE_UNSPEC: not a valid map type.</summary>
    Unspecified = 0,
    /// <summary>BPF_MAP_TYPE_HASH.</summary>
    Hash = 1,
    /// <summary>BPF_MAP_TYPE_ARRAY.</summary>
    Array = 2,
    /// <summary>BPF_MAP_TYPE_PROG_ARRAY: programs for tail calls.</summary>
    ProgramArray = 3,
    /// <summary>BPF_MAP_TYPE_PERF_EVENT_ARRAY: per-CPU sample buffers.</summary>
    PerfEventArray = 4,
    /// <summary>BPF_MAP_TYPE_PERCPU_HASH.</summary>
    PerCpuHash = 5,
    /// <summary>BPF_MAP_TYPE_PERCPU_ARRAY.</summary>
    PerCpuArray = 6,
    /// <summary>BPF_MAP_TYPE_STACK_TRACE (not supported by the VM).</summary>
    StackTrace = 7,
    /// <summary>BPF_MAP_TYPE_CGROUP_ARRAY (not supported by the VM).</summary>
    CgroupArray = 8,
    /// <summary>BPF_MAP_TYPE_LRU_HASH.</summary>
    LruHash = 9,
    /// <summary>BPF_MAP_TYPE_LRU_PERCPU_HASH.</summary>
    LruPerCpuHash = 10,
    /// <summary>BPF_MAP_TYPE_LPM_TRIE: longest-prefix match.</summary>
    LpmTrie = 11,
    /// <summary>BPF_MAP_TYPE_ARRAY_OF_MAPS.</summary>
    ArrayOfMaps = 12,
    /// <summary>BPF_MAP_TYPE_HASH_OF_MAPS.</summary>
    HashOfMaps = 13,
    /// <summary>BPF_MAP_TYPE_DEVMAP (not supported by the VM).</summary>
    DevMap = 14,
    /// <summary>BPF_MAP_TYPE_SOCKMAP (not supported by the VM).</summary>
    SockMap = 15,
    /// <summary>BPF_MAP_TYPE_CPUMAP (not supported by the VM).</summary>
    CpuMap = 16,
    /// <summary>BPF_MAP_TYPE_XSKMAP (not supported by the VM).</summary>
    XskMap = 17,
    /// <summary>BPF_MAP_TYPE_SOCKHASH (not supported by the VM).</summary>
    SockHash = 18,
    /// <summary>BPF_MAP_TYPE_CGROUP_STORAGE (not supported by the VM).</summary>
    CgroupStorage = 19,
    /// <summary>BPF_MAP_TYPE_REUSEPORT_SOCKARRAY (not supported by the VM).</summary>
    ReuseportSockArray = 20,
    /// <summary>BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE (not supported by the VM).</summary>
    PerCpuCgroupStorage = 21,
    /// <summary>BPF_MAP_TYPE_QUEUE: FIFO.</summary>
    Queue = 22,
    /// <summary>BPF_MAP_TYPE_STACK: LIFO.</summary>
    Stack = 23,
    /// <summary>BPF_MAP_TYPE_SK_STORAGE (not supported by the VM).</summary>
    SkStorage = 24,
    /// <summary>BPF_MAP_TYPE_DEVMAP_HASH (not supported by the VM).</summary>
    DevMapHash = 25,
    /// <summary>BPF_MAP_TYPE_STRUCT_OPS (not supported by the VM).</summary>
    StructOps = 26,
    /// <summary>BPF_MAP_TYPE_RINGBUF.</summary>
    RingBuffer = 27,
    /// <summary>BPF_MAP_TYPE_INODE_STORAGE (not supported by the VM).</summary>
    InodeStorage = 28,
    /// <summary>BPF_MAP_TYPE_TASK_STORAGE (not supported by the VM).</summary>
    TaskStorage = 29,
    /// <summary>BPF_MAP_TYPE_BLOOM_FILTER.</summary>
    BloomFilter = 30,
    /// <summary>BPF_MAP_TYPE_USER_RINGBUF (not supported by the VM).</summary>
    UserRingBuffer = 31,
    /// <summary>BPF_MAP_TYPE_CGRP_STORAGE (not supported by the VM).</summary>
    CgroupLocalStorage = 32,
    /// <summary>BPF_MAP_TYPE_ARENA (not supported by the VM).</summary>
    Arena = 33,
}
