using System.Buffers.Binary;
using SharpBpf.Btf;

namespace SharpBpf.Tests.Btf;

public class BtfValidationTests
{
    private static BtfFormatException Rejects(byte[] bytes, BtfValidationMode mode = BtfValidationMode.Kernel) =>
        Assert.Throws<BtfFormatException>(() => BtfSpec.Parse(bytes).Validate(mode));

    private static BtfFormatException Rejects(BtfBuilder b) => Rejects(b.ToArray());

    /// <summary>A valid little BTF: int (1), struct s { int a; int b; } (2), pointer to s (3).</summary>
    private static (BtfBuilder Builder, int Int, int Struct, int Pointer) Small()
    {
        var b = new BtfBuilder();
        int @int = b.AddInt("int", 4, BtfIntEncoding.Signed);
        int s = b.AddStruct("s", 8, new BtfMemberDefinition("a", @int, 0), new BtfMemberDefinition("b", @int, 32));
        int p = b.AddPointer(s);
        return (b, @int, s, p);
    }

    private static byte[] Patch(byte[] bytes, int offset, uint value)
    {
        var copy = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(offset), value);
        return copy;
    }

    [Fact]
    public void ValidBtf_Passes()
    {
        var (b, _, s, _) = Small();
        var btf = b.Build().Validate();
        Assert.Equal(8, btf.GetSize(s));
    }

    [Theory]
    [InlineData(0, 0x0000_1234u, "Invalid magic")]
    [InlineData(0, 0x0002_EB9Fu, "Unsupported version")]
    [InlineData(0, 0x0101_EB9Fu, "Unsupported flags")]
    [InlineData(4, 0xFFFF_0000u, "hdr_len")]
    [InlineData(4, 8u, "btf_header not found")]
    [InlineData(8, 2u, "Unaligned type_off")]
    [InlineData(12, 0xFFFF_FFF0u, "Total section length too long")]
    [InlineData(20, 0xFFFF_FFF0u, "Total section length too long")]
    [InlineData(20, 1u, "trailing bytes")]
    public void Header_RulesAreEnforced(int offset, uint value, string rule)
    {
        var bytes = Small().Builder.ToArray();
        var e = Rejects(Patch(bytes, offset, value));
        Assert.Contains(rule, e.Message, StringComparison.Ordinal);
        Assert.True(e.Offset >= 0);
    }

    [Fact]
    public void Header_ExtraNonZeroBytesAreRejected()
    {
        var bytes = Small().Builder.ToArray();
        // Grow the header to 28 bytes with a non-zero tail: section offsets stay relative to the header's end.
        var grown = new byte[bytes.Length + 4];
        bytes.AsSpan(0, 24).CopyTo(grown);
        bytes.AsSpan(24).CopyTo(grown.AsSpan(28));
        BinaryPrimitives.WriteUInt32LittleEndian(grown.AsSpan(4), 28);
        grown[24] = 1;
        Assert.Contains("Unsupported btf_header", Rejects(grown).Rule, StringComparison.Ordinal);
        grown[24] = 0;
        BtfSpec.Parse(grown).Validate();
    }

    [Fact]
    public void StringSection_MustBeTerminatedAndStartEmpty()
    {
        var bytes = Small().Builder.ToArray();
        var unterminated = (byte[])bytes.Clone();
        unterminated[^1] = (byte)'x';
        Assert.Contains("NUL-terminated", Rejects(unterminated).Rule, StringComparison.Ordinal);
        var noEmpty = (byte[])bytes.Clone();
        int strOff = 24 + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16));
        noEmpty[strOff] = (byte)'x';
        Assert.Contains("empty string", Rejects(noEmpty).Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void NameOffsetOutOfRange_NamesTheType()
    {
        var (b, _, s, _) = Small();
        var bytes = b.ToArray();
        int record = BtfSpec.Parse(bytes)[s].DataOffset;
        var e = Rejects(Patch(bytes, record, 0x00FF_0000));
        Assert.Equal(s, e.TypeId);
        Assert.Contains("Invalid name_offset", e.Rule, StringComparison.Ordinal);
        Assert.Equal(record, e.Offset);
    }

    [Fact]
    public void UnknownKindAndTruncatedRecordsAreRejectedByParse()
    {
        var (b, @int, s, _) = Small();
        var bytes = b.ToArray();
        var parsed = BtfSpec.Parse(bytes);
        var badKind = Patch(bytes, parsed[@int].DataOffset + 4, 20u << 24);
        var e = Assert.Throws<BtfFormatException>(() => BtfSpec.Parse(badKind));
        Assert.Equal((@int, "Invalid kind:20"), (e.TypeId, e.Rule));
        var bigVlen = Patch(bytes, parsed[s].DataOffset + 4, (4u << 24) | 1000);
        e = Assert.Throws<BtfFormatException>(() => BtfSpec.Parse(bigVlen));
        Assert.StartsWith("meta_left", e.Rule, StringComparison.Ordinal);
        Assert.Equal(s, e.TypeId);
    }

    [Fact]
    public void TypeIdOutOfRange_IsRejected()
    {
        var (b, _, _, _) = Small();
        int p = b.AddPointer(99);
        var e = Rejects(b);
        Assert.Equal((p, "Invalid type_id"), (e.TypeId, e.Rule));
    }

    [Fact]
    public void IntRules()
    {
        var b = new BtfBuilder();
        int wide = b.AddInt("int", 4, BtfIntEncoding.Signed, bits: 40);
        Assert.Equal((wide, "nr_bits exceeds type_size"), (Rejects(b).TypeId, Rejects(b).Rule));
        b = new BtfBuilder();
        b.AddInt("int", 4, BtfIntEncoding.Signed | BtfIntEncoding.Char);
        Assert.Equal("Unsupported encoding", Rejects(b).Rule);
        b = new BtfBuilder();
        b.AddInt("int", 16, bits: 129);
        Assert.Equal("nr_bits exceeds 128", Rejects(b).Rule);
    }

    [Fact]
    public void MemberRules()
    {
        var (b, @int, s, _) = Small();
        b[s].Members[1] = new BtfMemberDefinition("b", @int, 96);
        Assert.Contains("exceeds its struct size", Rejects(b).Rule, StringComparison.Ordinal);

        (b, @int, s, _) = Small();
        b[s].Members[1] = new BtfMemberDefinition("b", @int, 0);
        b[s].Members[0] = new BtfMemberDefinition("a", @int, 32);
        Assert.Contains("Invalid member bits_offset", Rejects(b).Rule, StringComparison.Ordinal);

        (b, @int, _, _) = Small();
        b.AddUnion("u", 8, new BtfMemberDefinition("a", @int, 0), new BtfMemberDefinition("b", @int, 32));
        Assert.Contains("Invalid member bits_offset", Rejects(b).Rule, StringComparison.Ordinal);

        (b, @int, _, _) = Small();
        b.AddStruct("bits", 8, new BtfMemberDefinition("x", @int, 0, 40));
        Assert.Contains("Invalid member bitfield_size", Rejects(b).Rule, StringComparison.Ordinal);

        (b, _, s, _) = Small();
        b.AddStruct("outer", 16, new BtfMemberDefinition("x", s, 0, 3));
        Assert.Contains("not an int or enum", Rejects(b).Rule, StringComparison.Ordinal);

        (b, @int, _, _) = Small();
        b.AddStruct("odd", 8, new BtfMemberDefinition("x", @int, 4));
        Assert.Contains("not byte aligned", Rejects(b).Rule, StringComparison.Ordinal);

        (b, @int, _, _) = Small();
        b.AddStruct("fits", 8, new BtfMemberDefinition("x", @int, 0, 3), new BtfMemberDefinition("y", @int, 3, 29));
        b.Build().Validate();
    }

    [Fact]
    public void LoopsThroughPointersAndTypedefs_AreRejected()
    {
        var b = new BtfBuilder();
        int p = b.AddPointer(2);
        b.AddTypedef("loop_t", p);
        var e = Rejects(b);
        Assert.Equal("Loop detected", e.Rule);
    }

    [Fact]
    public void StructContainingItself_IsRejected_ButSelfPointerIsFine()
    {
        var b = new BtfBuilder();
        int @int = b.AddInt("int", 4, BtfIntEncoding.Signed);
        b.AddStruct("s", 8, new BtfMemberDefinition("a", @int, 0), new BtfMemberDefinition("self", 3, 32));
        b.AddConst(2);
        Assert.Equal("Loop detected", Rejects(b).Rule);

        b = new BtfBuilder();
        @int = b.AddInt("int", 4, BtfIntEncoding.Signed);
        int s = b.AddStruct("list", 16, new BtfMemberDefinition("a", @int, 0), new BtfMemberDefinition("next", 3, 64));
        b.AddPointer(4);
        b.AddConst(s);
        b.Build().Validate();
    }

    [Fact]
    public void NameRules()
    {
        var (b, @int, _, _) = Small();
        b.AddTypedef("1bad", @int);
        Assert.Equal("Invalid name", Rejects(b).Rule);
        (b, @int, _, _) = Small();
        b.Add(new BtfTypeDefinition(BtfKind.Const, "named") { SizeOrType = (uint)@int });
        Assert.Equal("Invalid name", Rejects(b).Rule);
        (b, @int, _, _) = Small();
        b.AddTypedef("ok.isra.0", @int);
        b.Build().Validate();
    }

    [Fact]
    public void FunctionAndPrototypeRules()
    {
        var (b, @int, _, _) = Small();
        b.AddFunction("f", @int);
        Assert.Contains("not a FUNC_PROTO", Rejects(b).Rule, StringComparison.Ordinal);

        (b, @int, _, _) = Small();
        b.AddFunctionProto(@int, new BtfParameterDefinition("", 0), new BtfParameterDefinition("x", @int));
        Assert.Equal("Invalid arg#1", Rejects(b).Rule);

        (b, @int, _, _) = Small();
        int proto = b.AddFunctionProto(@int, new BtfParameterDefinition("x", @int), new BtfParameterDefinition("", 0));
        b.AddFunction("ext", proto, BtfFunctionLinkage.Extern);
        Assert.Equal("Invalid func linkage", Rejects(b).Rule);
        BtfSpec.Parse(b.ToArray()).Validate(BtfValidationMode.ObjectFile);
    }

    [Fact]
    public void DataSectionAndEnumRules()
    {
        var (b, @int, _, _) = Small();
        b.AddDataSection(".data", 4, new BtfVariableSectionInfo(@int, 0, 4));
        Assert.Contains("Not a VAR kind member", Rejects(b).Rule, StringComparison.Ordinal);

        (b, @int, _, _) = Small();
        int v = b.AddVariable("v", @int);
        b.AddDataSection(".data", 4, new BtfVariableSectionInfo(v, 2, 4));
        Assert.Contains("Invalid offset+size", Rejects(b).Rule, StringComparison.Ordinal);

        (b, @int, _, _) = Small();
        v = b.AddVariable("v", @int);
        b.AddDataSection(".bss", 0, new BtfVariableSectionInfo(v, 0, 4));
        Assert.Equal("size == 0", Rejects(b).Rule);
        BtfSpec.Parse(b.ToArray()).Validate(BtfValidationMode.ObjectFile);

        (b, _, _, _) = Small();
        b.AddEnum("e", 3, false, new BtfEnumValueDefinition("A", 1));
        Assert.Equal("Unexpected size", Rejects(b).Rule);
    }

    [Fact]
    public void TagRules()
    {
        var (b, @int, s, _) = Small();
        b.AddDeclTag("tag", s, 2);
        Assert.Equal("Invalid component_idx", Rejects(b).Rule);

        (b, @int, _, _) = Small();
        int c = b.AddConst(@int);
        int tag = b.AddTypeTag("user", c);
        b.AddPointer(tag);
        b.Build().Validate();

        (b, @int, _, _) = Small();
        tag = b.AddTypeTag("user", @int);
        b.AddConst(tag);
        Assert.Equal("Type tags don't precede modifiers", Rejects(b).Rule);
    }

    [Fact]
    public void ArrayRules()
    {
        var (b, @int, s, _) = Small();
        b.AddArray(@int, s, 4);
        Assert.Equal("Invalid index", Rejects(b).Rule);
        (b, @int, _, _) = Small();
        b.AddArray(0, @int, 4);
        Assert.Equal("Invalid elem", Rejects(b).Rule);
        (b, @int, _, _) = Small();
        int big = b.AddArray(@int, @int, 0x8000_0000);
        Assert.Equal((big, "Array size overflows U32_MAX"), (Rejects(b).TypeId, Rejects(b).Rule));
    }

    [Fact]
    public void Exception_IsABpfExceptionNamingTypeAndRule()
    {
        var (b, _, _, _) = Small();
        int p = b.AddPointer(99);
        var e = Rejects(b);
        Assert.IsAssignableFrom<BpfException>(e);
        Assert.Contains($"type {p}", e.Message, StringComparison.Ordinal);
        Assert.Contains("Invalid type_id", e.Message, StringComparison.Ordinal);
    }
}
