using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace SharpBpf.Btf;

/// <summary>
/// Renders raw bytes as a value of a BTF type, in the JSON-like style of <c>bpftool map dump</c>:
/// integers in decimal, <c>true</c>/<c>false</c> for booleans, enumerator names, pointers in hex, char arrays
/// that hold text as strings, other arrays as <c>[1,2]</c> and structs as <c>{"a": 2, "b": [1,2]}</c>.
/// Members of anonymous nested structs and unions are shown at the level of the enclosing struct.
/// </summary>
public static class BtfValueFormatter
{
    private const int MaxDepth = 64;

    /// <summary>Formats <paramref name="data"/> as a value of type <paramref name="typeId"/>.</summary>
    /// <exception cref="BtfFormatException">The type has no size, or <paramref name="data"/> is shorter than it.</exception>
    public static string Format(BtfSpec btf, int typeId, ReadOnlySpan<byte> data)
    {
        long size = btf.GetSize(typeId);
        if (size < 0) throw new BtfFormatException("type has no size, so it has no value to show", typeId);
        if (data.Length < size) throw new BtfFormatException($"value has {data.Length} bytes but the type needs {size}", typeId);
        var sb = new StringBuilder();
        Append(sb, btf, typeId, data, 0, 0);
        return sb.ToString();
    }

    /// <summary>Formats a map entry as <c>{"key": K, "value": V}</c>.</summary>
    public static string FormatEntry(BtfSpec btf, int keyTypeId, ReadOnlySpan<byte> key, int valueTypeId, ReadOnlySpan<byte> value) =>
        $"{{\"key\": {Format(btf, keyTypeId, key)}, \"value\": {Format(btf, valueTypeId, value)}}}";

    private static void Append(StringBuilder sb, BtfSpec btf, int typeId, ReadOnlySpan<byte> data, int bitOffset, int depth)
    {
        if (depth > MaxDepth) throw new BtfFormatException("value nests too deeply", typeId);
        var t = btf.ResolveType(typeId);
        switch (t.Kind)
        {
            case BtfKind.Int:
                AppendInt(sb, t, data, bitOffset, t.IntBits);
                break;
            case BtfKind.Enum or BtfKind.Enum64:
            {
                ulong raw = ReadBits(data, bitOffset, (int)t.Size * 8);
                int bits = (int)t.Size * 8;
                if (t.KindFlag && bits < 64) raw = (ulong)((long)(raw << (64 - bits)) >> (64 - bits));
                for (int i = 0; i < t.Vlen; i++)
                {
                    var v = t.GetEnumValue(i);
                    ulong compare = bits < 64 ? v.RawValue & ((1UL << bits) - 1) : v.RawValue;
                    ulong mine = bits < 64 ? raw & ((1UL << bits) - 1) : raw;
                    if (compare == mine)
                    {
                        AppendString(sb, v.Name);
                        return;
                    }
                }
                sb.Append(t.KindFlag ? ((long)raw).ToString(CultureInfo.InvariantCulture) : raw.ToString(CultureInfo.InvariantCulture));
                break;
            }
            case BtfKind.Pointer:
                sb.Append("0x").Append(ReadBits(data, bitOffset, btf.PointerSize * 8).ToString("x", CultureInfo.InvariantCulture));
                break;
            case BtfKind.Float:
                AppendFloat(sb, t, data[(bitOffset / 8)..]);
                break;
            case BtfKind.Array:
                AppendArray(sb, btf, t, data[(bitOffset / 8)..], depth);
                break;
            case BtfKind.Struct or BtfKind.Union:
                sb.Append('{');
                bool first = true;
                AppendMembers(sb, btf, t, data, bitOffset, depth, ref first);
                sb.Append('}');
                break;
            case BtfKind.DataSection:
            {
                sb.Append('{');
                for (int i = 0; i < t.Vlen; i++)
                {
                    var v = t.GetVariable(i);
                    if (i > 0) sb.Append(", ");
                    AppendString(sb, btf.GetType(v.TypeId).Name);
                    sb.Append(": ");
                    if (v.Offset + v.Size > data.Length) throw new BtfFormatException("variable lies outside the value", t.Id);
                    Append(sb, btf, v.TypeId, data.Slice((int)v.Offset, (int)v.Size), 0, depth + 1);
                }
                sb.Append('}');
                break;
            }
            case BtfKind.Variable:
                Append(sb, btf, t.ReferencedTypeId, data, bitOffset, depth + 1);
                break;
            default:
                throw new BtfFormatException($"cannot show a value of kind {t.Kind}", t.Id);
        }
    }

    private static void AppendMembers(StringBuilder sb, BtfSpec btf, BtfType t, ReadOnlySpan<byte> data, int bitOffset, int depth, ref bool first)
    {
        for (int i = 0; i < t.Vlen; i++)
        {
            var m = t.GetMember(i);
            int memberBits = bitOffset + (int)m.BitOffset;
            if (m.NameOffset == 0 && btf.ResolveType(m.TypeId) is { IsComposite: true } inner)
            {
                AppendMembers(sb, btf, inner, data, memberBits, depth + 1, ref first);
                continue;
            }
            if (!first) sb.Append(", ");
            first = false;
            AppendString(sb, m.Name);
            sb.Append(": ");
            if (m.BitfieldSize != 0)
            {
                var mt = btf.ResolveType(m.TypeId);
                if (mt.Kind == BtfKind.Int) AppendInt(sb, mt, data, memberBits, m.BitfieldSize);
                else sb.Append(ReadBits(data, memberBits, m.BitfieldSize).ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                Append(sb, btf, m.TypeId, data, memberBits, depth + 1);
            }
        }
    }

    private static void AppendArray(StringBuilder sb, BtfSpec btf, BtfType t, ReadOnlySpan<byte> data, int depth)
    {
        var a = t.Array;
        long elemSize = btf.GetSize(a.ElementTypeId);
        var elem = btf.ResolveType(a.ElementTypeId);
        if (elem.Kind == BtfKind.Int && elem.Size == 1 && (elem.IntEncoding == BtfIntEncoding.Char || elem.Name.Contains("char", StringComparison.Ordinal))
            && TryText(data[..(int)Math.Min(a.Count, (uint)data.Length)], out string? text))
        {
            AppendString(sb, text);
            return;
        }
        sb.Append('[');
        for (uint i = 0; i < a.Count; i++)
        {
            if (i > 0) sb.Append(',');
            long at = i * elemSize;
            if (at + elemSize > data.Length) throw new BtfFormatException("array element lies outside the value", t.Id);
            Append(sb, btf, a.ElementTypeId, data.Slice((int)at, (int)elemSize), 0, depth + 1);
        }
        sb.Append(']');
    }

    private static bool TryText(ReadOnlySpan<byte> bytes, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? text)
    {
        int end = bytes.IndexOf((byte)0);
        if (end < 0) end = bytes.Length;
        foreach (byte b in bytes[..end])
        {
            if (b < 0x20 || b > 0x7e)
            {
                text = null;
                return false;
            }
        }
        foreach (byte b in bytes[end..])
        {
            if (b != 0)
            {
                text = null;
                return false;
            }
        }
        text = Encoding.ASCII.GetString(bytes[..end]);
        return true;
    }

    private static void AppendInt(StringBuilder sb, BtfType t, ReadOnlySpan<byte> data, int bitOffset, int bits)
    {
        bitOffset += t.IntBitOffset;
        if (bits > 64)
        {
            var lo = ReadBits(data, bitOffset, 64);
            var hi = ReadBits(data, bitOffset + 64, bits - 64);
            var value = ((UInt128)hi << 64) | lo;
            if (t.IntEncoding == BtfIntEncoding.Signed) sb.Append(((Int128)value).ToString(CultureInfo.InvariantCulture));
            else sb.Append(value.ToString(CultureInfo.InvariantCulture));
            return;
        }
        ulong raw = ReadBits(data, bitOffset, bits);
        switch (t.IntEncoding)
        {
            case BtfIntEncoding.Bool:
                sb.Append(raw != 0 ? "true" : "false");
                break;
            case BtfIntEncoding.Signed:
                sb.Append((bits == 64 ? (long)raw : (long)(raw << (64 - bits)) >> (64 - bits)).ToString(CultureInfo.InvariantCulture));
                break;
            default:
                sb.Append(raw.ToString(CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void AppendFloat(StringBuilder sb, BtfType t, ReadOnlySpan<byte> data)
    {
        switch (t.Size)
        {
            case 2: sb.Append(((float)BinaryPrimitives.ReadHalfLittleEndian(data)).ToString("R", CultureInfo.InvariantCulture)); break;
            case 4: sb.Append(BinaryPrimitives.ReadSingleLittleEndian(data).ToString("R", CultureInfo.InvariantCulture)); break;
            case 8: sb.Append(BinaryPrimitives.ReadDoubleLittleEndian(data).ToString("R", CultureInfo.InvariantCulture)); break;
            default:
                // long double and friends: show the raw bytes rather than guess a format.
                sb.Append("\"0x").Append(Convert.ToHexStringLower(data[..(int)t.Size])).Append('"');
                break;
        }
    }

    /// <summary>Reads <paramref name="bits"/> (at most 64) little-endian bits starting at <paramref name="bitOffset"/>.</summary>
    private static ulong ReadBits(ReadOnlySpan<byte> data, int bitOffset, int bits)
    {
        if (bits == 0) return 0;
        if ((long)bitOffset + bits > (long)data.Length * 8) throw new BtfFormatException("value is shorter than its type");
        ulong result = 0;
        for (int i = 0; i < bits; i++)
        {
            int bit = bitOffset + i;
            if ((data[bit >> 3] & (1 << (bit & 7))) != 0) result |= 1UL << i;
        }
        return result;
    }

    private static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
