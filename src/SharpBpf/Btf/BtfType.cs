namespace SharpBpf.Btf;

/// <summary>A member of a struct or union (<c>struct btf_member</c>).</summary>
/// <param name="Spec">The BTF holding the name.</param>
/// <param name="NameOffset">The name's string offset (0 for an anonymous member).</param>
/// <param name="TypeId">The member's type.</param>
/// <param name="BitOffset">The offset from the start of the struct, in bits.</param>
/// <param name="BitfieldSize">The bitfield width in bits, or 0 when the member is not a bitfield.</param>
public readonly record struct BtfMember(BtfSpec Spec, uint NameOffset, int TypeId, uint BitOffset, int BitfieldSize)
{
    /// <summary>The name ("" for an anonymous member), decoded on access.</summary>
    public string Name => NameOffset == 0 ? "" : Spec.GetString(NameOffset);
}

/// <summary>A function prototype's parameter (<c>struct btf_param</c>); a last parameter of type 0 means "...".</summary>
/// <param name="Spec">The BTF holding the name.</param>
/// <param name="NameOffset">The name's string offset.</param>
/// <param name="TypeId">The parameter's type (0 for a variadic tail).</param>
public readonly record struct BtfParameter(BtfSpec Spec, uint NameOffset, int TypeId)
{
    /// <summary>The name (may be ""), decoded on access.</summary>
    public string Name => NameOffset == 0 ? "" : Spec.GetString(NameOffset);
}

/// <summary>An enumerator of an <see cref="BtfKind.Enum"/> or <see cref="BtfKind.Enum64"/>.</summary>
/// <param name="Spec">The BTF holding the name.</param>
/// <param name="NameOffset">The name's string offset.</param>
/// <param name="RawValue">The value's bits (sign-extended for a signed 32-bit enum, else zero-extended).</param>
/// <param name="IsSigned">Whether the enum is signed (its kind flag).</param>
public readonly record struct BtfEnumValue(BtfSpec Spec, uint NameOffset, ulong RawValue, bool IsSigned)
{
    /// <summary>The name, decoded on access.</summary>
    public string Name => Spec.GetString(NameOffset);

    /// <summary>The value as a signed number (sign-extended from 32 bits for a signed 32-bit enum).</summary>
    public long Value => (long)RawValue;
}

/// <summary>A variable of a data section (<c>struct btf_var_secinfo</c>).</summary>
/// <param name="TypeId">The <see cref="BtfKind.Variable"/> (or function, for externs) it places.</param>
/// <param name="Offset">Its byte offset in the section.</param>
/// <param name="Size">Its size in bytes.</param>
public readonly record struct BtfVariableSectionInfo(int TypeId, uint Offset, uint Size);

/// <summary>An array's element type, index type and element count (<c>struct btf_array</c>).</summary>
/// <param name="ElementTypeId">The element type.</param>
/// <param name="IndexTypeId">The index type (an integer).</param>
/// <param name="Count">The number of elements.</param>
public readonly record struct BtfArrayInfo(int ElementTypeId, int IndexTypeId, uint Count);

/// <summary>
/// A view of one type record inside a <see cref="Btf"/>: fields are decoded on access from the underlying bytes.
/// Id 0 is <c>void</c>, whose kind is <see cref="BtfKind.Void"/>.
/// </summary>
public readonly struct BtfType : IEquatable<BtfType>
{
    private readonly int _offset;

    internal BtfType(BtfSpec btf, int id, int offset)
    {
        Spec = btf;
        Id = id;
        _offset = offset;
    }

    /// <summary>The BTF this type belongs to.</summary>
    public BtfSpec Spec { get; }

    /// <summary>The type id.</summary>
    public int Id { get; }

    /// <summary>The record's byte offset in <see cref="BtfSpec.Data"/>, or -1 for void.</summary>
    public int DataOffset => _offset;

    /// <summary>The name's string offset.</summary>
    public uint NameOffset => _offset < 0 ? 0 : Spec.ReadUInt32(_offset);

    /// <summary>The raw info word: vlen, kind and kind flag.</summary>
    public uint Info => _offset < 0 ? 0 : Spec.ReadUInt32(_offset + 4);

    /// <summary>The raw third word: a size or a type id, depending on the kind.</summary>
    public uint SizeOrType => _offset < 0 ? 0 : Spec.ReadUInt32(_offset + 8);

    /// <summary>The kind.</summary>
    public BtfKind Kind => (BtfKind)((Info >> 24) & 0x1f);

    /// <summary>The number of members, enumerators, parameters or variables (the linkage, for a function).</summary>
    public int Vlen => (int)(Info & 0xffff);

    /// <summary>The kind flag: bitfield encoding for struct/union, union for a forward, signedness for an enum.</summary>
    public bool KindFlag => (Info >> 31) != 0;

    /// <summary>The name ("" when anonymous).</summary>
    public string Name => NameOffset == 0 ? "" : Spec.GetString(NameOffset);

    /// <summary>The name's UTF-8 bytes, without allocating.</summary>
    public ReadOnlySpan<byte> NameUtf8 => NameOffset == 0 ? default : Spec.GetStringBytes(NameOffset);

    /// <summary>The size in bytes of an int, float, struct, union, enum or data section.</summary>
    public uint Size => SizeOrType;

    /// <summary>The type referred to by a pointer, typedef, qualifier, type tag, function, variable or decl tag (or a prototype's return type).</summary>
    public int ReferencedTypeId => (int)SizeOrType;

    /// <summary>Whether this is a struct or a union.</summary>
    public bool IsComposite => Kind is BtfKind.Struct or BtfKind.Union;

    /// <summary>Whether this is const, volatile, restrict or a type tag.</summary>
    public bool IsModifier => Kind is BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.TypeTag;

    /// <summary>The raw integer data word of an int.</summary>
    /// <exception cref="InvalidOperationException">This is not an int.</exception>
    public uint IntData
    {
        get
        {
            Require(Kind == BtfKind.Int, "an int");
            return Spec.ReadUInt32(_offset + 12);
        }
    }

    /// <summary>An int's encoding.</summary>
    public BtfIntEncoding IntEncoding => (BtfIntEncoding)((IntData >> 24) & 0x0f);

    /// <summary>An int's bit offset (legacy; 0 in practice).</summary>
    public int IntBitOffset => (int)((IntData >> 16) & 0xff);

    /// <summary>An int's width in bits.</summary>
    public int IntBits => (int)(IntData & 0xff);

    /// <summary>An array's element type, index type and count.</summary>
    /// <exception cref="InvalidOperationException">This is not an array.</exception>
    public BtfArrayInfo Array => Kind != BtfKind.Array ? throw NotA("an array") : new((int)Spec.ReadUInt32(_offset + 12), (int)Spec.ReadUInt32(_offset + 16), Spec.ReadUInt32(_offset + 20));

    /// <summary>A function's linkage.</summary>
    public BtfFunctionLinkage FunctionLinkage => (BtfFunctionLinkage)Vlen;

    /// <summary>A variable's linkage.</summary>
    /// <exception cref="InvalidOperationException">This is not a variable.</exception>
    public BtfVariableLinkage VariableLinkage => Kind != BtfKind.Variable ? throw NotA("a variable") : (BtfVariableLinkage)Spec.ReadUInt32(_offset + 12);

    /// <summary>A decl tag's component index: -1 for the declaration itself, else the member or parameter index.</summary>
    /// <exception cref="InvalidOperationException">This is not a decl tag.</exception>
    public int ComponentIndex => Kind != BtfKind.DeclTag ? throw NotA("a decl tag") : (int)Spec.ReadUInt32(_offset + 12);

    /// <summary>The number of bytes the record takes in the type section.</summary>
    public int RecordLength
    {
        get
        {
            if (_offset < 0) return 0;
            var (f, e) = BtfSpec.RecordShape(Kind);
            return 12 + f + (e * Vlen);
        }
    }

    /// <summary>The <paramref name="index"/>th member of a struct or union.</summary>
    /// <exception cref="InvalidOperationException">This is not a struct or union.</exception>
    public BtfMember GetMember(int index)
    {
        Require(IsComposite, "a struct or union");
        int p = EntryOffset(index, 12);
        uint nameOff = Spec.ReadUInt32(p);
        uint raw = Spec.ReadUInt32(p + 8);
        return KindFlag
            ? new BtfMember(Spec, nameOff, (int)Spec.ReadUInt32(p + 4), raw & 0xffffff, (int)(raw >> 24))
            : new BtfMember(Spec, nameOff, (int)Spec.ReadUInt32(p + 4), raw, 0);
    }

    /// <summary>The members of a struct or union.</summary>
    public BtfMember[] GetMembers()
    {
        var result = new BtfMember[Vlen];
        for (int i = 0; i < result.Length; i++) result[i] = GetMember(i);
        return result;
    }

    /// <summary>The <paramref name="index"/>th parameter of a function prototype.</summary>
    /// <exception cref="InvalidOperationException">This is not a function prototype.</exception>
    public BtfParameter GetParameter(int index)
    {
        Require(Kind == BtfKind.FunctionProto, "a function prototype");
        int p = EntryOffset(index, 8);
        uint nameOff = Spec.ReadUInt32(p);
        return new BtfParameter(Spec, nameOff, (int)Spec.ReadUInt32(p + 4));
    }

    /// <summary>The parameters of a function prototype.</summary>
    public BtfParameter[] GetParameters()
    {
        var result = new BtfParameter[Vlen];
        for (int i = 0; i < result.Length; i++) result[i] = GetParameter(i);
        return result;
    }

    /// <summary>The <paramref name="index"/>th enumerator of an enum or enum64.</summary>
    /// <exception cref="InvalidOperationException">This is not an enum.</exception>
    public BtfEnumValue GetEnumValue(int index)
    {
        Require(Kind is BtfKind.Enum or BtfKind.Enum64, "an enum");
        bool signed = KindFlag;
        if (Kind == BtfKind.Enum64)
        {
            int p = EntryOffset(index, 12);
            uint nameOff = Spec.ReadUInt32(p);
            ulong value = Spec.ReadUInt32(p + 4) | ((ulong)Spec.ReadUInt32(p + 8) << 32);
            return new BtfEnumValue(Spec, nameOff, value, signed);
        }
        else
        {
            int p = EntryOffset(index, 8);
            uint nameOff = Spec.ReadUInt32(p);
            uint v = Spec.ReadUInt32(p + 4);
            ulong value = signed ? (ulong)(long)(int)v : v;
            return new BtfEnumValue(Spec, nameOff, value, signed);
        }
    }

    /// <summary>The enumerators of an enum or enum64.</summary>
    public BtfEnumValue[] GetEnumValues()
    {
        var result = new BtfEnumValue[Vlen];
        for (int i = 0; i < result.Length; i++) result[i] = GetEnumValue(i);
        return result;
    }

    /// <summary>The <paramref name="index"/>th variable of a data section.</summary>
    /// <exception cref="InvalidOperationException">This is not a data section.</exception>
    public BtfVariableSectionInfo GetVariable(int index)
    {
        Require(Kind == BtfKind.DataSection, "a data section");
        int p = EntryOffset(index, 12);
        return new BtfVariableSectionInfo((int)Spec.ReadUInt32(p), Spec.ReadUInt32(p + 4), Spec.ReadUInt32(p + 8));
    }

    /// <summary>The variables of a data section.</summary>
    public BtfVariableSectionInfo[] GetVariables()
    {
        var result = new BtfVariableSectionInfo[Vlen];
        for (int i = 0; i < result.Length; i++) result[i] = GetVariable(i);
        return result;
    }

    private void Require(bool condition, string what)
    {
        if (!condition) throw NotA(what);
    }

    private InvalidOperationException NotA(string what) => new($"type {Id} is {Kind}, not {what}");

    private int EntryOffset(int index, int entrySize)
    {
        if ((uint)index >= (uint)Vlen || _offset < 0)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"type {Id} has {Vlen} entries");
        return _offset + 12 + (index * entrySize);
    }

    /// <inheritdoc />
    public bool Equals(BtfType other) => ReferenceEquals(Spec, other.Spec) && Id == other.Id;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is BtfType t && Equals(t);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Spec, Id);

    /// <summary>Equality by BTF instance and id.</summary>
    public static bool operator ==(BtfType left, BtfType right) => left.Equals(right);

    /// <summary>Inequality by BTF instance and id.</summary>
    public static bool operator !=(BtfType left, BtfType right) => !left.Equals(right);

    /// <summary>A short description: <c>[id] KIND 'name'</c>.</summary>
    public override string ToString() => Id == 0 ? "[0] void" : $"[{Id}] {Kind} '{Name}'";
}
