using SharpBpf.Isa.Assembly;
using SharpBpf.Testing;
using SharpBpf.Verification;

namespace SharpBpf.Tests.Verification;

/// <summary>
/// The program-load flags as verifier options: their names, strict alignment as the kernel enforces it (packets as if
/// NET_IP_ALIGN were 2, map values, the stack always, atomics always), and the time limit.
/// </summary>
public class VerifierFlagsTests
{
    public static TheoryData<string> Names() => new(AlignmentCases.All.Select(c => c.Name));

    internal static VerifierResult Verify(ProgramType type, string source, VerifierFlags flags) =>
        Verifier.Verify(Assembler.Assemble(source), new VerifierOptions { ProgramType = type, Maps = AlignmentCases.Maps, Flags = flags });

    [Theory]
    [MemberData(nameof(Names))]
    public void Alignment_is_checked_as_the_kernel_checks_it(string name)
    {
        var (_, type, source, none, strict, both) = AlignmentCases.All.Single(c => c.Name == name);
        Assert.Equal(none, Verify(type, source, VerifierFlags.None).Error?.Message);
        Assert.Equal(strict, Verify(type, source, VerifierFlags.StrictAlignment).Error?.Message);
        Assert.Equal(both, Verify(type, source, VerifierFlags.StrictAlignment | VerifierFlags.AnyAlignment).Error?.Message);
        Assert.Equal(both, Verify(type, source, VerifierFlags.AnyAlignment).Error?.Message);
    }

    [Theory]
    [InlineData("BPF_F_STRICT_ALIGNMENT", VerifierFlags.StrictAlignment)]
    [InlineData("bpf_f_any_alignment", VerifierFlags.AnyAlignment)]
    [InlineData("TEST_STATE_FREQ", VerifierFlags.TestStateFrequency)]
    [InlineData("BPF_F_TEST_RND_HI32", VerifierFlags.TestRandomHigh32)]
    [InlineData("BPF_F_XDP_HAS_FRAGS", VerifierFlags.XdpHasFragments)]
    public void Flag_names_are_the_kernel_names(string name, VerifierFlags flag)
    {
        Assert.True(VerifierFlagNames.TryParse(name, out var parsed));
        Assert.Equal(flag, parsed);
    }

    [Theory]
    [InlineData("BPF_F_NOPE")]
    [InlineData("")]
    [InlineData("BPF_F_")]
    public void Unknown_flag_names_are_refused(string name) => Assert.False(VerifierFlagNames.TryParse(name, out _));

    [Fact]
    public void Test_state_frequency_still_accepts_and_checkpoints_more()
    {
        const string loop = """
            r1 = 0
            r2 = 0
            l:
            r2 += r1
            r1 += 1
            if r1 < 20 goto l
            r0 = r2
            exit
            """;
        var plain = Verify(ProgramType.SocketFilter, loop, VerifierFlags.None);
        var frequent = Verify(ProgramType.SocketFilter, loop, VerifierFlags.TestStateFrequency);
        Assert.True(plain.Accepted && frequent.Accepted);
        Assert.True(frequent.Statistics.TotalStates >= plain.Statistics.TotalStates);
    }

    [Fact]
    public void A_time_limit_stops_a_long_run_cleanly()
    {
        // A loop of 400,000 iterations: about 1.2 million instructions would be processed without the limit.
        const string loop = """
            r1 = 0
            l:
            r1 += 1
            if r1 < 400000 goto l
            r0 = 0
            exit
            """;
        var result = Verifier.Verify(Assembler.Assemble(loop), new VerifierOptions
        {
            ProgramType = ProgramType.SocketFilter,
            TimeLimit = TimeSpan.FromMilliseconds(1),
            MaxProcessedInstructions = int.MaxValue,
        });
        Assert.False(result.Accepted);
        Assert.Equal("verification time limit of 1 ms exceeded", result.Error!.Message);
        Assert.True(result.Statistics.Processed < 1_000_000);
    }
}
