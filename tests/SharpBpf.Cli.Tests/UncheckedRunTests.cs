using SharpBpf.Testing;
using static SharpBpf.Cli.Tests.CliRunner;

namespace SharpBpf.Cli.Tests;

/// <summary><c>run</c> verifies first and runs unchecked; <c>--no-verify</c>, <c>--stats</c>; <c>conformance --unchecked</c>.</summary>
public class UncheckedRunTests
{
    private static string Object(string name) => Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", name);

    private static string Traffic => Path.Combine(SharedData.RepositoryRoot, "bpf", "pcap", "traffic.pcap");

    private static string Summary(string output) => output.Split('\n').Single(l => l.StartsWith("356 packets: ", StringComparison.Ordinal));

    [Fact]
    public void Run_verifies_by_default_and_runs_the_unchecked_jit()
    {
        var (code, output, error) = Run("run", Object("xdp_firewall.o"), "--pcap", Traffic);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Contains("; engine jit, unchecked (verified)\n", output);

        var (checkedCode, checkedOutput, _) = Run("run", Object("xdp_firewall.o"), "--pcap", Traffic, "--no-verify");
        Assert.Equal(0, checkedCode);
        Assert.Contains("; engine jit, checked\n", checkedOutput);
        Assert.Equal(Summary(checkedOutput), Summary(output));

        var (_, interpreted, _) = Run("run", Object("xdp_firewall.o"), "--pcap", Traffic, "--engine", "interpreter");
        Assert.Contains("; engine interpreter, unchecked (verified)\n", interpreted);
        Assert.Equal(Summary(checkedOutput), Summary(interpreted));
    }

    [Fact]
    public void Stats_report_verification_and_compile_times()
    {
        var (code, output, _) = Run("run", Object("xdp_firewall.o"), "--pcap", Traffic, "--stats");
        Assert.Equal(0, code);
        string stats = output.Split('\n').Single(l => l.StartsWith("stats:", StringComparison.Ordinal));
        Assert.Matches(@"^stats: verify_ms=[\d.]+ verify_processed_insns=\d+ jit_compile_ms=[\d.]+ jit_compile_ms_per_1000_insns=[\d.]+ runs=356 first_run_us=[\d.]+ ns_per_run=[\d.]+$", stats);

        var (_, json, _) = Run("run", Object("xdp_firewall.o"), "--pcap", Traffic, "--stats", "--json", "--no-verify", "--engine", "interpreter");
        using var document = System.Text.Json.JsonDocument.Parse(json);
        var figures = document.RootElement.GetProperty("stats");
        Assert.False(figures.TryGetProperty("verify_ms", out _));
        Assert.False(figures.TryGetProperty("jit_compile_ms", out _));
        Assert.Equal(356, figures.GetProperty("runs").GetInt32());
        Assert.Equal("interpreter, checked", document.RootElement.GetProperty("engine").GetString());
    }

    [SharedFact("samples")]
    public void A_program_the_verifier_rejects_is_refused_unless_verification_is_off()
    {
        string sample = Path.Combine(SharedData.Folder("samples")!, "build", "correlated_branch.o");
        var (code, output, error) = Run("run", sample, "--packet", "ffffffffffff0200000000010800" + new string('0', 80));
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.StartsWith("sharpbpf: the verifier rejects program 'ConvergedBranch': insn ", error);
        Assert.Contains("--no-verify runs it in the checked engine", error);

        var (checkedCode, checkedOutput, _) = Run("run", sample, "--packet", "ffffffffffff0200000000010800" + new string('0', 80), "--no-verify");
        Assert.Contains("; engine jit, checked\n", checkedOutput);
        Assert.True(checkedCode is 0 or 1, checkedOutput);
    }

    [Fact]
    public void Conformance_runs_the_cases_the_verifier_accepts_unchecked()
    {
        foreach (var engine in new[] { "jit", "interpreter" })
        {
            var (code, output, _) = Run("conformance", "--unchecked", "--engine", engine);
            Assert.Equal(0, code);
            var lines = output.TrimEnd().Split('\n');
            Assert.Matches(@"^\d+ passed, 0 failed$", lines[^2]);
            var counts = System.Text.RegularExpressions.Regex.Match(lines[^1], @"^(\d+) of (\d+) cases ran unchecked \(accepted by the verifier\), the others checked$");
            Assert.True(counts.Success, lines[^1]);
            Assert.InRange(int.Parse(counts.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1, int.Parse(counts.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
