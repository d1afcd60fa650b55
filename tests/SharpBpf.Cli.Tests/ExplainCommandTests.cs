using System.Net;
using SharpBpf.Testing;
using static SharpBpf.Cli.Tests.CliRunner;

namespace SharpBpf.Cli.Tests;

/// <summary><c>sharpbpf explain LOGFILE</c> and <c>sharpbpf verify OBJECT --explain PAGE</c>.</summary>
public sealed class ExplainCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpbpf-explain-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Fixture(string name) => Path.Combine(SharedData.RepositoryRoot, "tests", "SharpBpf.Tests", "Fixtures", "explain", name);

    [Fact]
    public void Explain_renders_a_kernel_log_as_a_page()
    {
        string page = Path.Combine(_dir, "kernel.html");
        var (code, output, error) = Run("explain", Fixture("unbounded_index.level2.log"), "-o", page);
        Assert.True(code == 0, error);
        Assert.StartsWith("unbounded_index.level2: rejected at insn 11: R0 unbounded memory access, make sure to bounds check any such access", output, StringComparison.Ordinal);
        Assert.Contains($"{page} written ({new FileInfo(page).Length} bytes)", output, StringComparison.Ordinal);
        string html = WebUtility.HtmlDecode(File.ReadAllText(page));
        Assert.Contains("States from the kernel verifier log.", html, StringComparison.Ordinal);
        Assert.Contains("11: (79) r1 = *(u64 *)(r0 +8)", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_names_the_page_after_the_log_and_the_program_as_asked()
    {
        string log = Path.Combine(_dir, "rejection.log");
        File.Copy(Fixture("callee_offset.level1.log"), log);
        var (code, output, error) = Run("explain", log, "--program", "callee_offset");
        Assert.True(code == 0, error);
        Assert.StartsWith("callee_offset: rejected at insn 11: value -2147483648 makes pkt pointer be out of bounds", output, StringComparison.Ordinal);
        Assert.Contains("<title>SharpBPF explain - callee_offset: rejected</title>", File.ReadAllText(Path.Combine(_dir, "rejection.html")), StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_of_a_missing_log_is_bad_input()
    {
        var (code, _, error) = Run("explain", Path.Combine(_dir, "absent.log"));
        Assert.Equal(CliApp.BadInput, code);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_explain_writes_our_own_states()
    {
        string page = Path.Combine(_dir, "ours.html");
        var (code, output, error) = Run("verify", Fixture("unbounded_index.o"), "--explain", page);
        Assert.Equal(1, code);
        Assert.Contains("rejected at insn 11: R0 unbounded memory access, make sure to bounds check any such access", output, StringComparison.Ordinal);
        // The error's source line, from BTF line info, as a compiler would name it.
        Assert.Contains("\n  at unbounded_index.c:30:", output, StringComparison.Ordinal);
        Assert.Contains(": config->slots[index] += 1;\n", output, StringComparison.Ordinal);
        Assert.Contains($"explain page written to {page} ({new FileInfo(page).Length} bytes)", output, StringComparison.Ordinal);
        string html = WebUtility.HtmlDecode(File.ReadAllText(page));
        Assert.Contains("States from the SharpBPF verifier.", html, StringComparison.Ordinal);
        Assert.Contains("Where did R0's value come from?", html, StringComparison.Ordinal);
        Assert.Empty(error);
    }

    [Fact]
    public void Verify_explain_of_several_programs_asks_for_one()
    {
        var (code, _, error) = Run("verify", Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", "tail_calls.o"), "--explain", Path.Combine(_dir, "x.html"));
        Assert.Equal(CliApp.BadInput, code);
        Assert.Contains("choose one of the 4 programs with --program", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "x.html")));
        var (one, _, _) = Run("verify", Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", "tail_calls.o"), "--program", "handle_tcp", "--explain", Path.Combine(_dir, "x.html"));
        Assert.Equal(0, one);
        Assert.True(File.Exists(Path.Combine(_dir, "x.html")));
    }
}
