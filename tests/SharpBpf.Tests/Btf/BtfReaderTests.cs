using System.Diagnostics;
using SharpBpf.Btf;
using SharpBpf.Testing;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Btf;

public class BtfReaderTests
{
    // Facts below about kinds.btf come from `bpftool btf dump file kinds.bpf.o` (see Fixtures/btf/regenerate.sh).
    private static BtfSpec Kinds() => BtfSpec.Parse(Fixtures.Read("btf", "kinds.btf")).Validate(BtfValidationMode.ObjectFile);

    [Fact]
    public void Fixture_StructMembersMatchBpftool()
    {
        var btf = Kinds();
        var node = btf[6];
        Assert.Equal(BtfKind.Struct, node.Kind);
        Assert.Equal("node", node.Name);
        Assert.Equal(168u, node.Size);
        Assert.Equal(17, node.Vlen);
        var members = node.GetMembers();
        Assert.Equal(["next", "", "visit", "handlers", "name", "fl", "col", "sv", "w", "ws", "ratio", "scale", "uptr", "hdr", "matrix", "children", "tail"],
            members.Select(m => m.Name));
        Assert.Equal(new uint[] { 0, 64, 192, 256, 512, 576, 640, 672, 704, 768, 832, 896, 960, 1024, 1128, 1216, 1344 }, members.Select(m => m.BitOffset));
        Assert.Equal(40, btf[6].GetMember(14).TypeId);
    }

    [Fact]
    public void Fixture_BitfieldsIntsEnumsAndArraysMatchBpftool()
    {
        var btf = Kinds();
        var flags = btf[27];
        Assert.True(flags.KindFlag);
        Assert.Equal([(0u, 3), (3u, 5), (8u, 7), (15u, 40), (56u, 0)], flags.GetMembers().Select(m => (m.BitOffset, m.BitfieldSize)));

        var i = btf[3];
        Assert.Equal((BtfKind.Int, "int", 4u, BtfIntEncoding.Signed, 32, 0), (i.Kind, i.Name, i.Size, i.IntEncoding, i.IntBits, i.IntBitOffset));
        Assert.Equal(BtfIntEncoding.None, btf[10].IntEncoding);

        var sv = btf[31];
        Assert.True(sv.KindFlag);
        Assert.Equal([("NEG", -5L), ("POS", 7L)], sv.GetEnumValues().Select(v => (v.Name, v.Value)));
        var wide = btf[33];
        Assert.Equal(BtfKind.Enum64, wide.Kind);
        Assert.Equal(-4294967297L, wide.GetEnumValue(0).Value);
        Assert.Equal(4294967296UL, btf[32].GetEnumValue(1).RawValue);

        Assert.Equal(new BtfArrayInfo(39, 14, 2), btf[40].Array);
        Assert.Equal(new BtfArrayInfo(3, 14, 0), btf[42].Array);
        Assert.Equal(BtfKind.TypeTag, btf[36].Kind);
        Assert.Equal("user", btf[36].Name);
        Assert.Equal((BtfKind.DeclTag, "arg_tag", 44, 0), (btf[45].Kind, btf[45].Name, btf[45].ReferencedTypeId, btf[45].ComponentIndex));
        Assert.Equal(-1, btf[7].ComponentIndex);
        Assert.Equal((BtfKind.Function, BtfFunctionLinkage.Static), (btf[44].Kind, btf[44].FunctionLinkage));
        Assert.Equal(BtfFunctionLinkage.Global, btf[4].FunctionLinkage);
        Assert.Equal(["n", "x"], btf[43].GetParameters().Select(p => p.Name));
        Assert.Equal((BtfKind.Variable, BtfVariableLinkage.GlobalAllocated, 3), (btf[46].Kind, btf[46].VariableLinkage, btf[46].ReferencedTypeId));
        Assert.Equal((BtfKind.Float, 8u), (btf[35].Kind, btf[35].Size));
    }

    [Fact]
    public void Fixture_DataSectionsListTheirVariables()
    {
        var btf = Kinds();
        var data = btf.Find(".data", BtfKind.DataSection);
        var counter = Assert.Single(data.GetVariables());
        Assert.Equal("counter", btf[counter.TypeId].Name);
        Assert.Equal(4u, counter.Size);
        var nodes = btf.Find(".data.nodes", BtfKind.DataSection);
        Assert.Equal(168u, nodes.GetVariable(0).Size);
    }

    [Fact]
    public void FindByName_ReturnsEveryTypeWithTheName()
    {
        var btf = Kinds();
        Assert.Equal([6], btf.FindByName("node"));
        Assert.Empty(btf.FindByName("no_such_type"));
        Assert.Equal(-1, btf.FindId("node", BtfKind.Union));
        Assert.Throws<KeyNotFoundException>(() => btf.Find("node", BtfKind.Enum));
    }

    [Fact]
    public void Builder_EveryKindReadsBack()
    {
        var b = new BtfBuilder();
        int @int = b.AddInt("int", 4, BtfIntEncoding.Signed);
        int ptr = b.AddPointer(@int);
        int arr = b.AddArray(@int, @int, 3);
        int st = b.AddStruct("s", 16, new BtfMemberDefinition("a", @int, 0), new BtfMemberDefinition("p", ptr, 64));
        int un = b.AddUnion("u", 4, new BtfMemberDefinition("x", @int, 0));
        int en = b.AddEnum("e", 4, false, new BtfEnumValueDefinition("E0", 0), new BtfEnumValueDefinition("E1", 0xffffffff));
        int fwd = b.AddForward("later", isUnion: true);
        int td = b.AddTypedef("myint", @int);
        int vol = b.AddVolatile(@int);
        int cst = b.AddConst(vol);
        int rst = b.AddRestrict(ptr);
        int proto = b.AddFunctionProto(@int, new BtfParameterDefinition("x", @int), new BtfParameterDefinition("", 0));
        int fn = b.AddFunction("f", proto, BtfFunctionLinkage.Static);
        int var = b.AddVariable("v", @int);
        int sec = b.AddDataSection(".data", 4, new BtfVariableSectionInfo(var, 0, 4));
        int flt = b.AddFloat("double", 8);
        int dtag = b.AddDeclTag("tag", st, 1);
        int ttag = b.AddTypeTag("user", @int);
        int e64 = b.AddEnum64("e64", 8, true, new BtfEnumValueDefinition("BIG", long.MinValue));
        var btf = b.Build().Validate();

        Assert.Equal(20, btf.TypeCount);
        var kinds = new[] { @int, ptr, arr, st, un, en, fwd, td, vol, cst, rst, fn, proto, var, sec, flt, dtag, ttag, e64 }.Select(id => btf[id].Kind);
        Assert.Equal(Enumerable.Range(1, 19).Select(k => (BtfKind)k).Order(), kinds.Order());
        Assert.True(btf[fwd].KindFlag);
        Assert.Equal(vol, btf[cst].ReferencedTypeId);
        Assert.Equal(4294967295UL, btf[en].GetEnumValue(1).RawValue);
        Assert.Equal(long.MinValue, btf[e64].GetEnumValue(0).Value);
        Assert.Equal(0, btf[proto].GetParameter(1).TypeId);
        Assert.Equal(BtfFunctionLinkage.Static, btf[fn].FunctionLinkage);
        Assert.Equal(1, btf[dtag].ComponentIndex);
        Assert.Equal("[0] void", btf[0].ToString());
        Assert.Equal(BtfKind.Void, btf[0].Kind);
        Assert.Throws<InvalidOperationException>(() => btf[en].GetMember(0));
        Assert.Throws<InvalidOperationException>(() => btf[st].Array);
        Assert.Throws<ArgumentOutOfRangeException>(() => btf[st].GetMember(2));
        Assert.Throws<BtfFormatException>(() => btf[20]);
        Assert.Throws<BtfFormatException>(() => btf[-1]);
    }

    [Fact]
    public void SplitBtf_ContinuesTypeIdsAndStringOffsetsFromTheBase()
    {
        var baseBuilder = new BtfBuilder();
        int @int = baseBuilder.AddInt("int", 4, BtfIntEncoding.Signed);
        int task = baseBuilder.AddStruct("task", 4, new BtfMemberDefinition("pid", @int, 0));
        var baseBtf = baseBuilder.Build();

        var split = new BtfBuilder(baseBtf);
        int ptr = split.AddPointer(task);
        int mod = split.AddStruct("module_thing", 8, new BtfMemberDefinition("owner", ptr, 0));
        var bytes = split.ToArray();
        var btf = BtfSpec.Parse(bytes, baseBtf).Validate();

        Assert.Equal(3, btf.FirstTypeId);
        Assert.Equal(3, ptr);
        Assert.Equal(5, btf.TypeCount);
        Assert.Equal("task", btf[btf[ptr].ReferencedTypeId].Name);
        Assert.Equal("module_thing", btf[mod].Name);
        Assert.True(btf[mod].NameOffset >= baseBtf.StringSection.Length, "split string offsets start after the base's strings");
        Assert.Equal([task], btf.FindByName("task"));
        Assert.Equal([mod], btf.FindByName("module_thing"));
        // The split blob alone is not valid: its string section does not start with "" and it refers to base ids.
        Assert.Throws<BtfFormatException>(() => BtfSpec.Parse(bytes).Validate());
    }

    [Fact]
    public void BigEndianBtf_IsConvertedAndReadsTheSame()
    {
        var little = BtfSpec.Parse(Fixtures.Read("btf", "kinds.btf"));
        var bigBytes = BtfBuilder.From(little).ToArray(bigEndian: true);
        Assert.Equal([0xEB, 0x9F], bigBytes[..2]);
        var big = BtfSpec.Parse(bigBytes).Validate(BtfValidationMode.ObjectFile);
        Assert.True(big.IsBigEndian);
        Assert.Equal(little.TypeCount, big.TypeCount);
        Assert.Equal(little.Data.ToArray(), big.Data.ToArray());
    }

    [Fact]
    public void BtfExt_FixtureHasFuncLineAndCoreRecords()
    {
        var btf = Kinds();
        var ext = BtfExt.Parse(Fixtures.Read("btf", "kinds.btf.ext"), btf);
        var funcs = ext.FuncInfo.SelectMany(s => s.Records.Select(r => (s.SectionName, btf[r.TypeId].Name))).ToList();
        Assert.Contains(("xdp", "prog"), funcs);
        Assert.Contains((".text", "helper"), funcs);
        Assert.All(ext.FuncInfo.SelectMany(s => s.Records), r => Assert.Equal(BtfKind.Function, btf[r.TypeId].Kind));
        var lines = ext.LineInfo.Single(s => s.SectionName == "xdp").Records;
        Assert.Contains(lines, l => l.FileName.EndsWith("kinds.bpf.c", StringComparison.Ordinal) && l.LineText.Contains("counter++", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Equal(0u, l.InstructionOffset % 8));
        Assert.Empty(ext.CoreRelocations.SelectMany(s => s.Records));
    }

    [SharedFact("samples")]
    public void Samples_EveryBtfSectionParsesValidatesAndItsExtIsConsistent()
    {
        int count = 0;
        foreach (var (name, bytes, extBytes, elf) in BtfTestEnvironment.SampleObjectsWithBtf())
        {
            var btf = BtfSpec.Parse(bytes).Validate(BtfValidationMode.ObjectFile);
            count++;
            if (extBytes is null) continue;
            var ext = BtfExt.Parse(extBytes, btf);
            foreach (var s in ext.FuncInfo)
            {
                Assert.True(elf.FindSection(s.SectionName) is not null, $"{name}: func info for missing section {s.SectionName}");
                foreach (var r in s.Records)
                {
                    Assert.Equal(BtfKind.Function, btf[r.TypeId].Kind);
                    Assert.True(r.InstructionOffset % 8 == 0 && r.InstructionOffset < (ulong)elf.FindSection(s.SectionName)!.Size, $"{name}: func info offset {r.InstructionOffset}");
                }
            }
            foreach (var s in ext.LineInfo)
            {
                foreach (var r in s.Records)
                    Assert.True(r.InstructionOffset < (ulong)elf.FindSection(s.SectionName)!.Size, $"{name}: line info offset {r.InstructionOffset}");
            }
            foreach (var r in ext.CoreRelocations.SelectMany(s => s.Records))
            {
                Assert.True(btf.IsValidTypeId(r.TypeId));
                Assert.True(Enum.IsDefined(r.Kind), $"{name}: CO-RE kind {r.Kind}");
            }
        }
        Assert.True(count > 10, $"only {count} sample objects with .BTF");
    }

    [BtfRequiresVmlinuxFact]
    public void Vmlinux_ParsesQuicklyAndValidates()
    {
        var bytes = File.ReadAllBytes(BtfTestEnvironment.VmlinuxPath);
        double best = double.MaxValue;
        BtfSpec? btf = null;
        for (int i = 0; i < 5; i++)
        {
            var sw = Stopwatch.StartNew();
            btf = BtfSpec.Parse(bytes);
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
        }
        Assert.True(best < 100, $"parsing vmlinux took {best:F1} ms");
        btf!.Validate();
        Assert.True(btf.TypeCount > 10_000);
        var task = btf.Find("task_struct", BtfKind.Struct);
        Assert.True(task.Size > 1000);
        Assert.NotNull(btf.FindMember(task.Id, "pid"));
        Assert.Equal(8, btf.PointerSize);
        Assert.Equal(4, btf.GetSize(btf.FindId("int", BtfKind.Int)));
    }

    [BtfRequiresVmlinuxFact]
    public void ModuleBtf_ParsesAsSplitBtfOnTopOfVmlinux()
    {
        var modules = Directory.EnumerateFiles("/sys/kernel/btf").Where(p => Path.GetFileName(p) != "vmlinux").Take(20).ToList();
        if (modules.Count == 0)
        {
            // This kernel has no module BTF; exercise the same path with vmlinux-based split BTF built here.
            var split = new BtfBuilder(BtfTestEnvironment.Vmlinux);
            int task = BtfTestEnvironment.Vmlinux.FindId("task_struct", BtfKind.Struct);
            int ptr = split.AddPointer(task);
            var btf = BtfSpec.Parse(split.ToArray(), BtfTestEnvironment.Vmlinux).Validate();
            Assert.Equal(BtfTestEnvironment.Vmlinux.TypeCount, ptr);
            Assert.Equal("task_struct", btf[btf[ptr].ReferencedTypeId].Name);
            return;
        }
        foreach (string path in modules)
        {
            var btf = BtfSpec.Load(path, BtfTestEnvironment.Vmlinux).Validate();
            Assert.Equal(BtfTestEnvironment.Vmlinux.TypeCount, btf.FirstTypeId);
        }
    }
}

public class BtfExtCoreTests
{
    [Fact]
    public void CoreRelocations_MatchTheSourceAccesses()
    {
        // core.bpf.c: t->tgid, t->times.start, field-exists on t->times.flags, sizeof(*t), enum value SLEEPING.
        var btf = BtfSpec.Parse(Fixtures.Read("btf", "core.btf")).Validate(BtfValidationMode.ObjectFile);
        var ext = BtfExt.Parse(Fixtures.Read("btf", "core.btf.ext"), btf);
        var section = Assert.Single(ext.CoreRelocations);
        Assert.Equal("kprobe/do_exit", section.SectionName);
        var relocations = section.Records.Select(r => (btf[r.TypeId].Name, r.AccessString, r.Kind)).ToHashSet();
        Assert.Contains(("task", "0:1", BtfCoreRelocationKind.FieldByteOffset), relocations);
        Assert.Contains(("task", "0:2:0", BtfCoreRelocationKind.FieldByteOffset), relocations);
        Assert.Contains(("task", "0:2:1", BtfCoreRelocationKind.FieldExists), relocations);
        Assert.Contains(("task", "0", BtfCoreRelocationKind.TypeSize), relocations);
        Assert.Contains(("state", "1", BtfCoreRelocationKind.EnumValue), relocations);
        Assert.All(section.Records, r => Assert.Equal(0u, r.InstructionOffset % 8));
        Assert.Equal("probe", btf[Assert.Single(Assert.Single(ext.FuncInfo).Records).TypeId].Name);
    }

    [Fact]
    public void Malformed_IsRejectedWithOffsets()
    {
        var btf = BtfSpec.Parse(Fixtures.Read("btf", "core.btf"));
        var ext = Fixtures.Read("btf", "core.btf.ext");
        var badMagic = (byte[])ext.Clone();
        badMagic[0] = 0;
        Assert.Equal(0, Assert.Throws<BtfFormatException>(() => BtfExt.Parse(badMagic, btf)).Offset);
        var truncated = ext[..(ext.Length - 3)];
        Assert.Throws<BtfFormatException>(() => BtfExt.Parse(truncated, btf));
        var badRecordSize = (byte[])ext.Clone();
        int funcInfoStart = BitConverter.ToInt32(ext, 4) + BitConverter.ToInt32(ext, 8);
        badRecordSize[funcInfoStart] = 3;
        Assert.Contains("record size", Assert.Throws<BtfFormatException>(() => BtfExt.Parse(badRecordSize, btf)).Rule, StringComparison.Ordinal);
    }
}
