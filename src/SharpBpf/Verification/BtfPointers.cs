using SharpBpf.Btf;

namespace SharpBpf.Verification;

/// <summary>
/// The BTF types that BTF pointers (<see cref="RegisterType.BtfId"/>) point to, numbered process-wide: a register keeps
/// the small number in <see cref="RegisterState.MapIndex"/>, the log and the field walk find the type through it.
/// </summary>
public static class BtfPointerTypes
{
    private static readonly Lock Gate = new();
    private static readonly List<(BtfSpec Spec, int TypeId)> Types = [];
    private static readonly Dictionary<(BtfSpec Spec, int TypeId), int> Numbers = [];

    /// <summary>The number of type <paramref name="typeId"/> of <paramref name="spec"/> (the same number every time).</summary>
    public static int Register(BtfSpec spec, int typeId)
    {
        ArgumentNullException.ThrowIfNull(spec);
        lock (Gate)
        {
            if (!Numbers.TryGetValue((spec, typeId), out int number))
            {
                number = Types.Count;
                Types.Add((spec, typeId));
                Numbers.Add((spec, typeId), number);
            }

            return number;
        }
    }

    /// <summary>The BTF and type id behind a number.</summary>
    public static (BtfSpec Spec, int TypeId) Get(int number)
    {
        lock (Gate)
        {
            return Types[number];
        }
    }

    /// <summary>The type's name as the log prints it after <c>ptr_</c> (<c>task_struct</c>), or "" for an unknown number.</summary>
    public static string Name(int number)
    {
        lock (Gate)
        {
            if (number < 0 || number >= Types.Count)
            {
                return "";
            }
        }

        var (spec, id) = Get(number);
        return spec.GetType(id).Name;
    }
}

/// <summary>What a load through a BTF pointer reads (the kernel's <c>btf_struct_walk</c> results).</summary>
internal enum BtfWalkKind
{
    Scalar,
    Pointer,
}

/// <summary>The result of walking a struct to an access: a scalar, or a pointer member with its target and tags.</summary>
/// <param name="Kind">Scalar or pointer.</param>
/// <param name="TypeId">For pointers: the struct or union pointed to.</param>
/// <param name="Rcu">The pointer member is tagged <c>__rcu</c>.</param>
/// <param name="Tag">The pointer member's <c>__user</c> or <c>__percpu</c> tag as a flag, or none.</param>
/// <param name="UnionWalked">A union with several members was crossed (the kernel then distrusts the pointer).</param>
/// <param name="FieldName">For pointers: the member's name.</param>
internal readonly record struct BtfWalkResult(BtfWalkKind Kind, int TypeId, bool Rcu, RegisterTypeFlags Tag, bool UnionWalked, string? FieldName);

/// <summary>
/// Field reads through BTF-typed pointers (the kernel's <c>btf_struct_access</c>), the trust the kernel's allow lists
/// give to pointer members (its <c>__safe_rcu</c>, <c>__safe_trusted</c>... types in the kernel BTF), and the typed
/// arguments of tracing programs (<c>btf_ctx_access</c>).
/// </summary>
internal static class BtfWalk
{
    /// <summary>The failure of a walk: the kernel's log line.</summary>
    public sealed class WalkError(string message) : Exception(message);

    private static bool IsComposite(BtfType t) => t.Kind is BtfKind.Struct or BtfKind.Union;

    /// <summary>Typedefs, qualifiers and type tags skipped (the kernel's <c>btf_type_skip_modifiers</c>).</summary>
    public static int SkipModifiers(BtfSpec btf, int id)
    {
        for (int guard = 0; guard < 64; guard++)
        {
            var t = btf.GetType(id);
            if (!(t.IsModifier || t.Kind == BtfKind.Typedef))
            {
                return id;
            }

            id = t.ReferencedTypeId;
        }

        throw new WalkError("verifier internal error: BTF modifier chain too long");
    }

    /// <summary>
    /// The read of <paramref name="size"/> bytes at <paramref name="off"/> in type <paramref name="typeId"/>: nested structs
    /// are entered until a scalar or a pointer member is reached.
    /// </summary>
    public static BtfWalkResult Access(BtfSpec btf, int typeId, int off, int size)
    {
        bool unionWalked = false;
        int id = typeId;
        for (int depth = 0; depth < 64; depth++)
        {
            var (kind, next, result) = Walk(btf, btf.GetType(id), off, size, ref unionWalked);
            if (kind != WalkStep.Struct)
            {
                return result with { UnionWalked = unionWalked };
            }

            id = next;
            off = 0;
        }

        throw new WalkError("verifier internal error: BTF struct nesting too deep");
    }

    private enum WalkStep
    {
        Done,
        Struct,
    }

    private static (WalkStep Step, int Next, BtfWalkResult Result) Walk(BtfSpec btf, BtfType t, int off, int size, ref bool untrusted)
    {
        for (int depth = 0; depth < 64; depth++)
        {
            if (t.IsModifier || t.Kind == BtfKind.Typedef)
            {
                t = btf.GetType(SkipModifiers(btf, t.Id));
            }

            string tname = t.Name;
            if (!IsComposite(t))
            {
                throw new WalkError($"Type '{tname}' is not a struct");
            }

            if (t.Kind == BtfKind.Union && t.Vlen != 1)
            {
                // Walking unions yields untrusted pointers, except through single-member unions (__bpf_md_ptr).
                untrusted = true;
            }

            if ((long)off + size > t.Size)
            {
                if (FlexibleArrayElement(btf, t, off) is not { } element)
                {
                    throw new WalkError($"access beyond struct {tname} at off {(uint)off} size {(uint)size}");
                }

                if (element.Elem.Kind == BtfKind.Int)
                {
                    return (WalkStep.Done, 0, new BtfWalkResult(BtfWalkKind.Scalar, 0, false, RegisterTypeFlags.None, false, null));
                }

                if (!IsComposite(element.Elem) || element.Elem.Size == 0)
                {
                    throw new WalkError($"access beyond struct {tname} at off {(uint)off} size {(uint)size}");
                }

                off = (int)((off - element.Offset) % element.Elem.Size);
                t = element.Elem;
                continue;
            }

            bool entered = false;
            int count = t.Vlen;
            for (int i = 0; i < count; i++)
            {
                var member = t.GetMember(i);
                uint bitOffset = member.BitOffset;
                int moff = (int)(bitOffset / 8);
                if (off + size <= moff)
                {
                    break;
                }

                if (member.BitfieldSize != 0)
                {
                    long endBit = bitOffset + member.BitfieldSize;
                    if (off <= moff && (endBit + 7) / 8 <= off + size)
                    {
                        return (WalkStep.Done, 0, new BtfWalkResult(BtfWalkKind.Scalar, 0, false, RegisterTypeFlags.None, false, null));
                    }

                    continue;
                }

                if (off < moff)
                {
                    break;
                }

                string mname = member.Name;
                var (mtype, mid, msizeLong, elem, elemId, elements) = ResolveSize(btf, member.TypeId, mname);
                long mtrueEnd = moff + msizeLong;
                if (off >= mtrueEnd)
                {
                    continue;
                }

                long msize = msizeLong;
                if (mtype.Kind == BtfKind.Array)
                {
                    if (moff == mtrueEnd)
                    {
                        continue;
                    }

                    msize /= elements;
                    long index = (off - moff) / msize;
                    moff += (int)(index * msize);
                    mtype = elem;
                    mid = elemId;
                }

                if (IsComposite(mtype))
                {
                    if (off == moff)
                    {
                        return (WalkStep.Struct, mid, default);
                    }

                    off -= moff;
                    t = mtype;
                    entered = true;
                    break;
                }

                if (mtype.Kind == BtfKind.Pointer)
                {
                    if (msize != size || off != moff)
                    {
                        throw new WalkError($"cannot access ptr member {mname} with moff {(uint)moff} in struct {tname} with off {(uint)off} size {(uint)size}");
                    }

                    var pointee = btf.GetType(mtype.ReferencedTypeId);
                    var tag = MemoryTag(pointee);
                    bool rcu = pointee.Kind == BtfKind.TypeTag && pointee.Name == "rcu";

                    int target = SkipModifiers(btf, mtype.ReferencedTypeId);
                    if (IsComposite(btf.GetType(target)))
                    {
                        return (WalkStep.Done, 0, new BtfWalkResult(BtfWalkKind.Pointer, target, rcu, tag, false, mname));
                    }
                }

                if (off + size > mtrueEnd && !untrusted)
                {
                    throw new WalkError($"access beyond the end of member {mname} (mend:{(uint)mtrueEnd}) in struct {tname} with off {(uint)off} size {(uint)size}");
                }

                return (WalkStep.Done, 0, new BtfWalkResult(BtfWalkKind.Scalar, 0, false, RegisterTypeFlags.None, false, null));
            }

            if (!entered)
            {
                throw new WalkError($"struct {tname} doesn't have field at offset {off}");
            }
        }

        throw new WalkError("verifier internal error: BTF struct nesting too deep");
    }

    /// <summary>The <c>__user</c> / <c>__percpu</c> type tag right under a pointer, as a register flag.</summary>
    public static RegisterTypeFlags MemoryTag(BtfType pointee) => pointee.Kind != BtfKind.TypeTag ? RegisterTypeFlags.None : pointee.Name switch
    {
        "user" => RegisterTypeFlags.User,
        "percpu" => RegisterTypeFlags.PerCpu,
        _ => RegisterTypeFlags.None,
    };

    /// <summary>The element type of a struct's trailing flexible array that <paramref name="off"/> reaches, or null.</summary>
    private static (BtfType Elem, int Offset)? FlexibleArrayElement(BtfSpec btf, BtfType t, int off)
    {
        if (t.Vlen == 0)
        {
            return null;
        }

        var last = t.GetMember(t.Vlen - 1);
        var arrayType = btf.GetType(SkipModifiers(btf, last.TypeId));
        if (arrayType.Kind != BtfKind.Array || arrayType.Array.Count != 0)
        {
            return null;
        }

        int moff = (int)(last.BitOffset / 8);
        return off < moff ? null : (btf.GetType(SkipModifiers(btf, arrayType.Array.ElementTypeId)), moff);
    }

    /// <summary>
    /// A member type's size with modifiers skipped; arrays (of arrays) linearised to their innermost element type and
    /// total element count (the kernel's <c>__btf_resolve_size</c>).
    /// </summary>
    private static (BtfType Type, int Id, long Size, BtfType Elem, int ElemId, long Elements) ResolveSize(BtfSpec btf, int typeId, string name)
    {
        int id = SkipModifiers(btf, typeId);
        var type = btf.GetType(id);
        long elements = 1;
        int elemId = id;
        var elem = type;
        while (elem.Kind == BtfKind.Array)
        {
            elements *= elem.Array.Count;
            elemId = SkipModifiers(btf, elem.Array.ElementTypeId);
            elem = btf.GetType(elemId);
        }

        long elemSize = elem.Kind switch
        {
            BtfKind.Int or BtfKind.Enum or BtfKind.Enum64 or BtfKind.Struct or BtfKind.Union or BtfKind.Float => elem.Size,
            BtfKind.Pointer => 8,
            _ => -1,
        };
        if (elemSize < 0)
        {
            throw new WalkError($"field {name} doesn't have size");
        }

        return (type, id, elemSize * elements, elem, elemId, Math.Max(elements, 1));
    }

    /// <summary>
    /// Whether a pointer member of <paramref name="parentTypeId"/> is on one of the kernel's allow lists: a type named
    /// <c>parent + suffix</c> in the kernel BTF with a pointer member of the same name and target (<c>btf_nested_type_is_trusted</c>).
    /// </summary>
    public static bool IsListed(BtfSpec btf, int parentTypeId, string fieldName, int targetTypeId, string suffix)
    {
        var parent = btf.GetType(parentTypeId);
        int safeId = btf.FindId(parent.Name + suffix, parent.Kind);
        if (safeId < 0)
        {
            return false;
        }

        foreach (var member in btf.GetType(safeId).GetMembers())
        {
            var mtype = btf.GetType(member.TypeId);
            if (mtype.Kind == BtfKind.Pointer && SkipModifiers(btf, mtype.ReferencedTypeId) == targetTypeId && member.Name == fieldName)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Tracepoints whose pointer arguments may be NULL or an error pointer (the kernel's raw_tp_null_args); their pointers are taken as numbers.</summary>
    public static readonly HashSet<string> TracepointsWithNullableArguments =
    [
        "sched_pi_setprio", "sched_process_wait", "sched_stick_numa", "sched_swap_numa", "afs_make_fs_call", "afs_make_fs_calli",
        "afs_make_fs_call1", "afs_make_fs_call2", "afs_protocol_error", "afs_flock_ev", "cachefiles_lookup", "cachefiles_unlink",
        "cachefiles_rename", "cachefiles_prep_read", "cachefiles_mark_active", "cachefiles_mark_failed", "cachefiles_mark_inactive",
        "cachefiles_vfs_error", "cachefiles_io_error", "cachefiles_ondemand_open", "cachefiles_ondemand_copen", "cachefiles_ondemand_close",
        "cachefiles_ondemand_read", "cachefiles_ondemand_cread", "cachefiles_ondemand_fd_write", "cachefiles_ondemand_fd_release",
        "ext4_mballoc_discard", "ext4_mballoc_free", "fib_table_lookup", "posix_lock_inode", "fcntl_setlk", "locks_remove_posix",
        "flock_lock_inode", "break_lease_noblock", "break_lease_block", "break_lease_unblock", "generic_delete_lease", "time_out_leases",
        "host1x_cdma_push_gather", "mm_khugepaged_scan_pmd", "mm_collapse_huge_page_isolate", "mm_khugepaged_scan_file",
        "mm_khugepaged_collapse_file", "mm_page_alloc", "mm_page_pcpu_drain", "mm_page_alloc_zone_locked", "netfs_failure",
        "device_pm_callback_start", "qdisc_dequeue", "rxrpc_recvdata", "rxrpc_resend", "signal_generate", "signal_deliver",
        "xs_stream_read_data", "xprt_reserve_cong", "xprt_release_cong", "xprt_get_cong", "xprt_put_cong", "tcp_send_reset",
        "tegra_dma_tx_status", "tmigr_update_events", "writeback_dirty_folio", "folio_wait_writeback", "mr_integ_alloc",
    ];
}

/// <summary>The typed arguments of a tracing program's attach target: its prototype in the kernel BTF.</summary>
/// <param name="Btf">The kernel BTF.</param>
/// <param name="Name">The target's name as the log prints it (<c>sched_process_exec</c>).</param>
/// <param name="Parameters">The argument type ids, in order (a tracepoint's leading <c>void *__data</c> left out).</param>
/// <param name="ReturnTypeId">The return type id (fexit reads it after the arguments).</param>
/// <param name="NullableArguments">The tracepoint may pass NULL or error pointers.</param>
internal sealed record TracingTarget(BtfSpec Btf, string Name, IReadOnlyList<(int TypeId, string Name)> Parameters, int ReturnTypeId, bool NullableArguments)
{
    /// <summary>The prototype of a tp_btf tracepoint or an fentry/fexit function, or null when the kernel BTF lacks it.</summary>
    public static TracingTarget? Find(BtfSpec btf, AttachType? attach, string? target)
    {
        if (string.IsNullOrEmpty(target))
        {
            return null;
        }

        try
        {
            if (attach == AttachType.TraceRawTracepoint)
            {
                int typedef = btf.FindId("btf_trace_" + target, BtfKind.Typedef);
                if (typedef < 0)
                {
                    return null;
                }

                var pointer = btf.GetType(btf.GetType(typedef).ReferencedTypeId);
                if (pointer.Kind != BtfKind.Pointer)
                {
                    return null;
                }

                var proto = btf.GetType(pointer.ReferencedTypeId);
                if (proto.Kind != BtfKind.FunctionProto || proto.Vlen == 0)
                {
                    return null;
                }

                var all = proto.GetParameters();
                return new TracingTarget(btf, target, all.Skip(1).Select(p => (p.TypeId, p.Name)).ToArray(), proto.ReferencedTypeId,
                    BtfWalk.TracepointsWithNullableArguments.Contains(target));
            }

            if (attach is AttachType.TraceFentry or AttachType.TraceFexit or AttachType.ModifyReturn)
            {
                int func = btf.FindId(target, BtfKind.Function);
                if (func < 0)
                {
                    return null;
                }

                var proto = btf.GetType(btf.GetType(func).ReferencedTypeId);
                return proto.Kind != BtfKind.FunctionProto ? null
                    : new TracingTarget(btf, target, proto.GetParameters().Select(p => (p.TypeId, p.Name)).ToArray(), proto.ReferencedTypeId, false);
            }
        }
        catch (BtfFormatException)
        {
            return null;
        }

        return null;
    }
}
