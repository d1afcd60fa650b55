using System.Text.Json;
using SharpBpf.Testing;
using static SharpBpf.Cli.Tests.CliRunner;

namespace SharpBpf.Cli.Tests;

/// <summary><c>sharpbpf verify</c>: verdicts, the JSON shape of issue #8, the kernel-format log and exit codes.</summary>
public sealed class VerifyCommandTests
{

    private static string ProjectObject(string name) => Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", name);

    [Fact]
    public void Accepted_object_exits_zero_with_the_json_shape()
    {
        var (code, output, error) = Run("verify", ProjectObject("tail_calls.o"), "--json");
        Assert.True(code == 0, error + output);
        using var doc = JsonDocument.Parse(output);
        var programs = doc.RootElement.GetProperty("programs").EnumerateArray().ToList();
        Assert.Equal(["handle_tcp", "handle_udp", "handle_icmp", "xdp_dispatch"], programs.Select(p => p.GetProperty("name").GetString()));
        foreach (var p in programs)
        {
            Assert.Equal(
                ["name", "section", "type", "accepted", "error", "processed", "time_ms", "log"],
                p.EnumerateObject().Select(o => o.Name));
            Assert.True(p.GetProperty("accepted").GetBoolean());
            Assert.Equal(JsonValueKind.Null, p.GetProperty("error").ValueKind);
            Assert.True(p.GetProperty("processed").GetInt32() > 0);
            Assert.Equal("xdp", p.GetProperty("section").GetString());
            Assert.Equal("Xdp", p.GetProperty("type").GetString());
        }
    }

    [Fact]
    public void Program_filter_and_level_two_log()
    {
        var (code, output, _) = Run("verify", ProjectObject("socket_filter.o"), "--program", "udp_port_range_legacy", "--log-level", "2");
        Assert.Equal(0, code);
        // The kernel's (6.18) first lines: LD_ABS/IND count as reading every register, hence r0-r5 and r8-r9 live at 0.
        Assert.StartsWith("func#0 @0\nLive regs before insn:\n      0: 012345..89 (bf) r6 = r1\n", output, StringComparison.Ordinal);
        Assert.Contains("\n     26: 0......... (95) exit\n0: R1=ctx() R10=fp0\n", output, StringComparison.Ordinal);
        Assert.Contains("processed 33 insns (limit 1000000)", output, StringComparison.Ordinal);
        Assert.Contains("udp_port_range_legacy (socket, SocketFilter): accepted", output, StringComparison.Ordinal);
        Assert.DoesNotContain("udp_port_range (", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_input_exits_two()
    {
        Assert.Equal(2, Run("verify", ProjectObject("tail_calls.o"), "--program", "nope").Code);
        Assert.Equal(2, Run("verify", Path.Combine(SharedData.RepositoryRoot, "README.md")).Code);
    }

    [SharedFact("samples")]
    public void Rejected_program_exits_one_with_the_kernel_error_line()
    {
        string path = Path.Combine(SharedData.Folder("samples")!, "build", "ptr_arith.o");
        var (code, output, _) = Run("verify", path, "--json");
        Assert.Equal(1, code);
        using var doc = JsonDocument.Parse(output);
        var program = doc.RootElement.GetProperty("programs")[0];
        Assert.False(program.GetProperty("accepted").GetBoolean());
        Assert.Equal("R1 pointer += pointer prohibited", program.GetProperty("error").GetString());
    }

    [SharedFact("samples")]
    public void Type_option_gives_a_type_to_programs_whose_section_names_none()
    {
        // Cilium's old objects name tail-call sections "2/11": without a type the context is nobody's and the first
        // context read is refused; as tc (sched_cls) the program is Cilium's policy program and verifies.
        string path = Path.Combine(SharedData.Folder("samples")!, "cilium", "bpf_lxc.o");
        var untyped = Run("verify", path, "--program", "tail_ipv4_policy", "--json");
        Assert.Equal(1, untyped.Code);

        var (code, output, _) = Run("verify", path, "--program", "tail_ipv4_policy", "--type", "tc", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var program = doc.RootElement.GetProperty("programs")[0];
        Assert.True(program.GetProperty("accepted").GetBoolean());
        Assert.Equal("SchedCls", program.GetProperty("type").GetString());
        Assert.Equal(0, Run("verify", path, "--program", "tail_ipv4_policy", "--type", "sched_cls").Code);

        var bad = Run("verify", path, "--type", "no_such_type");
        Assert.Equal(2, bad.Code);
        Assert.Contains("unknown program type 'no_such_type'", bad.Err, StringComparison.Ordinal);
    }
}
