namespace SharpBpf.Btf.Core;

/// <summary>
/// The type relations CO-RE relocation is built on (libbpf's relo_core.c semantics): essential names, kind
/// compatibility, field compatibility, type compatibility and the stricter "types match" relation.
/// </summary>
public static class CoreTypes
{
    private const int MaxDepth = 32;

    /// <summary>
    /// The length of a name's essential part: everything before the last <c>___</c> flavour separator that sits between
    /// two characters other than <c>_</c> (<c>task_struct___old</c> gives 11), or the whole length.
    /// </summary>
    public static int EssentialNameLength(ReadOnlySpan<byte> name)
    {
        for (int i = name.Length - 5; i >= 0; i--)
        {
            if (name[i] != '_' && name[i + 1] == '_' && name[i + 2] == '_' && name[i + 3] == '_' && name[i + 4] != '_')
                return i + 1;
        }
        return name.Length;
    }

    /// <summary>The essential part of a name (see <see cref="EssentialNameLength"/>).</summary>
    public static string EssentialName(string name)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(name);
        return System.Text.Encoding.UTF8.GetString(bytes, 0, EssentialNameLength(bytes));
    }

    /// <summary>Whether two names are equal once their flavour suffixes are dropped.</summary>
    public static bool EssentialNamesEqual(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int la = EssentialNameLength(a), lb = EssentialNameLength(b);
        return la == lb && a[..la].SequenceEqual(b[..lb]);
    }

    /// <summary>Kinds that CO-RE treats as the same: equal kinds, or any two of enum and enum64.</summary>
    public static bool KindsCompatible(BtfType a, BtfType b) =>
        a.Kind == b.Kind || (IsAnyEnum(a.Kind) && IsAnyEnum(b.Kind));

    internal static bool IsAnyEnum(BtfKind kind) => kind is BtfKind.Enum or BtfKind.Enum64;

    internal static BtfType SkipModifiersAndTypedefs(BtfSpec btf, int id) => btf.GetType(btf.ResolveTypeId(id));

    /// <summary>
    /// Type compatibility for the type-based relocations (type exists, type size, target type id): same kinds after
    /// skipping qualifiers and typedefs, integers without bit offsets, pointers and arrays by their targets, function
    /// prototypes by arity and by argument and return types. Names below the root are ignored.
    /// </summary>
    /// <returns>1 when compatible, 0 when not, negative when the types nest too deeply.</returns>
    public static int AreCompatible(BtfSpec local, int localId, BtfSpec target, int targetId) =>
        AreCompatible(local, localId, target, targetId, MaxDepth);

    private static int AreCompatible(BtfSpec local, int localId, BtfSpec target, int targetId, int level)
    {
        var lt = local.GetType(localId);
        var tt = target.GetType(targetId);
        if (!KindsCompatible(lt, tt)) return 0;
        for (int depth = MaxDepth; ; )
        {
            if (--depth < 0) return -1;
            lt = SkipModifiersAndTypedefs(local, localId);
            tt = SkipModifiersAndTypedefs(target, targetId);
            if (!KindsCompatible(lt, tt)) return 0;
            switch (lt.Kind)
            {
                case BtfKind.Void or BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Forward or BtfKind.Enum64:
                    return 1;
                case BtfKind.Int:
                    return lt.IntBitOffset == 0 && tt.IntBitOffset == 0 ? 1 : 0;
                case BtfKind.Pointer:
                    localId = lt.ReferencedTypeId;
                    targetId = tt.ReferencedTypeId;
                    continue;
                case BtfKind.Array:
                    localId = lt.Array.ElementTypeId;
                    targetId = tt.Array.ElementTypeId;
                    continue;
                case BtfKind.FunctionProto:
                {
                    if (lt.Vlen != tt.Vlen) return 0;
                    for (int i = 0; i < lt.Vlen; i++)
                    {
                        if (level <= 0) return -1;
                        int r = AreCompatible(local, local.ResolveTypeId(lt.GetParameter(i).TypeId),
                            target, target.ResolveTypeId(tt.GetParameter(i).TypeId), level - 1);
                        if (r <= 0) return r;
                    }
                    localId = local.ResolveTypeId(lt.ReferencedTypeId);
                    targetId = target.ResolveTypeId(tt.ReferencedTypeId);
                    continue;
                }
                default:
                    return 0;
            }
        }
    }

    /// <summary>
    /// Field compatibility for field-based relocations: any two structs or unions, pointers, floats, integers
    /// without bit offsets, enums or forwards with the same essential name (or one anonymous), arrays by element.
    /// </summary>
    internal static bool FieldsCompatible(BtfSpec local, int localId, BtfSpec target, int targetId)
    {
        for (int depth = 0; depth < MaxDepth * 128; depth++)
        {
            var lt = SkipModifiersAndTypedefs(local, localId);
            var tt = SkipModifiersAndTypedefs(target, targetId);
            if (lt.IsComposite && tt.IsComposite) return true;
            if (!KindsCompatible(lt, tt)) return false;
            switch (lt.Kind)
            {
                case BtfKind.Pointer or BtfKind.Float:
                    return true;
                case BtfKind.Forward or BtfKind.Enum or BtfKind.Enum64:
                {
                    var ln = lt.NameUtf8;
                    var tn = tt.NameUtf8;
                    int ll = EssentialNameLength(ln), tl = EssentialNameLength(tn);
                    return ll == 0 || tl == 0 || (ll == tl && ln[..ll].SequenceEqual(tn[..tl]));
                }
                case BtfKind.Int:
                    return lt.IntBitOffset == 0 && tt.IntBitOffset == 0;
                case BtfKind.Array:
                    localId = lt.Array.ElementTypeId;
                    targetId = tt.Array.ElementTypeId;
                    continue;
                default:
                    return false;
            }
        }
        return false;
    }

    /// <summary>
    /// The "types match" relation of <c>bpf_core_type_matches()</c>: after the root names were matched, the same
    /// kinds (a struct or union behind a pointer may match a forward), integers of equal size and signedness, every
    /// local member or enumerator present by name in the target, arrays of equal length, prototypes of equal arity.
    /// </summary>
    /// <returns>1 when they match, 0 when not, negative when the types nest too deeply.</returns>
    public static int Match(BtfSpec local, int localId, BtfSpec target, int targetId) =>
        Match(local, localId, target, targetId, false, MaxDepth);

    private static bool NamesMatch(ReadOnlySpan<byte> local, ReadOnlySpan<byte> target)
    {
        if (target.IsEmpty) return local.IsEmpty;
        return EssentialNamesEqual(local, target);
    }

    private static int Match(BtfSpec local, int localId, BtfSpec target, int targetId, bool behindPointer, int level)
    {
        if (level <= 0) return -1;
        for (int depth = MaxDepth; ; )
        {
            if (--depth < 0) return -1;
            var lt = SkipModifiersAndTypedefs(local, localId);
            var tt = SkipModifiersAndTypedefs(target, targetId);
            if (!NamesMatch(lt.NameUtf8, tt.NameUtf8)) return 0;
            var lk = lt.Kind;
            var tk = tt.Kind;
            switch (lk)
            {
                case BtfKind.Void:
                    return lk == tk ? 1 : 0;
                case BtfKind.Forward:
                    if (behindPointer)
                    {
                        if (lk == tk) return lt.KindFlag == tt.KindFlag ? 1 : 0;
                        return (tk == BtfKind.Struct && !lt.KindFlag) || (tk == BtfKind.Union && lt.KindFlag) ? 1 : 0;
                    }
                    return lk == tk && lt.KindFlag == tt.KindFlag ? 1 : 0;
                case BtfKind.Enum or BtfKind.Enum64:
                    return IsAnyEnum(tk) && EnumsMatch(lt, tt) ? 1 : 0;
                case BtfKind.Struct or BtfKind.Union:
                    if (behindPointer)
                    {
                        if (lk == tk) return 1;
                        if (tk != BtfKind.Forward) return 0;
                        return (lk == BtfKind.Union) == tt.KindFlag ? 1 : 0;
                    }
                    if (lk != tk) return 0;
                    return CompositesMatch(local, lt, target, tt, behindPointer, level);
                case BtfKind.Int:
                    if (lk != tk) return 0;
                    return lt.Size == tt.Size && (lt.IntEncoding & BtfIntEncoding.Signed) == (tt.IntEncoding & BtfIntEncoding.Signed) ? 1 : 0;
                case BtfKind.Pointer:
                    if (lk != tk) return 0;
                    behindPointer = true;
                    localId = lt.ReferencedTypeId;
                    targetId = tt.ReferencedTypeId;
                    continue;
                case BtfKind.Array:
                {
                    if (lk != tk) return 0;
                    var la = lt.Array;
                    var ta = tt.Array;
                    if (la.Count != ta.Count) return 0;
                    localId = la.ElementTypeId;
                    targetId = ta.ElementTypeId;
                    continue;
                }
                case BtfKind.FunctionProto:
                {
                    if (lk != tk || lt.Vlen != tt.Vlen) return 0;
                    for (int i = 0; i < lt.Vlen; i++)
                    {
                        int r = Match(local, lt.GetParameter(i).TypeId, target, tt.GetParameter(i).TypeId, behindPointer, level - 1);
                        if (r <= 0) return r;
                    }
                    localId = lt.ReferencedTypeId;
                    targetId = tt.ReferencedTypeId;
                    continue;
                }
                default:
                    return 0;
            }
        }
    }

    private static bool EnumsMatch(BtfType local, BtfType target)
    {
        if (local.Size != target.Size || local.Vlen > target.Vlen) return false;
        for (int i = 0; i < local.Vlen; i++)
        {
            var ln = local.Spec.GetStringBytes(local.GetEnumValue(i).NameOffset);
            bool matched = false;
            for (int j = 0; j < target.Vlen && !matched; j++)
                matched = NamesMatch(ln, target.Spec.GetStringBytes(target.GetEnumValue(j).NameOffset));
            if (!matched) return false;
        }
        return true;
    }

    private static int CompositesMatch(BtfSpec local, BtfType lt, BtfSpec target, BtfType tt, bool behindPointer, int level)
    {
        if (lt.Vlen > tt.Vlen) return 0;
        for (int i = 0; i < lt.Vlen; i++)
        {
            var lm = lt.GetMember(i);
            var ln = NameBytes(local, lm.NameOffset);
            bool matched = false;
            for (int j = 0; j < tt.Vlen; j++)
            {
                var tm = tt.GetMember(j);
                if (!NamesMatch(ln, NameBytes(target, tm.NameOffset))) continue;
                int r = Match(local, lm.TypeId, target, tm.TypeId, behindPointer, level - 1);
                if (r < 0) return r;
                if (r > 0)
                {
                    matched = true;
                    break;
                }
            }
            if (!matched) return 0;
        }
        return 1;
    }

    internal static ReadOnlySpan<byte> NameBytes(BtfSpec btf, uint offset) => offset == 0 ? default : btf.GetStringBytes(offset);

    /// <summary>libbpf's lower-case name of a kind (<c>struct</c>, <c>enum64</c>, <c>func_proto</c>...).</summary>
    public static string KindName(BtfKind kind) => kind switch
    {
        BtfKind.Void => "void",
        BtfKind.Int => "int",
        BtfKind.Pointer => "ptr",
        BtfKind.Array => "array",
        BtfKind.Struct => "struct",
        BtfKind.Union => "union",
        BtfKind.Enum => "enum",
        BtfKind.Forward => "fwd",
        BtfKind.Typedef => "typedef",
        BtfKind.Volatile => "volatile",
        BtfKind.Const => "const",
        BtfKind.Restrict => "restrict",
        BtfKind.Function => "func",
        BtfKind.FunctionProto => "func_proto",
        BtfKind.Variable => "var",
        BtfKind.DataSection => "datasec",
        BtfKind.Float => "float",
        BtfKind.DeclTag => "decl_tag",
        BtfKind.TypeTag => "type_tag",
        BtfKind.Enum64 => "enum64",
        _ => "unknown",
    };
}
