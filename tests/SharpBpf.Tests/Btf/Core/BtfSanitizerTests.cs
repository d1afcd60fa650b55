using SharpBpf.Btf;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Btf.Core;

/// <summary>Rewriting an object's BTF for kernels without some BTF features, as libbpf does.</summary>
public sealed class BtfSanitizerTests
{
    // Ids of the test BTF's types.
    private const int Int = 1, Float = 2, TypeTag = 3, Pointer = 4, Proto = 5, StaticFunc = 6, GlobalFunc = 7, DeclTag = 8, ParamTag = 9;
    private const int SignedEnum = 10, Enum64 = 11, Counter = 12, Ratio = 13, Data = 14, Optional = 15, OptionalSection = 16, Struct = 17;

    /// <summary>BTF as a kernel would accept it, with every optional kind.</summary>
    private static BtfSpec EveryKind()
    {
        var b = new BtfBuilder();
        Assert.Equal(Int, b.AddInt("int", 4, BtfIntEncoding.Signed));
        Assert.Equal(Float, b.AddFloat("float", 4));
        Assert.Equal(TypeTag, b.AddTypeTag("user", Int));
        Assert.Equal(Pointer, b.AddPointer(TypeTag));
        Assert.Equal(Proto, b.AddFunctionProto(Int, new BtfParameterDefinition("a", Int), new BtfParameterDefinition("b", Pointer)));
        Assert.Equal(StaticFunc, b.AddFunction("helper", Proto, BtfFunctionLinkage.Static));
        Assert.Equal(GlobalFunc, b.AddFunction("prog", Proto, BtfFunctionLinkage.Global));
        Assert.Equal(DeclTag, b.AddDeclTag("hot", StaticFunc));
        Assert.Equal(ParamTag, b.AddDeclTag("nonnull", StaticFunc, 1));
        Assert.Equal(SignedEnum, b.AddEnum("delta", 4, true, new BtfEnumValueDefinition("NEG", -5), new BtfEnumValueDefinition("POS", 7)));
        Assert.Equal(Enum64, b.AddEnum64("wide", 8, false, new BtfEnumValueDefinition("W_SMALL", 1), new BtfEnumValueDefinition("W_BIG", 1L << 32)));
        Assert.Equal(Counter, b.AddVariable("counter", Int));
        Assert.Equal(Ratio, b.AddVariable("ratio", Float));
        Assert.Equal(Data, b.AddDataSection(".data", 8, new BtfVariableSectionInfo(Counter, 0, 4), new BtfVariableSectionInfo(Ratio, 4, 4)));
        Assert.Equal(Optional, b.AddVariable("opt", Int, BtfVariableLinkage.Static));
        Assert.Equal(OptionalSection, b.AddDataSection("?.data.opt", 4, new BtfVariableSectionInfo(Optional, 0, 4)));
        Assert.Equal(Struct, b.AddStruct("sample", 16, new BtfMemberDefinition("x", Int, 0), new BtfMemberDefinition("f", Float, 32), new BtfMemberDefinition("w", Enum64, 64)));
        return b.Build().Validate();
    }

    private static bool Forbidden(BtfType t, BtfFeatures missing) =>
        (missing.HasFlag(BtfFeatures.Function) && t.Kind is BtfKind.Function or BtfKind.FunctionProto)
        || (missing.HasFlag(BtfFeatures.GlobalFunction) && t.Kind == BtfKind.Function && t.FunctionLinkage != BtfFunctionLinkage.Static)
        || (missing.HasFlag(BtfFeatures.DataSection) && t.Kind is BtfKind.Variable or BtfKind.DataSection)
        || (missing.HasFlag(BtfFeatures.Float) && t.Kind == BtfKind.Float)
        || (missing.HasFlag(BtfFeatures.DeclTag) && t.Kind == BtfKind.DeclTag)
        || (missing.HasFlag(BtfFeatures.TypeTag) && t.Kind == BtfKind.TypeTag)
        || (missing.HasFlag(BtfFeatures.Enum64) && (t.Kind == BtfKind.Enum64 || (t.Kind == BtfKind.Enum && t.KindFlag)))
        || (missing.HasFlag(BtfFeatures.QuestionMarkDataSection) && t.Kind == BtfKind.DataSection && t.Name.StartsWith('?'));

    public static TheoryData<BtfFeatures> SingleFeatures() => new(
        BtfFeatures.Function, BtfFeatures.GlobalFunction, BtfFeatures.DataSection, BtfFeatures.Float, BtfFeatures.DeclTag,
        BtfFeatures.TypeTag, BtfFeatures.Enum64, BtfFeatures.QuestionMarkDataSection, BtfFeatures.All);

    [Theory]
    [MemberData(nameof(SingleFeatures))]
    public void SanitizedBtfValidatesKeepsIdsAndHasNoForbiddenKind(BtfFeatures missing)
    {
        // Kernels got decl tags long after functions: none has one without the other, and a decl tag on a
        // parameter needs the prototype.
        if (missing == BtfFeatures.Function) missing |= BtfFeatures.DeclTag;
        var original = EveryKind();
        Assert.Equal(BtfFeatures.All, BtfSanitizer.UsedFeatures(original));
        var sanitized = BtfSpec.Parse(BtfSanitizer.Sanitize(original, BtfFeatures.All & ~missing)).Validate();
        bool placeholder = missing.HasFlag(BtfFeatures.Enum64);
        Assert.Equal(original.TypeCount + (placeholder ? 1 : 0), sanitized.TypeCount);
        Assert.Equal(BtfFeatures.None, BtfSanitizer.UsedFeatures(sanitized) & missing);
        for (int id = 1; id < original.TypeCount; id++)
        {
            var before = original.GetType(id);
            var after = sanitized.GetType(id);
            Assert.False(Forbidden(after, missing), $"{after} is still there without {missing}");
            if (!Forbidden(before, missing) && !(missing.HasFlag(BtfFeatures.Function) && before.Kind == BtfKind.Function))
                Assert.Equal(before.Kind, after.Kind);
            // Sizes are what the kernel lays out: they must not change.
            if (after.Kind is BtfKind.Struct or BtfKind.Union or BtfKind.Int && before.Kind is not (BtfKind.Variable or BtfKind.DeclTag or BtfKind.DataSection))
                Assert.Equal(before.Size, after.Size);
        }
        if (placeholder)
        {
            var p = sanitized.GetType(original.TypeCount);
            Assert.Equal((BtfKind.Int, BtfSanitizer.Enum64Placeholder, 1u, 8), (p.Kind, p.Name, p.Size, p.IntBits));
        }
    }

    [Fact]
    public void ReplacementsAreTheOnesLibbpfMakes()
    {
        var original = EveryKind();
        var s = BtfSpec.Parse(BtfSanitizer.Sanitize(original, BtfFeatures.None)).Validate();
        Assert.Equal((BtfKind.Int, 1u, 8), (s[Counter].Kind, s[Counter].Size, s[Counter].IntBits));
        Assert.Equal(BtfKind.Int, s[DeclTag].Kind);
        var data = s[Data];
        Assert.Equal((BtfKind.Struct, "_data", 8u), (data.Kind, data.Name, data.Size));
        Assert.Equal([("counter", Counter, 0u), ("ratio", Ratio, 32u)], data.GetMembers().Select(m => (m.Name, m.TypeId, m.BitOffset)));
        Assert.Equal("__data_opt", s[OptionalSection].Name);
        Assert.Equal((BtfKind.Enum, 4u, 2), (s[Proto].Kind, s[Proto].Size, s[Proto].Vlen));
        Assert.Equal((BtfKind.Typedef, Proto), (s[GlobalFunc].Kind, s[GlobalFunc].ReferencedTypeId));
        Assert.Equal((BtfKind.Struct, "", 4u, 0), (s[Float].Kind, s[Float].Name, s[Float].Size, s[Float].Vlen));
        Assert.Equal((BtfKind.Const, "", Int), (s[TypeTag].Kind, s[TypeTag].Name, s[TypeTag].ReferencedTypeId));
        Assert.False(s[SignedEnum].KindFlag);
        var wide = s[Enum64];
        Assert.Equal((BtfKind.Union, 8u), (wide.Kind, wide.Size));
        Assert.All(wide.GetMembers(), m => Assert.Equal((original.TypeCount, 0u), (m.TypeId, m.BitOffset)));
        Assert.Equal(["W_SMALL", "W_BIG"], wide.GetMembers().Select(m => m.Name));
    }

    [Fact]
    public void OnlyTheQuestionMarkIsReplacedWhenDataSectionsAreSupported()
    {
        var s = BtfSpec.Parse(BtfSanitizer.Sanitize(EveryKind(), BtfFeatures.All & ~BtfFeatures.QuestionMarkDataSection));
        Assert.Equal((BtfKind.DataSection, "_.data.opt"), (s[OptionalSection].Kind, s[OptionalSection].Name));
        Assert.Equal(".data", s[Data].Name);
    }

    [Fact]
    public void GlobalFunctionsBecomeStaticWithoutGlobalLinkage()
    {
        var s = BtfSpec.Parse(BtfSanitizer.Sanitize(EveryKind(), BtfFeatures.All & ~BtfFeatures.GlobalFunction));
        Assert.Equal((BtfKind.Function, BtfFunctionLinkage.Static), (s[GlobalFunc].Kind, s[GlobalFunc].FunctionLinkage));
    }

    [Fact]
    public void FullySupportedBtfIsLeftAsItIs()
    {
        var original = EveryKind();
        Assert.False(BtfSanitizer.NeedsSanitizing(original, BtfFeatures.All));
        Assert.Equal(original.Data.ToArray(), BtfSanitizer.Sanitize(original, BtfFeatures.All));
    }

    [Fact]
    public void CompilerOutputIsSanitizedForTheOldestKernels()
    {
        // A clang-19 object's .BTF with every kind C can express.
        var original = BtfSpec.Parse(Fixtures.Read("btf", "kinds.btf"));
        var used = BtfSanitizer.UsedFeatures(original);
        Assert.True(used.HasFlag(BtfFeatures.DeclTag | BtfFeatures.TypeTag | BtfFeatures.Float | BtfFeatures.Enum64 | BtfFeatures.DataSection | BtfFeatures.Function));
        var sanitized = BtfSpec.Parse(BtfSanitizer.Sanitize(original, BtfFeatures.None));
        Assert.Equal(BtfFeatures.None, BtfSanitizer.UsedFeatures(sanitized));
        Assert.Equal(original.TypeCount + 1, sanitized.TypeCount);
        // Prototypes with unnamed parameters become enums with unnamed enumerators, which only pre-5.0 kernels took;
        // compiler output also has data sections of size 0 until libbpf lays them out from the ELF file. With those
        // two kept, the rest validates.
        BtfSpec.Parse(BtfSanitizer.Sanitize(original, BtfFeatures.Function | BtfFeatures.DataSection)).Validate(BtfValidationMode.ObjectFile);
    }
}
