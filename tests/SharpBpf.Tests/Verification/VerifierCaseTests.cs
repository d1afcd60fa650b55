using SharpBpf.Btf;
using SharpBpf.Testing;
using SharpBpf.Verification;

namespace SharpBpf.Tests.Verification;

/// <summary>
/// Each rejection class gives the kernel's exact error line (the same cases are checked against the running kernel
/// in SharpBpf.Linux.Tests), and the accepted counterparts are accepted.
/// </summary>
public class VerifierCaseTests
{
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in VerifierCases.All)
        {
            // Cases typed by the kernel's BTF run where this system has it (/sys/kernel/btf/vmlinux).
            if (c.Target is null || BtfFile.RunningKernel is not null)
            {
                data.Add(c.Name);
            }
        }

        return data;
    }

    internal static VerifierResult Verify(VerifierCase c, int logLevel = 1) =>
        Verifier.Verify(c.Instructions, c.Options(logLevel));

    [Theory]
    [MemberData(nameof(Names))]
    public void Gives_the_kernel_verdict_and_error_line(string name)
    {
        var c = VerifierCases.All.Single(x => x.Name == name);
        var result = Verify(c);
        if (c.Error is null)
        {
            Assert.True(result.Accepted, $"rejected: {result.Error}\n{result.Log}");
        }
        else
        {
            Assert.False(result.Accepted, "accepted\n" + result.Log);
            Assert.Equal(c.Error, result.Error!.Message);

            // A million-instruction path fills the log before the error (the kernel's rotating log keeps its tail).
            if (result.Log.Length < new VerifierOptions().MaxLogLength)
            {
                Assert.Contains("\n" + c.Error + "\n", "\n" + result.Log, StringComparison.Ordinal);
            }
        }

if (result.Log.Length < new VerifierOptions().MaxLogLength)
        {
                    Assert.Matches(@"processed \d+ insns \(limit 1000000\) max_states_per_insn \d+ total_states \d+ peak_states -?\d+ mark_read 0\n$", result.Log);
        }
    }

    [Fact]
    public void Level_one_log_of_an_accepted_program_is_only_the_closing_line()
    {
        var result = Verify(VerifierCases.All.Single(x => x.Name == "bounded_loop"), logLevel: 1);
        Assert.True(result.Accepted);
        Assert.StartsWith("processed 204 insns", result.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void The_btf_typed_socket_casts_are_refused_as_unsupported_not_unavailable()
    {
        // The kernel accepts this program (tc may call bpf_skc_to_tcp_sock); SharpBPF does not model the cast.
        var c = new VerifierCase("skc_to_tcp_sock", ProgramType.SchedCls, """
            r1 = *(u64 *)(r1 + 168)
            if r1 == 0 goto +4
            call 137
            if r0 == 0 goto +2
            r0 = 0
            exit
            r0 = 0
            exit
            """, null);
        var result = Verify(c, logLevel: 1);
        Assert.False(result.Accepted);
        Assert.Equal("helper bpf_skc_to_tcp_sock#137 (a BTF-typed socket cast) is not supported by SharpBPF's verifier", result.Error!.Message);
    }

    [Fact]
    public void Log_level_zero_has_no_log()
    {
        var result = Verify(VerifierCases.All.Single(x => x.Name == "packet_checked"), logLevel: 0);
        Assert.True(result.Accepted);
        Assert.Equal("", result.Log);
    }

    [Fact]
    public void A_byte_swap_keeps_the_known_bits_and_bounds_as_kernel_6_18_does()
    {
        var c = new VerifierCase("byte_swap", ProgramType.Xdp, """
            call 7
            r0 = be16 r0
            r1 = 0x1234
            r1 = be16 r1
            r2 = 0x12345678
            r2 = le16 r2
            r0 = 2
            exit
            """, null);
        var log = Verify(c, logLevel: 2).Log;
        // The first line is the running kernel's own (tc_rewrite.o's "r1 = be16 r1" of an unknown value).
        Assert.Contains("\n1: (dc) r0 = be16 r0                  ; R0=scalar(smin=smin32=0,smax=umax=smax32=umax32=0xffff,var_off=(0x0; 0xffff))\n", log, StringComparison.Ordinal);
        Assert.Contains("\n3: (dc) r1 = be16 r1                  ; R1=13330\n", log, StringComparison.Ordinal);
        Assert.Contains("\n5: (d4) r2 = le16 r2                  ; R2=22136\n", log, StringComparison.Ordinal);
    }

    [Fact]
    public void Log_prints_instructions_and_register_states_in_the_kernel_format()
    {
        var result = Verify(VerifierCases.All.Single(x => x.Name == "bounded_loop"), logLevel: 2);
        var lines = result.Log.Split('\n');
        Assert.Equal("func#0 @0", lines[0]);
        // Kernel 6.17 and later: the registers live before each instruction (r1 in the loop, r0 at the exit), the loop's
        // instructions numbered as its strongly connected component.
        Assert.Equal(
            [
                "Live regs before insn:",
                "      0: .......... (b7) r0 = 0",
                "      1: .......... (b7) r1 = 0",
                "  1   2: .1........ (07) r1 += 1",
                "  1   3: .1........ (a5) if r1 < 0x64 goto pc-2",
                "      4: .......... (b7) r0 = 2",
                "      5: 0......... (95) exit",
            ],
            lines[1..8]);
        Assert.Equal("0: R1=ctx() R10=fp0", lines[8]);
        Assert.Equal("0: (b7) r0 = 0                        ; R0=0", lines[9]);
        Assert.StartsWith("1: (b7) r1 = 0", lines[10], StringComparison.Ordinal);
        Assert.Contains("3: (a5) if r1 < 0x64 goto pc-2", result.Log, StringComparison.Ordinal);
    }
}
