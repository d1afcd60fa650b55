using SharpBpf.Fuzzing;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Runtime;
using SharpBpf.Testing;
using SharpBpf.Verification;

namespace SharpBpf.Tests.Verification;

/// <summary>
/// Differential fuzzing of the verifier in-process: random realistic programs, every accepted one run in the checked
/// interpreter on random packets, contexts and map contents, where a fault would be a soundness bug.
/// </summary>
public class VerifierFuzzTests
{
    private static VerifierResult Verify(VerifierFuzzCase c) =>
        Verifier.Verify(c.Instructions, new VerifierOptions { ProgramType = c.Type, Maps = VerifierProgramGenerator.Maps });

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void Accepted_programs_never_fault_in_the_checked_interpreter(int seed)
    {
        var generator = new VerifierProgramGenerator(new Random(seed));
        var soundness = new VerifierSoundness(new Random(seed));
        int accepted = 0;
        const int programs = 1500;
        for (int i = 0; i < programs; i++)
        {
            var c = generator.Next();
            var result = Verify(c);
            if (!result.Accepted)
            {
                continue;
            }

            accepted++;
            var outcome = soundness.Check(c.Instructions, c.Type, runs: 3);
            Assert.True(outcome.Fault is null, $"program {i} ({c.Type}) was accepted but faulted: {outcome.Fault?.Message}\n{c.Source}");
        }

        // A realistic share is accepted: the generator's mistakes are not so frequent that nothing passes.
        Assert.InRange(accepted, programs / 5, programs * 4 / 5);
    }

    [Fact]
    public void Accepted_programs_with_global_functions_never_fault_in_the_checked_interpreter()
    {
        var generator = new VerifierProgramGenerator(new Random(13)) { GlobalFunctionRate = 0.6 };
        var soundness = new VerifierSoundness(new Random(13));
        int accepted = 0, acceptedWithGlobals = 0;
        const int programs = 1000;
        for (int i = 0; i < programs; i++)
        {
            var c = generator.Next();
            var result = Verifier.Verify(c.Instructions, c.Options());
            if (!result.Accepted)
            {
                continue;
            }

            accepted++;
            acceptedWithGlobals += c.Functions.Any(f => f != FuzzFunctionKind.Static) ? 1 : 0;
            var outcome = soundness.Check(c.Instructions, c.Type, runs: 3);
            Assert.True(outcome.Fault is null, $"program {i} ({c.Type}) was accepted but faulted: {outcome.Fault?.Message}\n{c.Source}");
        }

        Assert.InRange(accepted, programs / 5, programs * 4 / 5);
        Assert.True(acceptedWithGlobals >= 30, $"{acceptedWithGlobals} accepted programs call a global function");
    }

    [Fact]
    public void Sock_ops_programs_and_socket_pointers_are_generated()
    {
        var generator = new VerifierProgramGenerator(new Random(3));
        int sockOps = 0, sockOpsAccepted = 0, socketsAccepted = 0;
        for (int i = 0; i < 700; i++)
        {
            var c = generator.Next();
            bool accepted = Verify(c).Accepted;
            if (c.Type == ProgramType.SockOps)
            {
                sockOps++;
                sockOpsAccepted += accepted ? 1 : 0;
            }

            // bpf_sock_ops.sk, __sk_buff.sk cast by bpf_tcp_sock/bpf_sk_fullsock, or a socket lookup released.
            bool usesSocket = c.Source.Contains("(r6 + 184)", StringComparison.Ordinal) || c.Source.Contains("call 96", StringComparison.Ordinal) ||
                c.Source.Contains("call 86", StringComparison.Ordinal);
            socketsAccepted += accepted && usesSocket ? 1 : 0;
        }

        Assert.InRange(sockOps, 50, 200);
        Assert.InRange(sockOpsAccepted, 10, sockOps - 10);
        Assert.True(socketsAccepted >= 8, $"{socketsAccepted} accepted programs use a socket pointer");
    }

    [Fact]
    public void The_same_seed_gives_the_same_programs()
    {
        var a = new VerifierProgramGenerator(new Random(5));
        var b = new VerifierProgramGenerator(new Random(5));
        for (int i = 0; i < 50; i++)
        {
            var x = a.Next();
            var y = b.Next();
            Assert.Equal(x.Type, y.Type);
            Assert.Equal(x.Source, y.Source);
            Assert.Equal(x.Instructions, y.Instructions);
        }
    }

    [Fact]
    public void The_soundness_check_catches_an_unsafe_program()
    {
        // A packet read with no data_end check: the verifier rejects it, and run anyway it faults on short packets.
        var code = Assembler.Assemble("""
            r2 = *(u32 *)(r1 + 0)
            r0 = *(u64 *)(r2 + 200)
            r0 = 2
            exit
            """);
        Assert.False(Verify(new VerifierFuzzCase(ProgramType.Xdp, "", code)).Accepted);
        var outcome = new VerifierSoundness(new Random(1)).Check(code, ProgramType.Xdp, runs: 20);
        Assert.True(outcome.IsSoundnessBug);
        Assert.Equal(FaultKind.MemoryAccess, outcome.Fault!.Kind);
    }

    [Theory]
    [InlineData(ProgramType.SocketFilter)]
    [InlineData(ProgramType.SchedCls)]
    public void Skb_sk_is_a_socket_pointer_not_a_number(ProgramType type)
    {
        // The kernel: __sk_buff.sk is sock_common_or_null; arithmetic on it is refused before and after the null check.
        var beforeCheck = Assembler.Assemble("""
            r1 = *(u64 *)(r1 + 168)
            r1 += 4
            r0 = 0
            exit
            """);
        var afterCheck = Assembler.Assemble("""
            r1 = *(u64 *)(r1 + 168)
            if r1 == 0 goto out
            r1 += 4
            out:
            r0 = 0
            exit
            """);
        Assert.Equal("R1 pointer arithmetic on sock_common_or_null prohibited, null-check it first",
            Verify(new VerifierFuzzCase(type, "", beforeCheck)).Error?.Message);
        Assert.Equal("R1 pointer arithmetic on sock_common prohibited", Verify(new VerifierFuzzCase(type, "", afterCheck)).Error?.Message);
    }

    public static TheoryData<string> SockCommonNames() => new(SockCommonCases.All.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(SockCommonNames))]
    public void Skb_sk_reads_follow_the_kernel_sock_common_rules(string name)
    {
        var (_, source, error) = SockCommonCases.All.Single(c => c.Name == name);
        Assert.Equal(error, Verify(new VerifierFuzzCase(ProgramType.SchedCls, source, Assembler.Assemble(source))).Error?.Message);
    }

    [Fact]
    public void A_32_bit_modulo_leaves_all_64_bits_unknown_as_the_kernel_does()
    {
        // w1 %= 234 zero-extends at run time, but the kernel does not track it: "r1 s>>= 32" is not known to be 0.
        var code = Assembler.Assemble("""
            call 7
            r1 = r0
            w1 %= 234
            r1 s>>= 32
            r7 = r1
            *(u32 *)(r10 - 8) = 0
            r2 = r10
            r2 += -8
            r1 = map[idx:0]
            call 1
            if r0 == 0 goto out
            r0 += r7
            r0 = *(u8 *)(r0 + 0)
            out:
            r0 = 0
            exit
            """);
        var result = Verify(new VerifierFuzzCase(ProgramType.Kprobe, "", code));
        Assert.Equal("value -2147483648 makes map_value pointer be out of bounds", result.Error?.Message);
    }
}
