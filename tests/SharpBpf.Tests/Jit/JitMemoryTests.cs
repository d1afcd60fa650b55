using System.Diagnostics;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Jit;
using SharpBpf.Fuzzing;
using SharpBpf.Runtime;
using SharpBpf.Verification;
using Xunit.Abstractions;

namespace SharpBpf.Tests.Jit;

/// <summary>Runs alone, so that other tests' allocations do not blur the process's memory figures.</summary>
[CollectionDefinition(nameof(JitMemoryCollection), DisableParallelization = true)]
public sealed class JitMemoryCollection;

/// <summary>Compiled programs are collectible: compiling, running and dropping many keeps memory flat.</summary>
[Collection(nameof(JitMemoryCollection))]
public class JitMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void CompilingAndDroppingTenThousandProgramsKeepsMemoryFlat()
    {
        var generator = new RandomProgramGenerator(new Random(3), 64);
        var programs = Enumerable.Range(0, 200).Select(i => BpfProgram.Create(generator.Next(), $"p{i}")).ToArray();

        // A verified program, compiled unchecked every other time (its own pinned code copy and facts), among them.
        programs[0] = BpfProgram.Create(Assembler.Assemble("""
            r0 = 0
            r1 = 0
            *(u64 *)(r10 - 8) = r1
            r2 = *(u64 *)(r10 - 8)
            r0 += r2
            r1 += 1
            if r1 < 10 goto -5
            exit
            """), "verified");
        var verified = programs.Select(p => Verifier.Verify(p, new VerifierOptions { ProgramType = ProgramType.SocketFilter }))
            .Select(r => r.Accepted ? r : null).ToArray();
        Assert.NotNull(verified[0]);
        var context = new BpfExecutionContext(RandomProgramGenerator.Helpers()) { InstructionBudget = 10_000 };
        var input = MemoryRegion.Allocate(64, MemoryAccess.ReadWrite, MemoryRegionKind.Input, "input");
        context.AddRegion(input);
        context.LegacyPacket = input;
        var sample = new List<WeakReference>();

        void CompileAndRun(int count, bool keepSample)
        {
            for (int i = 0; i < count; i++)
            {
                // Each compilation makes new dynamic methods, and a run makes the runtime generate their machine code.
                int index = i % programs.Length;
                var options = verified[index] is { } verification && i / programs.Length % 2 == 0
                    ? new EngineOptions { Safety = SafetyMode.Unchecked, Verification = verification }
                    : null;
                // Every third one cut into tiny pieces: a dispatcher and pieces that call each other must go too.
                var jit = i % 3 == 0 ? new JittedProgram(programs[index], options, splitAbove: 4, pieceLength: 4) : new JittedProgram(programs[index], options);
                try
                {
                    jit.Run(context, input.Start, 64);
                }
                catch (BpfExecutionException)
                {
                }

                if (keepSample && i % 100 == 0)
                {
                    sample.Add(new WeakReference(jit));
                }
            }
        }

        CompileAndRun(1_000, keepSample: false);
        var (managedBefore, nativeBefore) = Measure();
        long methodsBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var watch = Stopwatch.StartNew();
        CompileAndRun(10_000, keepSample: true);
        watch.Stop();
        var (managedAfter, nativeAfter) = Measure();
        long methods = System.Runtime.JitInfo.GetCompiledMethodCount() - methodsBefore;

        double managedGrowth = (managedAfter - managedBefore) / 1e6;
        double nativeGrowth = (nativeAfter - nativeBefore) / 1e6;
        int alive = sample.Count(w => w.IsAlive);
        output.WriteLine($"10,000 compilations ({verified.Count(v => v is not null)} of 200 programs also unchecked) in {watch.Elapsed.TotalSeconds:F1} s, " +
            $"{methods} methods compiled to machine code: managed heap {managedGrowth:F1} MB, private memory {nativeGrowth:F1} MB, " +
            $"{alive} of {sample.Count} sampled programs still alive");

        // Every dropped program is collected: its dynamic methods with it.
        Assert.Equal(0, alive);
        Assert.True(methods >= 10_000, $"only {methods} methods compiled: the runs did not generate machine code");

        // Leaking ~10 KB of IL, metadata and machine code per program would be 100 MB here.
        Assert.True(managedGrowth < 20, $"managed heap grew by {managedGrowth:F1} MB");
        Assert.True(nativeGrowth < 60, $"private memory grew by {nativeGrowth:F1} MB");
    }

    private static (long Managed, long Private) Measure()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        using var process = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(forceFullCollection: true), process.PrivateMemorySize64);
    }
}
