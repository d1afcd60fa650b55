using System.Diagnostics;
using SharpBpf.Isa;
using SharpBpf.Jit;
using SharpBpf.Fuzzing;
using SharpBpf.Runtime;
using Xunit.Abstractions;

namespace SharpBpf.Tests.Jit;

/// <summary>Compile-time measurements (reported, with generous bounds so that a loaded machine does not fail them).</summary>
public class JitCompileTimeTests(ITestOutputHelper output)
{
    [Fact]
    public void CompilingAThousandInstructionsIsFast()
    {
        var generator = new RandomProgramGenerator(new Random(5), 64);
        var programs = new List<BpfProgram>();
        int total = 0;
        while (total < 100_000)
        {
            var code = generator.Next();
            programs.Add(BpfProgram.Create(code));
            total += code.Length;
        }

        // Warm up the emitter itself.
        _ = new JittedProgram(programs[0]);

        var emit = Stopwatch.StartNew();
        var compiled = programs.Select(p => new JittedProgram(p)).ToList();
        emit.Stop();

        // The first run makes the runtime compile the IL of the main function to machine code.
        var context = new BpfExecutionContext(RandomProgramGenerator.Helpers()) { InstructionBudget = 1 };
        var first = Stopwatch.StartNew();
        foreach (var program in compiled)
        {
            try
            {
                program.Run(context);
            }
            catch (BpfExecutionException)
            {
            }
        }

        first.Stop();
        double emitPerThousand = emit.Elapsed.TotalMilliseconds / total * 1000;
        double firstPerThousand = first.Elapsed.TotalMilliseconds / total * 1000;
        output.WriteLine($"{programs.Count} programs, {total} instructions: IL emission {emitPerThousand:F3} ms per 1,000 instructions; " +
            $"first run (machine-code generation of the main functions) {firstPerThousand:F3} ms per 1,000 instructions");
        Assert.True(emitPerThousand < 200, $"IL emission took {emitPerThousand:F3} ms per 1,000 instructions");
    }
}
