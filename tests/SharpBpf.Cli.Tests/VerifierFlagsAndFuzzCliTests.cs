using SharpBpf.Testing;
using static SharpBpf.Cli.Tests.CliRunner;

namespace SharpBpf.Cli.Tests;

/// <summary><c>sharpbpf verify --flag/--time-limit</c> and <c>sharpbpf fuzz --verifier</c>: options, messages and exit codes.</summary>
public sealed class VerifierFlagsAndFuzzCliTests
{
    private static string ProjectObject(string name) => Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", name);

    [Fact]
    public void An_unknown_flag_is_bad_input_with_the_known_names()
    {
        var (code, _, error) = Run("verify", ProjectObject("tail_calls.o"), "--flag", "BPF_F_NOPE");
        Assert.Equal(2, code);
        Assert.Contains("unknown program-load flag 'BPF_F_NOPE'", error, StringComparison.Ordinal);
        Assert.Contains("BPF_F_STRICT_ALIGNMENT", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Strict_alignment_rejects_what_the_kernel_rejects_and_any_alignment_wins()
    {
        // tail_calls.o reads a 2-byte port at an offset that is odd once NET_IP_ALIGN (2) is added.
        var (code, output, _) = Run("verify", ProjectObject("tail_calls.o"), "--flag", "BPF_F_STRICT_ALIGNMENT");
        Assert.Equal(1, code);
        Assert.Contains("handle_tcp (xdp, Xdp): rejected at insn 20: misaligned packet access off 2+(0x0; 0xff)+0+12 size 2", output, StringComparison.Ordinal);
        Assert.Contains("handle_icmp (xdp, Xdp): accepted", output, StringComparison.Ordinal);

        var both = Run("verify", ProjectObject("tail_calls.o"), "--flag", "strict_alignment", "--flag", "BPF_F_ANY_ALIGNMENT");
        Assert.Equal(0, both.Code);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1e9")]
    [InlineData("soon")]
    public void A_bad_time_limit_is_bad_input(string value)
    {
        var (code, _, error) = Run("verify", ProjectObject("tail_calls.o"), "--time-limit", value);
        Assert.Equal(2, code);
        Assert.NotEmpty(error);
    }

    [SharedFact("samples")]
    public void A_time_limit_stops_verification_cleanly_with_a_message()
    {
        // bounded_loop.o processes about 42,000 instructions; a millisecond is not enough.
        string path = Path.Combine(SharedData.Folder("samples")!, "build", "bounded_loop.o");
        var (code, output, error) = Run("verify", path, "--time-limit", "0.001");
        Assert.Equal(1, code);
        Assert.Empty(error);
        Assert.Contains("rejected at insn", output, StringComparison.Ordinal);
        Assert.Contains("verification time limit of 1 ms exceeded", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Verifier_fuzzing_reports_accept_rate_and_soundness()
    {
        var (code, output, error) = Run("fuzz", "--verifier", "--cases", "200", "--seed", "7");
        Assert.True(code == 0, error + output);
        Assert.Matches(@"200 programs in [0-9.]+ s \(verifier [0-9.]+ s\)", output);
        Assert.Matches(@"we accept \d+ \([0-9.]+%\); soundness: \d+ runs of accepted programs, 0 faulted", output);
    }

    [Fact]
    public void Verifier_fuzzing_stops_at_its_time_limit()
    {
        var (code, output, _) = Run("fuzz", "--verifier", "--cases", "100000000", "--time-limit", "0.5");
        Assert.Equal(0, code);
        Assert.Matches(@"time limit of 0\.5 s reached after \d+ programs", output);
    }

    [Theory]
    [InlineData("--cases", "0")]
    [InlineData("--runs", "0")]
    [InlineData("--time-limit", "-3")]
    public void Fuzz_bad_numbers_are_bad_input(string option, string value)
    {
        var (code, _, error) = Run("fuzz", "--verifier", option, value);
        Assert.Equal(2, code);
        Assert.Contains(option, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Kernel_without_verifier_is_bad_input() => Assert.Equal(2, Run("fuzz", "--kernel", "--cases", "1").Code);
}
