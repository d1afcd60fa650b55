using System.Runtime.InteropServices;

namespace SharpBpf.Linux.Interop;

// Each struct below is the slice of union bpf_attr (include/uapi/linux/bpf.h) that one command reads.
// Offsets were checked against the uapi header with offsetof(); the size passed to bpf() is the struct size,
// and the kernel treats every byte past it as zero.

/// <summary>BPF_MAP_CREATE.</summary>
[StructLayout(LayoutKind.Explicit, Size = 80)]
internal unsafe struct MapCreateAttr
{
    [FieldOffset(0)] public uint MapType;
    [FieldOffset(4)] public uint KeySize;
    [FieldOffset(8)] public uint ValueSize;
    [FieldOffset(12)] public uint MaxEntries;
    [FieldOffset(16)] public uint MapFlags;
    [FieldOffset(20)] public uint InnerMapFd;
    [FieldOffset(24)] public uint NumaNode;
    [FieldOffset(28)] public fixed byte MapName[16];
    [FieldOffset(44)] public uint MapIfIndex;
    [FieldOffset(48)] public uint BtfFd;
    [FieldOffset(52)] public uint BtfKeyTypeId;
    [FieldOffset(56)] public uint BtfValueTypeId;
    [FieldOffset(60)] public uint BtfVmlinuxValueTypeId;
    [FieldOffset(64)] public ulong MapExtra;
    [FieldOffset(72)] public int ValueTypeBtfObjFd;
    [FieldOffset(76)] public int MapTokenFd;
}

/// <summary>BPF_MAP_LOOKUP_ELEM, UPDATE_ELEM, DELETE_ELEM, GET_NEXT_KEY, LOOKUP_AND_DELETE_ELEM, FREEZE.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct MapElemAttr
{
    [FieldOffset(0)] public uint MapFd;
    [FieldOffset(8)] public ulong Key;
    [FieldOffset(16)] public ulong ValueOrNextKey;
    [FieldOffset(24)] public ulong Flags;
}

/// <summary>The BPF_MAP_*_BATCH commands.</summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
internal struct MapBatchAttr
{
    [FieldOffset(0)] public ulong InBatch;
    [FieldOffset(8)] public ulong OutBatch;
    [FieldOffset(16)] public ulong Keys;
    [FieldOffset(24)] public ulong Values;
    [FieldOffset(32)] public uint Count;
    [FieldOffset(36)] public uint MapFd;
    [FieldOffset(40)] public ulong ElemFlags;
    [FieldOffset(48)] public ulong Flags;
}

/// <summary>BPF_PROG_LOAD.</summary>
[StructLayout(LayoutKind.Explicit, Size = 152)]
internal unsafe struct ProgLoadAttr
{
    [FieldOffset(0)] public uint ProgType;
    [FieldOffset(4)] public uint InsnCnt;
    [FieldOffset(8)] public ulong Insns;
    [FieldOffset(16)] public ulong License;
    [FieldOffset(24)] public uint LogLevel;
    [FieldOffset(28)] public uint LogSize;
    [FieldOffset(32)] public ulong LogBuf;
    [FieldOffset(40)] public uint KernVersion;
    [FieldOffset(44)] public uint ProgFlags;
    [FieldOffset(48)] public fixed byte ProgName[16];
    [FieldOffset(64)] public uint ProgIfIndex;
    [FieldOffset(68)] public uint ExpectedAttachType;
    [FieldOffset(72)] public uint ProgBtfFd;
    [FieldOffset(76)] public uint FuncInfoRecSize;
    [FieldOffset(80)] public ulong FuncInfo;
    [FieldOffset(88)] public uint FuncInfoCnt;
    [FieldOffset(92)] public uint LineInfoRecSize;
    [FieldOffset(96)] public ulong LineInfo;
    [FieldOffset(104)] public uint LineInfoCnt;
    [FieldOffset(108)] public uint AttachBtfId;
    [FieldOffset(112)] public uint AttachProgFdOrBtfObjFd;
    [FieldOffset(116)] public uint CoreReloCnt;
    [FieldOffset(120)] public ulong FdArray;
    [FieldOffset(128)] public ulong CoreRelos;
    [FieldOffset(136)] public uint CoreReloRecSize;
    [FieldOffset(140)] public uint LogTrueSize;
    [FieldOffset(144)] public int ProgTokenFd;
}

/// <summary>BPF_OBJ_PIN and BPF_OBJ_GET.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
internal struct ObjAttr
{
    [FieldOffset(0)] public ulong Pathname;
    [FieldOffset(8)] public uint BpfFd;
    [FieldOffset(12)] public uint FileFlags;
    [FieldOffset(16)] public int PathFd;
}

/// <summary>BPF_PROG_TEST_RUN.</summary>
[StructLayout(LayoutKind.Explicit, Size = 80)]
internal struct TestRunAttr
{
    [FieldOffset(0)] public uint ProgFd;
    [FieldOffset(4)] public uint Retval;
    [FieldOffset(8)] public uint DataSizeIn;
    [FieldOffset(12)] public uint DataSizeOut;
    [FieldOffset(16)] public ulong DataIn;
    [FieldOffset(24)] public ulong DataOut;
    [FieldOffset(32)] public uint Repeat;
    [FieldOffset(36)] public uint Duration;
    [FieldOffset(40)] public uint CtxSizeIn;
    [FieldOffset(44)] public uint CtxSizeOut;
    [FieldOffset(48)] public ulong CtxIn;
    [FieldOffset(56)] public ulong CtxOut;
    [FieldOffset(64)] public uint Flags;
    [FieldOffset(68)] public uint Cpu;
    [FieldOffset(72)] public uint BatchSize;
}

/// <summary>The BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID commands.</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
internal struct GetIdAttr
{
    [FieldOffset(0)] public uint StartOrId;
    [FieldOffset(4)] public uint NextId;
    [FieldOffset(8)] public uint OpenFlags;
}

/// <summary>BPF_OBJ_GET_INFO_BY_FD.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct InfoAttr
{
    [FieldOffset(0)] public uint BpfFd;
    [FieldOffset(4)] public uint InfoLen;
    [FieldOffset(8)] public ulong Info;
}

/// <summary>BPF_RAW_TRACEPOINT_OPEN.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
internal struct RawTracepointAttr
{
    [FieldOffset(0)] public ulong Name;
    [FieldOffset(8)] public uint ProgFd;
    [FieldOffset(16)] public ulong Cookie;
}

/// <summary>BPF_BTF_LOAD.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal struct BtfLoadAttr
{
    [FieldOffset(0)] public ulong Btf;
    [FieldOffset(8)] public ulong BtfLogBuf;
    [FieldOffset(16)] public uint BtfSize;
    [FieldOffset(20)] public uint BtfLogSize;
    [FieldOffset(24)] public uint BtfLogLevel;
    [FieldOffset(28)] public uint BtfLogTrueSize;
    [FieldOffset(32)] public uint BtfFlags;
    [FieldOffset(36)] public int BtfTokenFd;
}

/// <summary>BPF_LINK_CREATE; the 48 bytes from offset 16 are the attach-type specific union.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal unsafe struct LinkCreateAttr
{
    [FieldOffset(0)] public uint ProgFdOrMapFd;
    [FieldOffset(4)] public uint TargetFdOrIfIndex;
    [FieldOffset(8)] public uint AttachType;
    [FieldOffset(12)] public uint Flags;
    [FieldOffset(16)] public fixed byte Extra[48];
}

/// <summary>BPF_LINK_UPDATE.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct LinkUpdateAttr
{
    [FieldOffset(0)] public uint LinkFd;
    [FieldOffset(4)] public uint NewProgFd;
    [FieldOffset(8)] public uint Flags;
    [FieldOffset(12)] public uint OldProgFd;
}

/// <summary>BPF_LINK_DETACH, BPF_ENABLE_STATS and other single-u32 commands.</summary>
[StructLayout(LayoutKind.Explicit, Size = 4)]
internal struct SingleU32Attr
{
    [FieldOffset(0)] public uint Value;
}
