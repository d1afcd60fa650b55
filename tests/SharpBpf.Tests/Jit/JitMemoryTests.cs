using System.Diagnostics;
using SharpBpf.Isa;
using SharpBpf.Jit;
using SharpBpf.Fuzzing;
using SharpBpf.Runtime;
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
        var context = new BpfExecutionContext(RandomProgramGenerator.Helpers()) { InstructionBudget = 10_000 };
        var input = MemoryRegion.Allocate(64, MemoryAccess.ReadWrite, MemoryRegionKind.Input, "input");
        context.AddRegion(input);
        context.LegacyPacket = input;

        void CompileAndRun(int count)
        {
            for (int i = 0; i < count; i++)
            {
                // Each compilation makes new dynamic methods, and a run makes the runtime generate their machine code.
                var jit = new JittedProgram(programs[i % programs.Length]);
                try
                {
                    jit.Run(context, input.Start, 64);
                }
                catch (BpfExecutionException)
                {
                }
            }
        }

        CompileAndRun(1_000);
        var (managedBefore, nativeBefore) = Measure();
        CompileAndRun(10_000);
        var (managedAfter, nativeAfter) = Measure();

        double managedGrowth = (managedAfter - managedBefore) / 1e6;
        double nativeGrowth = (nativeAfter - nativeBefore) / 1e6;
        output.WriteLine($"after 10,000 more compilations: managed heap {managedGrowth:F1} MB, private memory {nativeGrowth:F1} MB");

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
