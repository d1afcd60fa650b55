using System.Collections.Concurrent;
using SharpBpf.Btf;
using SharpBpf.Isa;

namespace SharpBpf.Linux;

/// <summary>
/// What the running kernel supports, found by asking it as libbpf's probes (and <c>bpftool feature probe</c>) do:
/// load a minimal program of each type, create a minimal map of each type, and load a program calling each helper.
/// Results are cached per process.
/// </summary>
public static class KernelFeatures
{
    private static readonly ConcurrentDictionary<ProgramType, bool> ProgramTypes = new();
    private static readonly ConcurrentDictionary<MapType, bool> MapTypes = new();
    private static readonly ConcurrentDictionary<(ProgramType, int), bool> Helpers = new();

    private static readonly Lazy<bool> TcxLinks = new(() =>
        // tcx came with Linux 6.6 together with its attach types; the kernel's own BTF names them when it has them.
        VmlinuxBtf.Value is { } btf && btf.FindId("bpf_attach_type", BtfKind.Enum) is > 0 and var id &&
        btf.GetType(id).GetEnumValues().Any(v => v.Name == "BPF_TCX_INGRESS"));

    /// <summary>Whether the kernel has tcx links (BPF_TCX_INGRESS/EGRESS, Linux 6.6+).</summary>
    public static bool HasTcxLinks => TcxLinks.Value;

    private static readonly Lazy<BtfFeatures> BtfFeatureSet = new(ProbeBtfFeatures);

    /// <summary>
    /// The optional BTF features the kernel accepts, each found by loading a minimal BTF that uses it (as libbpf's
    /// <c>probe_kern_btf_*</c> do); objects whose BTF uses others are sanitised before loading
    /// (<see cref="BtfSanitizer"/>).
    /// </summary>
    public static BtfFeatures SupportedBtfFeatures => BtfFeatureSet.Value;

    private static BtfFeatures ProbeBtfFeatures()
    {
        var supported = BtfFeatures.None;
        foreach (var (feature, build) in BtfProbes())
        {
            var builder = new BtfBuilder();
            int integer = builder.AddInt("int", 4, BtfIntEncoding.Signed);
            build(builder, integer);
            try
            {
                using var loaded = KernelBtf.Load(builder.ToArray());
                supported |= feature;
            }
            catch (BpfSyscallException)
            {
                // The kernel refuses the kind: the feature is missing.
            }
        }

        return supported;
    }

    private static IEnumerable<(BtfFeatures Feature, Action<BtfBuilder, int> Build)> BtfProbes()
    {
        yield return (BtfFeatures.Function, (b, i) => b.AddFunction("probe", b.AddFunctionProto(i), BtfFunctionLinkage.Static));
        yield return (BtfFeatures.GlobalFunction, (b, i) => b.AddFunction("probe", b.AddFunctionProto(i), BtfFunctionLinkage.Global));
        yield return (BtfFeatures.DataSection, (b, i) =>
        {
            int variable = b.AddVariable("probe", i, BtfVariableLinkage.Static);
            b.AddDataSection(".data", 4, new BtfVariableSectionInfo(variable, 0, 4));
        });
        yield return (BtfFeatures.QuestionMarkDataSection, (b, i) =>
        {
            int variable = b.AddVariable("probe", i, BtfVariableLinkage.Static);
            b.AddDataSection("?.data", 4, new BtfVariableSectionInfo(variable, 0, 4));
        });
        yield return (BtfFeatures.Float, (b, _) => b.AddFloat("float", 4));
        yield return (BtfFeatures.DeclTag, (b, i) => b.AddDeclTag("tag", b.AddTypedef("probe", i)));
        yield return (BtfFeatures.TypeTag, (b, i) => b.AddPointer(b.AddTypeTag("tag", i)));
        yield return (BtfFeatures.Enum64, (b, _) => b.AddEnum64("probe", 8, false, new BtfEnumValueDefinition("PROBE", 1L << 40)));
    }

    /// <summary>Whether the kernel loads programs of this type (a program returning 0, with the attach type the type needs).</summary>
    public static bool IsProgramTypeSupported(ProgramType type) => ProgramTypes.GetOrAdd(type, ProbeProgramType);

    /// <summary>Whether the kernel creates maps of this type.</summary>
    public static bool IsMapTypeSupported(MapType type) => MapTypes.GetOrAdd(type, ProbeMapType);

    /// <summary>
    /// Whether programs of <paramref name="type"/> may call helper <paramref name="helperId"/>: true unless the verifier
    /// says it does not know the helper or the type may not use it. Null for types whose programs cannot be loaded
    /// without a specific attach target (tracing, extension, LSM, struct_ops), where the question cannot be asked this way.
    /// </summary>
    public static bool? IsHelperSupported(ProgramType type, int helperId)
    {
        if (type is ProgramType.Tracing or ProgramType.Extension or ProgramType.Lsm or ProgramType.StructOps)
        {
            return null;
        }

        return Helpers.GetOrAdd((type, helperId), key => ProbeHelper(key.Item1, key.Item2));
    }

    /// <summary>
    /// The helpers this kernel knows, id and name (<c>bpf_map_lookup_elem</c>...), from <c>enum bpf_func_id</c> in the
    /// kernel's BTF; empty when the kernel has no BTF.
    /// </summary>
    public static IReadOnlyList<(int Id, string Name)> KnownHelpers()
    {
        var btf = VmlinuxBtf.Value;
        int id = btf?.FindId("bpf_func_id", BtfKind.Enum) ?? -1;
        if (btf is null || id <= 0)
        {
            return [];
        }

        return [.. btf[id].GetEnumValues()
            .Where(v => v.Name.StartsWith("BPF_FUNC_", StringComparison.Ordinal) && v.Value > 0 && v.Name != "__BPF_FUNC_MAX_ID")
            .Select(v => ((int)v.Value, "bpf_" + v.Name["BPF_FUNC_".Length..]))];
    }

    private static (AttachType Attach, uint BtfId, ProgramLoadFlags Flags, int ExpectedErrno, string? ExpectedMessage) ProbeSetup(ProgramType type) => type switch
    {
        ProgramType.CgroupSockAddr => (AttachType.CgroupInet4Connect, 0, 0, 0, null),
        ProgramType.CgroupSockopt => (AttachType.CgroupGetsockopt, 0, 0, 0, null),
        ProgramType.SkLookup => (AttachType.SkLookup, 0, 0, 0, null),
        ProgramType.LircMode2 => (AttachType.LircMode2, 0, 0, 0, null),
        ProgramType.Netfilter => (AttachType.Netfilter, 0, 0, 0, null),
        ProgramType.Syscall => (0, 0, ProgramLoadFlags.Sleepable, 0, null),
        // These need a real attach target; an impossible one gives a known refusal exactly when the type exists.
        ProgramType.Tracing => (AttachType.TraceFentry, 1, 0, Errno.EINVAL, "attach_btf_id 1 is not a function"),
        ProgramType.Lsm => (AttachType.ModifyReturn, 1, 0, Errno.EINVAL, "attach_btf_id 1 is not a function"),
        ProgramType.Extension => (0, 1, 0, Errno.EINVAL, "Cannot replace kernel functions"),
        ProgramType.StructOps => (0, 0, 0, Errno.ENOTSUPP, null),
        _ => (0, 0, 0, 0, null),
    };

    private static (bool Loaded, int Errno, string Log) TryLoad(ProgramType type, Instruction[] code)
    {
        var (attach, btfId, flags, _, _) = ProbeSetup(type);
        try
        {
            using var program = BpfSyscall.ProgramLoad(new ProgramLoadOptions
            {
                Type = type, Instructions = code, ExpectedAttachType = attach, AttachBtfId = btfId, Flags = flags,
                LogLevel = 1, InitialLogSize = 4096, MaxLogSize = 4096, LogOnFailure = false,
            }, out _);
            return (true, 0, "");
        }
        catch (BpfSyscallException e)
        {
            return (false, e.ErrorNumber, e.VerifierLog ?? "");
        }
    }

    private static bool ProbeProgramType(ProgramType type)
    {
        if (type == ProgramType.Unspecified)
        {
            return false;
        }

        var (loaded, errno, log) = TryLoad(type, [Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0), Instruction.Exit]);
        var (_, _, _, expectedErrno, expectedMessage) = ProbeSetup(type);
        return expectedErrno != 0
            ? !loaded && errno == expectedErrno && (expectedMessage is null || log.Contains(expectedMessage, StringComparison.Ordinal))
            : loaded;
    }

    private static bool ProbeHelper(ProgramType type, int helperId)
    {
        var (loaded, _, log) = TryLoad(type, [new Instruction(Opcode.Call, 0, 0, 0, helperId), Instruction.Exit]);
        return loaded || !(log.Contains("invalid func ", StringComparison.Ordinal) || log.Contains("unknown func ", StringComparison.Ordinal) ||
            log.Contains("program of this type cannot use helper ", StringComparison.Ordinal));
    }

    private static bool ProbeMapType(MapType type)
    {
        uint key = 4, value = 4, max = 1;
        var flags = MapCreateFlags.None;
        bool needsStorageBtf = false;
        uint vmlinuxValueType = 0;
        switch (type)
        {
            case MapType.StackTrace:
                value = 8;
                break;
            case MapType.LpmTrie:
                key = 8;
                value = 8;
                flags = MapCreateFlags.NoPrealloc;
                break;
            case MapType.CgroupStorage or MapType.PerCpuCgroupStorage:
                key = 16; // struct bpf_cgroup_storage_key (u64 inode id, u32 attach type, padded)
                value = 8;
                max = 0;
                break;
            case MapType.Queue or MapType.Stack:
                key = 0;
                break;
            case MapType.SkStorage or MapType.InodeStorage or MapType.TaskStorage or MapType.CgroupLocalStorage:
                value = 8;
                max = 0;
                flags = MapCreateFlags.NoPrealloc;
                needsStorageBtf = true;
                break;
            case MapType.RingBuffer or MapType.UserRingBuffer:
                key = 0;
                value = 0;
                max = (uint)Environment.SystemPageSize;
                break;
            case MapType.BloomFilter:
                key = 0;
                break;
            case MapType.Arena:
                key = 0;
                value = 0;
                flags = MapCreateFlags.Mmapable;
                break;
            case MapType.Unspecified:
                return false;
            case MapType.StructOps:
                // An impossible vmlinux value type gives ENOTSUPP exactly when struct_ops maps exist.
                vmlinuxValueType = 1;
                break;
            default:
                break;
        }

        KernelBtf? btf = null;
        KernelMap? inner = null;
        try
        {
            if (needsStorageBtf)
            {
                btf = KernelBtf.Load(StorageBtf());
            }

            if (type is MapType.ArrayOfMaps or MapType.HashOfMaps)
            {
                inner = KernelMap.Create(MapType.Hash, 4, 4, 1);
            }

            using var map = BpfSyscall.MapCreate(new MapCreateOptions
            {
                Type = type, KeySize = key, ValueSize = value, MaxEntries = max, Flags = flags, InnerMap = inner?.Handle,
                Btf = btf?.Handle, BtfKeyTypeId = btf is null ? 0 : 1u, BtfValueTypeId = btf is null ? 0 : 2u, BtfVmlinuxValueTypeId = vmlinuxValueType,
            });
            return vmlinuxValueType == 0;
        }
        catch (BpfSyscallException e)
        {
            return vmlinuxValueType != 0 && e.ErrorNumber == Errno.ENOTSUPP;
        }
        finally
        {
            inner?.Dispose();
            btf?.Dispose();
        }
    }

    /// <summary>BTF for local-storage maps: [1] int, [2] struct val { int cnt; int pad; } (8 bytes).</summary>
    private static byte[] StorageBtf()
    {
        var builder = new BtfBuilder();
        int integer = builder.AddInt("int", 4, BtfIntEncoding.Signed);
        var value = new BtfTypeDefinition(BtfKind.Struct, "val") { SizeOrType = 8 };
        value.Members.Add(new BtfMemberDefinition("cnt", integer, 0));
        value.Members.Add(new BtfMemberDefinition("pad", integer, 32));
        builder.Add(value);
        return builder.ToArray();
    }
}
