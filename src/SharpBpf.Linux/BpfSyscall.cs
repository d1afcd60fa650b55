using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using SharpBpf.Isa;
using SharpBpf.Linux.Interop;

namespace SharpBpf.Linux;

/// <summary>
/// The bpf() system call, one typed method per command. Attributes are zero-initialised structs laid out as in
/// union bpf_attr; failures become <see cref="BpfSyscallException"/>. Lookups that can legitimately miss return
/// false on ENOENT instead of throwing.
/// </summary>
public static unsafe class BpfSyscall
{
    private const int MaxEagainRetries = 5;
    private const uint LinkUpdateReplaceFlag = 4; // BPF_F_REPLACE

    /// <summary>The bpf() system call number of this process's architecture.</summary>
    /// <exception cref="PlatformNotSupportedException">The architecture has no known number.</exception>
    public static long SyscallNumber => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 => 280,
        Architecture.RiscV64 => 280,
        Architecture.LoongArch64 => 280,
        Architecture.X86 => 357,
        Architecture.Arm => 386,
        Architecture.Ppc64le => 361,
        Architecture.S390x => 351,
        var other => throw new PlatformNotSupportedException($"no bpf() system call number is known for {other}"),
    };

    /// <summary>The kernel's name of a command, e.g. BPF_MAP_LOOKUP_ELEM.</summary>
    public static string CommandName(BpfCommand command)
    {
        string pascal = command.ToString();
        var text = new StringBuilder("BPF_", pascal.Length + 12);
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (i > 0 && char.IsUpper(c))
            {
                text.Append('_');
            }

            text.Append(char.ToUpperInvariant(c));
        }

        return text.ToString();
    }

    /// <summary>
    /// Issues bpf(command, attr, size) and returns its result, or the negated errno on failure.
    /// The lowest layer: no retry, no exception.
    /// </summary>
    public static int Invoke(BpfCommand command, void* attr, int size)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("bpf() exists only on Linux");
        }

        long result = Libc.Syscall(SyscallNumber, (long)command, attr, size);
        return result < 0 ? -Marshal.GetLastPInvokeError() : checked((int)result);
    }

    private static int Call<T>(BpfCommand command, ref T attr)
        where T : unmanaged => Invoke(command, Unsafe.AsPointer(ref attr), sizeof(T));

    private static int CallOrThrow<T>(BpfCommand command, ref T attr, string? detail = null)
        where T : unmanaged
    {
        int result = Call(command, ref attr);
        return result >= 0 ? result : throw Failure(command, -result, detail);
    }

    internal static BpfSyscallException Failure(BpfCommand command, int errno, string? detail = null, string? log = null) =>
        new(CommandName(command), errno, detail, log, command);

    // ----- maps -----

    /// <summary>BPF_MAP_CREATE: creates a map.</summary>
    public static MapHandle MapCreate(MapCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var attr = default(MapCreateAttr);
        attr.MapType = (uint)options.Type;
        attr.KeySize = options.KeySize;
        attr.ValueSize = options.ValueSize;
        attr.MaxEntries = options.MaxEntries;
        attr.MapFlags = (uint)options.Flags;
        attr.NumaNode = options.NumaNode;
        attr.MapIfIndex = options.IfIndex;
        attr.BtfKeyTypeId = options.BtfKeyTypeId;
        attr.BtfValueTypeId = options.BtfValueTypeId;
        attr.BtfVmlinuxValueTypeId = options.BtfVmlinuxValueTypeId;
        attr.MapExtra = options.MapExtra;
        WriteObjectName(options.Name, new Span<byte>(attr.MapName, 16));
        using var inner = new FdLease(options.InnerMap);
        using var btf = new FdLease(options.Btf);
        attr.InnerMapFd = inner.Fd;
        attr.BtfFd = btf.Fd;
        int fd = CallOrThrow(BpfCommand.MapCreate, ref attr, $"{options.Type} map '{options.Name}' key {options.KeySize} value {options.ValueSize} max {options.MaxEntries}");
        return new MapHandle(fd);
    }

    /// <summary>BPF_MAP_LOOKUP_ELEM: copies the value of <paramref name="key"/>; false when the key is absent (ENOENT).</summary>
    public static bool MapLookupElem(MapHandle map, ReadOnlySpan<byte> key, Span<byte> value, ulong flags = 0) =>
        ElementCall(BpfCommand.MapLookupElem, map, key, value, flags, missing: Errno.ENOENT);

    /// <summary>BPF_MAP_UPDATE_ELEM: creates or replaces an element, as <paramref name="flags"/> allow.</summary>
    public static void MapUpdateElem(MapHandle map, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        fixed (byte* v = value)
        {
            ElementCall(BpfCommand.MapUpdateElem, map, key, new Span<byte>(v, value.Length), (ulong)flags, missing: 0);
        }
    }

    /// <summary>BPF_MAP_DELETE_ELEM: removes an element; false when the key is absent.</summary>
    public static bool MapDeleteElem(MapHandle map, ReadOnlySpan<byte> key) =>
        ElementCall(BpfCommand.MapDeleteElem, map, key, default, 0, missing: Errno.ENOENT);

    /// <summary>
    /// BPF_MAP_GET_NEXT_KEY: writes the key after <paramref name="key"/> (the first key when it is empty) to
    /// <paramref name="nextKey"/>; false at the end.
    /// </summary>
    public static bool MapGetNextKey(MapHandle map, ReadOnlySpan<byte> key, Span<byte> nextKey) =>
        ElementCall(BpfCommand.MapGetNextKey, map, key, nextKey, 0, missing: Errno.ENOENT);

    /// <summary>BPF_MAP_LOOKUP_AND_DELETE_ELEM: reads and removes an element (pops, for queues and stacks, with an empty key).</summary>
    public static bool MapLookupAndDeleteElem(MapHandle map, ReadOnlySpan<byte> key, Span<byte> value, ulong flags = 0) =>
        ElementCall(BpfCommand.MapLookupAndDeleteElem, map, key, value, flags, missing: Errno.ENOENT);

    /// <summary>BPF_MAP_FREEZE: makes the map read-only from user space, for good.</summary>
    public static void MapFreeze(MapHandle map)
    {
        using var lease = new FdLease(map);
        var attr = default(MapElemAttr);
        attr.MapFd = lease.Fd;
        CallOrThrow(BpfCommand.MapFreeze, ref attr);
    }

    private static bool ElementCall(BpfCommand command, MapHandle map, ReadOnlySpan<byte> key, Span<byte> value, ulong flags, int missing)
    {
        ArgumentNullException.ThrowIfNull(map);
        using var lease = new FdLease(map);
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            var attr = default(MapElemAttr);
            attr.MapFd = lease.Fd;
            attr.Key = key.IsEmpty ? 0 : (ulong)k;
            attr.ValueOrNextKey = value.IsEmpty ? 0 : (ulong)v;
            attr.Flags = flags;
            int result = Call(command, ref attr);
            if (result >= 0)
            {
                return true;
            }

            return -result == missing && missing != 0 ? false : throw Failure(command, -result, $"map fd {lease.Fd}");
        }
    }

    /// <summary>
    /// BPF_MAP_LOOKUP_BATCH: reads up to <paramref name="count"/> elements, resuming after the opaque token
    /// <paramref name="inBatch"/> (empty to start) and writing the next token to <paramref name="outBatch"/>.
    /// On return <paramref name="count"/> is the number of elements read. Returns false when the map has no more
    /// elements after these (ENOENT), true when more may follow.
    /// </summary>
    public static bool MapLookupBatch(MapHandle map, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elementFlags = 0) =>
        BatchCall(BpfCommand.MapLookupBatch, map, inBatch, outBatch, keys, values, ref count, elementFlags);

    /// <summary>BPF_MAP_LOOKUP_AND_DELETE_BATCH: like <see cref="MapLookupBatch"/>, removing what it reads.</summary>
    public static bool MapLookupAndDeleteBatch(MapHandle map, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elementFlags = 0) =>
        BatchCall(BpfCommand.MapLookupAndDeleteBatch, map, inBatch, outBatch, keys, values, ref count, elementFlags);

    /// <summary>BPF_MAP_UPDATE_BATCH: writes <paramref name="count"/> packed keys and values; on return, how many were written.</summary>
    public static void MapUpdateBatch(MapHandle map, ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, ref uint count, MapUpdateFlags elementFlags = MapUpdateFlags.Any)
    {
        fixed (byte* k = keys)
        fixed (byte* v = values)
        {
            BatchCall(BpfCommand.MapUpdateBatch, map, default, default, new Span<byte>(k, keys.Length), new Span<byte>(v, values.Length), ref count, (ulong)elementFlags);
        }
    }

    /// <summary>
    /// BPF_MAP_DELETE_BATCH: removes <paramref name="count"/> packed keys; on return, how many were removed.
    /// Returns false when it stopped at a key that was absent (ENOENT).
    /// </summary>
    public static bool MapDeleteBatch(MapHandle map, ReadOnlySpan<byte> keys, ref uint count, ulong elementFlags = 0)
    {
        fixed (byte* k = keys)
        {
            return BatchCall(BpfCommand.MapDeleteBatch, map, default, default, new Span<byte>(k, keys.Length), default, ref count, elementFlags);
        }
    }

    private static bool BatchCall(BpfCommand command, MapHandle map, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elementFlags)
    {
        ArgumentNullException.ThrowIfNull(map);
        using var lease = new FdLease(map);
        fixed (byte* ib = inBatch)
        fixed (byte* ob = outBatch)
        fixed (byte* k = keys)
        fixed (byte* v = values)
        {
            var attr = default(MapBatchAttr);
            attr.MapFd = lease.Fd;
            attr.InBatch = inBatch.IsEmpty ? 0 : (ulong)ib;
            attr.OutBatch = outBatch.IsEmpty ? 0 : (ulong)ob;
            attr.Keys = keys.IsEmpty ? 0 : (ulong)k;
            attr.Values = values.IsEmpty ? 0 : (ulong)v;
            attr.Count = count;
            attr.ElemFlags = elementFlags;
            int result = Call(command, ref attr);
            count = attr.Count;
            if (result >= 0)
            {
                return true;
            }

            // ENOENT ends a read at the end of the map, and stops a delete at the first absent key.
            bool endsQuietly = command is BpfCommand.MapLookupBatch or BpfCommand.MapLookupAndDeleteBatch or BpfCommand.MapDeleteBatch;
            return endsQuietly && -result == Errno.ENOENT ? false : throw Failure(command, -result, $"map fd {lease.Fd}, {count} element(s) done");
        }
    }

    // ----- programs -----

    /// <summary>
    /// BPF_PROG_LOAD: verifies and loads a program. The verifier log (when <see cref="ProgramLoadOptions.LogLevel"/>
    /// asks for one) is returned in <paramref name="verifierLog"/>; the buffer starts at
    /// <see cref="ProgramLoadOptions.InitialLogSize"/> and grows on ENOSPC. A rejected program throws
    /// <see cref="BpfSyscallException"/> whose <see cref="BpfSyscallException.VerifierLog"/> holds the log.
    /// </summary>
    public static ProgramHandle ProgramLoad(ProgramLoadOptions options, out string? verifierLog)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Instructions.IsEmpty)
        {
            throw new ArgumentException("a program needs at least one instruction", nameof(options));
        }

        if (options.AttachProgram is not null && options.AttachBtfObject is not null)
        {
            throw new ArgumentException("AttachProgram and AttachBtfObject are mutually exclusive", nameof(options));
        }

        Span<byte> name = stackalloc byte[16];
        WriteObjectName(options.Name, name);
        byte[] license = NulTerminated(options.License);
        uint logLevel = options.LogLevel;
        int logSize = logLevel == 0 ? 0 : Math.Clamp(options.InitialLogSize, 1024, Math.Max(1024, options.MaxLogSize));
        int maxLog = Math.Max(1024, options.MaxLogSize);
        int eagain = 0;
        string detail = $"{options.Type} program '{options.Name}', {options.Instructions.Length} instruction(s)";

        var fdArrayHandles = options.FdArray ?? [];
        var added = new bool[fdArrayHandles.Count];
        var fdArray = new int[fdArrayHandles.Count];
        using var btf = new FdLease(options.Btf);
        using var attachProgram = new FdLease(options.AttachProgram);
        using var attachBtf = new FdLease(options.AttachBtfObject);
        try
        {
            for (int i = 0; i < fdArrayHandles.Count; i++)
            {
                fdArrayHandles[i].DangerousAddRef(ref added[i]);
                fdArray[i] = (int)fdArrayHandles[i].DangerousGetHandle().ToInt64();
            }

            while (true)
            {
                byte[]? log = logSize > 0 ? new byte[logSize] : null;
                int result;
                uint trueSize;
                fixed (Instruction* insns = options.Instructions.Span)
                fixed (byte* lic = license)
                fixed (byte* logBuf = log)
                fixed (byte* funcInfo = options.FuncInfo.Span)
                fixed (byte* lineInfo = options.LineInfo.Span)
                fixed (int* fds = fdArray)
                fixed (byte* namePtr = name)
                {
                    var attr = default(ProgLoadAttr);
                    attr.ProgType = (uint)options.Type;
                    attr.InsnCnt = (uint)options.Instructions.Length;
                    attr.Insns = (ulong)insns;
                    attr.License = (ulong)lic;
                    attr.LogLevel = log is null ? 0 : logLevel;
                    attr.LogSize = (uint)(log?.Length ?? 0);
                    attr.LogBuf = (ulong)logBuf;
                    attr.KernVersion = options.KernelVersion;
                    attr.ProgFlags = (uint)options.Flags;
                    Buffer.MemoryCopy(namePtr, attr.ProgName, 16, 16);
                    attr.ProgIfIndex = options.IfIndex;
                    attr.ExpectedAttachType = (uint)options.ExpectedAttachType;
                    attr.ProgBtfFd = btf.Fd;
                    if (!options.FuncInfo.IsEmpty)
                    {
                        attr.FuncInfoRecSize = options.FuncInfoRecordSize;
                        attr.FuncInfo = (ulong)funcInfo;
                        attr.FuncInfoCnt = (uint)(options.FuncInfo.Length / (int)Math.Max(1, options.FuncInfoRecordSize));
                    }

                    if (!options.LineInfo.IsEmpty)
                    {
                        attr.LineInfoRecSize = options.LineInfoRecordSize;
                        attr.LineInfo = (ulong)lineInfo;
                        attr.LineInfoCnt = (uint)(options.LineInfo.Length / (int)Math.Max(1, options.LineInfoRecordSize));
                    }

                    attr.AttachBtfId = options.AttachBtfId;
                    attr.AttachProgFdOrBtfObjFd = options.AttachProgram is not null ? attachProgram.Fd : attachBtf.Fd;
                    attr.FdArray = fdArray.Length == 0 ? 0 : (ulong)fds;
                    result = Call(BpfCommand.ProgLoad, ref attr);
                    trueSize = attr.LogTrueSize;
                }

                if (result >= 0)
                {
                    verifierLog = DecodeLog(log);
                    return new ProgramHandle(result);
                }

                int errno = -result;
                if (errno == Errno.EAGAIN && ++eagain <= MaxEagainRetries)
                {
                    continue;
                }

                if (errno == Errno.ENOSPC && log is not null && logSize < maxLog)
                {
                    // The log did not fit: the kernel reports the size it needed (since 6.4); otherwise double.
                    long wanted = Math.Max((long)trueSize + 1, (long)logSize * 2);
                    logSize = (int)Math.Min(wanted, maxLog);
                    continue;
                }

                if (log is null && options.LogOnFailure)
                {
                    logLevel = 1;
                    logSize = Math.Clamp(options.InitialLogSize, 1024, maxLog);
                    continue;
                }

                throw Failure(BpfCommand.ProgLoad, errno, detail, DecodeLog(log));
            }
        }
        finally
        {
            for (int i = 0; i < added.Length; i++)
            {
                if (added[i])
                {
                    fdArrayHandles[i].DangerousRelease();
                }
            }
        }
    }

    /// <summary>BPF_PROG_TEST_RUN: runs a loaded program on the given input.</summary>
    public static TestRunResult ProgramTestRun(ProgramHandle program, TestRunOptions options)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(options);
        int dataOutCapacity = options.DataOutCapacity ?? (options.Data.IsEmpty ? 0 : options.Data.Length + 256);
        int contextOutCapacity = options.ContextOutCapacity ?? options.Context.Length;
        if (dataOutCapacity < 0 || contextOutCapacity < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "output capacities cannot be negative");
        }

        var dataOut = new byte[dataOutCapacity];
        var contextOut = new byte[contextOutCapacity];
        using var lease = new FdLease(program);
        fixed (byte* dataIn = options.Data.Span)
        fixed (byte* ctxIn = options.Context.Span)
        fixed (byte* dOut = dataOut)
        fixed (byte* cOut = contextOut)
        {
            var attr = default(TestRunAttr);
            attr.ProgFd = lease.Fd;
            attr.DataSizeIn = (uint)options.Data.Length;
            attr.DataIn = options.Data.IsEmpty ? 0 : (ulong)dataIn;
            attr.DataSizeOut = (uint)dataOut.Length;
            attr.DataOut = dataOut.Length == 0 ? 0 : (ulong)dOut;
            attr.CtxSizeIn = (uint)options.Context.Length;
            attr.CtxIn = options.Context.IsEmpty ? 0 : (ulong)ctxIn;
            attr.CtxSizeOut = (uint)contextOut.Length;
            attr.CtxOut = contextOut.Length == 0 ? 0 : (ulong)cOut;
            attr.Repeat = options.Repeat;
            attr.Flags = options.Flags;
            attr.Cpu = options.Cpu;
            attr.BatchSize = options.BatchSize;
            int result = Call(BpfCommand.ProgTestRun, ref attr);
            if (result < 0)
            {
                string detail = -result == Errno.ENOSPC
                    ? $"output needs {attr.DataSizeOut} data byte(s) (room {dataOut.Length}) and {attr.CtxSizeOut} context byte(s) (room {contextOut.Length})"
                    : $"program fd {lease.Fd}, {options.Data.Length} data byte(s)";
                throw Failure(BpfCommand.ProgTestRun, -result, detail);
            }

            var data = dataOut.AsSpan(0, (int)Math.Min(attr.DataSizeOut, (uint)dataOut.Length)).ToArray();
            var ctx = contextOut.AsSpan(0, (int)Math.Min(attr.CtxSizeOut, (uint)contextOut.Length)).ToArray();
            return new TestRunResult(attr.Retval, data, ctx, attr.Duration);
        }
    }

    // ----- BTF -----

    /// <summary>
    /// BPF_BTF_LOAD: loads raw BTF (header, types, strings). With <paramref name="logLevel"/> 0 a rejected blob is
    /// loaded again at level 1 so that the exception carries the kernel's reason.
    /// </summary>
    public static BtfHandle BtfLoad(ReadOnlySpan<byte> btf, out string? log, uint logLevel = 0, int initialLogSize = 64 * 1024, int maxLogSize = ProgramLoadOptions.DefaultMaxLogSize)
    {
        if (btf.IsEmpty)
        {
            throw new ArgumentException("BTF data is empty", nameof(btf));
        }

        int maxLog = Math.Max(1024, maxLogSize);
        int logSize = logLevel == 0 ? 0 : Math.Clamp(initialLogSize, 1024, maxLog);
        while (true)
        {
            byte[]? logBuffer = logSize > 0 ? new byte[logSize] : null;
            int result;
            uint trueSize;
            fixed (byte* data = btf)
            fixed (byte* logPtr = logBuffer)
            {
                var attr = default(BtfLoadAttr);
                attr.Btf = (ulong)data;
                attr.BtfSize = (uint)btf.Length;
                attr.BtfLogBuf = (ulong)logPtr;
                attr.BtfLogSize = (uint)(logBuffer?.Length ?? 0);
                attr.BtfLogLevel = logBuffer is null ? 0 : logLevel;
                result = Call(BpfCommand.BtfLoad, ref attr);
                trueSize = attr.BtfLogTrueSize;
            }

            if (result >= 0)
            {
                log = DecodeLog(logBuffer);
                return new BtfHandle(result);
            }

            int errno = -result;
            if (errno == Errno.ENOSPC && logBuffer is not null && logSize < maxLog)
            {
                logSize = (int)Math.Min(Math.Max((long)trueSize + 1, (long)logSize * 2), maxLog);
                continue;
            }

            if (logBuffer is null)
            {
                logLevel = 1;
                logSize = Math.Clamp(initialLogSize, 1024, maxLog);
                continue;
            }

            throw Failure(BpfCommand.BtfLoad, errno, $"{btf.Length} byte(s) of BTF", DecodeLog(logBuffer));
        }
    }

    // ----- pinning -----

    /// <summary>BPF_OBJ_PIN: pins an object at a path on a bpf file system.</summary>
    public static void ObjectPin(BpfFileDescriptor obj, string path)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var lease = new FdLease(obj);
        byte[] pathBytes = NulTerminated(path);
        fixed (byte* p = pathBytes)
        {
            var attr = default(ObjAttr);
            attr.Pathname = (ulong)p;
            attr.BpfFd = lease.Fd;
            CallOrThrow(BpfCommand.ObjPin, ref attr, path);
        }
    }

    /// <summary>BPF_OBJ_GET: opens a pinned object of any kind; <paramref name="fileFlags"/> may be BPF_F_RDONLY (8) or BPF_F_WRONLY (16).</summary>
    public static BpfFileDescriptor ObjectGet(string path, uint fileFlags = 0) => new(ObjectGetFd(path, fileFlags));

    private static int ObjectGetFd(string path, uint fileFlags)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] pathBytes = NulTerminated(path);
        fixed (byte* p = pathBytes)
        {
            var attr = default(ObjAttr);
            attr.Pathname = (ulong)p;
            attr.FileFlags = fileFlags;
            return CallOrThrow(BpfCommand.ObjGet, ref attr, path);
        }
    }

    /// <summary>Opens a pinned map.</summary>
    public static MapHandle GetPinnedMap(string path, uint fileFlags = 0) => new(ObjectGetFd(path, fileFlags));

    /// <summary>Opens a pinned program.</summary>
    public static ProgramHandle GetPinnedProgram(string path) => new(ObjectGetFd(path, 0));

    /// <summary>Opens a pinned link.</summary>
    public static LinkHandle GetPinnedLink(string path) => new(ObjectGetFd(path, 0));

    // ----- ids -----

    /// <summary>BPF_{PROG,MAP,LINK,BTF}_GET_NEXT_ID: the first id above <paramref name="startId"/>; false when there is none.</summary>
    public static bool GetNextId(BpfObjectKind kind, uint startId, out uint nextId)
    {
        var command = kind switch
        {
            BpfObjectKind.Program => BpfCommand.ProgGetNextId,
            BpfObjectKind.Map => BpfCommand.MapGetNextId,
            BpfObjectKind.Link => BpfCommand.LinkGetNextId,
            BpfObjectKind.Btf => BpfCommand.BtfGetNextId,
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var attr = default(GetIdAttr);
        attr.StartOrId = startId;
        int result = Call(command, ref attr);
        if (result >= 0)
        {
            nextId = attr.NextId;
            return true;
        }

        nextId = 0;
        return -result == Errno.ENOENT ? false : throw Failure(command, -result, $"after id {startId}");
    }

    /// <summary>All ids of one kind, ascending, as the kernel reports them at the time of the call.</summary>
    public static IEnumerable<uint> EnumerateIds(BpfObjectKind kind)
    {
        uint id = 0;
        while (GetNextId(kind, id, out uint next))
        {
            yield return next;
            id = next;
        }
    }

    /// <summary>BPF_PROG_GET_FD_BY_ID.</summary>
    public static ProgramHandle ProgramGetFdById(uint id) => new(GetFdById(BpfCommand.ProgGetFdById, id));

    /// <summary>BPF_MAP_GET_FD_BY_ID.</summary>
    public static MapHandle MapGetFdById(uint id) => new(GetFdById(BpfCommand.MapGetFdById, id));

    /// <summary>BPF_LINK_GET_FD_BY_ID.</summary>
    public static LinkHandle LinkGetFdById(uint id) => new(GetFdById(BpfCommand.LinkGetFdById, id));

    /// <summary>BPF_BTF_GET_FD_BY_ID.</summary>
    public static BtfHandle BtfGetFdById(uint id) => new(GetFdById(BpfCommand.BtfGetFdById, id));

    private static int GetFdById(BpfCommand command, uint id)
    {
        var attr = default(GetIdAttr);
        attr.StartOrId = id;
        return CallOrThrow(command, ref attr, $"id {id}");
    }

    /// <summary>
    /// BPF_OBJ_GET_INFO_BY_FD: fills <paramref name="info"/> (a struct bpf_*_info, whose pointer fields the caller
    /// may have set) and returns how many bytes the kernel wrote.
    /// </summary>
    public static int ObjectGetInfoByFd(BpfFileDescriptor obj, Span<byte> info)
    {
        ArgumentNullException.ThrowIfNull(obj);
        using var lease = new FdLease(obj);
        fixed (byte* p = info)
        {
            var attr = default(InfoAttr);
            attr.BpfFd = lease.Fd;
            attr.InfoLen = (uint)info.Length;
            attr.Info = (ulong)p;
            CallOrThrow(BpfCommand.ObjGetInfoByFd, ref attr, $"fd {lease.Fd}");
            return (int)attr.InfoLen;
        }
    }

    // ----- links and attachment -----

    /// <summary>BPF_LINK_CREATE: attaches a program and returns the link that holds the attachment.</summary>
    public static LinkHandle LinkCreate(LinkCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Extra.Length > 48)
        {
            throw new ArgumentException("the attach-specific part of BPF_LINK_CREATE is at most 48 bytes", nameof(options));
        }

        using var program = new FdLease(options.Program);
        using var target = new FdLease(options.Target);
        var attr = default(LinkCreateAttr);
        attr.ProgFdOrMapFd = program.Fd;
        attr.TargetFdOrIfIndex = options.Target is null ? options.TargetIfIndex : target.Fd;
        attr.AttachType = (uint)options.AttachType;
        attr.Flags = options.Flags;
        var extra = new Span<byte>(attr.Extra, 48);
        if (options.Extra.IsEmpty)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(extra, options.TargetBtfId);
        }
        else
        {
            options.Extra.Span.CopyTo(extra);
        }

        int fd = CallOrThrow(BpfCommand.LinkCreate, ref attr, $"attach type {options.AttachType}");
        return new LinkHandle(fd);
    }

    /// <summary>
    /// BPF_LINK_UPDATE: swaps the link's program for <paramref name="newProgram"/>; with <paramref name="oldProgram"/>
    /// the swap happens only if that program is the current one (BPF_F_REPLACE).
    /// </summary>
    public static void LinkUpdate(LinkHandle link, ProgramHandle newProgram, ProgramHandle? oldProgram = null)
    {
        using var l = new FdLease(link);
        using var n = new FdLease(newProgram);
        using var o = new FdLease(oldProgram);
        var attr = default(LinkUpdateAttr);
        attr.LinkFd = l.Fd;
        attr.NewProgFd = n.Fd;
        if (oldProgram is not null)
        {
            attr.Flags = LinkUpdateReplaceFlag;
            attr.OldProgFd = o.Fd;
        }

        CallOrThrow(BpfCommand.LinkUpdate, ref attr, $"link fd {l.Fd}");
    }

    /// <summary>BPF_LINK_DETACH: detaches the program; the link stays open but defunct.</summary>
    public static void LinkDetach(LinkHandle link)
    {
        using var l = new FdLease(link);
        var attr = default(SingleU32Attr);
        attr.Value = l.Fd;
        CallOrThrow(BpfCommand.LinkDetach, ref attr, $"link fd {l.Fd}");
    }

    /// <summary>BPF_RAW_TRACEPOINT_OPEN: attaches a raw tracepoint (or BTF-typed tracing) program.</summary>
    /// <param name="tracepoint">The tracepoint name, e.g. "sys_enter"; null for tracing programs whose target came with the load.</param>
    /// <param name="program">The program.</param>
    /// <param name="cookie">The BPF cookie the program can read.</param>
    public static LinkHandle RawTracepointOpen(string? tracepoint, ProgramHandle program, ulong cookie = 0)
    {
        using var p = new FdLease(program);
        byte[]? name = tracepoint is null ? null : NulTerminated(tracepoint);
        fixed (byte* n = name)
        {
            var attr = default(RawTracepointAttr);
            attr.Name = (ulong)n;
            attr.ProgFd = p.Fd;
            attr.Cookie = cookie;
            return new LinkHandle(CallOrThrow(BpfCommand.RawTracepointOpen, ref attr, tracepoint));
        }
    }

    /// <summary>BPF_ENABLE_STATS: turns on statistics for as long as the returned descriptor is open.</summary>
    public static BpfFileDescriptor EnableStats(BpfStatsType type)
    {
        var attr = default(SingleU32Attr);
        attr.Value = (uint)type;
        return new BpfFileDescriptor(CallOrThrow(BpfCommand.EnableStats, ref attr, type.ToString()));
    }

    // ----- helpers -----

    private static void WriteObjectName(string? name, Span<byte> destination)
    {
        destination.Clear();
        if (string.IsNullOrEmpty(name))
        {
            return;
        }

        if (name.Length > 15)
        {
            throw new ArgumentException($"object name '{name}' is longer than 15 characters", nameof(name));
        }

        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '.'))
            {
                throw new ArgumentException($"object name '{name}' has '{c}' at {i}; only letters, digits, '_' and '.' are allowed", nameof(name));
            }

            destination[i] = (byte)c;
        }
    }

    internal static byte[] NulTerminated(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    internal static string? DecodeLog(byte[]? log)
    {
        if (log is null)
        {
            return null;
        }

        int end = Array.IndexOf(log, (byte)0);
        return Encoding.UTF8.GetString(log, 0, end < 0 ? log.Length : end);
    }
}
