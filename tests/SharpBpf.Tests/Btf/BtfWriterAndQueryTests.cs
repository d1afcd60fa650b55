using SharpBpf.Btf;
using SharpBpf.Testing;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Btf;

public class BtfWriterTests
{
    [Fact]
    public void Fixture_RoundTripsToIdenticalBytes()
    {
        var bytes = Fixtures.Read("btf", "kinds.btf");
        Assert.Equal(bytes, BtfBuilder.From(BtfSpec.Parse(bytes)).ToArray());
    }

    [SharedFact("samples")]
    public void Samples_EveryBtfSectionRoundTripsToIdenticalBytes()
    {
        int count = 0;
        foreach (var (name, bytes, _, _) in BtfTestEnvironment.SampleObjectsWithBtf())
        {
            var written = BtfBuilder.From(BtfSpec.Parse(bytes)).ToArray();
            Assert.True(bytes.AsSpan().SequenceEqual(written), $"{name}: round trip differs");
            count++;
        }
        Assert.True(count > 10);
    }

    [BtfRequiresVmlinuxFact]
    public void Vmlinux_RoundTripsToIdenticalBytes()
    {
        var bytes = File.ReadAllBytes(BtfTestEnvironment.VmlinuxPath);
        Assert.True(bytes.AsSpan().SequenceEqual(BtfBuilder.From(BtfSpec.Parse(bytes)).ToArray()));
    }

    [BtfRequiresVmlinuxFact]
    public void Builder_CanMimicAnOlderKernel()
    {
        var vmlinux = BtfTestEnvironment.Vmlinux;
        int task = vmlinux.FindId("task_struct", BtfKind.Struct);
        var current = vmlinux.FindMember(task, "__state");
        Assert.NotNull(current);

        var builder = BtfBuilder.From(vmlinux);
        var members = builder[task].Members;
        int index = members.FindIndex(m => m.Name == "__state");
        members[index] = members[index] with { Name = "state" };
        var old = builder.Build().Validate();

        Assert.Null(old.FindMember(task, "__state"));
        var state = old.FindMember(task, "state");
        Assert.NotNull(state);
        Assert.Equal(current.BitOffset, state.BitOffset);
        Assert.Equal(vmlinux.TypeCount, old.TypeCount);
    }

    [Fact]
    public void Builder_InternsEachStringOnce()
    {
        var b = new BtfBuilder();
        int @int = b.AddInt("int", 4, BtfIntEncoding.Signed);
        b.AddTypedef("same", @int);
        b.AddStruct("same", 4, new BtfMemberDefinition("int", @int, 0));
        var btf = b.Build().Validate();
        Assert.Equal(btf[2].NameOffset, btf[3].NameOffset);
        Assert.Equal(btf[1].NameOffset, btf[3].GetMember(0).NameOffset);
        Assert.Equal("\0int\0same\0"u8.ToArray(), btf.StringSection.ToArray());
    }
}

public class BtfQueryTests
{
    // Layout facts from `bpftool btf dump file kinds.bpf.o` (Fixtures/btf) and the C rules clang applied to kinds.bpf.c.
    private static readonly BtfSpec Kinds = BtfSpec.Parse(Fixtures.Read("btf", "kinds.btf"));

    [Fact]
    public void ResolveTypeId_FollowsTypedefsAndQualifiers()
    {
        Assert.Equal(17, Kinds.ResolveTypeId(16));
        Assert.Equal(10, Kinds.ResolveTypeId(9));
        Assert.Equal(26, Kinds.ResolveTypeId(24));
        Assert.Equal(3, Kinds.ResolveTypeId(36));
        Assert.Equal(6, Kinds.ResolveTypeId(6));
    }

    [Fact]
    public void FindMember_SearchesAnonymousMembersAndAccumulatesOffsets()
    {
        var hi = Kinds.FindMember(6, "hi");
        Assert.NotNull(hi);
        Assert.Equal(64 + 32, hi.BitOffset);
        Assert.Equal(15, hi.ContainerTypeId);
        Assert.Equal([1, 2, 1], hi.Path);
        Assert.Equal(64, Kinds.FindMember(6, "ip6")!.BitOffset);
        Assert.Equal(1344, Kinds.FindMember(6, "tail")!.BitOffset);
        Assert.Null(Kinds.FindMember(6, "nope"));
        Assert.Null(Kinds.FindMember(3, "x"));
        var d = Kinds.FindMember(27, "d");
        Assert.Equal((15L, 40), (d!.BitOffset, d.Member.BitfieldSize));
    }

    [Fact]
    public void SizeAndAlignment()
    {
        Assert.Equal(168, Kinds.GetSize(6));
        Assert.Equal(8, Kinds.GetAlignment(6));
        Assert.Equal(13, Kinds.GetSize(38));
        Assert.Equal(1, Kinds.GetAlignment(38));
        Assert.True(Kinds.IsPacked(38));
        Assert.False(Kinds.IsPacked(6));
        Assert.Equal((8L, 8), (Kinds.GetSize(27), Kinds.GetAlignment(27)));
        Assert.Equal(6, Kinds.GetSize(40));
        Assert.Equal(0, Kinds.GetSize(42));
        Assert.Equal(32, Kinds.GetSize(22));
        Assert.Equal(8, Kinds.GetSize(5));
        Assert.Equal(-1, Kinds.GetSize(18));
        Assert.Equal(-1, Kinds.GetSize(0));
        Assert.Equal(16, Kinds.GetSize(8));
        Assert.Equal(4, Kinds.GetSize(46));
        Assert.Equal(1, Kinds.GetAlignment(39));
    }
}
