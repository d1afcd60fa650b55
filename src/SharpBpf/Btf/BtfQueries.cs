namespace SharpBpf.Btf;

/// <summary>Where a member was found: the member itself, the struct that declares it and its offset from the outer struct.</summary>
/// <param name="Member">The member as declared in <paramref name="ContainerTypeId"/>.</param>
/// <param name="ContainerTypeId">The struct or union that declares the member (an anonymous one when nested).</param>
/// <param name="BitOffset">The member's bit offset from the start of the struct searched, through every anonymous level.</param>
/// <param name="Path">Member indexes from the searched struct down to the member (one per anonymous level, then the member).</param>
public sealed record BtfMemberLocation(BtfMember Member, int ContainerTypeId, long BitOffset, IReadOnlyList<int> Path);

public sealed partial class BtfSpec
{
    private const int MaxChainSteps = 4096;

    /// <summary>
    /// Follows typedefs, const/volatile/restrict and type tags from <paramref name="id"/> to the underlying type's id.
    /// </summary>
    /// <exception cref="BtfFormatException">An id is out of range or the chain loops.</exception>
    public int ResolveTypeId(int id)
    {
        var t = GetType(id);
        for (int i = 0; i < MaxChainSteps && IsChainKind(t.Kind); i++) t = GetType(t.ReferencedTypeId);
        if (IsChainKind(t.Kind)) throw new BtfFormatException("Loop detected while resolving typedefs and qualifiers", id);
        return t.Id;
    }

    /// <summary>Follows typedefs and qualifiers from <paramref name="id"/> and returns the underlying type.</summary>
    public BtfType ResolveType(int id) => GetType(ResolveTypeId(id));

    /// <summary>
    /// The size in bytes of the type (what <c>sizeof</c> gives in C), or -1 for a type without a size (void, a
    /// function, a prototype, a forward declaration, a decl tag).
    /// </summary>
    /// <exception cref="BtfFormatException">An id is out of range, a chain loops or the size overflows.</exception>
    public long GetSize(int id)
    {
        ulong multiplier = 1;
        var t = GetType(id);
        for (int i = 0; i < MaxChainSteps; i++)
        {
            switch (t.Kind)
            {
                case BtfKind.Int or BtfKind.Float or BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64 or BtfKind.DataSection:
                    return Multiply(multiplier, t.Size, id);
                case BtfKind.Pointer:
                    return Multiply(multiplier, (uint)PointerSize, id);
                case BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.TypeTag or BtfKind.Variable:
                    t = GetType(t.ReferencedTypeId);
                    break;
                case BtfKind.Array:
                {
                    var a = t.Array;
                    multiplier = (ulong)Multiply(multiplier, a.Count, id);
                    t = GetType(a.ElementTypeId);
                    break;
                }
                default:
                    return -1;
            }
        }
        throw new BtfFormatException("Loop detected while computing a size", id);
    }

    private static long Multiply(ulong a, uint b, int id)
    {
        ulong r;
        try
        {
            r = checked(a * b);
        }
        catch (OverflowException)
        {
            throw new BtfFormatException("type size overflows", id);
        }
        return r > long.MaxValue ? throw new BtfFormatException("type size overflows", id) : (long)r;
    }

    /// <summary>
    /// The alignment in bytes the type has in C (libbpf's <c>btf__align_of</c>): integers, floats and enums align to
    /// their size capped at the pointer size, a struct to its most aligned member, or 1 when its layout shows it is
    /// packed. Returns 0 for types without a size.
    /// </summary>
    /// <exception cref="BtfFormatException">An id is out of range or the types loop.</exception>
    public int GetAlignment(int id) => GetAlignment(id, 0);

    private int GetAlignment(int id, int depth)
    {
        // Structs nest deeply in vmlinux and the C dumper asks for every member's alignment, so results are cached
        // (stored plus one, so that 0 means "not computed").
        var cache = _alignmentCache ??= new int[TypeCount];
        if ((uint)id < (uint)cache.Length && cache[id] != 0) return cache[id] - 1;
        int align = ComputeAlignment(id, depth);
        if ((uint)id < (uint)cache.Length) cache[id] = align + 1;
        return align;
    }

    private int[]? _alignmentCache;

    private int ComputeAlignment(int id, int depth)
    {
        if (depth > MaxChainSteps) throw new BtfFormatException("Loop detected while computing an alignment", id);
        var t = GetType(id);
        switch (t.Kind)
        {
            case BtfKind.Int or BtfKind.Enum or BtfKind.Enum64 or BtfKind.Float:
                return (int)Math.Min((uint)PointerSize, t.Size);
            case BtfKind.Pointer:
                return PointerSize;
            case BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.TypeTag:
                return GetAlignment(t.ReferencedTypeId, depth + 1);
            case BtfKind.Array:
                return GetAlignment(t.Array.ElementTypeId, depth + 1);
            case BtfKind.Struct or BtfKind.Union:
            {
                int max = 1;
                for (int i = 0; i < t.Vlen; i++)
                {
                    var m = t.GetMember(i);
                    int align = GetAlignment(m.TypeId, depth + 1);
                    if (align <= 0) return 0;
                    max = Math.Max(max, align);
                    if (m.BitfieldSize == 0 && m.BitOffset % (8 * (uint)align) != 0) return 1;
                }
                return t.Size % (uint)max != 0 ? 1 : max;
            }
            default:
                return 0;
        }
    }

    /// <summary>
    /// Whether a struct's member offsets or size show that it was declared packed (a member placed off its natural
    /// alignment, or a size that is not a multiple of the alignment).
    /// </summary>
    public bool IsPacked(int structId)
    {
        var t = GetType(structId);
        if (t.Kind != BtfKind.Struct) return false;
        int max = 1;
        for (int i = 0; i < t.Vlen; i++)
        {
            var m = t.GetMember(i);
            int align = GetAlignment(m.TypeId);
            if (align != 0 && m.BitfieldSize == 0 && m.BitOffset % (8 * (uint)align) != 0) return true;
            max = Math.Max(max, align);
        }
        return t.Size % (uint)max != 0;
    }

    /// <summary>
    /// Finds a member by name in a struct or union (through typedefs and qualifiers), searching anonymous nested
    /// structs and unions as C does, and accumulating the bit offset across them.
    /// </summary>
    /// <returns>The location, or null when there is no such member.</returns>
    public BtfMemberLocation? FindMember(int structId, string name)
    {
        var path = new List<int>();
        return FindMember(ResolveType(structId), name, 0, path, 0);
    }

    private BtfMemberLocation? FindMember(BtfType t, string name, long baseOffset, List<int> path, int depth)
    {
        if (!t.IsComposite || depth > 64) return null;
        for (int i = 0; i < t.Vlen; i++)
        {
            var m = t.GetMember(i);
            if (m.Name == name)
                return new BtfMemberLocation(m, t.Id, baseOffset + m.BitOffset, [.. path, i]);
            if (m.NameOffset == 0)
            {
                var inner = ResolveType(m.TypeId);
                if (!inner.IsComposite) continue;
                path.Add(i);
                var found = FindMember(inner, name, baseOffset + m.BitOffset, path, depth + 1);
                path.RemoveAt(path.Count - 1);
                if (found is not null) return found;
            }
        }
        return null;
    }
}
