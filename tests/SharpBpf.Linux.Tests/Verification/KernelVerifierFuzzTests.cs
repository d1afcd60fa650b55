using SharpBpf.Fuzzing;
using SharpBpf.Isa.Assembly;
using SharpBpf.Linux.Tests.Kernel;
using SharpBpf.Testing;
using SharpBpf.Verification;

namespace SharpBpf.Linux.Tests.Verification;

/// <summary>
/// Differential fuzzing against the running kernel: random realistic programs loaded into both; SharpBPF must never
/// accept a program the kernel refuses, and the two must agree on most verdicts.
/// </summary>
public class KernelVerifierFuzzTests
{
    [KernelFact]
    public void We_never_accept_a_program_the_kernel_rejects()
    {
        const int programs = 300;
        var (agreed, kernelAccepted, _) = Differential(new VerifierProgramGenerator(new Random(2026)), programs);
        Assert.InRange(kernelAccepted, programs / 5, programs * 4 / 5);
        Assert.True(agreed >= programs * 95 / 100, $"{agreed} of {programs} verdicts agree");
    }

    [KernelFact]
    public void Programs_with_global_functions_get_the_kernel_verdicts()
    {
        const int programs = 300;
        var (agreed, _, withGlobals) = Differential(new VerifierProgramGenerator(new Random(2027)) { GlobalFunctionRate = 0.6 }, programs);
        Assert.True(withGlobals >= 50, $"{withGlobals} programs call a global function");
        Assert.True(agreed >= programs * 95 / 100, $"{agreed} of {programs} verdicts agree");
    }

    /// <summary>Generated programs through both verifiers (with the same BTF function info): never accepted here alone.</summary>
    private static (int Agreed, int KernelAccepted, int WithGlobals) Differential(VerifierProgramGenerator generator, int programs)
    {
        using var oracle = new KernelVerifierOracle();
        int agreed = 0, kernelAccepted = 0, withGlobals = 0;
        for (int i = 0; i < programs; i++)
        {
            var c = generator.Next();
            var ours = Verifier.Verify(c.Instructions, c.Options());
            var theirs = oracle.Load(c);
            Assert.True(theirs.Accepted is not null, $"program {i}: the kernel load failed for another reason: {theirs.Error}");
            if (ours.Accepted)
            {
                Assert.True(theirs.Accepted, $"program {i} ({c.Type}): we accept, the kernel rejects: {oracle.ErrorLine(c)}\n{c.Source}");
            }

            agreed += ours.Accepted == theirs.Accepted ? 1 : 0;
            kernelAccepted += theirs.Accepted == true ? 1 : 0;
            withGlobals += c.Functions.Any(f => f != FuzzFunctionKind.Static) ? 1 : 0;
        }

        return (agreed, kernelAccepted, withGlobals);
    }

    [KernelFact]
    public void Alignment_flags_give_the_kernel_verdicts_and_error_lines()
    {
        using var oracle = new KernelVerifierOracle();
        foreach (var c in AlignmentCases.All)
        {
            var fuzzCase = new VerifierFuzzCase(c.Type, c.Source, Assembler.Assemble(c.Source));
            foreach (var (flags, expected) in new[]
            {
                (ProgramLoadFlags.None, c.None),
                (ProgramLoadFlags.StrictAlignment, c.Strict),
                (ProgramLoadFlags.AnyAlignment, c.Any),
                (ProgramLoadFlags.StrictAlignment | ProgramLoadFlags.AnyAlignment, c.Any),
            })
            {
                var verdict = oracle.Load(fuzzCase, flags);
                Assert.True(verdict.Accepted == (expected is null), $"{c.Name} with {flags}: kernel accepted={verdict.Accepted}, expected error {expected ?? "none"}");
                if (expected is not null)
                {
                    Assert.Equal(expected, oracle.ErrorLine(fuzzCase, flags).Split('\n')[0]);
                }
            }
        }
    }

    [KernelFact]
    public void Skb_sk_reads_give_the_kernel_verdicts_and_error_lines()
    {
        using var oracle = new KernelVerifierOracle();
        foreach (var (name, source, error) in SockCommonCases.All)
        {
            var c = new VerifierFuzzCase(ProgramType.SchedCls, source, Assembler.Assemble(source));
            var verdict = oracle.Load(c);
            Assert.True(verdict.Accepted == (error is null), $"{name}: kernel accepted={verdict.Accepted}, expected error {error ?? "none"}");
            if (error is not null)
            {
                Assert.Equal(error, oracle.ErrorLine(c).Split('\n')[0]);
            }
        }
    }
}
