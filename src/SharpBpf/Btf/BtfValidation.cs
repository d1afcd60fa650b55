namespace SharpBpf.Btf;

/// <summary>Which producer's conventions <see cref="BtfSpec.Validate"/> accepts.</summary>
public enum BtfValidationMode
{
    /// <summary>The kernel's rules for BTF loaded with <c>BPF_BTF_LOAD</c> (and for vmlinux and module BTF).</summary>
    Kernel,

    /// <summary>
    /// BTF as a compiler writes it into an object file, before libbpf fixes it up: data sections may have size 0 and
    /// unset variable offsets (libbpf fills them from the ELF), and extern functions and variables are allowed.
    /// </summary>
    ObjectFile,
}

public sealed partial class BtfSpec
{
    private const int MaxResolveDepth = 32;
    private const int MaxNameLength = 512;

    /// <summary>
    /// Checks this blob's types against the kernel's rules (kernel/bpf/btf.c): info bits, names, kind-specific
    /// vlen/size/kind-flag rules, type ids in range, member offsets and bitfield sizes, array element and index
    /// types, function prototypes, data sections, decl tags, type-tag order and reference loops that do not pass
    /// through a struct or a pointer.
    /// </summary>
    /// <param name="mode">Kernel rules, or the relaxed rules for compiler output in an object file.</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="BtfFormatException">A rule is broken; the exception names the type id and the rule.</exception>
    public BtfSpec Validate(BtfValidationMode mode = BtfValidationMode.Kernel)
    {
        _objectFileMode = mode == BtfValidationMode.ObjectFile;
        for (int i = 0; i < _offsets.Length; i++) CheckMeta(GetType(FirstTypeId + i));
        CheckLoops();
        for (int i = 0; i < _offsets.Length; i++) CheckResolved(GetType(FirstTypeId + i));
        return this;
    }

    private bool _objectFileMode;

    private BtfFormatException Error(BtfType t, string rule) => new(rule, t.Id, t.DataOffset);

    private void CheckMeta(BtfType t)
    {
        uint info = t.Info;
        if ((info & ~0x9f00ffffu) != 0) throw Error(t, $"Invalid btf_info:{info:x}");
        if (!IsValidStringOffset(t.NameOffset)) throw Error(t, $"Invalid name_offset:{t.NameOffset}");
        int vlen = t.Vlen;
        bool kflag = t.KindFlag;
        switch (t.Kind)
        {
            case BtfKind.Int:
            {
                if (vlen != 0) throw Error(t, "vlen != 0");
                if (kflag) throw Error(t, "Invalid btf_info kind_flag");
                uint data = t.IntData;
                if ((data & ~0x0fffffffu) != 0) throw Error(t, $"Invalid int_data:{data:x}");
                int bits = t.IntBits + t.IntBitOffset;
                if (bits > 128) throw Error(t, "nr_bits exceeds 128");
                if ((bits + 7) / 8 > t.Size) throw Error(t, "nr_bits exceeds type_size");
                var enc = t.IntEncoding;
                if (enc != BtfIntEncoding.None && enc != BtfIntEncoding.Signed && enc != BtfIntEncoding.Char && enc != BtfIntEncoding.Bool)
                    throw Error(t, "Unsupported encoding");
                break;
            }
            case BtfKind.Pointer or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.Typedef or BtfKind.TypeTag:
                if (vlen != 0) throw Error(t, "vlen != 0");
                // Newer kernels let a type tag carry the "attribute" kind flag.
                if (kflag && t.Kind != BtfKind.TypeTag) throw Error(t, "Invalid btf_info kind_flag");
                if (t.SizeOrType > MaxTypeId) throw Error(t, "Invalid type_id");
                if (t.Kind == BtfKind.Typedef) RequireIdentifier(t);
                else if (t.Kind == BtfKind.TypeTag)
                {
                    if (t.NameOffset == 0 || t.NameUtf8.IsEmpty) throw Error(t, "Invalid name");
                }
                else if (t.NameOffset != 0) throw Error(t, "Invalid name");
                break;
            case BtfKind.Array:
            {
                if (t.NameOffset != 0) throw Error(t, "Invalid name");
                if (vlen != 0) throw Error(t, "vlen != 0");
                if (kflag) throw Error(t, "Invalid btf_info kind_flag");
                if (t.SizeOrType != 0) throw Error(t, "size != 0");
                var a = t.Array;
                if (a.ElementTypeId == 0 || (uint)a.ElementTypeId > MaxTypeId) throw Error(t, "Invalid elem");
                if (a.IndexTypeId == 0 || (uint)a.IndexTypeId > MaxTypeId) throw Error(t, "Invalid index");
                break;
            }
            case BtfKind.Struct or BtfKind.Union:
            {
                RequireOptionalIdentifier(t);
                uint lastOffset = 0;
                bool isUnion = t.Kind == BtfKind.Union;
                for (int i = 0; i < vlen; i++)
                {
                    var m = t.GetMember(i);
                    if (!IsValidStringOffset(m.NameOffset)) throw Error(t, $"member #{i}: Invalid member name_offset:{m.NameOffset}");
                    if (m.NameOffset != 0 && !IsIdentifier(GetStringBytes(m.NameOffset)))
                        throw Error(t, $"member #{i} '{m.Name}': Invalid name");
                    if (m.TypeId == 0 || (uint)m.TypeId > MaxTypeId) throw Error(t, $"member #{i} '{m.Name}': Invalid type_id");
                    if (isUnion && m.BitOffset != 0) throw Error(t, $"member #{i} '{m.Name}': Invalid member bits_offset");
                    if (lastOffset > m.BitOffset) throw Error(t, $"member #{i} '{m.Name}': Invalid member bits_offset");
                    if ((m.BitOffset + 7L) / 8 > t.Size) throw Error(t, $"member #{i} '{m.Name}': Member bits_offset exceeds its struct size");
                    lastOffset = m.BitOffset;
                }
                break;
            }
            case BtfKind.Enum or BtfKind.Enum64:
            {
                uint size = t.Size;
                if (size > 8 || !IsPowerOfTwo(size))
                    throw Error(t, "Unexpected size");
                RequireOptionalIdentifier(t);
                for (int i = 0; i < vlen; i++)
                {
                    var v = t.GetEnumValue(i);
                    if (!IsValidStringOffset(v.NameOffset)) throw Error(t, $"enumerator #{i}: Invalid name_offset:{v.NameOffset}");
                    if (v.NameOffset == 0 || !IsIdentifier(GetStringBytes(v.NameOffset))) throw Error(t, $"enumerator #{i}: Invalid name");
                }
                break;
            }
            case BtfKind.Forward:
                if (vlen != 0) throw Error(t, "vlen != 0");
                if (t.SizeOrType != 0) throw Error(t, "type != 0");
                RequireIdentifier(t);
                break;
            case BtfKind.Function:
                RequireIdentifier(t);
                if (vlen > (int)(_objectFileMode ? BtfFunctionLinkage.Extern : BtfFunctionLinkage.Global)) throw Error(t, "Invalid func linkage");
                if (kflag) throw Error(t, "Invalid btf_info kind_flag");
                if (t.SizeOrType > MaxTypeId) throw Error(t, "Invalid type_id");
                break;
            case BtfKind.FunctionProto:
                if (t.NameOffset != 0) throw Error(t, "Invalid name");
                if (kflag) throw Error(t, "Invalid btf_info kind_flag");
                if (t.SizeOrType > MaxTypeId) throw Error(t, "Invalid return type");
                for (int i = 0; i < vlen; i++)
                {
                    var p = t.GetParameter(i);
                    if (!IsValidStringOffset(p.NameOffset)) throw Error(t, $"Invalid arg#{i + 1} name_offset");
                    if ((uint)p.TypeId > MaxTypeId) throw Error(t, $"Invalid arg#{i + 1}");
                }
                break;
            case BtfKind.Variable:
                if (vlen != 0) throw Error(t, "vlen != 0");
                if (kflag) throw Error(t, "Invalid btf_info kind_flag");
                RequireIdentifier(t);
                if (t.SizeOrType == 0 || t.SizeOrType > MaxTypeId) throw Error(t, "Invalid type_id");
                if (t.VariableLinkage is not (BtfVariableLinkage.Static or BtfVariableLinkage.GlobalAllocated)
                    && !(_objectFileMode && t.VariableLinkage == BtfVariableLinkage.GlobalExtern))
                    throw Error(t, "Linkage not supported");
                break;
            case BtfKind.DataSection:
            {
                uint size = t.Size;
                bool unsized = _objectFileMode && size == 0;
                if (size == 0 && !unsized) throw Error(t, "size == 0");
                if (kflag) throw Error(t, "Invalid btf_info kind_flag");
                if (t.NameOffset == 0 || !IsSectionName(t.NameUtf8)) throw Error(t, "Invalid name");
                ulong lastEnd = 0, sum = 0;
                for (int i = 0; i < vlen; i++)
                {
                    var v = t.GetVariable(i);
                    if (v.TypeId == 0 || (uint)v.TypeId > MaxTypeId) throw Error(t, $"variable #{i}: Invalid type_id");
                    if (unsized) continue;
                    if (v.Offset < lastEnd || v.Offset >= size) throw Error(t, $"variable #{i}: Invalid offset");
                    if (v.Size == 0 || v.Size > size) throw Error(t, $"variable #{i}: Invalid size");
                    lastEnd = (ulong)v.Offset + v.Size;
                    if (lastEnd > size) throw Error(t, $"variable #{i}: Invalid offset+size");
                    sum += v.Size;
                }
                if (size < sum) throw Error(t, "Invalid btf_info size");
                break;
            }
            case BtfKind.Float:
                if (vlen != 0) throw Error(t, "vlen != 0");
                if (kflag) throw Error(t, "Invalid btf_info kind_flag");
                if (t.Size is not (2 or 4 or 8 or 12 or 16)) throw Error(t, "Invalid type_size");
                break;
            case BtfKind.DeclTag:
                if (t.NameOffset == 0 || t.NameUtf8.IsEmpty) throw Error(t, "Invalid value");
                if (vlen != 0) throw Error(t, "vlen != 0");
                if (t.ComponentIndex < -1) throw Error(t, "Invalid component_idx");
                if (t.SizeOrType == 0 || t.SizeOrType > MaxTypeId) throw Error(t, "Invalid type_id");
                break;
            default:
                throw Error(t, $"Invalid kind:{(int)t.Kind}");
        }
    }

    private static bool IsPowerOfTwo(uint v) => v != 0 && (v & (v - 1)) == 0;

    private void RequireIdentifier(BtfType t)
    {
        if (t.NameOffset == 0 || !IsIdentifier(t.NameUtf8)) throw Error(t, "Invalid name");
    }

    private void RequireOptionalIdentifier(BtfType t)
    {
        if (t.NameOffset != 0 && !IsIdentifier(t.NameUtf8)) throw Error(t, "Invalid name");
    }

    /// <summary>The kernel's identifier rule: a letter, '_' or '.' then letters, digits, '_' or '.' ('.' for symbols like <c>foo.isra.0</c>).</summary>
    private static bool IsIdentifier(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || name.Length > MaxNameLength) return false;
        for (int i = 0; i < name.Length; i++)
        {
            byte c = name[i];
            bool ok = c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9');
            if (!ok) return false;
        }
        return true;
    }

    private static bool IsSectionName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || name.Length > MaxNameLength) return false;
        foreach (byte c in name)
        {
            if (c < 0x20 || c > 0x7e) return false;
        }
        return true;
    }

    private static bool IsResolveSourceOnly(BtfKind k) => k is BtfKind.Variable or BtfKind.DeclTag or BtfKind.DataSection;

    private static bool IsNoSize(BtfKind k) => k is BtfKind.Void or BtfKind.Forward or BtfKind.Function or BtfKind.FunctionProto or BtfKind.DeclTag;

    private static bool IsChainKind(BtfKind k) => k is BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.TypeTag;

    private BtfType Target(BtfType from, long id, string rule)
    {
        if (!IsValidTypeId(id)) throw Error(from, rule);
        return GetType((int)id);
    }

    /// <summary>
    /// Finds reference loops the kernel rejects: a loop made only of pointers, typedefs and qualifiers, or one made
    /// only of typedefs, qualifiers, arrays and structs/unions (a struct containing itself by value). A loop through
    /// both a pointer and a struct is the ordinary self-referential struct and is fine.
    /// </summary>
    private void CheckLoops()
    {
        int count = _offsets.Length;
        var color = new byte[count];
        var stack = new Stack<(int Id, int Next)>();
        for (int pass = 0; pass < 2; pass++)
        {
            bool pointerMode = pass == 0;
            Array.Clear(color);
            for (int root = 0; root < count; root++)
            {
                if (color[root] != 0) continue;
                int rootId = FirstTypeId + root;
                if (!InLoopGraph(GetType(rootId).Kind, pointerMode)) continue;
                stack.Push((rootId, 0));
                color[root] = 1;
                while (stack.Count > 0)
                {
                    var (id, next) = stack.Pop();
                    var t = GetType(id);
                    int target = LoopEdge(t, next, pointerMode, out bool more);
                    if (more) stack.Push((id, next + 1));
                    else
                    {
                        color[id - FirstTypeId] = 2;
                        continue;
                    }
                    if (target < FirstTypeId || target >= TypeCount) continue;
                    var tt = GetType(target);
                    if (!InLoopGraph(tt.Kind, pointerMode)) continue;
                    int ti = target - FirstTypeId;
                    if (color[ti] == 1) throw Error(tt, "Loop detected");
                    if (color[ti] == 0)
                    {
                        color[ti] = 1;
                        stack.Push((target, 0));
                    }
                }
            }
        }
    }

    private static bool InLoopGraph(BtfKind k, bool pointerMode) =>
        IsChainKind(k) || (pointerMode ? k == BtfKind.Pointer : k is BtfKind.Array or BtfKind.Struct or BtfKind.Union);

    /// <summary>The <paramref name="index"/>th outgoing edge of <paramref name="t"/> in the loop graph, or -1; <paramref name="exists"/> is false past the last edge.</summary>
    private static int LoopEdge(BtfType t, int index, bool pointerMode, out bool exists)
    {
        switch (t.Kind)
        {
            case BtfKind.Struct or BtfKind.Union when !pointerMode:
                exists = index < t.Vlen;
                return exists ? t.GetMember(index).TypeId : -1;
            case BtfKind.Array when !pointerMode:
                exists = index == 0;
                return exists ? t.Array.ElementTypeId : -1;
            default:
                exists = index == 0;
                return exists ? t.ReferencedTypeId : -1;
        }
    }

    /// <summary>Follows typedefs and qualifiers, bounded so a loop cannot hang (loops are reported by <see cref="CheckLoops"/>).</summary>
    private BtfType SkipChain(BtfType t)
    {
        for (int i = 0; i < 4096 && IsChainKind(t.Kind); i++)
        {
            long next = t.ReferencedTypeId;
            if (!IsValidTypeId(next)) throw Error(t, "Invalid type_id");
            t = GetType((int)next);
        }
        if (IsChainKind(t.Kind)) throw Error(t, "Loop detected");
        return t;
    }

    /// <summary>Like <see cref="Target"/> for a member, parameter or variable; the message is built only on failure.</summary>
    private BtfType Entry(BtfType from, long id, int index, string prefix, string suffix)
    {
        if (!IsValidTypeId(id)) throw Error(from, prefix + index.ToString(System.Globalization.CultureInfo.InvariantCulture) + suffix);
        return GetType((int)id);
    }

    private void CheckResolved(BtfType t)
    {
        switch (t.Kind)
        {
            case BtfKind.Pointer or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.Typedef or BtfKind.TypeTag:
            {
                var target = Target(t, t.ReferencedTypeId, "Invalid type_id");
                if (IsResolveSourceOnly(target.Kind) || target.Kind == BtfKind.Function) throw Error(t, "Invalid type_id");
                if (t.IsModifier || t.Kind == BtfKind.Typedef) CheckTypeTagOrder(t);
                break;
            }
            case BtfKind.Array:
            {
                var a = t.Array;
                var elem = Target(t, a.ElementTypeId, "Invalid elem");
                if (IsNoSize(elem.Kind) || IsResolveSourceOnly(elem.Kind)) throw Error(t, "Invalid elem");
                var index = SkipChain(Target(t, a.IndexTypeId, "Invalid index"));
                if (index.Kind != BtfKind.Int || index.IntBitOffset != 0 || index.IntBits != index.Size * 8)
                    throw Error(t, "Invalid index");
                long elemSize = GetSize(a.ElementTypeId);
                if (elemSize < 0) throw Error(t, "Invalid elem");
                if (elemSize * a.Count > uint.MaxValue) throw Error(t, "Array size overflows U32_MAX");
                break;
            }
            case BtfKind.Struct or BtfKind.Union:
                CheckMembers(t);
                break;
            case BtfKind.Function:
            {
                var proto = Target(t, t.ReferencedTypeId, "Invalid type_id");
                if (proto.Kind != BtfKind.FunctionProto) throw Error(t, "Invalid type_id (not a FUNC_PROTO)");
                for (int i = 0; i < proto.Vlen; i++)
                {
                    var p = proto.GetParameter(i);
                    if (p.TypeId != 0 && p.NameOffset != 0 && !IsIdentifier(GetStringBytes(p.NameOffset)))
                        throw Error(t, $"Invalid arg#{i + 1}");
                }
                break;
            }
            case BtfKind.FunctionProto:
            {
                var ret = Target(t, t.ReferencedTypeId, "Invalid return type");
                if (ret.Id != 0 && (IsResolveSourceOnly(ret.Kind) || ret.Kind is BtfKind.Function or BtfKind.Forward or BtfKind.FunctionProto))
                    throw Error(t, "Invalid return type");
                for (int i = 0; i < t.Vlen; i++)
                {
                    var p = t.GetParameter(i);
                    if (p.TypeId == 0)
                    {
                        if (i != t.Vlen - 1 || p.NameOffset != 0) throw Error(t, $"Invalid arg#{i + 1}");
                        continue;
                    }
                    var pt = Entry(t, p.TypeId, i, "Invalid arg#", "");
                    if (IsNoSize(pt.Kind) || IsResolveSourceOnly(pt.Kind)) throw Error(t, $"Invalid arg#{i + 1}");
                }
                break;
            }
            case BtfKind.Variable:
            {
                var vt = Target(t, t.ReferencedTypeId, "Invalid type_id");
                if (IsNoSize(vt.Kind) || IsResolveSourceOnly(vt.Kind) || GetSize(vt.Id) < 0) throw Error(t, "Invalid type_id");
                break;
            }
            case BtfKind.DataSection:
                for (int i = 0; i < t.Vlen; i++)
                {
                    var v = t.GetVariable(i);
                    var vt = Entry(t, v.TypeId, i, "variable #", ": Invalid type_id");
                    if (_objectFileMode && vt.Kind == BtfKind.Function) continue; // an extern function in .ksyms
                    if (vt.Kind != BtfKind.Variable) throw Error(t, $"variable #{i}: Not a VAR kind member");
                    long size = GetSize(vt.ReferencedTypeId);
                    if (size < 0) throw Error(t, $"variable #{i}: Invalid type");
                    if (v.Size < size && !(_objectFileMode && t.Size == 0)) throw Error(t, $"variable #{i}: Invalid size");
                }
                break;
            case BtfKind.DeclTag:
            {
                var target = Target(t, t.ReferencedTypeId, "Invalid type_id");
                int component = t.ComponentIndex;
                switch (target.Kind)
                {
                    case BtfKind.Struct or BtfKind.Union:
                        if (component >= target.Vlen) throw Error(t, "Invalid component_idx");
                        break;
                    case BtfKind.Function:
                    {
                        var proto = Target(t, target.ReferencedTypeId, "Invalid type_id");
                        if (component >= proto.Vlen) throw Error(t, "Invalid component_idx");
                        break;
                    }
                    case BtfKind.Variable or BtfKind.Typedef:
                        if (component != -1) throw Error(t, "Invalid component_idx");
                        break;
                    default:
                        throw Error(t, "Invalid type_id (decl tag target must be a struct, union, function, variable or typedef)");
                }
                break;
            }
            default:
                break;
        }
    }

    private void CheckTypeTagOrder(BtfType t)
    {
        bool inTags = t.Kind == BtfKind.TypeTag;
        int limit = MaxResolveDepth;
        while (IsChainKind(t.Kind))
        {
            if (limit-- == 0) throw Error(t, "Max chain length or cycle detected");
            if (t.Kind == BtfKind.TypeTag)
            {
                if (!inTags) throw Error(t, "Type tags don't precede modifiers");
            }
            else
            {
                inTags = false;
            }
            if (!IsValidTypeId(t.ReferencedTypeId)) throw Error(t, "Invalid type_id");
            t = GetType(t.ReferencedTypeId);
        }
    }

    private void CheckMembers(BtfType t)
    {
        bool kflag = t.KindFlag;
        long structBits = (long)t.Size * 8;
        for (int i = 0; i < t.Vlen; i++)
        {
            var m = t.GetMember(i);
            var mt = Entry(t, m.TypeId, i, "member #", ": Invalid type_id");
            if (IsNoSize(mt.Kind) || IsResolveSourceOnly(mt.Kind)) throw Error(t, $"member #{i} '{m.Name}': Invalid member");
            var resolved = SkipChain(mt);
            long size = GetSize(m.TypeId);
            if (size < 0) throw Error(t, $"member #{i} '{m.Name}': Invalid member");
            if (kflag && m.BitfieldSize != 0)
            {
                if (resolved.Kind is not (BtfKind.Int or BtfKind.Enum or BtfKind.Enum64))
                    throw Error(t, $"member #{i} '{m.Name}': Invalid member bitfield (not an int or enum)");
                if (resolved.Kind == BtfKind.Int && (resolved.IntBitOffset != 0 || resolved.IntBits != resolved.Size * 8))
                    throw Error(t, $"member #{i} '{m.Name}': Invalid member base type");
                if (m.BitfieldSize > size * 8 || m.BitfieldSize > 128)
                    throw Error(t, $"member #{i} '{m.Name}': Invalid member bitfield_size");
                if (m.BitOffset + (long)m.BitfieldSize > structBits)
                    throw Error(t, $"member #{i} '{m.Name}': Member exceeds struct_size");
                continue;
            }
            if (!kflag && resolved.Kind == BtfKind.Int)
            {
                // Legacy bitfields: the int's own offset and width describe the field.
                long bits = resolved.IntBitOffset + resolved.IntBits;
                long start = m.BitOffset;
                if (resolved.IntBits != resolved.Size * 8 || resolved.IntBitOffset != 0)
                {
                    if ((start + bits + 7) / 8 > t.Size) throw Error(t, $"member #{i} '{m.Name}': Member exceeds struct_size");
                    continue;
                }
            }
            if (m.BitOffset % 8 != 0) throw Error(t, $"member #{i} '{m.Name}': Member is not byte aligned");
            if (m.BitOffset / 8 + size > t.Size) throw Error(t, $"member #{i} '{m.Name}': Member exceeds struct_size");
        }
    }
}
