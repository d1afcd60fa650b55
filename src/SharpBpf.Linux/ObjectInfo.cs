using System.Buffers.Binary;
using System.Text;

namespace SharpBpf.Linux;

/// <summary>What the kernel reports about a loaded program (struct bpf_prog_info).</summary>
public sealed record ProgramInfo
{
    /// <summary>The program type.</summary>
    public required ProgramType Type { get; init; }

    /// <summary>The kernel-wide id.</summary>
    public required uint Id { get; init; }

    /// <summary>The 8-byte tag (a hash of the instructions), as 16 lowercase hex digits like bpftool prints.</summary>
    public required string Tag { get; init; }

    /// <summary>The object name (at most 15 characters).</summary>
    public required string Name { get; init; }

    /// <summary>The size of the JIT-compiled code in bytes (0 without JIT).</summary>
    public required uint JitedLength { get; init; }

    /// <summary>The size of the translated (post-verifier) instructions in bytes.</summary>
    public required uint XlatedLength { get; init; }

    /// <summary>The JIT-compiled machine code (empty when not requested or not permitted).</summary>
    public required byte[] JitedCode { get; init; }

    /// <summary>The translated instructions as the kernel rewrote them (empty when not requested or not permitted).</summary>
    public required byte[] XlatedInstructions { get; init; }

    /// <summary>When the program was loaded, in nanoseconds since boot.</summary>
    public required ulong LoadTimeNanoseconds { get; init; }

    /// <summary>The uid that loaded the program.</summary>
    public required uint CreatedByUid { get; init; }

    /// <summary>The ids of the maps the program uses.</summary>
    public required uint[] MapIds { get; init; }

    /// <summary>The network device the program is offloaded to, or 0.</summary>
    public required uint IfIndex { get; init; }

    /// <summary>Whether the license is GPL-compatible.</summary>
    public required bool GplCompatible { get; init; }

    /// <summary>The device of the network namespace of an offloaded program.</summary>
    public required ulong NetnsDev { get; init; }

    /// <summary>The inode of the network namespace of an offloaded program.</summary>
    public required ulong NetnsIno { get; init; }

    /// <summary>The kernel addresses of the JIT-compiled functions.</summary>
    public required ulong[] JitedKsyms { get; init; }

    /// <summary>The byte lengths of the JIT-compiled functions.</summary>
    public required uint[] JitedFunctionLengths { get; init; }

    /// <summary>The id of the program's BTF object, or 0.</summary>
    public required uint BtfId { get; init; }

    /// <summary>The size of one func info record.</summary>
    public required uint FuncInfoRecordSize { get; init; }

    /// <summary>The packed struct bpf_func_info records.</summary>
    public required byte[] FuncInfo { get; init; }

    /// <summary>The size of one line info record.</summary>
    public required uint LineInfoRecordSize { get; init; }

    /// <summary>The packed struct bpf_line_info records.</summary>
    public required byte[] LineInfo { get; init; }

    /// <summary>For each line info record, the address of its JIT-compiled code.</summary>
    public required ulong[] JitedLineInfo { get; init; }

    /// <summary>The tags of each function (main program and subprograms), as hex.</summary>
    public required string[] ProgramTags { get; init; }

    /// <summary>Total run time in nanoseconds (counted only while statistics are enabled).</summary>
    public required ulong RunTimeNanoseconds { get; init; }

    /// <summary>Number of runs (counted only while statistics are enabled).</summary>
    public required ulong RunCount { get; init; }

    /// <summary>Runs skipped because the program was already running on the CPU.</summary>
    public required ulong RecursionMisses { get; init; }

    /// <summary>How many instructions the verifier processed.</summary>
    public required uint VerifiedInstructions { get; init; }

    /// <summary>The id of the BTF object holding the attach target.</summary>
    public required uint AttachBtfObjectId { get; init; }

    /// <summary>The BTF type id of the attach target.</summary>
    public required uint AttachBtfId { get; init; }
}

/// <summary>What the kernel reports about a map (struct bpf_map_info).</summary>
/// <param name="Type">The map type.</param>
/// <param name="Id">The kernel-wide id.</param>
/// <param name="KeySize">The key size in bytes.</param>
/// <param name="ValueSize">The value size in bytes.</param>
/// <param name="MaxEntries">The capacity.</param>
/// <param name="Flags">The creation flags.</param>
/// <param name="Name">The object name.</param>
/// <param name="IfIndex">The offload device, or 0.</param>
/// <param name="BtfVmlinuxValueTypeId">For struct_ops maps: the vmlinux BTF type of the value.</param>
/// <param name="NetnsDev">The network namespace device of an offloaded map.</param>
/// <param name="NetnsIno">The network namespace inode of an offloaded map.</param>
/// <param name="BtfId">The id of the map's BTF object, or 0.</param>
/// <param name="BtfKeyTypeId">The BTF type id of the key.</param>
/// <param name="BtfValueTypeId">The BTF type id of the value.</param>
/// <param name="BtfVmlinuxId">The id of the vmlinux BTF object for struct_ops maps.</param>
/// <param name="MapExtra">The type-specific extra value.</param>
public sealed record MapInfo(
    MapType Type, uint Id, uint KeySize, uint ValueSize, uint MaxEntries, MapCreateFlags Flags, string Name,
    uint IfIndex, uint BtfVmlinuxValueTypeId, ulong NetnsDev, ulong NetnsIno, uint BtfId, uint BtfKeyTypeId,
    uint BtfValueTypeId, uint BtfVmlinuxId, ulong MapExtra);

/// <summary>What the kernel reports about a BTF object (struct bpf_btf_info).</summary>
/// <param name="Id">The kernel-wide id.</param>
/// <param name="Size">The size of the raw BTF in bytes.</param>
/// <param name="Name">The name ("vmlinux" or a module name for kernel BTF, usually empty for loaded BTF).</param>
/// <param name="IsKernelBtf">Whether the kernel or a module owns it.</param>
/// <param name="Data">The raw BTF, when requested; otherwise empty.</param>
public sealed record BtfInfo(uint Id, uint Size, string Name, bool IsKernelBtf, byte[] Data);

/// <summary>What the kernel reports about a link (struct bpf_link_info); the type-specific part is decoded where common.</summary>
public sealed record LinkInfo
{
    /// <summary>The link type.</summary>
    public required BpfLinkType Type { get; init; }

    /// <summary>The kernel-wide id.</summary>
    public required uint Id { get; init; }

    /// <summary>The id of the attached program (0 once detached).</summary>
    public required uint ProgramId { get; init; }

    /// <summary>For raw tracepoint links: the tracepoint name.</summary>
    public string? TracepointName { get; init; }

    /// <summary>For cgroup links: the cgroup id.</summary>
    public ulong CgroupId { get; init; }

    /// <summary>The attach type, for link types that report one (tracing, cgroup, netns, tcx, netkit, sockmap).</summary>
    public AttachType? AttachType { get; init; }

    /// <summary>For XDP, tcx and netkit links: the interface index.</summary>
    public uint IfIndex { get; init; }

    /// <summary>For tracing links: the target object (program or BTF) id and the BTF type id inside it.</summary>
    public (uint ObjectId, uint BtfId) TracingTarget { get; init; }

    /// <summary>The raw 48-byte type-specific union, for link types not decoded here.</summary>
    public required byte[] Details { get; init; }
}

/// <summary>Reads struct bpf_*_info records with BPF_OBJ_GET_INFO_BY_FD, in two passes where the kernel fills variable-length arrays.</summary>
public static unsafe class BpfObjectInfo
{
    private const int ProgInfoSize = 232;
    private const int MapInfoSize = 88;
    private const int BtfInfoSize = 32;
    private const int LinkInfoSize = 64;

    /// <summary>Describes a program. With <paramref name="includeArrays"/> a second call fetches instructions, code, map ids and debug info.</summary>
    public static ProgramInfo GetProgramInfo(ProgramHandle program, bool includeArrays = true)
    {
        var info = new byte[ProgInfoSize];
        BpfSyscall.ObjectGetInfoByFd(program, info);
        var s = (ReadOnlySpan<byte>)info;
        uint jitedLen = U32(s, 16), xlatedLen = U32(s, 20), nrMapIds = U32(s, 52);
        uint nrKsyms = U32(s, 104), nrFuncLens = U32(s, 108);
        uint funcRec = U32(s, 132), nrFunc = U32(s, 144), nrLine = U32(s, 148), nrJitedLine = U32(s, 168);
        uint lineRec = U32(s, 172), jitedLineRec = U32(s, 176), nrTags = U32(s, 180);

        byte[] jited = [], xlated = [], mapIds = [], ksyms = [], funcLens = [], funcInfo = [], lineInfo = [], jitedLine = [], tags = [];
        if (includeArrays)
        {
            jited = new byte[jitedLen];
            xlated = new byte[xlatedLen];
            mapIds = new byte[nrMapIds * 4];
            ksyms = new byte[nrKsyms * 8];
            funcLens = new byte[nrFuncLens * 4];
            funcInfo = new byte[nrFunc * funcRec];
            lineInfo = new byte[nrLine * lineRec];
            jitedLine = new byte[nrJitedLine * jitedLineRec];
            tags = new byte[nrTags * 8];
            var second = new byte[ProgInfoSize];
            var w = second.AsSpan();
            fixed (byte* pJited = jited)
            fixed (byte* pXlated = xlated)
            fixed (byte* pMapIds = mapIds)
            fixed (byte* pKsyms = ksyms)
            fixed (byte* pFuncLens = funcLens)
            fixed (byte* pFunc = funcInfo)
            fixed (byte* pLine = lineInfo)
            fixed (byte* pJitedLine = jitedLine)
            fixed (byte* pTags = tags)
            {
                SetArray(w, 16, 24, jitedLen, pJited);
                SetArray(w, 20, 32, xlatedLen, pXlated);
                SetArray(w, 52, 56, nrMapIds, pMapIds);
                SetArray(w, 104, 112, nrKsyms, pKsyms);
                SetArray(w, 108, 120, nrFuncLens, pFuncLens);
                SetArray(w, 144, 136, nrFunc, pFunc);
                SetArray(w, 148, 152, nrLine, pLine);
                SetArray(w, 168, 160, nrJitedLine, pJitedLine);
                SetArray(w, 180, 184, nrTags, pTags);
                if (nrFunc > 0)
                {
                    W32(w, 132, funcRec);
                }

                if (nrLine > 0)
                {
                    W32(w, 172, lineRec);
                }

                if (nrJitedLine > 0)
                {
                    W32(w, 176, jitedLineRec);
                }

                BpfSyscall.ObjectGetInfoByFd(program, second);
            }

            // The kernel reports the true lengths again; it may have withheld raw dumps (zero lengths) without privilege.
            s = second;
            jited = jited.AsSpan(0, (int)Math.Min(U32(s, 16), jitedLen)).ToArray();
            xlated = xlated.AsSpan(0, (int)Math.Min(U32(s, 20), xlatedLen)).ToArray();
            ksyms = ksyms.AsSpan(0, (int)Math.Min(U32(s, 104), nrKsyms) * 8).ToArray();
            funcLens = funcLens.AsSpan(0, (int)Math.Min(U32(s, 108), nrFuncLens) * 4).ToArray();
            jitedLine = jitedLine.AsSpan(0, (int)Math.Min(U32(s, 168), nrJitedLine) * (int)jitedLineRec).ToArray();
        }

        return new ProgramInfo
        {
            Type = (ProgramType)U32(s, 0),
            Id = U32(s, 4),
            Tag = Convert.ToHexStringLower(s.Slice(8, 8)),
            JitedLength = U32(s, 16),
            XlatedLength = U32(s, 20),
            JitedCode = jited,
            XlatedInstructions = xlated,
            LoadTimeNanoseconds = U64(s, 40),
            CreatedByUid = U32(s, 48),
            MapIds = ToU32Array(mapIds),
            Name = CString(s.Slice(64, 16)),
            IfIndex = U32(s, 80),
            GplCompatible = (U32(s, 84) & 1) != 0,
            NetnsDev = U64(s, 88),
            NetnsIno = U64(s, 96),
            JitedKsyms = ToU64Array(ksyms),
            JitedFunctionLengths = ToU32Array(funcLens),
            BtfId = U32(s, 128),
            FuncInfoRecordSize = U32(s, 132),
            FuncInfo = funcInfo,
            LineInfoRecordSize = U32(s, 172),
            LineInfo = lineInfo,
            JitedLineInfo = ToU64Array(jitedLine),
            ProgramTags = [.. Enumerable.Range(0, tags.Length / 8).Select(i => Convert.ToHexStringLower(tags.AsSpan(i * 8, 8)))],
            RunTimeNanoseconds = U64(s, 192),
            RunCount = U64(s, 200),
            RecursionMisses = U64(s, 208),
            VerifiedInstructions = U32(s, 216),
            AttachBtfObjectId = U32(s, 220),
            AttachBtfId = U32(s, 224),
        };
    }

    /// <summary>Describes a map.</summary>
    public static MapInfo GetMapInfo(MapHandle map)
    {
        var info = new byte[MapInfoSize];
        BpfSyscall.ObjectGetInfoByFd(map, info);
        var s = (ReadOnlySpan<byte>)info;
        return new MapInfo(
            (MapType)U32(s, 0), U32(s, 4), U32(s, 8), U32(s, 12), U32(s, 16), (MapCreateFlags)U32(s, 20),
            CString(s.Slice(24, 16)), U32(s, 40), U32(s, 44), U64(s, 48), U64(s, 56), U32(s, 64), U32(s, 68),
            U32(s, 72), U32(s, 76), U64(s, 80));
    }

    /// <summary>Describes a BTF object; with <paramref name="includeData"/> the raw BTF is copied too.</summary>
    public static BtfInfo GetBtfInfo(BtfHandle btf, bool includeData = false)
    {
        var info = new byte[BtfInfoSize];
        BpfSyscall.ObjectGetInfoByFd(btf, info);
        uint size = U32(info, 8);
        uint nameLen = U32(info, 24);
        var name = new byte[nameLen + 1];
        var data = includeData ? new byte[size] : [];
        var second = new byte[BtfInfoSize];
        fixed (byte* pName = name)
        fixed (byte* pData = data)
        {
            if (includeData && size > 0)
            {
                W64(second, 0, (ulong)pData);
                W32(second, 8, size);
            }

            W64(second, 16, (ulong)pName);
            W32(second, 24, (uint)name.Length);
            BpfSyscall.ObjectGetInfoByFd(btf, second);
        }

        return new BtfInfo(U32(second, 12), U32(second, 8), CString(name), U32(second, 28) != 0, data);
    }

    /// <summary>Describes a link, fetching a raw tracepoint's name in a second call.</summary>
    public static LinkInfo GetLinkInfo(LinkHandle link)
    {
        var info = new byte[LinkInfoSize];
        BpfSyscall.ObjectGetInfoByFd(link, info);
        var type = (BpfLinkType)U32(info, 0);
        string? tracepoint = null;
        if (type == BpfLinkType.RawTracepoint)
        {
            uint len = U32(info, 24);
            var name = new byte[Math.Max(1, len)];
            var second = new byte[LinkInfoSize];
            fixed (byte* p = name)
            {
                W64(second, 16, (ulong)p);
                W32(second, 24, (uint)name.Length);
                BpfSyscall.ObjectGetInfoByFd(link, second);
            }

            tracepoint = CString(name);
            info = second;
        }

        var s = (ReadOnlySpan<byte>)info;
        AttachType? attachType = type switch
        {
            BpfLinkType.Tracing => (AttachType)U32(s, 16),
            BpfLinkType.Cgroup => (AttachType)U32(s, 24),
            BpfLinkType.NetworkNamespace or BpfLinkType.Tcx or BpfLinkType.Netkit or BpfLinkType.SockMap => (AttachType)U32(s, 20),
            _ => null,
        };
        return new LinkInfo
        {
            Type = type,
            Id = U32(s, 4),
            ProgramId = U32(s, 8),
            TracepointName = tracepoint,
            CgroupId = type == BpfLinkType.Cgroup ? U64(s, 16) : 0,
            AttachType = attachType,
            IfIndex = type is BpfLinkType.Xdp or BpfLinkType.Tcx or BpfLinkType.Netkit ? U32(s, 16) : 0,
            TracingTarget = type == BpfLinkType.Tracing ? (U32(s, 20), U32(s, 24)) : default,
            Details = s.Slice(16, 48).ToArray(),
        };
    }

    private static void SetArray(Span<byte> info, int countOffset, int pointerOffset, uint count, byte* buffer)
    {
        if (count == 0)
        {
            return;
        }

        W32(info, countOffset, count);
        W64(info, pointerOffset, (ulong)buffer);
    }

    private static uint U32(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(s[offset..]);

    private static ulong U64(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(s[offset..]);

    private static void W32(Span<byte> s, int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(s[offset..], value);

    private static void W64(Span<byte> s, int offset, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(s[offset..], value);

    private static uint[] ToU32Array(byte[] bytes)
    {
        var result = new uint[bytes.Length / 4];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = U32(bytes, i * 4);
        }

        return result;
    }

    private static ulong[] ToU64Array(byte[] bytes)
    {
        var result = new ulong[bytes.Length / 8];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = U64(bytes, i * 8);
        }

        return result;
    }

    private static string CString(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }
}
