using System.Globalization;
using System.Text;

namespace SharpBpf.Btf.Core;

/// <summary>One semantically meaningful step of an access: a named field, or an array index (name null).</summary>
/// <param name="TypeId">The struct/union holding the field (for a field) or the element type (for an index).</param>
/// <param name="Index">The member index, array index or enumerator index.</param>
/// <param name="Name">The field or enumerator name, or null for an array index.</param>
internal readonly record struct CoreAccessor(int TypeId, int Index, string? Name);

/// <summary>
/// An access specification resolved against one BTF (libbpf's <c>struct bpf_core_spec</c>): the root type, the raw
/// access string indexes (every level, anonymous members included), the named/indexed accessors, and the bit offset.
/// </summary>
internal sealed class CoreSpec
{
    /// <summary>libbpf's limit on access string length.</summary>
    public const int MaxLength = 64;

    public CoreSpec(BtfSpec btf, int rootTypeId, BtfCoreRelocationKind kind)
    {
        Btf = btf;
        RootTypeId = rootTypeId;
        Kind = kind;
    }

    public BtfSpec Btf { get; }

    public int RootTypeId { get; }

    public BtfCoreRelocationKind Kind { get; }

    public List<CoreAccessor> Accessors { get; } = [];

    public List<int> Raw { get; } = [];

    public long BitOffset { get; set; }

    public static bool IsFieldBased(BtfCoreRelocationKind k) => k <= BtfCoreRelocationKind.FieldRShiftU64;

    public static bool IsTypeBased(BtfCoreRelocationKind k) =>
        k is BtfCoreRelocationKind.TypeIdLocal or BtfCoreRelocationKind.TypeIdTarget or BtfCoreRelocationKind.TypeExists
            or BtfCoreRelocationKind.TypeMatches or BtfCoreRelocationKind.TypeSize;

    public static bool IsEnumValueBased(BtfCoreRelocationKind k) => k is BtfCoreRelocationKind.EnumValueExists or BtfCoreRelocationKind.EnumValue;

    /// <summary>libbpf's short name of a relocation kind, as its log prints it.</summary>
    public static string KindName(BtfCoreRelocationKind kind) => kind switch
    {
        BtfCoreRelocationKind.FieldByteOffset => "byte_off",
        BtfCoreRelocationKind.FieldByteSize => "byte_sz",
        BtfCoreRelocationKind.FieldExists => "field_exists",
        BtfCoreRelocationKind.FieldSigned => "signed",
        BtfCoreRelocationKind.FieldLShiftU64 => "lshift_u64",
        BtfCoreRelocationKind.FieldRShiftU64 => "rshift_u64",
        BtfCoreRelocationKind.TypeIdLocal => "local_type_id",
        BtfCoreRelocationKind.TypeIdTarget => "target_type_id",
        BtfCoreRelocationKind.TypeExists => "type_exists",
        BtfCoreRelocationKind.TypeMatches => "type_matches",
        BtfCoreRelocationKind.TypeSize => "type_size",
        BtfCoreRelocationKind.EnumValueExists => "enumval_exists",
        BtfCoreRelocationKind.EnumValue => "enumval_value",
        _ => "unknown",
    };

    /// <summary>
    /// Parses a relocation's access string against the local BTF (libbpf's <c>bpf_core_parse_spec</c>).
    /// </summary>
    /// <exception cref="CoreRelocationException">The access string or the types it walks are invalid.</exception>
    public static CoreSpec Parse(BtfSpec btf, int rootTypeId, string access, BtfCoreRelocationKind kind)
    {
        if (access.Length == 0 || access[0] == ':') throw new CoreRelocationException($"invalid access string '{access}'");
        var spec = new CoreSpec(btf, rootTypeId, kind);
        if (IsTypeBased(kind))
        {
            if (access != "0") throw new CoreRelocationException($"type-based relocation with access string '{access}' (expected '0')");
            return spec;
        }

        foreach (var part in ParseIndexes(access))
        {
            if (spec.Raw.Count == MaxLength) throw new CoreRelocationException($"access string '{access}' is longer than {MaxLength} steps");
            spec.Raw.Add(part);
        }

        int id = btf.ResolveTypeId(rootTypeId);
        var t = btf.GetType(id);
        int index = spec.Raw[0];
        if (IsEnumValueBased(kind))
        {
            if (!CoreTypes.IsAnyEnum(t.Kind) || spec.Raw.Count > 1 || index >= t.Vlen)
                throw new CoreRelocationException($"enum relocation '{access}' does not name an enumerator of [{rootTypeId}]");
            spec.Accessors.Add(new CoreAccessor(id, index, btf.GetString(t.GetEnumValue(index).NameOffset)));
            return spec;
        }
        if (!IsFieldBased(kind)) throw new CoreRelocationException($"unknown relocation kind {(int)kind}");
        spec.Accessors.Add(new CoreAccessor(id, index, null));
        long size = SizeOf(btf, id);
        spec.BitOffset = index * size * 8;

        for (int i = 1; i < spec.Raw.Count; i++)
        {
            t = CoreTypes.SkipModifiersAndTypedefs(btf, id);
            id = t.Id;
            index = spec.Raw[i];
            if (t.IsComposite)
            {
                if (index >= t.Vlen) throw new CoreRelocationException($"member index {index} out of range of [{id}] at step {i} of '{access}'");
                var m = t.GetMember(index);
                spec.BitOffset += m.BitOffset;
                if (m.NameOffset != 0)
                {
                    string name = btf.GetString(m.NameOffset);
                    if (name.Length == 0) throw new CoreRelocationException($"member {index} of [{id}] has an empty name");
                    spec.Accessors.Add(new CoreAccessor(id, index, name));
                }
                id = m.TypeId;
            }
            else if (t.Kind == BtfKind.Array)
            {
                var a = t.Array;
                var element = CoreTypes.SkipModifiersAndTypedefs(btf, a.ElementTypeId);
                id = element.Id;
                bool flex = IsFlexibleArray(btf, spec.Accessors[^1], a);
                if (!flex && index >= a.Count)
                    throw new CoreRelocationException($"array index {index} out of bounds ({a.Count} elements) at step {i} of '{access}'");
                spec.Accessors.Add(new CoreAccessor(id, index, null));
                spec.BitOffset += index * SizeOf(btf, id) * 8;
            }
            else
            {
                throw new CoreRelocationException($"access '{access}' (at step {i}) reaches type [{id}] of unexpected kind {CoreTypes.KindName(t.Kind)}");
            }
        }
        return spec;
    }

    private static List<int> ParseIndexes(string access)
    {
        var result = new List<int>();
        int pos = 0;
        while (pos < access.Length)
        {
            if (access[pos] == ':') pos++;
            int start = pos;
            while (pos < access.Length && char.IsAsciiDigit(access[pos])) pos++;
            if (pos == start || !int.TryParse(access.AsSpan(start, pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out int value))
                throw new CoreRelocationException($"invalid access string '{access}'");
            result.Add(value);
            if (result.Count > MaxLength) break;
        }
        return result;
    }

    internal static long SizeOf(BtfSpec btf, int id)
    {
        long size = btf.GetSize(id);
        if (size < 0) throw new CoreRelocationException($"type [{id}] has no size");
        return size;
    }

    /// <summary>An array with no elements as the last member of a struct, reached through that member.</summary>
    internal static bool IsFlexibleArray(BtfSpec btf, CoreAccessor previous, BtfArrayInfo array)
    {
        if (previous.Name is null || array.Count > 0) return false;
        var holder = btf.GetType(previous.TypeId);
        return previous.Index == holder.Vlen - 1;
    }

    /// <summary>
    /// The spec as libbpf's log shows it: <c>&lt;byte_off&gt; [23] struct task_struct.pid (0:2 @ offset 8)</c>.
    /// </summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        var root = Btf.GetType(RootTypeId);
        string name = root.Name;
        sb.Append('<').Append(KindName(Kind)).Append("> [").Append(RootTypeId.ToString(CultureInfo.InvariantCulture)).Append("] ")
            .Append(CoreTypes.KindName(root.Kind)).Append(' ').Append(name.Length == 0 ? "<anon>" : name);
        if (IsTypeBased(Kind)) return sb.ToString();
        if (IsEnumValueBased(Kind))
        {
            var t = CoreTypes.SkipModifiersAndTypedefs(Btf, RootTypeId);
            int index = Raw.Count > 0 ? Raw[0] : 0;
            if (CoreTypes.IsAnyEnum(t.Kind) && index < t.Vlen)
            {
                var e = t.GetEnumValue(index);
                string value = t.Kind == BtfKind.Enum
                    ? (t.KindFlag ? ((int)e.RawValue).ToString(CultureInfo.InvariantCulture) : ((uint)e.RawValue).ToString(CultureInfo.InvariantCulture))
                    : (t.KindFlag ? ((long)e.RawValue).ToString(CultureInfo.InvariantCulture) : e.RawValue.ToString(CultureInfo.InvariantCulture));
                sb.Append("::").Append(e.Name).Append(" = ").Append(value);
            }
            return sb.ToString();
        }
        for (int i = 0; i < Accessors.Count; i++)
        {
            var a = Accessors[i];
            if (a.Name is not null) sb.Append('.').Append(a.Name);
            else if (i > 0 || a.Index > 0) sb.Append('[').Append(a.Index.ToString(CultureInfo.InvariantCulture)).Append(']');
        }
        sb.Append(" (").AppendJoin(':', Raw);
        long bits = BitOffset;
        if (bits % 8 != 0) sb.Append(CultureInfo.InvariantCulture, $" @ offset {bits / 8}.{bits % 8})");
        else sb.Append(CultureInfo.InvariantCulture, $" @ offset {bits / 8})");
        return sb.ToString();
    }

    /// <summary>
    /// Matches a local spec against a candidate target type (libbpf's <c>bpf_core_spec_match</c>), filling
    /// <paramref name="target"/> as far as the match got (the log shows partial specs of non-matching candidates).
    /// </summary>
    /// <returns>1 on a match, 0 on none, negative when the types nest too deeply.</returns>
    public static int Match(CoreSpec local, CoreSpec target)
    {
        var btf = target.Btf;
        int targetId = target.RootTypeId;
        if (IsTypeBased(local.Kind))
        {
            return local.Kind == BtfCoreRelocationKind.TypeMatches
                ? CoreTypes.Match(local.Btf, local.RootTypeId, btf, targetId)
                : CoreTypes.AreCompatible(local.Btf, local.RootTypeId, btf, targetId);
        }

        if (IsEnumValueBased(local.Kind))
        {
            var tt = CoreTypes.SkipModifiersAndTypedefs(btf, targetId);
            if (!CoreTypes.IsAnyEnum(tt.Kind)) return 0;
            var localName = Encoding.UTF8.GetBytes(local.Accessors[0].Name!);
            for (int i = 0; i < tt.Vlen; i++)
            {
                var tn = btf.GetStringBytes(tt.GetEnumValue(i).NameOffset);
                if (CoreTypes.EssentialNamesEqual(localName, tn))
                {
                    target.Accessors.Add(new CoreAccessor(tt.Id, i, btf.GetString(tt.GetEnumValue(i).NameOffset)));
                    target.Raw.Add(i);
                    return 1;
                }
            }
            return 0;
        }

        for (int i = 0; i < local.Accessors.Count; i++)
        {
            var la = local.Accessors[i];
            var tt = CoreTypes.SkipModifiersAndTypedefs(btf, targetId);
            targetId = tt.Id;
            if (la.Name is not null)
            {
                int matched = MatchMember(local, la, target, targetId, out int next);
                if (matched <= 0) return matched;
                targetId = next;
            }
            else
            {
                if (i > 0)
                {
                    if (tt.Kind != BtfKind.Array) return 0;
                    var a = tt.Array;
                    bool flex = IsFlexibleArray(btf, target.Accessors[^1], a);
                    if (!flex && la.Index >= a.Count) return 0;
                    targetId = btf.ResolveTypeId(a.ElementTypeId);
                }
                if (target.Raw.Count == MaxLength) return -1;
                target.Accessors.Add(new CoreAccessor(targetId, la.Index, null));
                target.Raw.Add(la.Index);
                target.BitOffset += la.Index * SizeOf(btf, targetId) * 8;
            }
        }
        return 1;
    }

    private static int MatchMember(CoreSpec local, CoreAccessor localAccessor, CoreSpec target, int targetId, out int nextTargetId)
    {
        nextTargetId = 0;
        var btf = target.Btf;
        var tt = CoreTypes.SkipModifiersAndTypedefs(btf, targetId);
        targetId = tt.Id;
        if (!tt.IsComposite) return 0;
        var localMember = local.Btf.GetType(localAccessor.TypeId).GetMember(localAccessor.Index);
        var localName = CoreTypes.NameBytes(local.Btf, localMember.NameOffset);
        for (int i = 0; i < tt.Vlen; i++)
        {
            var m = tt.GetMember(i);
            if (target.Raw.Count == MaxLength) return -1;
            target.BitOffset += m.BitOffset;
            target.Raw.Add(i);
            var name = CoreTypes.NameBytes(btf, m.NameOffset);
            if (name.IsEmpty)
            {
                int found = MatchMember(local, localAccessor, target, m.TypeId, out nextTargetId);
                if (found != 0) return found;
            }
            else if (name.SequenceEqual(localName))
            {
                target.Accessors.Add(new CoreAccessor(targetId, i, Encoding.UTF8.GetString(name)));
                nextTargetId = m.TypeId;
                bool compatible = CoreTypes.FieldsCompatible(local.Btf, localMember.TypeId, btf, m.TypeId);
                if (!compatible) target.Accessors.RemoveAt(target.Accessors.Count - 1);
                return compatible ? 1 : 0;
            }
            target.BitOffset -= m.BitOffset;
            target.Raw.RemoveAt(target.Raw.Count - 1);
        }
        return 0;
    }
}

/// <summary>A CO-RE relocation that cannot be computed or applied (libbpf would refuse to load the object).</summary>
public sealed class CoreRelocationException : BpfException
{
    /// <summary>Creates the exception.</summary>
    public CoreRelocationException(string message) : base(message) { }

    /// <summary>Creates the exception with no details.</summary>
    public CoreRelocationException() : base("CO-RE relocation failed") { }

    /// <summary>Creates the exception with a cause.</summary>
    public CoreRelocationException(string message, Exception innerException) : base(message, innerException) { }
}
