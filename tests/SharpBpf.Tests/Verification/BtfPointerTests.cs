using SharpBpf.Btf;
using SharpBpf.Isa.Assembly;
using SharpBpf.Verification;

namespace SharpBpf.Tests.Verification;

/// <summary>
/// BTF-typed tracing arguments SharpBPF cannot type as the kernel would are refused, never taken as numbers (which
/// would allow arithmetic the kernel forbids on pointers). Needs the running kernel's BTF; skipped cleanly without it.
/// </summary>
public class BtfPointerTests
{
    private static VerifierResult Verify(string code, string target, BtfSpec? btf) =>
        Verifier.Verify(Assembler.Assemble(code), new VerifierOptions
        {
            ProgramType = ProgramType.Tracing,
            ExpectedAttachType = AttachType.TraceRawTracepoint,
            AttachTarget = target,
            KernelBtf = btf,
            LogLevel = 1,
        });

    private const string MultiplyFirstArgument = """
        r2 = *(u64 *)(r1 + 0)
        r2 *= 2
        r0 = 0
        exit
        """;

    [Fact]
    public void A_target_missing_from_the_kernel_btf_is_refused()
    {
        var btf = BtfFile.RunningKernel;
        var result = Verify(MultiplyFirstArgument, "no_such_tracepoint_anywhere", btf);
        Assert.False(result.Accepted);
        Assert.Equal("the attach target 'no_such_tracepoint_anywhere' is not in the kernel BTF given to the verifier", result.Error!.Message);

        // Without any kernel BTF the same refusal: the arguments stay untyped.
        Assert.False(Verify(MultiplyFirstArgument, "sched_process_exec", null).Accepted);
    }

    [Fact]
    public void Tracepoints_with_nullable_or_error_pointer_arguments_are_refused()
    {
        if (BtfFile.RunningKernel is not { } btf || btf.FindId("btf_trace_sched_process_wait", BtfKind.Typedef) < 0)
        {
            return;
        }

        var result = Verify(MultiplyFirstArgument, "sched_process_wait", btf);
        Assert.False(result.Accepted);
        Assert.Equal("func 'sched_process_wait' arg0 may be NULL or an error pointer: not modelled", result.Error!.Message);
    }
}
