using System.Buffers.Binary;
using System.Text;

namespace SharpBpf.Btf;

/// <summary>BTF features a kernel may lack; an object's BTF using them must be rewritten before an older kernel accepts it.</summary>
[Flags]
public enum BtfFeatures
{
    /// <summary>No optional feature.</summary>
    None = 0,
    /// <summary><see cref="BtfKind.Function"/> and <see cref="BtfKind.FunctionProto"/>.</summary>
    Function = 1 << 0,
    /// <summary>Global linkage of functions (static only, otherwise).</summary>
    GlobalFunction = 1 << 1,
    /// <summary><see cref="BtfKind.DataSection"/> and <see cref="BtfKind.Variable"/>.</summary>
    DataSection = 1 << 2,
    /// <summary><see cref="BtfKind.Float"/>.</summary>
    Float = 1 << 3,
    /// <summary><see cref="BtfKind.DeclTag"/>.</summary>
    DeclTag = 1 << 4,
    /// <summary><see cref="BtfKind.TypeTag"/>.</summary>
    TypeTag = 1 << 5,
    /// <summary><see cref="BtfKind.Enum64"/> and signed (kind flag) 32-bit enums.</summary>
    Enum64 = 1 << 6,
    /// <summary>Data section names starting with <c>?</c> (libbpf's optional sections such as <c>?.data.x</c>).</summary>
    QuestionMarkDataSection = 1 << 7,
    /// <summary>Every feature: a current kernel.</summary>
    All = Function | GlobalFunction | DataSection | Float | DeclTag | TypeTag | Enum64 | QuestionMarkDataSection,
}

/// <summary>
/// Rewrites an object's BTF for a kernel that lacks some BTF features, the way libbpf does before loading it
/// (<c>bpf_object__sanitize_btf</c>): every type keeps its id, unsupported kinds become kinds the kernel knows
/// (a variable or decl tag becomes a one-byte int, a data section a struct, a prototype an enum, a function a
/// typedef, a float an empty struct, a type tag a const, an enum64 a union of one-byte ints).
/// </summary>
public static class BtfSanitizer
{
    /// <summary>The name of the one-byte int libbpf appends as the member type of unions that replace enum64 types.</summary>
    public const string Enum64Placeholder = "enum64_placeholder";

    /// <summary>The optional features the BTF's own types use.</summary>
    public static BtfFeatures UsedFeatures(BtfSpec btf)
    {
        ArgumentNullException.ThrowIfNull(btf);
        var used = BtfFeatures.None;
        for (int id = btf.FirstTypeId; id < btf.TypeCount; id++)
        {
            var t = btf.GetType(id);
            used |= t.Kind switch
            {
                BtfKind.Function => BtfFeatures.Function | (t.FunctionLinkage == BtfFunctionLinkage.Static ? 0 : BtfFeatures.GlobalFunction),
                BtfKind.FunctionProto => BtfFeatures.Function,
                BtfKind.Variable => BtfFeatures.DataSection,
                BtfKind.DataSection => BtfFeatures.DataSection | (t.NameUtf8.Length > 0 && t.NameUtf8[0] == '?' ? BtfFeatures.QuestionMarkDataSection : 0),
                BtfKind.Float => BtfFeatures.Float,
                BtfKind.DeclTag => BtfFeatures.DeclTag,
                BtfKind.TypeTag => BtfFeatures.TypeTag,
                BtfKind.Enum64 => BtfFeatures.Enum64,
                BtfKind.Enum when t.KindFlag => BtfFeatures.Enum64,
                _ => BtfFeatures.None,
            };
        }
        return used;
    }

    /// <summary>Whether the BTF needs rewriting for a kernel with <paramref name="supported"/> features.</summary>
    public static bool NeedsSanitizing(BtfSpec btf, BtfFeatures supported) => (UsedFeatures(btf) & ~supported) != 0;

    /// <summary>
    /// Returns the BTF rewritten for a kernel that supports only <paramref name="supported"/>. Type ids are kept; when
    /// enum64 types are replaced, one int type (<see cref="Enum64Placeholder"/>) is appended after the others.
    /// </summary>
    /// <param name="btf">The object's BTF (not split BTF).</param>
    /// <param name="supported">The features the target kernel has.</param>
    /// <returns>The rewritten BTF bytes (little-endian).</returns>
    /// <exception cref="ArgumentException"><paramref name="btf"/> is split BTF.</exception>
    public static byte[] Sanitize(BtfSpec btf, BtfFeatures supported)
    {
        ArgumentNullException.ThrowIfNull(btf);
        if (btf.Base is not null) throw new ArgumentException("split BTF cannot be sanitized on its own", nameof(btf));
        bool hasFunc = supported.HasFlag(BtfFeatures.Function);
        bool hasGlobalFunc = supported.HasFlag(BtfFeatures.GlobalFunction);
        bool hasDataSection = supported.HasFlag(BtfFeatures.DataSection);
        bool hasFloat = supported.HasFlag(BtfFeatures.Float);
        bool hasDeclTag = supported.HasFlag(BtfFeatures.DeclTag);
        bool hasTypeTag = supported.HasFlag(BtfFeatures.TypeTag);
        bool hasEnum64 = supported.HasFlag(BtfFeatures.Enum64);
        bool hasQuestionMark = supported.HasFlag(BtfFeatures.QuestionMarkDataSection);

        var header = btf.Header;
        int stringStart = (int)(header.HeaderLength + header.StringOffset);
        var data = btf.Data.ToArray();
        uint Read(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset));
        void Write(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(offset), value);
        static uint Info(BtfKind kind, int vlen, bool kindFlag = false) => ((kindFlag ? 1u : 0u) << 31) | ((uint)kind << 24) | (uint)vlen;

        uint placeholderId = 0;
        for (int id = btf.FirstTypeId; id < btf.TypeCount; id++)
        {
            var t = btf.GetType(id);
            int at = t.DataOffset;
            var kind = t.Kind;
            int vlen = t.Vlen;
            if ((!hasDataSection && kind == BtfKind.Variable) || (!hasDeclTag && kind == BtfKind.DeclTag))
            {
                // A one-byte int: 4 bytes could exceed what the variable occupied and fail the kernel's checks.
                Write(at + 4, Info(BtfKind.Int, 0));
                Write(at + 8, 1);
                Write(at + 12, 8);
            }
            else if (!hasDataSection && kind == BtfKind.DataSection)
            {
                ReplaceInName(data, stringStart, btf, t.NameOffset, all: true);
                Write(at + 4, Info(BtfKind.Struct, vlen));
                for (int i = 0; i < vlen; i++)
                {
                    int e = at + 12 + (i * 12);
                    uint varType = Read(e), offset = Read(e + 4);
                    uint varName = btf.IsValidTypeId(varType) ? btf.GetType((int)varType).NameOffset : 0;
                    Write(e, varName);
                    Write(e + 4, varType);
                    Write(e + 8, offset * 8);
                }
            }
            else if (!hasQuestionMark && kind == BtfKind.DataSection && t.NameUtf8.Length > 0 && t.NameUtf8[0] == '?')
            {
                ReplaceInName(data, stringStart, btf, t.NameOffset, all: false);
            }
            else if (!hasFunc && kind == BtfKind.FunctionProto)
            {
                Write(at + 4, Info(BtfKind.Enum, vlen));
                Write(at + 8, 4);
            }
            else if (!hasFunc && kind == BtfKind.Function)
            {
                Write(at + 4, Info(BtfKind.Typedef, 0));
            }
            else if (!hasGlobalFunc && kind == BtfKind.Function)
            {
                Write(at + 4, Info(BtfKind.Function, 0));
            }
            else if (!hasFloat && kind == BtfKind.Float)
            {
                // C compilers reject "float" as a struct name, so the empty struct is anonymous.
                Write(at, 0);
                Write(at + 4, Info(BtfKind.Struct, 0));
            }
            else if (!hasTypeTag && kind == BtfKind.TypeTag)
            {
                Write(at, 0);
                Write(at + 4, Info(BtfKind.Const, 0));
            }
            else if (!hasEnum64 && kind == BtfKind.Enum)
            {
                Write(at + 4, Info(BtfKind.Enum, vlen));
            }
            else if (!hasEnum64 && kind == BtfKind.Enum64)
            {
                if (placeholderId == 0) placeholderId = (uint)btf.TypeCount;
                Write(at + 4, Info(BtfKind.Union, vlen));
                for (int i = 0; i < vlen; i++)
                {
                    int e = at + 12 + (i * 12);
                    Write(e + 4, placeholderId);
                    Write(e + 8, 0);
                }
            }
        }
        return placeholderId == 0 ? data : AppendPlaceholder(data, btf);
    }

    /// <summary>Replaces '.' and '?' in a name with '_' (or only a leading '?'), in place, as libbpf does.</summary>
    private static void ReplaceInName(byte[] data, int stringStart, BtfSpec btf, uint nameOffset, bool all)
    {
        if (nameOffset == 0 || !btf.IsValidStringOffset(nameOffset)) return;
        int at = stringStart + (int)(nameOffset - btf.StringBase);
        if (!all)
        {
            if (data[at] == '?') data[at] = (byte)'_';
            return;
        }
        for (; data[at] != 0; at++)
        {
            if (data[at] is (byte)'.' or (byte)'?') data[at] = (byte)'_';
        }
    }

    private static byte[] AppendPlaceholder(byte[] data, BtfSpec btf)
    {
        var h = btf.Header;
        int typeEnd = (int)(h.HeaderLength + h.TypeOffset + h.TypeLength);
        int stringStart = (int)(h.HeaderLength + h.StringOffset);
        var strings = data.AsSpan(stringStart, (int)h.StringLength);
        var name = Encoding.ASCII.GetBytes(Enum64Placeholder + "\0");
        // Reuse the name when the string table has it already (libbpf deduplicates strings it adds).
        int existing = -1;
        for (int pos = 0; pos < strings.Length;)
        {
            int len = strings[pos..].IndexOf((byte)0);
            if (len < 0) break;
            if (strings.Slice(pos, len + 1).SequenceEqual(name))
            {
                existing = pos;
                break;
            }
            pos += len + 1;
        }
        int added = existing >= 0 ? 0 : name.Length;
        var result = new byte[data.Length + 16 + added];
        data.AsSpan(0, typeEnd).CopyTo(result);
        var record = result.AsSpan(typeEnd, 16);
        uint nameOffset = (uint)(existing >= 0 ? existing : strings.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record, nameOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)BtfKind.Int << 24);
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(record[12..], 8);
        data.AsSpan(typeEnd, data.Length - typeEnd).CopyTo(result.AsSpan(typeEnd + 16));
        if (added > 0) name.CopyTo(result.AsSpan(data.Length + 16));
        var header = result.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], h.TypeLength + 16);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], h.StringOffset + 16);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], h.StringLength + (uint)added);
        return result;
    }
}
