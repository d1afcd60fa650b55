using SharpBpf.Btf;

namespace SharpBpf.Tests.Btf.Core;

/// <summary>
/// Small vmlinux-like target BTFs built with <see cref="BtfBuilder"/>: just the types the project's CO-RE objects
/// use, with layouts chosen by these tests (so every expected offset below comes from here, not from the engine).
/// Names follow gcc/pahole ("long unsigned int"), as in real kernel BTF.
/// </summary>
internal static class CoreTargets
{
    // Offsets (bytes) of the "new" (6.x-like) task_struct.
    public const int NewStateOffset = 24, NewFlagsOffset = 44, NewPidOffset = 1264, NewTgidOffset = 1268, NewRealParentOffset = 1280;
    public const int NewFsOffset = 1816, NewSignalOffset = 1848, NewCommOffset = 1752;

    /// <summary>Bit offset of in_execve in the new layout (the third bit of the word at 1192).</summary>
    public const int NewInExecveBit = (1192 * 8) + 3;

    // Offsets of the "old" (4.18-like) task_struct: `volatile long state`, no __state, no in_iowait.
    public const int OldStateOffset = 16, OldFlagsOffset = 36, OldPidOffset = 1104, OldTgidOffset = 1108, OldRealParentOffset = 1112;
    public const int OldFsOffset = 1696, OldSignalOffset = 1720, OldCommOffset = 1640;

    /// <summary>Bit offset of in_execve in the old layout: bit 7 of byte 1195, a 2-bit field in a u8 (so it straddles bytes).</summary>
    public const int OldInExecveBit = (1195 * 8) + 7;

    public const int NewRlimOffset = 792, OldRlimOffset = 744;

    /// <summary>A 6.x-like kernel.</summary>
    public static BtfSpec NewKernel() => Build(old: false);

    /// <summary>A 4.18-like kernel: task_struct has `state`, PIDTYPE_TGID and BPF_MAP_TYPE_RINGBUF do not exist, no enum64.</summary>
    public static BtfSpec OldKernel() => Build(old: true);

    private static BtfMemberDefinition M(string name, int type, int byteOffset) => new(name, type, (uint)byteOffset * 8);

    private static BtfSpec Build(bool old)
    {
        var b = new BtfBuilder();
        int @int = b.AddInt("int", 4, BtfIntEncoding.Signed);
        int uint32 = b.AddInt("unsigned int", 4);
        int @long = b.AddInt("long int", 8, BtfIntEncoding.Signed);
        int ulong64 = b.AddInt("long unsigned int", 8);
        int @char = b.AddInt("char", 1, old ? BtfIntEncoding.Signed : BtfIntEncoding.None);
        int u8 = b.AddInt("unsigned char", 1);
        int u64 = b.AddInt("long long unsigned int", 8);
        int kernelPid = b.AddTypedef("__kernel_pid_t", @int);
        int pid = b.AddTypedef("pid_t", kernelPid);
        int kernelUlong = b.AddTypedef("__kernel_ulong_t", ulong64);
        int arrayIndex = b.AddInt("__ARRAY_SIZE_TYPE__", 4);

        int listHead = b.AddStruct("list_head", 16);
        int listHeadPtr = b.AddPointer(listHead);
        b[listHead].Members.AddRange([M("next", listHeadPtr, 0), M("prev", listHeadPtr, 8)]);

        int rlimit = b.AddStruct("rlimit", 16, M("rlim_cur", kernelUlong, 0), M("rlim_max", kernelUlong, 8));
        int rlimArray = b.AddArray(rlimit, arrayIndex, 16);
        int rlimOffset = old ? OldRlimOffset : NewRlimOffset;
        int signal = b.AddStruct("signal_struct", (uint)(rlimOffset + 256), M("nr_threads", @int, 4), M("rlim", rlimArray, rlimOffset));

        // qstr: { union { struct { u32 hash; u32 len; }; u64 hash_len; }; const unsigned char *name; }
        int hashLen = b.AddStruct("", 8, M("hash", uint32, 0), M("len", uint32, 4));
        int qstrUnion = b.AddUnion("", 8, M("", hashLen, 0), M("hash_len", u64, 0));
        int constU8 = b.AddConst(u8);
        int namePtr = b.AddPointer(constU8);
        int qstr = b.AddStruct("qstr", 16, M("", qstrUnion, 0), M("name", namePtr, 8));
        int dentry;
        if (old)
        {
            dentry = b.AddStruct("dentry", 192, M("d_flags", uint32, 0), M("d_parent", 0, 24), M("d_name", qstr, 32));
        }
        else
        {
            // 6.x: union { struct qstr __d_name; const struct qstr d_name; } at 32.
            int constQstr = b.AddConst(qstr);
            int nameUnion = b.AddUnion("", 16, M("__d_name", qstr, 0), M("d_name", constQstr, 0));
            dentry = b.AddStruct("dentry", 192, M("d_flags", uint32, 0), M("d_parent", 0, 24), M("", nameUnion, 32));
        }
        int dentryPtr = b.AddPointer(dentry);
        b[dentry].Members[1] = M("d_parent", dentryPtr, 24);
        int vfsmount = b.AddForward("vfsmount");
        int path = b.AddStruct("path", 16, M("mnt", b.AddPointer(vfsmount), 0), M("dentry", dentryPtr, 8));
        int fs = b.AddStruct("fs_struct", 56, M("users", @int, 0), M("pwd", path, old ? 32 : 40));

        int commArray = b.AddArray(@char, arrayIndex, 16);
        int task = b.AddStruct("task_struct", old ? 3000u : 3500u);
        int taskPtr = b.AddPointer(task);
        var members = b[task].Members;
        if (old)
        {
            int volatileLong = b.AddVolatile(@long);
            members.AddRange([
                M("state", volatileLong, OldStateOffset),
                M("flags", uint32, OldFlagsOffset),
                M("pid", pid, OldPidOffset),
                M("tgid", pid, OldTgidOffset),
                M("real_parent", taskPtr, OldRealParentOffset),
                new BtfMemberDefinition("in_execve", u8, OldInExecveBit, 2),
                M("comm", commArray, OldCommOffset),
                M("fs", b.AddPointer(fs), OldFsOffset),
                M("signal", b.AddPointer(signal), OldSignalOffset),
            ]);
        }
        else
        {
            members.AddRange([
                M("__state", uint32, NewStateOffset),
                M("flags", uint32, NewFlagsOffset),
                new BtfMemberDefinition("in_execve", uint32, NewInExecveBit, 1),
                new BtfMemberDefinition("in_iowait", uint32, NewInExecveBit + 2, 1),
                M("pid", pid, NewPidOffset),
                M("tgid", pid, NewTgidOffset),
                M("real_parent", taskPtr, NewRealParentOffset),
                M("comm", commArray, NewCommOffset),
                M("fs", b.AddPointer(fs), NewFsOffset),
                M("signal", b.AddPointer(signal), NewSignalOffset),
            ]);
        }
        b[task].KindFlag = true;

        if (old)
        {
            b.AddEnum("pid_type", 4, false, new("PIDTYPE_PID", 0), new("PIDTYPE_PGID", 1), new("PIDTYPE_SID", 2), new("PIDTYPE_MAX", 3));
            b.AddEnum("bpf_map_type", 4, false, new("BPF_MAP_TYPE_UNSPEC", 0), new("BPF_MAP_TYPE_HASH", 1), new("BPF_MAP_TYPE_ARRAY", 2));
            // Before ENUM64, pahole wrote 64-bit enumerators truncated into a 32-bit enum record of size 8.
            b.AddEnum("perf_callchain_context", 8, false, new("PERF_CONTEXT_HV", unchecked((uint)-32)), new("PERF_CONTEXT_KERNEL", unchecked((uint)-128)));
        }
        else
        {
            b.AddEnum("pid_type", 4, false, new("PIDTYPE_PID", 0), new("PIDTYPE_TGID", 1), new("PIDTYPE_PGID", 2), new("PIDTYPE_SID", 3), new("PIDTYPE_MAX", 4));
            b.AddEnum("bpf_map_type", 4, false, new("BPF_MAP_TYPE_UNSPEC", 0), new("BPF_MAP_TYPE_HASH", 1), new("BPF_MAP_TYPE_RINGBUF", 27));
            b.AddEnum64("perf_callchain_context", 8, false, new("PERF_CONTEXT_HV", -32), new("PERF_CONTEXT_KERNEL", -128));
        }

        int attrCreate = b.AddStruct("", 8, M("map_type", uint32, 0), M("key_size", uint32, 4));
        b.AddUnion("bpf_attr", 8, M("", attrCreate, 0));
        return b.Build();
    }
}
