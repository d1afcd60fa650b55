using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace SharpBpf.Btf;

/// <summary>Which of bpftool's two renderings of a BTF-described value to produce.</summary>
public enum BtfValueStyle
{
    /// <summary>
    /// The <c>"formatted"</c> values of <c>bpftool -j map dump</c>: compact JSON; pointers as decimal numbers,
    /// bitfields and 128-bit integers as quoted hex strings, unprintable chars as <c>"\u00XX"</c>.
    /// </summary>
    Json,
    /// <summary>
    /// The plain <c>bpftool map dump</c> of a map with BTF: bpftool's pretty layout; pointers as bare
    /// <c>%p</c> text (<c>0x1f</c>, <c>(nil)</c>), bitfields and 128-bit integers as bare hex, unprintable chars as <c>0xNN</c>.
    /// </summary>
    Plain,
}

/// <summary>
/// Renders raw bytes as a value of a BTF type exactly as bpftool's BTF dumper does (<c>btf_dumper.c</c>): unsigned
/// and signed integers of 8/16/32/64 bits in decimal, other widths and bitfields in hex, <c>true</c>/<c>false</c>,
/// chars as one-character strings, enumerator names (else the signed number), char arrays holding a NUL-terminated
/// printable string as strings, other arrays as <c>[1,2]</c>, structs and unions as objects with every member by name
/// (anonymous ones under <c>""</c>), variables as <c>{"name": value}</c> and data sections as
/// <c>{".bss": [{"var": value},...]}</c>. Kinds bpftool does not show (floats, functions) read
/// <c>(unsupported-kind</c> and end the enclosing aggregates, as there. Checked against bpftool v7.1 (libbpf 1.1).
/// </summary>
public static class BtfValueFormatter
{
    private const int MaxDepth = 64;

    /// <summary>Formats <paramref name="data"/> as a value of type <paramref name="typeId"/> in bpftool's JSON style.</summary>
    /// <exception cref="BtfFormatException">The type has no size, or <paramref name="data"/> is shorter than it.</exception>
    public static string Format(BtfSpec btf, int typeId, ReadOnlySpan<byte> data) => Format(btf, typeId, data, BtfValueStyle.Json);

    /// <summary>Formats <paramref name="data"/> as a value of type <paramref name="typeId"/> in one of bpftool's styles.</summary>
    /// <exception cref="BtfFormatException">The type has no size, or <paramref name="data"/> is shorter than it.</exception>
    public static string Format(BtfSpec btf, int typeId, ReadOnlySpan<byte> data, BtfValueStyle style)
    {
        ArgumentNullException.ThrowIfNull(btf);
        CheckSize(btf, typeId, data);
        var writer = new BpftoolJsonWriter(style == BtfValueStyle.Plain);
        Write(writer, btf, typeId, data, style == BtfValueStyle.Plain);
        return writer.ToString();
    }

    /// <summary>Formats a map entry as <c>{"key":K,"value":V}</c> (bpftool's JSON style).</summary>
    /// <exception cref="BtfFormatException">A type has no size, or its bytes are too short.</exception>
    public static string FormatEntry(BtfSpec btf, int keyTypeId, ReadOnlySpan<byte> key, int valueTypeId, ReadOnlySpan<byte> value)
    {
        ArgumentNullException.ThrowIfNull(btf);
        CheckSize(btf, keyTypeId, key);
        CheckSize(btf, valueTypeId, value);
        var writer = new BpftoolJsonWriter(pretty: false);
        writer.StartObject();
        writer.Name("key");
        Write(writer, btf, keyTypeId, key, plainText: false);
        writer.Name("value");
        Write(writer, btf, valueTypeId, value, plainText: false);
        writer.EndObject();
        return writer.ToString();
    }

    /// <summary>
    /// Writes a value; false when bpftool's dumper would have stopped with an error at some point (the output then
    /// holds what bpftool prints up to there).
    /// </summary>
    /// <exception cref="BtfFormatException">The value's bytes end before the type does, or the type is malformed.</exception>
    internal static bool Write(BpftoolJsonWriter writer, BtfSpec btf, int typeId, ReadOnlySpan<byte> data, bool plainText) =>
        WriteType(new Dumper(writer, btf, plainText), typeId, 0, data, 0);

    internal static void CheckSize(BtfSpec btf, int typeId, ReadOnlySpan<byte> data)
    {
        long size = btf.GetSize(typeId);
        if (size < 0) throw new BtfFormatException("type has no size, so it has no value to show", typeId);
        if (data.Length < size) throw new BtfFormatException($"value has {data.Length} bytes but the type needs {size}", typeId);
    }

    private readonly record struct Dumper(BpftoolJsonWriter Writer, BtfSpec Btf, bool PlainText);

    private static bool WriteType(Dumper d, int typeId, int bitOffset, ReadOnlySpan<byte> data, int depth)
    {
        if (depth > MaxDepth) throw new BtfFormatException("value nests too deeply", typeId);
        if (typeId == 0)
        {
            d.Writer.Raw("(unknown)");
            return true;
        }

        var t = d.Btf.GetType(typeId);
        switch (t.Kind)
        {
            case BtfKind.Int:
                return WriteInt(d, t, bitOffset, data);
            case BtfKind.Struct or BtfKind.Union:
                return WriteStruct(d, t, data, depth);
            case BtfKind.Array:
                return WriteArray(d, t, data, depth);
            case BtfKind.Enum or BtfKind.Enum64:
                return WriteEnum(d, t, data);
            case BtfKind.Pointer:
            {
                ulong value = BinaryPrimitives.ReadUInt64LittleEndian(Slice(data, 0, 8, t.Id));
                d.Writer.Raw(d.PlainText
                    ? value == 0 ? "(nil)" : "0x" + value.ToString("x", CultureInfo.InvariantCulture)
                    : value.ToString(CultureInfo.InvariantCulture));
                return true;
            }
            case BtfKind.Forward:
                d.Writer.Raw("(fwd-kind-invalid)");
                return false;
            case BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict:
                return WriteType(d, d.Btf.ResolveTypeId(typeId), bitOffset, data, depth + 1);
            case BtfKind.Variable:
                d.Writer.StartObject();
                d.Writer.Name(t.Name);
                bool ok = WriteType(d, t.ReferencedTypeId, bitOffset, data, depth + 1);
                d.Writer.EndObject();
                return ok;
            case BtfKind.DataSection:
                return WriteDataSection(d, t, data, depth);
            default:
                d.Writer.Raw("(unsupported-kind"); // sic: bpftool v7.1 prints it without the closing parenthesis
                return false;
        }
    }

    private static bool WriteInt(Dumper d, BtfType t, int bitOffset, ReadOnlySpan<byte> data)
    {
        int bits = t.IntBits;
        if (bitOffset != 0 || t.IntBitOffset != 0 || bits % 8 != 0)
        {
            int total = bitOffset + t.IntBitOffset;
            WriteBitfield(d, bits, total % 8, data[Math.Min(total / 8, data.Length)..], t.Id);
            return true;
        }

        if (bits == 128)
        {
            var bytes = Slice(data, 0, 16, t.Id);
            WriteHex128(d, BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]), BinaryPrimitives.ReadUInt64LittleEndian(bytes));
            return true;
        }

        bool standard = bits is 8 or 16 or 32 or 64;
        switch (t.IntEncoding)
        {
            case BtfIntEncoding.None when standard:
                d.Writer.Raw(ReadUnsigned(Slice(data, 0, bits / 8, t.Id)).ToString(CultureInfo.InvariantCulture));
                return true;
            case BtfIntEncoding.Signed when standard:
            {
                ulong raw = ReadUnsigned(Slice(data, 0, bits / 8, t.Id));
                long value = bits == 64 ? (long)raw : (long)(raw << (64 - bits)) >> (64 - bits);
                d.Writer.Raw(value.ToString(CultureInfo.InvariantCulture));
                return true;
            }
            case BtfIntEncoding.None or BtfIntEncoding.Signed:
                WriteBitfield(d, bits, 0, data, t.Id);
                return true;
            case BtfIntEncoding.Char:
            {
                byte c = Slice(data, 0, 1, t.Id)[0];
                d.Writer.Raw(c is >= 0x20 and <= 0x7e
                    ? "\"" + (char)c + "\""
                    : d.PlainText ? "0x" + c.ToString("x", CultureInfo.InvariantCulture) : "\"\\u00" + c.ToString("x2", CultureInfo.InvariantCulture) + "\"");
                return true;
            }
            case BtfIntEncoding.Bool:
                d.Writer.Raw(Slice(data, 0, 1, t.Id)[0] != 0 ? "true" : "false");
                return true;
            default:
                return false; // an encoding bpftool does not know: it prints nothing and reports an error
        }
    }

    private static bool WriteStruct(Dumper d, BtfType t, ReadOnlySpan<byte> data, int depth)
    {
        bool ok = true;
        d.Writer.StartObject();
        for (int i = 0; i < t.Vlen; i++)
        {
            var member = t.GetMember(i);
            d.Writer.Name(member.Name);
            int byteOffset = (int)(member.BitOffset / 8);
            var at = data[Math.Min(byteOffset, data.Length)..];
            if (member.BitfieldSize != 0)
            {
                WriteBitfield(d, member.BitfieldSize, (int)(member.BitOffset % 8), at, t.Id);
            }
            else if (!WriteType(d, member.TypeId, (int)(member.BitOffset % 8), at, depth + 1))
            {
                ok = false;
                break;
            }
        }

        d.Writer.EndObject();
        return ok;
    }

    private static bool WriteArray(Dumper d, BtfType t, ReadOnlySpan<byte> data, int depth)
    {
        var array = t.Array;
        if (IsString(d.Btf, array, data))
        {
            int end = data[..(int)array.Count].IndexOf((byte)0);
            d.Writer.String(Encoding.ASCII.GetString(data[..end]));
            return true;
        }

        long elementSize = d.Btf.GetSize(array.ElementTypeId);
        if (elementSize < 0) throw new BtfFormatException("array element has no size", t.Id);
        bool ok = true;
        d.Writer.StartArray();
        for (uint i = 0; i < array.Count; i++)
        {
            long at = i * elementSize;
            if (at > data.Length) throw new BtfFormatException("array element lies outside the value", t.Id);
            if (!WriteType(d, array.ElementTypeId, 0, data[(int)at..], depth + 1))
            {
                ok = false;
                break;
            }
        }

        d.Writer.EndArray();
        return ok;
    }

    // bpftool's is_str_array: one-byte char elements (modifiers skipped, typedefs not), printable up to a NUL.
    private static bool IsString(BtfSpec btf, BtfArrayInfo array, ReadOnlySpan<byte> data)
    {
        if (array.Count == 0)
        {
            return false;
        }

        var element = btf.GetType(array.ElementTypeId);
        for (int i = 0; i < 4096 && element.Kind is BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.TypeTag; i++)
        {
            element = btf.GetType(element.ReferencedTypeId);
        }

        if (element.Kind != BtfKind.Int || element.Size != 1 || (element.IntEncoding != BtfIntEncoding.Char && element.Name != "char"))
        {
            return false;
        }

        int count = (int)Math.Min(array.Count, (uint)data.Length);
        for (int i = 0; i < count; i++)
        {
            byte c = data[i];
            if (c == 0)
            {
                return true;
            }

            if (c <= 0x1f || c >= 0x7f)
            {
                return false;
            }
        }

        return false;
    }

    private static bool WriteEnum(Dumper d, BtfType t, ReadOnlySpan<byte> data)
    {
        if (t.Kind == BtfKind.Enum64)
        {
            ulong raw = BinaryPrimitives.ReadUInt64LittleEndian(Slice(data, 0, 8, t.Id));
            for (int i = 0; i < t.Vlen; i++)
            {
                if (t.GetEnumValue(i).RawValue == raw)
                {
                    d.Writer.String(t.GetEnumValue(i).Name);
                    return true;
                }
            }

            d.Writer.Raw(((long)raw).ToString(CultureInfo.InvariantCulture));
            return true;
        }

        if (t.Size is not (1 or 2 or 4 or 8))
        {
            return false;
        }

        int bits = (int)t.Size * 8;
        ulong bytes = ReadUnsigned(Slice(data, 0, (int)t.Size, t.Id));
        long value = bits == 64 ? (long)bytes : (long)(bytes << (64 - bits)) >> (64 - bits);
        for (int i = 0; i < t.Vlen; i++)
        {
            var entry = t.GetEnumValue(i);
            if ((int)(uint)entry.RawValue == value)
            {
                d.Writer.String(entry.Name);
                return true;
            }
        }

        d.Writer.Raw(value.ToString(CultureInfo.InvariantCulture));
        return true;
    }

    private static bool WriteDataSection(Dumper d, BtfType t, ReadOnlySpan<byte> data, int depth)
    {
        bool ok = true;
        d.Writer.StartObject();
        d.Writer.Name(t.Name);
        d.Writer.StartArray();
        for (int i = 0; i < t.Vlen; i++)
        {
            var variable = t.GetVariable(i);
            if (variable.Offset > data.Length) throw new BtfFormatException("variable lies outside the value", t.Id);
            if (!WriteType(d, variable.TypeId, 0, data[(int)variable.Offset..], depth + 1))
            {
                ok = false;
                break;
            }
        }

        d.Writer.EndArray();
        d.Writer.EndObject();
        return ok;
    }

    // A bitfield of `bits` bits starting `bitOffset` bits into data, as bpftool prints it: hex, quoted in JSON.
    private static void WriteBitfield(Dumper d, int bits, int bitOffset, ReadOnlySpan<byte> data, int typeId)
    {
        if (bits > 128) throw new BtfFormatException($"a {bits}-bit integer is wider than 128 bits", typeId);
        int bytes = (bitOffset + bits + 7) / 8;
        Span<byte> buffer = stackalloc byte[17];
        Slice(data, 0, bytes, typeId).CopyTo(buffer);
        UInt128 raw = new(BinaryPrimitives.ReadUInt64LittleEndian(buffer[8..]), BinaryPrimitives.ReadUInt64LittleEndian(buffer));
        raw >>= bitOffset;
        if (bitOffset > 0 && bytes == 17)
        {
            raw |= (UInt128)buffer[16] << (128 - bitOffset);
        }

        if (bits < 128)
        {
            raw &= (UInt128.One << bits) - 1;
        }

        WriteHex128(d, (ulong)(raw >> 64), (ulong)raw);
    }

    private static void WriteHex128(Dumper d, ulong upper, ulong lower)
    {
        string hex = upper == 0
            ? "0x" + lower.ToString("x", CultureInfo.InvariantCulture)
            : "0x" + upper.ToString("x", CultureInfo.InvariantCulture) + lower.ToString("x16", CultureInfo.InvariantCulture);
        d.Writer.Raw(d.PlainText ? hex : "\"" + hex + "\"");
    }

    private static ulong ReadUnsigned(ReadOnlySpan<byte> bytes) => bytes.Length switch
    {
        1 => bytes[0],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(bytes),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(bytes),
        _ => BinaryPrimitives.ReadUInt64LittleEndian(bytes),
    };

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> data, int start, int length, int typeId)
    {
        if (start < 0 || length < 0 || (long)start + length > data.Length)
        {
            throw new BtfFormatException("value is shorter than its type", typeId);
        }

        return data.Slice(start, length);
    }
}
