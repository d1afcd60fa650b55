using SharpBpf.Fuzzing;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Verification;

namespace SharpBpf.Tests.Verification;

/// <summary>Bad input never crashes or hangs the verifier: random and corrupted programs get a verdict, never an exception.</summary>
public class VerifierBadInputTests
{
    private static readonly ProgramType[] Types =
        [ProgramType.Xdp, ProgramType.SchedCls, ProgramType.SocketFilter, ProgramType.Kprobe, ProgramType.Tracepoint, ProgramType.PerfEvent, ProgramType.CgroupSkb];

    [Fact]
    public void Corrupted_programs_get_a_verdict_never_an_exception()
    {
        var random = new Random(77);
        var generator = new VerifierProgramGenerator(random);
        for (int i = 0; i < 3000; i++)
        {
            var code = generator.Next().Instructions;
            var bytes = Instruction.Encode(code);
            int flips = 1 + random.Next(6);
            for (int f = 0; f < flips; f++)
            {
                bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
            }

            if (random.Next(10) == 0)
            {
                Array.Resize(ref bytes, Math.Max(8, bytes.Length - (8 * random.Next(1, 4))));
            }

            VerifyOrFail(Instruction.Decode(bytes), Types[random.Next(Types.Length)], i);
        }
    }

    [Fact]
    public void Random_bytes_get_a_verdict_never_an_exception()
    {
        var random = new Random(78);
        for (int i = 0; i < 3000; i++)
        {
            var bytes = new byte[8 * random.Next(1, 40)];
            random.NextBytes(bytes);
            VerifyOrFail(Instruction.Decode(bytes), Types[random.Next(Types.Length)], i);
        }
    }

    [Fact]
    public void An_empty_program_is_refused()
    {
        var result = Verifier.Verify(ReadOnlySpan<Instruction>.Empty, new VerifierOptions());
        Assert.False(result.Accepted);
    }

    [Fact]
    public void A_million_instruction_exploration_stops_at_the_limit_with_bounded_memory()
    {
        // A counted loop of 900,000 iterations: the walk reaches the kernel's limit of 1,000,000 processed
        // instructions, keeping a state at the loop head now and then; the memory it holds must stay bounded.
        var code = Assembler.Assemble("""
            r6 = 0
            r7 = 0
            loop:
            r7 += r6
            *(u64 *)(r10 - 8) = r7
            r6 += 1
            if r6 < 900000 goto loop
            r0 = 0
            exit
            """);
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var result = Verifier.Verify(code, new VerifierOptions { ProgramType = ProgramType.SocketFilter });
        long after = GC.GetTotalMemory(forceFullCollection: false);
        Assert.False(result.Accepted);
        Assert.Equal("BPF program is too large. Processed 1000001 insn", result.Error!.Message);
        Assert.True(after - before < 512L << 20, $"{(after - before) >> 20} MiB live after the run");
    }

    private static void VerifyOrFail(Instruction[] code, ProgramType type, int i)
    {
        try
        {
            var options = new VerifierOptions
            {
                ProgramType = type,
                Maps = VerifierProgramGenerator.Maps,
                TimeLimit = TimeSpan.FromSeconds(5),
                LogLevel = i % 3,
            };
            var result = Verifier.Verify(code, options);
            Assert.True(result.Accepted || result.Error is not null);
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            Assert.Fail($"case {i} ({type}) threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}\n{string.Join("\n", code.Select(c => c.ToString()))}");
        }
    }
}
