using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SharpBpf.Btf;

/// <summary>
/// Lists BTF types one record per entry in the layout of <c>bpftool btf dump file X</c> (the "raw" format), as text
/// or as JSON with bpftool's field names.
/// </summary>
public static class BtfRawDumper
{
    /// <summary>The upper-case kind name bpftool prints (<c>STRUCT</c>, <c>FUNC_PROTO</c>, <c>DECL_TAG</c>...).</summary>
    public static string KindName(BtfKind kind) => kind switch
    {
        BtfKind.Void => "UNKNOWN",
        BtfKind.Int => "INT",
        BtfKind.Pointer => "PTR",
        BtfKind.Array => "ARRAY",
        BtfKind.Struct => "STRUCT",
        BtfKind.Union => "UNION",
        BtfKind.Enum => "ENUM",
        BtfKind.Forward => "FWD",
        BtfKind.Typedef => "TYPEDEF",
        BtfKind.Volatile => "VOLATILE",
        BtfKind.Const => "CONST",
        BtfKind.Restrict => "RESTRICT",
        BtfKind.Function => "FUNC",
        BtfKind.FunctionProto => "FUNC_PROTO",
        BtfKind.Variable => "VAR",
        BtfKind.DataSection => "DATASEC",
        BtfKind.Float => "FLOAT",
        BtfKind.DeclTag => "DECL_TAG",
        BtfKind.TypeTag => "TYPE_TAG",
        BtfKind.Enum64 => "ENUM64",
        _ => "UNKNOWN",
    };

    private static string IntEncoding(BtfIntEncoding e) => e switch
    {
        BtfIntEncoding.None => "(none)",
        BtfIntEncoding.Signed => "SIGNED",
        BtfIntEncoding.Char => "CHAR",
        BtfIntEncoding.Bool => "BOOL",
        _ => "UNKN",
    };

    private static string Linkage(int linkage) => linkage switch
    {
        0 => "static",
        1 => "global",
        2 => "extern",
        _ => "(unknown)",
    };

    private static string Quoted(string name) => name.Length == 0 ? "'(anon)'" : "'" + name + "'";

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Writes every type defined in <paramref name="btf"/> (for split BTF, only its own types).</summary>
    public static void Dump(BtfSpec btf, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(btf);
        ArgumentNullException.ThrowIfNull(output);
        var sb = new StringBuilder(256);
        for (int id = btf.FirstTypeId; id < btf.TypeCount; id++)
        {
            sb.Clear();
            Format(btf.GetType(id), sb);
            output.Write(sb);
        }
    }

    /// <summary>Formats every type defined in <paramref name="btf"/>.</summary>
    public static string Dump(BtfSpec btf)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        Dump(btf, writer);
        return writer.ToString();
    }

    /// <summary>Formats one type: its line and, for types with entries, one indented line per entry (each line ends with a newline).</summary>
    public static string Format(BtfType type)
    {
        var sb = new StringBuilder();
        Format(type, sb);
        return sb.ToString();
    }

    private static void Format(BtfType t, StringBuilder sb)
    {
        var btf = t.Spec;
        sb.Append('[').Append(N(t.Id)).Append("] ").Append(KindName(t.Kind)).Append(' ').Append(Quoted(t.Name));
        switch (t.Kind)
        {
            case BtfKind.Int:
                sb.Append(" size=").Append(N(t.Size)).Append(" bits_offset=").Append(N(t.IntBitOffset)).Append(" nr_bits=").Append(N(t.IntBits))
                    .Append(" encoding=").Append(IntEncoding(t.IntEncoding)).Append('\n');
                break;
            case BtfKind.Pointer or BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.Typedef or BtfKind.TypeTag:
                sb.Append(" type_id=").Append(N(t.ReferencedTypeId)).Append('\n');
                break;
            case BtfKind.Array:
            {
                var a = t.Array;
                sb.Append(" type_id=").Append(N(a.ElementTypeId)).Append(" index_type_id=").Append(N(a.IndexTypeId)).Append(" nr_elems=").Append(N(a.Count)).Append('\n');
                break;
            }
            case BtfKind.Struct or BtfKind.Union:
                sb.Append(" size=").Append(N(t.Size)).Append(" vlen=").Append(N(t.Vlen)).Append('\n');
                for (int i = 0; i < t.Vlen; i++)
                {
                    var m = t.GetMember(i);
                    sb.Append('\t').Append(Quoted(m.Name)).Append(" type_id=").Append(N(m.TypeId)).Append(" bits_offset=").Append(N(m.BitOffset));
                    if (m.BitfieldSize != 0) sb.Append(" bitfield_size=").Append(N(m.BitfieldSize));
                    sb.Append('\n');
                }
                break;
            case BtfKind.Enum or BtfKind.Enum64:
                sb.Append(" encoding=").Append(t.KindFlag ? "SIGNED" : "UNSIGNED").Append(" size=").Append(N(t.Size)).Append(" vlen=").Append(N(t.Vlen)).Append('\n');
                for (int i = 0; i < t.Vlen; i++)
                {
                    var e = t.GetEnumValue(i);
                    sb.Append('\t').Append(Quoted(e.Name)).Append(" val=").Append(EnumValueText(t, e)).Append('\n');
                }
                break;
            case BtfKind.Forward:
                sb.Append(" fwd_kind=").Append(t.KindFlag ? "union" : "struct").Append('\n');
                break;
            case BtfKind.Function:
                sb.Append(" type_id=").Append(N(t.ReferencedTypeId)).Append(" linkage=").Append(Linkage(t.Vlen)).Append('\n');
                break;
            case BtfKind.FunctionProto:
                sb.Append(" ret_type_id=").Append(N(t.ReferencedTypeId)).Append(" vlen=").Append(N(t.Vlen)).Append('\n');
                for (int i = 0; i < t.Vlen; i++)
                {
                    var p = t.GetParameter(i);
                    sb.Append('\t').Append(Quoted(p.Name)).Append(" type_id=").Append(N(p.TypeId)).Append('\n');
                }
                break;
            case BtfKind.Variable:
                sb.Append(" type_id=").Append(N(t.ReferencedTypeId)).Append(", linkage=").Append(Linkage((int)t.VariableLinkage)).Append('\n');
                break;
            case BtfKind.DataSection:
                sb.Append(" size=").Append(N(t.Size)).Append(" vlen=").Append(N(t.Vlen)).Append('\n');
                for (int i = 0; i < t.Vlen; i++)
                {
                    var v = t.GetVariable(i);
                    sb.Append("\ttype_id=").Append(N(v.TypeId)).Append(" offset=").Append(N(v.Offset)).Append(" size=").Append(N(v.Size));
                    if (btf.IsValidTypeId(v.TypeId))
                    {
                        var vt = btf.GetType(v.TypeId);
                        sb.Append(" (").Append(KindName(vt.Kind)).Append(' ').Append(Quoted(vt.Name)).Append(')');
                    }
                    sb.Append('\n');
                }
                break;
            case BtfKind.Float:
                sb.Append(" size=").Append(N(t.Size)).Append('\n');
                break;
            case BtfKind.DeclTag:
                sb.Append(" type_id=").Append(N(t.ReferencedTypeId)).Append(" component_idx=").Append(N(t.ComponentIndex)).Append('\n');
                break;
            default:
                sb.Append('\n');
                break;
        }
    }

    private static string EnumValueText(BtfType t, BtfEnumValue e)
    {
        if (t.Kind == BtfKind.Enum)
            return t.KindFlag ? N((int)e.RawValue) : ((uint)e.RawValue).ToString(CultureInfo.InvariantCulture);
        return t.KindFlag ? N((long)e.RawValue) + "LL" : e.RawValue.ToString(CultureInfo.InvariantCulture) + "ULL";
    }

    /// <summary>Writes <c>{"types":[...]}</c> with bpftool's JSON field names.</summary>
    public static void WriteJson(BtfSpec btf, Utf8JsonWriter json)
    {
        ArgumentNullException.ThrowIfNull(btf);
        ArgumentNullException.ThrowIfNull(json);
        json.WriteStartObject();
        json.WriteStartArray("types");
        for (int id = btf.FirstTypeId; id < btf.TypeCount; id++) WriteJson(btf.GetType(id), json);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteJson(BtfType t, Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteNumber("id", t.Id);
        json.WriteString("kind", KindName(t.Kind));
        json.WriteString("name", t.Name.Length == 0 ? "(anon)" : t.Name);
        switch (t.Kind)
        {
            case BtfKind.Int:
                json.WriteNumber("size", t.Size);
                json.WriteNumber("bits_offset", t.IntBitOffset);
                json.WriteNumber("nr_bits", t.IntBits);
                json.WriteString("encoding", IntEncoding(t.IntEncoding));
                break;
            case BtfKind.Pointer or BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.Typedef or BtfKind.TypeTag:
                json.WriteNumber("type_id", t.ReferencedTypeId);
                break;
            case BtfKind.Array:
                json.WriteNumber("type_id", t.Array.ElementTypeId);
                json.WriteNumber("index_type_id", t.Array.IndexTypeId);
                json.WriteNumber("nr_elems", t.Array.Count);
                break;
            case BtfKind.Struct or BtfKind.Union:
                json.WriteNumber("size", t.Size);
                json.WriteNumber("vlen", t.Vlen);
                json.WriteStartArray("members");
                foreach (var m in t.GetMembers())
                {
                    json.WriteStartObject();
                    json.WriteString("name", m.Name.Length == 0 ? "(anon)" : m.Name);
                    json.WriteNumber("type_id", m.TypeId);
                    json.WriteNumber("bits_offset", m.BitOffset);
                    if (m.BitfieldSize != 0) json.WriteNumber("bitfield_size", m.BitfieldSize);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                break;
            case BtfKind.Enum or BtfKind.Enum64:
                json.WriteString("encoding", t.KindFlag ? "SIGNED" : "UNSIGNED");
                json.WriteNumber("size", t.Size);
                json.WriteNumber("vlen", t.Vlen);
                json.WriteStartArray("values");
                foreach (var e in t.GetEnumValues())
                {
                    json.WriteStartObject();
                    json.WriteString("name", e.Name);
                    if (t.KindFlag) json.WriteNumber("val", t.Kind == BtfKind.Enum ? (int)e.RawValue : (long)e.RawValue);
                    else json.WriteNumber("val", t.Kind == BtfKind.Enum ? (uint)e.RawValue : e.RawValue);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                break;
            case BtfKind.Forward:
                json.WriteString("fwd_kind", t.KindFlag ? "union" : "struct");
                break;
            case BtfKind.Function:
                json.WriteNumber("type_id", t.ReferencedTypeId);
                json.WriteString("linkage", Linkage(t.Vlen));
                break;
            case BtfKind.FunctionProto:
                json.WriteNumber("ret_type_id", t.ReferencedTypeId);
                json.WriteNumber("vlen", t.Vlen);
                json.WriteStartArray("params");
                foreach (var p in t.GetParameters())
                {
                    json.WriteStartObject();
                    json.WriteString("name", p.Name.Length == 0 ? "(anon)" : p.Name);
                    json.WriteNumber("type_id", p.TypeId);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                break;
            case BtfKind.Variable:
                json.WriteNumber("type_id", t.ReferencedTypeId);
                json.WriteString("linkage", Linkage((int)t.VariableLinkage));
                break;
            case BtfKind.DataSection:
                json.WriteNumber("size", t.Size);
                json.WriteNumber("vlen", t.Vlen);
                json.WriteStartArray("vars");
                foreach (var v in t.GetVariables())
                {
                    json.WriteStartObject();
                    json.WriteNumber("type_id", v.TypeId);
                    json.WriteNumber("offset", v.Offset);
                    json.WriteNumber("size", v.Size);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                break;
            case BtfKind.Float:
                json.WriteNumber("size", t.Size);
                break;
            case BtfKind.DeclTag:
                json.WriteNumber("type_id", t.ReferencedTypeId);
                json.WriteNumber("component_idx", t.ComponentIndex);
                break;
            default:
                break;
        }
        json.WriteEndObject();
    }
}
