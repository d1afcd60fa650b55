using SharpBpf.Btf;

namespace SharpBpf.Verification;

internal sealed partial class VerifierRun
{
    private TracingTarget? _tracingTarget;
    private bool _tracingTargetResolved;

    /// <summary>The attach target's prototype for a BTF-typed tracing program, or null (then its context is 12 plain u64 arguments).</summary>
    private TracingTarget? TracingTargetOf()
    {
        if (!_tracingTargetResolved)
        {
            _tracingTargetResolved = true;
            if (_options.ProgramType == ProgramType.Tracing && _options.KernelBtf is { } btf)
            {
                _tracingTarget = TracingTarget.Find(btf, _options.ExpectedAttachType, _options.AttachTarget);
            }
        }

        return _tracingTarget;
    }

    /// <summary>
    /// A read of a tracing program's argument (<c>btf_ctx_access</c>): scalars for numbers, trusted BTF pointers for
    /// pointers to structs; null when the program has no typed target.
    /// </summary>
    private RegisterState? CheckTracingContext(int off, int size, bool write)
    {
        if (TracingTargetOf() is not { } target)
        {
            if (_options.ProgramType == ProgramType.Tracing && _options.ExpectedAttachType is AttachType.TraceRawTracepoint or AttachType.TraceFentry
                or AttachType.TraceFexit or AttachType.ModifyReturn)
            {
                // The kernel types these arguments from BTF SharpBPF does not have (a module's, or none): refused
                // rather than taken as numbers, which would allow what the kernel forbids on pointers.
                throw Reject(F($"the attach target '{_options.AttachTarget}' is not in the kernel BTF given to the verifier"));
            }

            return null;
        }

        var invalid = Reject(F($"invalid bpf_context access off={off} size={size}"));
        if (write || off < 0 || off >= ProgramContexts.RawTracepointArgsSize || off % size != 0)
        {
            throw invalid;
        }

        if (off % 8 != 0)
        {
            Log(F($"func '{target.Name}' offset {off} is not multiple of 8\n"));
            throw invalid;
        }

        int arg = off / 8;
        var btf = target.Btf;
        int typeId;
        if (arg < target.Parameters.Count)
        {
            typeId = target.Parameters[arg].TypeId;
        }
        else if (arg == target.Parameters.Count && _options.ExpectedAttachType is AttachType.TraceFexit or AttachType.ModifyReturn)
        {
            typeId = target.ReturnTypeId;
        }
        else
        {
            Log(F($"func '{target.Name}' doesn't have {arg + 1}-th argument\n"));
            throw invalid;
        }

        var t = btf.GetType(BtfWalk.SkipModifiers(btf, typeId));
        if (t.Kind is BtfKind.Int or BtfKind.Enum or BtfKind.Enum64 or BtfKind.Struct)
        {
            return RegisterState.UnknownScalar();
        }

        if (t.Kind != BtfKind.Pointer)
        {
            Log(F($"func '{target.Name}' arg{arg} '{t.Name}' has type {BtfRawDumper.KindName(t.Kind)}. Only pointer access is allowed\n"));
            throw invalid;
        }

        if (size != 8)
        {
            Log(F($"func '{target.Name}' size {size} must be 8\n"));
            throw invalid;
        }

        if (t.ReferencedTypeId == 0 || btf.GetType(BtfWalk.SkipModifiers(btf, t.ReferencedTypeId)).Kind == BtfKind.Int)
        {
            // void and integer pointers are numbers to the verifier.
            return RegisterState.UnknownScalar();
        }

        if (target.NullableArguments)
        {
            // The kernel marks some of these arguments maybe-NULL and others error pointers (numbers), per argument.
            throw Reject(F($"func '{target.Name}' arg{arg} may be NULL or an error pointer: not modelled"));
        }

        var pointee = btf.GetType(t.ReferencedTypeId);
        var tag = BtfWalk.MemoryTag(pointee);
        int structId = BtfWalk.SkipModifiers(btf, t.ReferencedTypeId);
        var structType = btf.GetType(structId);
        if (structType.Kind is not (BtfKind.Struct or BtfKind.Union))
        {
            Log(F($"func '{target.Name}' arg{arg} type {BtfRawDumper.KindName(structType.Kind)} is not a struct\n"));
            throw invalid;
        }

        Log(F($"func '{target.Name}' arg{arg} has btf_id {structId} type {BtfRawDumper.KindName(structType.Kind)} '{structType.Name}'\n"));
        var flags = RegisterTypeFlags.Trusted | tag;
        if (arg < target.Parameters.Count && target.Parameters[arg].Name.EndsWith("__nullable", StringComparison.Ordinal))
        {
            flags |= RegisterTypeFlags.MaybeNull;
        }

        return BtfPointer(btf, structId, flags);
    }

    private RegisterState BtfPointer(BtfSpec btf, int typeId, RegisterTypeFlags flags)
    {
        var reg = RegisterState.Pointer(RegisterType.BtfId, flags);
        reg.MapIndex = BtfPointerTypes.Register(btf, typeId);
        if ((flags & RegisterTypeFlags.MaybeNull) != 0)
        {
            reg.Id = NewId();
        }

        return reg;
    }

    /// <summary>A load or store through a BTF pointer (<c>check_ptr_to_btf_access</c>): the loaded register's state.</summary>
    private RegisterState CheckBtfPointerAccess(int regno, in RegisterState reg, int off, int size, bool write)
    {
        var (btf, typeId) = BtfPointerTypes.Get(reg.MapIndex);
        string tname = btf.GetType(typeId).Name;
        if (off < 0)
        {
            throw Reject(F($"R{regno} is ptr_{tname} invalid negative access: off={off}"));
        }

        if (!reg.VarOff.IsConst || reg.VarOff.Value != 0)
        {
            throw Reject(F($"R{regno} is ptr_{tname} invalid variable offset: off={off}, var_off={reg.VarOff}"));
        }

        if ((reg.Flags & (RegisterTypeFlags.User | RegisterTypeFlags.PerCpu)) != 0)
        {
            string memory = (reg.Flags & RegisterTypeFlags.User) != 0 ? "user" : "percpu";
            throw Reject(F($"R{regno} is ptr_{tname} access {memory} memory: off={off}"));
        }

        if (write)
        {
            // Tracing programs may not store into kernel objects.
            throw Reject("only read is supported");
        }

        BtfWalkResult walk;
        try
        {
            walk = BtfWalk.Access(btf, typeId, off, size);
        }
        catch (BtfWalk.WalkError e)
        {
            throw Reject(e.Message);
        }

        if (walk.Kind == BtfWalkKind.Scalar)
        {
            return RegisterState.UnknownScalar();
        }

        return BtfPointer(btf, walk.TypeId, LoadedPointerFlags(btf, reg, typeId, walk));
    }

    /// <summary>The trust of a pointer read from a kernel object, as the kernel decides it for a non-sleepable program (always in an RCU read section).</summary>
    private static RegisterTypeFlags LoadedPointerFlags(BtfSpec btf, in RegisterState parent, int parentTypeId, BtfWalkResult walk)
    {
        var flags = (walk.UnionWalked ? RegisterTypeFlags.Untrusted : RegisterTypeFlags.None) | walk.Tag;
        if ((parent.Flags & RegisterTypeFlags.Untrusted) != 0)
        {
            return RegisterTypeFlags.Untrusted;
        }

        if ((parent.Flags & (RegisterTypeFlags.Trusted | RegisterTypeFlags.Rcu)) == 0)
        {
            // Old plain pointers keep only their tag (and the distrust of a union).
            return flags;
        }

        string field = walk.FieldName ?? "";
        if (BtfWalk.IsListed(btf, parentTypeId, field, walk.TypeId, "__safe_trusted"))
        {
            return flags | RegisterTypeFlags.Trusted;
        }

        if (BtfWalk.IsListed(btf, parentTypeId, field, walk.TypeId, "__safe_trusted_or_null"))
        {
            return flags | RegisterTypeFlags.Trusted | RegisterTypeFlags.MaybeNull;
        }

        if (BtfWalk.IsListed(btf, parentTypeId, field, walk.TypeId, "__safe_rcu"))
        {
            return flags | RegisterTypeFlags.Rcu;
        }

        bool rcuOrNull = BtfWalk.IsListed(btf, parentTypeId, field, walk.TypeId, "__safe_rcu_or_null");
        if (walk.Rcu || rcuOrNull)
        {
            return rcuOrNull ? (flags & ~RegisterTypeFlags.Untrusted) | RegisterTypeFlags.Rcu | RegisterTypeFlags.MaybeNull
                : flags | RegisterTypeFlags.Rcu | RegisterTypeFlags.MaybeNull;
        }

        // Walking other pointers yields the old plain PTR_TO_BTF_ID (user and per-CPU ones keep their tag, and a union's distrust stays).
        return flags;
    }
}
