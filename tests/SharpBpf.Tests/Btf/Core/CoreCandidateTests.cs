using SharpBpf.Btf;
using SharpBpf.Btf.Core;

namespace SharpBpf.Tests.Btf.Core;

/// <summary>Candidate search by essential name, ambiguity, conflicts and failures, on targets built for the case.</summary>
public sealed class CoreCandidateTests
{
    private static readonly Lazy<SharpBpf.Objects.BpfObject> Probe = new(() => CoreTestSupport.ProjectObject("core_probe.o"));

    /// <summary>A target with task_struct (pid at <paramref name="pid"/>) and, when asked, a flavour task_struct___2.</summary>
    private static BtfSpec Target(int pid, int? flavourPid = null, bool flavourPidIsLong = false, bool flavourHasTgidOnly = false, uint? bitfieldBase = null, int bitfieldBit = 0, int bitfieldSize = 1)
    {
        var b = new BtfBuilder();
        int @int = b.AddInt("int", 4, BtfIntEncoding.Signed);
        int @long = b.AddInt("long int", 8, BtfIntEncoding.Signed);
        int u32 = b.AddInt("unsigned int", 4);
        int u64 = b.AddInt("long long unsigned int", 8);
        var members = new List<BtfMemberDefinition> { new("pid", @int, (uint)pid * 8), new("tgid", @int, (uint)(pid + 4) * 8) };
        if (bitfieldBase is { } width) members.Add(new BtfMemberDefinition("in_execve", width == 8 ? u64 : u32, (uint)bitfieldBit, bitfieldSize));
        b.AddStruct("task_struct", 4096, [.. members]);
        if (flavourPid is { } fp)
        {
            b.AddStruct("task_struct___2", 4096, flavourHasTgidOnly
                ? [new BtfMemberDefinition("tgid", @int, (uint)(pid + 4) * 8)]
                : [new BtfMemberDefinition("pid", flavourPidIsLong ? @long : @int, (uint)fp * 8), new BtfMemberDefinition("tgid", @int, (uint)(pid + 4) * 8)]);
        }
        return b.Build();
    }

    private static CoreRelocationReport Pid(CoreResult result) =>
        result.Relocations.First(r => r.FunctionName == "on_exec" && r.Kind == BtfCoreRelocationKind.FieldByteOffset && r.LocalSpec.Contains("task_struct.pid ", StringComparison.Ordinal));

    [Theory]
    [InlineData("task_struct___old", 11)]
    [InlineData("task_struct", 11)]
    [InlineData("a___b___c", 5)]
    [InlineData("x____y", 6)]
    [InlineData("___x", 4)]
    [InlineData("abc___", 6)]
    public void EssentialNameDropsTheLastFlavourSuffix(string name, int expected) =>
        Assert.Equal(expected, CoreTypes.EssentialNameLength(System.Text.Encoding.UTF8.GetBytes(name)));

    [Fact]
    public void FlavouredTargetTypesAreCandidatesToo()
    {
        var result = CoreRelocator.Apply(Probe.Value, Target(100, flavourPid: 100));
        var pid = Pid(result);
        Assert.Equal(CoreRelocationOutcome.Patched, pid.Outcome);
        Assert.Equal(2, pid.Candidates.Count(c => c.Matched));
        Assert.Equal(100ul, pid.NewValue);
    }

    [Fact]
    public void CandidatesGivingDifferentOffsetsAreAnAmbiguityFailure()
    {
        var result = CoreRelocator.Apply(Probe.Value, Target(100, flavourPid: 200));
        var pid = Pid(result);
        Assert.Equal(CoreRelocationOutcome.Failed, pid.Outcome);
        Assert.Contains("field offset ambiguity", pid.Reason, StringComparison.Ordinal);
        Assert.False(result.Succeeded);
        Assert.False(result.FindProgram("on_exec")!.Succeeded);
        Assert.True(result.FindProgram("on_fork")!.Succeeded);
    }

    [Fact]
    public void CandidatesGivingDifferentValuesAreAConflictFailure()
    {
        // Two flavours of pid_type both have PIDTYPE_SID, with different values.
        var b = new BtfBuilder();
        b.AddEnum("pid_type", 4, false, new BtfEnumValueDefinition("PIDTYPE_SID", 3));
        b.AddEnum("pid_type___2", 4, false, new BtfEnumValueDefinition("PIDTYPE_SID", 5));
        var result = CoreRelocator.Apply(Probe.Value, b.Build());
        var value = result.Relocations.First(r => r.Kind == BtfCoreRelocationKind.EnumValue);
        Assert.Equal(CoreRelocationOutcome.Failed, value.Outcome);
        Assert.Contains("relocation decision ambiguity", value.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NonMatchingCandidatesArePrunedForLaterRelocations()
    {
        // task_struct___2 has no pid: the first pid relocation drops it, so the tgid relocation that follows only
        // tries task_struct, as libbpf's candidate cache does.
        var result = CoreRelocator.Apply(Probe.Value, Target(100, flavourPid: 0, flavourHasTgidOnly: true));
        var pid = Pid(result);
        Assert.Equal([true, false], pid.Candidates.Select(c => c.Matched));
        var tgid = result.Relocations.First(r => r.FunctionName == "on_exec" && r.LocalSpec.Contains("task_struct.tgid ", StringComparison.Ordinal));
        Assert.Single(tgid.Candidates);
        Assert.Equal(104ul, tgid.NewValue);
    }

    [Fact]
    public void BitfieldThatNoLoadCanHoldFails()
    {
        // Two bits from bit 63 of a u64: no aligned 8-byte load contains both.
        var result = CoreRelocator.Apply(Probe.Value, Target(100, bitfieldBase: 8, bitfieldBit: (1192 * 8) + 63, bitfieldSize: 2));
        var r = result.Relocations.First(x => x.FunctionName == "on_exec" && x.LocalSpec.Contains("in_execve", StringComparison.Ordinal));
        Assert.Equal(CoreRelocationOutcome.Failed, r.Outcome);
        Assert.Contains("can't be satisfied for bitfield", r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyTargetPoisonsFieldReadsAndAnswersNoToExistenceChecks()
    {
        var b = new BtfBuilder();
        b.AddInt("int", 4, BtfIntEncoding.Signed);
        var result = CoreRelocator.Apply(Probe.Value, b.Build());
        Assert.True(result.Succeeded);
        foreach (var r in result.Relocations)
        {
            Assert.Empty(r.Candidates);
            var expected = r.Kind switch
            {
                BtfCoreRelocationKind.FieldExists or BtfCoreRelocationKind.EnumValueExists or BtfCoreRelocationKind.TypeMatches => CoreRelocationOutcome.Patched,
                _ => CoreRelocationOutcome.Poisoned,
            };
            Assert.Equal(expected, r.Outcome);
            if (expected == CoreRelocationOutcome.Patched) Assert.Equal(0ul, r.NewValue);
            else Assert.Contains("no type named", r.Reason, StringComparison.Ordinal);
        }
    }
}
