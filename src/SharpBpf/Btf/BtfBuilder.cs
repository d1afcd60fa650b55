using System.Buffers.Binary;
using System.Text;

namespace SharpBpf.Btf;

/// <summary>A struct or union member to write.</summary>
/// <param name="Name">The name, or "" for an anonymous member.</param>
/// <param name="TypeId">The member's type.</param>
/// <param name="BitOffset">The bit offset from the start of the struct.</param>
/// <param name="BitfieldSize">The bitfield width, or 0.</param>
public sealed record BtfMemberDefinition(string Name, int TypeId, uint BitOffset, int BitfieldSize = 0);

/// <summary>A function prototype parameter to write.</summary>
/// <param name="Name">The name (may be "").</param>
/// <param name="TypeId">The type, or 0 for a variadic tail.</param>
public sealed record BtfParameterDefinition(string Name, int TypeId);

/// <summary>An enumerator to write.</summary>
/// <param name="Name">The name.</param>
/// <param name="Value">The value (its low 32 bits for a 32-bit enum).</param>
public sealed record BtfEnumValueDefinition(string Name, long Value);

/// <summary>
/// One type record to write: the kind, the name and the kind-specific fields (only those of its kind are used).
/// </summary>
public sealed class BtfTypeDefinition
{
    /// <summary>Creates a definition of the given kind.</summary>
    public BtfTypeDefinition(BtfKind kind, string name = "")
    {
        Kind = kind;
        Name = name;
    }

    /// <summary>The kind.</summary>
    public BtfKind Kind { get; set; }

    /// <summary>The name ("" for none).</summary>
    public string Name { get; set; }

    /// <summary>The kind flag (bitfield member encoding, forward-is-union, signed enum).</summary>
    public bool KindFlag { get; set; }

    /// <summary>The size for sized kinds, the referenced type id for reference kinds (the raw third word).</summary>
    public uint SizeOrType { get; set; }

    /// <summary>For functions: the linkage, stored in the vlen field.</summary>
    public BtfFunctionLinkage FunctionLinkage { get; set; }

    /// <summary>For ints: the raw integer data word (encoding, bit offset, bits).</summary>
    public uint IntData { get; set; }

    /// <summary>For arrays: element type, index type and count.</summary>
    public BtfArrayInfo Array { get; set; }

    /// <summary>For structs and unions.</summary>
    public List<BtfMemberDefinition> Members { get; } = [];

    /// <summary>For function prototypes.</summary>
    public List<BtfParameterDefinition> Parameters { get; } = [];

    /// <summary>For enums and enum64s.</summary>
    public List<BtfEnumValueDefinition> EnumValues { get; } = [];

    /// <summary>For data sections.</summary>
    public List<BtfVariableSectionInfo> Variables { get; } = [];

    /// <summary>The raw fourth word of a variable (its linkage) or a decl tag (its component index).</summary>
    public int Extra { get; set; }

    /// <summary>For variables: the linkage (stored in <see cref="Extra"/>).</summary>
    public BtfVariableLinkage VariableLinkage
    {
        get => (BtfVariableLinkage)Extra;
        set => Extra = (int)value;
    }

    /// <summary>For decl tags: the component index, -1 for the declaration itself (stored in <see cref="Extra"/>).</summary>
    public int ComponentIndex
    {
        get => Extra;
        set => Extra = value;
    }

    /// <summary>The vlen field this definition encodes to.</summary>
    public int Vlen => Kind switch
    {
        BtfKind.Struct or BtfKind.Union => Members.Count,
        BtfKind.Enum or BtfKind.Enum64 => EnumValues.Count,
        BtfKind.FunctionProto => Parameters.Count,
        BtfKind.DataSection => Variables.Count,
        BtfKind.Function => (int)FunctionLinkage,
        _ => 0,
    };

    /// <summary>Decodes a type record into a definition.</summary>
    public static BtfTypeDefinition FromType(BtfType t)
    {
        var d = new BtfTypeDefinition(t.Kind, t.Name) { KindFlag = t.KindFlag, SizeOrType = t.SizeOrType };
        switch (t.Kind)
        {
            case BtfKind.Int: d.IntData = t.IntData; break;
            case BtfKind.Array: d.Array = t.Array; break;
            case BtfKind.Struct or BtfKind.Union:
                for (int i = 0; i < t.Vlen; i++)
                {
                    var m = t.GetMember(i);
                    d.Members.Add(new BtfMemberDefinition(m.Name, m.TypeId, m.BitOffset, m.BitfieldSize));
                }
                break;
            case BtfKind.Enum or BtfKind.Enum64:
                for (int i = 0; i < t.Vlen; i++)
                {
                    var v = t.GetEnumValue(i);
                    d.EnumValues.Add(new BtfEnumValueDefinition(v.Name, v.Value));
                }
                break;
            case BtfKind.FunctionProto:
                for (int i = 0; i < t.Vlen; i++)
                {
                    var p = t.GetParameter(i);
                    d.Parameters.Add(new BtfParameterDefinition(p.Name, p.TypeId));
                }
                break;
            case BtfKind.DataSection: d.Variables.AddRange(t.GetVariables()); break;
            case BtfKind.Function: d.FunctionLinkage = t.FunctionLinkage; break;
            case BtfKind.Variable: d.VariableLinkage = t.VariableLinkage; break;
            case BtfKind.DeclTag: d.ComponentIndex = t.ComponentIndex; break;
            default: break;
        }
        return d;
    }

    /// <summary>A short description.</summary>
    public override string ToString() => $"{Kind} '{Name}'";
}

/// <summary>
/// Builds BTF: a list of type definitions and a string table, serialized to the kernel's format by
/// <see cref="ToArray"/>. Start empty to construct test BTF, or from an existing <see cref="BtfSpec"/> to edit it
/// (e.g. rename <c>__state</c> to <c>state</c> to mimic an older kernel); an unedited copy writes back the same bytes.
/// </summary>
public sealed class BtfBuilder
{
    private readonly List<BtfTypeDefinition> _types = [];
    private readonly List<byte> _strings = [];
    private readonly Dictionary<string, uint> _stringOffsets = new(StringComparer.Ordinal);

    /// <summary>Creates an empty builder; with <paramref name="baseBtf"/>, it builds split BTF on top of it.</summary>
    public BtfBuilder(BtfSpec? baseBtf = null)
    {
        Base = baseBtf;
        if (baseBtf is null)
        {
            _strings.Add(0);
            _stringOffsets[""] = 0;
        }
    }

    /// <summary>The base of split BTF, or null.</summary>
    public BtfSpec? Base { get; }

    /// <summary>The id the next added type gets.</summary>
    public int NextTypeId => (Base?.TypeCount ?? 1) + _types.Count;

    /// <summary>The definitions added so far, by position (id minus the first id).</summary>
    public IReadOnlyList<BtfTypeDefinition> Definitions => _types;

    /// <summary>The definition of type <paramref name="id"/>, to edit it.</summary>
    public BtfTypeDefinition this[int id] => _types[id - (Base?.TypeCount ?? 1)];

    /// <summary>
    /// Copies <paramref name="btf"/>'s types (decoded) and its string table (byte for byte, so names keep their offsets).
    /// </summary>
    public static BtfBuilder From(BtfSpec btf)
    {
        var b = new BtfBuilder(btf.Base);
        b._strings.Clear();
        b._stringOffsets.Clear();
        var strings = btf.StringSection;
        b._strings.AddRange(strings.ToArray());
        int pos = 0;
        while (pos < strings.Length)
        {
            int len = strings[pos..].IndexOf((byte)0);
            string s = Encoding.UTF8.GetString(strings.Slice(pos, len));
            b._stringOffsets.TryAdd(s, btf.StringBase + (uint)pos);
            pos += len + 1;
        }
        for (int id = btf.FirstTypeId; id < btf.TypeCount; id++) b._types.Add(BtfTypeDefinition.FromType(btf.GetType(id)));
        return b;
    }

    /// <summary>Adds a definition and returns its type id.</summary>
    public int Add(BtfTypeDefinition definition)
    {
        _types.Add(definition);
        return NextTypeId - 1;
    }

    /// <summary>Adds a string (or finds it) and returns its offset.</summary>
    public uint AddString(string value)
    {
        if (_stringOffsets.TryGetValue(value, out uint off)) return off;
        if (Base is not null && value.Length == 0) return 0;
        off = (Base is null ? 0 : Base.StringBase + (uint)Base.StringSection.Length) + (uint)_strings.Count;
        _strings.AddRange(Encoding.UTF8.GetBytes(value));
        _strings.Add(0);
        _stringOffsets[value] = off;
        return off;
    }

    /// <summary>Adds an integer type.</summary>
    public int AddInt(string name, uint size, BtfIntEncoding encoding = BtfIntEncoding.None, int bits = -1) =>
        Add(new BtfTypeDefinition(BtfKind.Int, name)
        {
            SizeOrType = size,
            IntData = ((uint)encoding << 24) | (uint)(bits < 0 ? size * 8 : (uint)bits),
        });

    /// <summary>Adds a floating-point type.</summary>
    public int AddFloat(string name, uint size) => Add(new BtfTypeDefinition(BtfKind.Float, name) { SizeOrType = size });

    /// <summary>Adds a pointer to <paramref name="targetId"/>.</summary>
    public int AddPointer(int targetId) => AddReference(BtfKind.Pointer, "", targetId);

    /// <summary>Adds a typedef.</summary>
    public int AddTypedef(string name, int targetId) => AddReference(BtfKind.Typedef, name, targetId);

    /// <summary>Adds <c>const</c>.</summary>
    public int AddConst(int targetId) => AddReference(BtfKind.Const, "", targetId);

    /// <summary>Adds <c>volatile</c>.</summary>
    public int AddVolatile(int targetId) => AddReference(BtfKind.Volatile, "", targetId);

    /// <summary>Adds <c>restrict</c>.</summary>
    public int AddRestrict(int targetId) => AddReference(BtfKind.Restrict, "", targetId);

    /// <summary>Adds a type tag.</summary>
    public int AddTypeTag(string value, int targetId) => AddReference(BtfKind.TypeTag, value, targetId);

    /// <summary>Adds a forward declaration of a struct (or union).</summary>
    public int AddForward(string name, bool isUnion = false) => Add(new BtfTypeDefinition(BtfKind.Forward, name) { KindFlag = isUnion });

    private int AddReference(BtfKind kind, string name, int targetId) =>
        Add(new BtfTypeDefinition(kind, name) { SizeOrType = (uint)targetId });

    /// <summary>Adds an array.</summary>
    public int AddArray(int elementTypeId, int indexTypeId, uint count) =>
        Add(new BtfTypeDefinition(BtfKind.Array) { Array = new BtfArrayInfo(elementTypeId, indexTypeId, count) });

    /// <summary>Adds a struct; the kind flag is set when any member is a bitfield.</summary>
    public int AddStruct(string name, uint size, params BtfMemberDefinition[] members) => AddComposite(BtfKind.Struct, name, size, members);

    /// <summary>Adds a union; the kind flag is set when any member is a bitfield.</summary>
    public int AddUnion(string name, uint size, params BtfMemberDefinition[] members) => AddComposite(BtfKind.Union, name, size, members);

    private int AddComposite(BtfKind kind, string name, uint size, BtfMemberDefinition[] members)
    {
        var d = new BtfTypeDefinition(kind, name) { SizeOrType = size, KindFlag = members.Any(m => m.BitfieldSize != 0) };
        d.Members.AddRange(members);
        return Add(d);
    }

    /// <summary>Adds a 32-bit enum.</summary>
    public int AddEnum(string name, uint size, bool isSigned, params BtfEnumValueDefinition[] values)
    {
        var d = new BtfTypeDefinition(BtfKind.Enum, name) { SizeOrType = size, KindFlag = isSigned };
        d.EnumValues.AddRange(values);
        return Add(d);
    }

    /// <summary>Adds a 64-bit enum.</summary>
    public int AddEnum64(string name, uint size, bool isSigned, params BtfEnumValueDefinition[] values)
    {
        var d = new BtfTypeDefinition(BtfKind.Enum64, name) { SizeOrType = size, KindFlag = isSigned };
        d.EnumValues.AddRange(values);
        return Add(d);
    }

    /// <summary>Adds a function prototype.</summary>
    public int AddFunctionProto(int returnTypeId, params BtfParameterDefinition[] parameters)
    {
        var d = new BtfTypeDefinition(BtfKind.FunctionProto) { SizeOrType = (uint)returnTypeId };
        d.Parameters.AddRange(parameters);
        return Add(d);
    }

    /// <summary>Adds a function.</summary>
    public int AddFunction(string name, int protoId, BtfFunctionLinkage linkage = BtfFunctionLinkage.Global) =>
        Add(new BtfTypeDefinition(BtfKind.Function, name) { SizeOrType = (uint)protoId, FunctionLinkage = linkage });

    /// <summary>Adds a variable.</summary>
    public int AddVariable(string name, int typeId, BtfVariableLinkage linkage = BtfVariableLinkage.GlobalAllocated) =>
        Add(new BtfTypeDefinition(BtfKind.Variable, name) { SizeOrType = (uint)typeId, Extra = (int)linkage });

    /// <summary>Adds a data section.</summary>
    public int AddDataSection(string name, uint size, params BtfVariableSectionInfo[] variables)
    {
        var d = new BtfTypeDefinition(BtfKind.DataSection, name) { SizeOrType = size };
        d.Variables.AddRange(variables);
        return Add(d);
    }

    /// <summary>Adds a decl tag on <paramref name="targetId"/> (component -1) or on one of its members/parameters.</summary>
    public int AddDeclTag(string value, int targetId, int componentIndex = -1) =>
        Add(new BtfTypeDefinition(BtfKind.DeclTag, value) { SizeOrType = (uint)targetId, Extra = componentIndex });

    /// <summary>Serializes the header, the types and the strings (little-endian, or big-endian on request).</summary>
    public byte[] ToArray(bool bigEndian = false)
    {
        // Names are interned first so that the string table is final before its length goes in the header.
        var nameOffsets = new uint[_types.Count];
        var memberOffsets = new List<uint>();
        int typeLength = 0;
        for (int i = 0; i < _types.Count; i++)
        {
            var d = _types[i];
            nameOffsets[i] = AddString(d.Name);
            foreach (var m in d.Members) memberOffsets.Add(AddString(m.Name));
            foreach (var p in d.Parameters) memberOffsets.Add(AddString(p.Name));
            foreach (var v in d.EnumValues) memberOffsets.Add(AddString(v.Name));
            var (f, e) = BtfSpec.RecordShape(d.Kind);
            typeLength += 12 + f + (e * d.Vlen);
        }

        var output = new byte[BtfHeader.Size + typeLength + _strings.Count];
        var span = output.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(span, BtfSpec.Magic);
        span[2] = 1;
        span[3] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], BtfHeader.Size);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(span[12..], (uint)typeLength);
        BinaryPrimitives.WriteUInt32LittleEndian(span[16..], (uint)typeLength);
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], (uint)_strings.Count);

        int pos = BtfHeader.Size, nameIndex = 0;
        void Word(uint value)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(output.AsSpan(pos), value);
            pos += 4;
        }
        for (int i = 0; i < _types.Count; i++)
        {
            var d = _types[i];
            if (d.Vlen > 0xffff) throw new BtfFormatException($"too many entries ({d.Vlen}) for one type", NextTypeId - _types.Count + i);
            Word(nameOffsets[i]);
            Word(((d.KindFlag ? 1u : 0u) << 31) | ((uint)d.Kind << 24) | (uint)d.Vlen);
            Word(d.SizeOrType);
            switch (d.Kind)
            {
                case BtfKind.Int: Word(d.IntData); break;
                case BtfKind.Array:
                    Word((uint)d.Array.ElementTypeId);
                    Word((uint)d.Array.IndexTypeId);
                    Word(d.Array.Count);
                    break;
                case BtfKind.Struct or BtfKind.Union:
                    foreach (var m in d.Members)
                    {
                        Word(memberOffsets[nameIndex++]);
                        Word((uint)m.TypeId);
                        Word(d.KindFlag ? ((uint)m.BitfieldSize << 24) | (m.BitOffset & 0xffffff) : m.BitOffset);
                    }
                    break;
                case BtfKind.FunctionProto:
                    foreach (var p in d.Parameters)
                    {
                        Word(memberOffsets[nameIndex++]);
                        Word((uint)p.TypeId);
                    }
                    break;
                case BtfKind.Enum:
                    foreach (var v in d.EnumValues)
                    {
                        Word(memberOffsets[nameIndex++]);
                        Word((uint)v.Value);
                    }
                    break;
                case BtfKind.Enum64:
                    foreach (var v in d.EnumValues)
                    {
                        Word(memberOffsets[nameIndex++]);
                        Word((uint)v.Value);
                        Word((uint)((ulong)v.Value >> 32));
                    }
                    break;
                case BtfKind.DataSection:
                    foreach (var v in d.Variables)
                    {
                        Word((uint)v.TypeId);
                        Word(v.Offset);
                        Word(v.Size);
                    }
                    break;
                case BtfKind.Variable or BtfKind.DeclTag: Word((uint)d.Extra); break;
                default: break;
            }
        }
        _strings.CopyTo(span[pos..]);

        if (bigEndian)
        {
            // Everything but the magic and the two version/flags bytes is 32-bit words, strings excepted.
            BinaryPrimitives.WriteUInt16BigEndian(span, BtfSpec.Magic);
            var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(span.Slice(4, 20 + typeLength));
            BinaryPrimitives.ReverseEndianness(words, words);
        }
        return output;
    }

    /// <summary>Serializes and parses the result.</summary>
    public BtfSpec Build() => BtfSpec.Parse(ToArray(), Base);
}
