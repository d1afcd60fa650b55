using System.Globalization;
using SharpBpf.Btf;
using SharpBpf.Isa;

namespace SharpBpf.Verification;

/// <summary>What an argument of a function is assumed to be, from its BTF prototype (<c>btf_prepare_func_args</c>).</summary>
internal enum SubprogArgKind
{
    /// <summary>An integer or enum: any scalar (<c>ARG_ANYTHING</c>).</summary>
    Scalar,
    /// <summary>A pointer to the program type's context (<c>ARG_PTR_TO_CTX</c>).</summary>
    Context,
    /// <summary>A pointer to memory of the pointee's size, of a global function (<c>ARG_PTR_TO_MEM</c>).</summary>
    Memory,
}

/// <summary>One argument of a function prototype as the verifier sees it.</summary>
internal readonly record struct SubprogArg(SubprogArgKind Kind, bool MaybeNull, int MemSize);

/// <summary>A subprogram's BTF identity and the kernel's bookkeeping of it (<c>bpf_func_info_aux</c>, <c>bpf_subprog_info</c>).</summary>
internal sealed class SubprogFunction
{
    public string Name { get; init; } = "";
    public int TypeId { get; init; }
    public bool IsGlobal { get; init; }
    /// <summary>The arguments, once the prototype was accepted (<c>args_cached</c>).</summary>
    public SubprogArg[]? Args { get; set; }
    /// <summary>A call did not match the prototype: later calls are not checked against it (<c>unreliable</c>).</summary>
    public bool Unreliable { get; set; }
    /// <summary>A global function reached by a call: verified after the main program.</summary>
    public bool Called { get; set; }
    public bool Verified { get; set; }
    /// <summary>The function, or one it calls, may change packet data (<c>changes_pkt_data</c>).</summary>
    public bool ChangesPacketData { get; set; }
}

/// <summary>
/// The functions of a program with their BTF linkage and prototypes (the kernel's <c>check_btf_func</c> and
/// <c>btf_prepare_func_args</c>). Without usable BTF function info every function counts as static.
/// </summary>
internal sealed class SubprogFunctions
{
    private const int MaxArgs = 5;
    private const int TailCallHelper = 12;
    private readonly SubprogFunction[] _functions;
    private readonly BtfSpec? _btf;
    private readonly VerifierOptions _options;

    public SubprogFunctions(BpfProgram program, int[] starts, VerifierOptions options)
    {
        _options = options;
        _functions = new SubprogFunction[starts.Length];
        var info = options.FunctionInfo;
        _btf = options.ProgramBtf;
        HasInfo = _btf is not null && info.Count == starts.Length && info.Select(f => f.Pc).SequenceEqual(starts) &&
            info.All(f => _btf.IsValidTypeId(f.TypeId) && f.TypeId > 0 && _btf[f.TypeId].Kind == BtfKind.Function);
        for (int i = 0; i < starts.Length; i++)
        {
            _functions[i] = new SubprogFunction();
        }

        try
        {
            for (int i = 0; HasInfo && i < starts.Length; i++)
            {
                var func = _btf![info[i].TypeId];
                _functions[i] = new SubprogFunction { Name = func.Name, TypeId = func.Id, IsGlobal = func.FunctionLinkage == BtfFunctionLinkage.Global };
            }
        }
        catch (Exception e) when (e is BtfFormatException or ArgumentException or IndexOutOfRangeException)
        {
            // Malformed BTF: no function info, as for a program without it (every function static).
            HasInfo = false;
            for (int i = 0; i < starts.Length; i++)
            {
                _functions[i] = new SubprogFunction();
            }
        }

        MarkPacketDataChanges(program.RawInstructions, starts);
    }

    /// <summary>Whether the program came with BTF function info for every function (the kernel's <c>func_info</c>).</summary>
    public bool HasInfo { get; private set; }

    public SubprogFunction this[int subprog] => _functions[subprog];

    public int Count => _functions.Length;

    /// <summary>Whether a subprogram (not the main program) has global linkage (<c>subprog_is_global</c>).</summary>
    public bool IsGlobal(int subprog) => subprog > 0 && _functions[subprog].IsGlobal;

    /// <summary>
    /// The kernel's <c>btf_prepare_func_args</c>: the arguments from the prototype, or null when the prototype does not
    /// qualify, with the line the kernel logs about it in <paramref name="error"/> (for static functions most failures
    /// are silent: null).
    /// </summary>
    /// <exception cref="VerifierRejection">The prototype uses an argument kind SharpBPF does not model.</exception>
    public SubprogArg[]? PrepareArgs(int subprog, out string? error)
    {
        string? message = null;
        SubprogArg[]? args;
        try
        {
            args = Prepare(subprog, m => message = m);
        }
        catch (Exception e) when (e is BtfFormatException or ArgumentException or IndexOutOfRangeException)
        {
            // Malformed BTF behind a valid function record: the prototype cannot be read.
            args = null;
            message = $"Invalid type of function {_functions[subprog].Name}()";
        }

        error = message;
        return args;
    }

    private SubprogArg[]? Prepare(int subprog, Action<string> log)
    {
        var sub = _functions[subprog];
        if (sub.Args is not null || !HasInfo)
        {
            return sub.Args;
        }

        bool global = sub.IsGlobal;
        var btf = _btf!;
        var proto = btf[sub.TypeId].ReferencedTypeId is var protoId && btf.IsValidTypeId(protoId) ? btf[protoId] : default;
        if (protoId == 0 || proto.Kind != BtfKind.FunctionProto)
        {
            log($"Invalid type of function {sub.Name}()");
            return null;
        }

        var parameters = proto.GetParameters();
        if (parameters.Length > MaxArgs)
        {
            if (global)
            {
                log(Inv($"Global function {sub.Name}() with {parameters.Length} > {MaxArgs} args. Buggy compiler."));
            }

            return null;
        }

        var ret = SkipModifiers(btf, proto.ReferencedTypeId);
        if (ret.Kind is not (BtfKind.Int or BtfKind.Enum or BtfKind.Enum64))
        {
            if (global)
            {
                log($"Global function {sub.Name}() doesn't return scalar. Only those are supported.");
            }

            return null;
        }

        var args = new SubprogArg[parameters.Length];
        for (int i = 0; i < parameters.Length; i++)
        {
            var tags = ArgTags(btf, sub.TypeId, i);
            if (tags.Count > 0 && !global)
            {
                log(Inv($"arg#{i} type tag is not supported in static functions"));
                return null;
            }

            foreach (var tag in tags)
            {
                if (tag is not ("ctx" or "nonnull" or "nullable" or "trusted" or "arena"))
                {
                    log(Inv($"arg#{i} has unsupported set of tags"));
                    return null;
                }
            }

            var t = SkipModifiers(btf, parameters[i].TypeId);
            if (t.Kind == BtfKind.Pointer)
            {
                bool ctxTag = tags.Contains("ctx");
                if (ctxTag || IsContextType(btf, t))
                {
                    if (tags.Any(x => x != "ctx"))
                    {
                        log(Inv($"arg#{i} has invalid combination of tags"));
                        return null;
                    }

                    if (ctxTag && ContextTagError(btf, t, i) is { } error)
                    {
                        log(error);
                        return null;
                    }

                    args[i] = new SubprogArg(SubprogArgKind.Context, false, 0);
                    continue;
                }

                if (SkipModifiers(btf, t.ReferencedTypeId) is { Kind: BtfKind.Struct, Name: "bpf_dynptr" } || tags.Contains("trusted") || tags.Contains("arena"))
                {
                    throw new VerifierRejection(Inv($"arg#{i} of {sub.Name}() is a dynptr, trusted or arena pointer, which SharpBPF does not support"));
                }

                if (global)
                {
                    if (tags.Contains("nullable"))
                    {
                        log(Inv($"arg#{i} has invalid combination of tags"));
                        return null;
                    }

                    var pointee = SkipModifiers(btf, t.ReferencedTypeId);
                    long size = pointee.Id == 0 ? -1 : btf.GetSize(pointee.Id);
                    if (size < 0 || size > int.MaxValue)
                    {
                        log(Inv($"arg#{i} reference type('{KindName(pointee)} {pointee.Name}') size cannot be determined: -22"));
                        return null;
                    }

                    args[i] = new SubprogArg(SubprogArgKind.Memory, !tags.Contains("nonnull"), (int)size);
                    continue;
                }
            }

            if (tags.Count > 0)
            {
                log(Inv($"arg#{i} has pointer tag, but is not a pointer type"));
                return null;
            }

            if (t.Kind is BtfKind.Int or BtfKind.Enum or BtfKind.Enum64)
            {
                args[i] = new SubprogArg(SubprogArgKind.Scalar, false, 0);
                continue;
            }

            if (global)
            {
                log(Inv($"Arg#{i} type {KindName(t)} in {sub.Name}() is not supported yet."));
            }

            return null;
        }

        sub.Args = args;
        return args;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static BtfType SkipModifiers(BtfSpec btf, int id)
    {
        var t = btf[id];
        for (int i = 0; i < 64 && (t.IsModifier || t.Kind == BtfKind.Typedef); i++)
        {
            t = btf[t.ReferencedTypeId];
        }

        return t;
    }

    private Dictionary<(int Func, int Index), List<string>>? _argTags;

    /// <summary>The <c>arg:</c> decl tags of parameter <paramref name="index"/> of a function, without the prefix.</summary>
    private List<string> ArgTags(BtfSpec btf, int funcId, int index)
    {
        if (_argTags is null)
        {
            // One pass over the types for every function's tags.
            _argTags = [];
            for (int id = 1; id < btf.TypeCount; id++)
            {
                var t = btf[id];
                if (t.Kind == BtfKind.DeclTag && t.Name.StartsWith("arg:", StringComparison.Ordinal))
                {
                    var key = (t.ReferencedTypeId, t.ComponentIndex);
                    if (!_argTags.TryGetValue(key, out var list))
                    {
                        _argTags[key] = list = [];
                    }

                    list.Add(t.Name[4..]);
                }
            }
        }

        return _argTags.TryGetValue((funcId, index), out var tags) ? tags : [];
    }

    /// <summary>The kernel's kind names (<c>btf_type_str</c>), which are bpftool's.</summary>
    private static string KindName(BtfType t) => BtfRawDumper.KindName(t.Kind);

    /// <summary>The struct names of each program type's context (the user-visible one and the kernel's own), as <c>bpf_types.h</c> lists them.</summary>
    private string[] ContextNames() => _options.ProgramType switch
    {
        ProgramType.SocketFilter or ProgramType.SchedCls or ProgramType.SchedAct or ProgramType.CgroupSkb or ProgramType.LwtIn or ProgramType.LwtOut
            or ProgramType.LwtXmit or ProgramType.LwtSeg6Local or ProgramType.SkSkb or ProgramType.FlowDissector => ["__sk_buff", "sk_buff"],
        ProgramType.Xdp => ["xdp_md", "xdp_buff"],
        ProgramType.CgroupSock => ["bpf_sock"],
        ProgramType.CgroupSockAddr => ["bpf_sock_addr"],
        ProgramType.SockOps => ["bpf_sock_ops"],
        ProgramType.SkMsg => ["sk_msg_md"],
        ProgramType.Kprobe => ["pt_regs"],
        ProgramType.PerfEvent => ["bpf_perf_event_data"],
        ProgramType.RawTracepoint or ProgramType.RawTracepointWritable => ["bpf_raw_tracepoint_args"],
        ProgramType.CgroupDevice => ["bpf_cgroup_dev_ctx"],
        ProgramType.CgroupSysctl => ["bpf_sysctl"],
        ProgramType.CgroupSockopt => ["bpf_sockopt"],
        ProgramType.SkLookup => ["bpf_sk_lookup"],
        ProgramType.SkReuseport => ["sk_reuseport_md"],
        _ => [],
    };

    /// <summary>Whether a pointer's target is the program type's context struct (<c>btf_is_prog_ctx_type</c>).</summary>
    private bool IsContextType(BtfSpec btf, BtfType pointer)
    {
        if (_options.ProgramType == ProgramType.Kprobe && TypedefName(btf, pointer.ReferencedTypeId) == "bpf_user_pt_regs_t")
        {
            return true;
        }

        var t = SkipModifiers(btf, pointer.ReferencedTypeId);
        return t.Kind == BtfKind.Struct && ContextNames().Contains(t.Name);
    }

    private static string? TypedefName(BtfSpec btf, int id)
    {
        var t = btf[id];
        for (int i = 0; i < 64 && t.IsModifier; i++)
        {
            t = btf[t.ReferencedTypeId];
        }

        return t.Kind == BtfKind.Typedef ? t.Name : null;
    }

    /// <summary>
    /// An <c>arg:ctx</c> argument must be <c>void *</c> or the context's own type (<c>btf_validate_prog_ctx_type</c>); the
    /// error, or null. Types SharpBPF does not know the kernel's rules for are refused.
    /// </summary>
    private string? ContextTagError(BtfSpec btf, BtfType pointer, int arg)
    {
        var t = SkipModifiers(btf, pointer.ReferencedTypeId);
        if (t.Id == 0 || IsContextType(btf, pointer))
        {
            return null;
        }

        var names = ContextNames();
        return names.Length == 0 ? Inv($"arg#{arg} should be void pointer") : Inv($"arg#{arg} should be `struct {names[0]} *`");
    }

    /// <summary>
    /// Which functions may change packet data: those calling such a helper, and their callers (the kernel's
    /// <c>mark_subprog_changes_pkt_data</c> and <c>merge_callee_effects</c>).
    /// </summary>
    private void MarkPacketDataChanges(Instruction[] insns, int[] starts)
    {
        int SubprogOf(int pc)
        {
            int i = Array.BinarySearch(starts, pc);
            return i >= 0 ? i : ~i - 1;
        }

        var calls = new List<(int Caller, int Callee)>();
        for (int pc = 0; pc < insns.Length; pc++)
        {
            var insn = insns[pc];
            if (insn.Opcode != Opcode.Call)
            {
                continue;
            }

            // A tail call counts (the running kernel's rule): the programs it runs may change the packet.
            if (insn.CallKind == CallKind.Helper && (insn.Immediate == TailCallHelper || HelperPrototypes.Find(insn.Immediate) is { ChangesPacketData: true }))
            {
                _functions[SubprogOf(pc)].ChangesPacketData = true;
            }
            else if (insn.CallKind == CallKind.Local && pc + 1 + insn.Immediate is var target && target >= 0 && target < insns.Length)
            {
                calls.Add((SubprogOf(pc), SubprogOf(target)));
            }
        }

        for (bool changed = true; changed;)
        {
            changed = false;
            foreach (var (caller, callee) in calls)
            {
                if (_functions[callee].ChangesPacketData && !_functions[caller].ChangesPacketData)
                {
                    _functions[caller].ChangesPacketData = true;
                    changed = true;
                }
            }
        }
    }
}
