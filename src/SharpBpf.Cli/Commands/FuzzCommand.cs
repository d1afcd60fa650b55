using System.CommandLine;
using System.Diagnostics;
using SharpBpf.Fuzzing;
using SharpBpf.Isa;
using SharpBpf.Isa.Formatting;
using SharpBpf.Jit;
using SharpBpf.Runtime;

namespace SharpBpf.Cli.Commands;

/// <summary>
/// <c>sharpbpf fuzz --engines jit,interpreter --cases N</c>: differential testing of the engines on random valid
/// programs; every disagreement (r0, fault, instruction count, memory) is printed with the program.
/// </summary>
internal static class FuzzCommand
{
    private const int InputLength = 64;
    private const int MaxReported = 5;

    public static Command Create()
    {
        var engines = new Option<string>("--engines")
        {
            Description = "The engines to compare; the interpreter is the reference.",
            DefaultValueFactory = _ => "jit,interpreter",
        }.AcceptOnlyFromAmong("jit,interpreter", "interpreter,jit");
        var cases = new Option<int>("--cases", "-n") { Description = "How many random programs.", DefaultValueFactory = _ => 10_000 };
        var seed = new Option<int>("--seed") { Description = "The random seed (the same seed gives the same programs).", DefaultValueFactory = _ => 1 };
        var command = new Command("fuzz", "Run random valid programs on two engines and report every disagreement.") { engines, cases, seed };
        command.SetAction(parse =>
        {
            int count = parse.GetValue(cases);
            if (count <= 0)
            {
                throw new BpfException($"--cases must be positive, not {count}");
            }

            var output = parse.InvocationConfiguration.Output;
            var random = new Random(parse.GetValue(seed));
            var generator = new RandomProgramGenerator(random, InputLength);
            var helpers = RandomProgramGenerator.Helpers();
            int agreed = 0, differed = 0, completed = 0;
            long instructions = 0;
            var faults = new Dictionary<FaultKind, int>();
            var timer = Stopwatch.StartNew();
            for (int i = 0; i < count; i++)
            {
                var code = generator.Next();

                // Function pointers are addresses of each engine's own code image: keep them out of compared results.
                if (code.Any(insn => insn.IsLoadImm64 && insn.Imm64Source == Imm64Source.Function))
                {
                    i--;
                    continue;
                }

                var program = BpfProgram.Create(code, $"fuzz{i}");
                instructions += code.Length;
                var input = new byte[InputLength];
                random.NextBytes(input);
                long budget = random.Next(5) == 0 ? random.Next(0, 120) : 100_000;
                var result = EngineComparison.Compare(new Interpreter(program), new JittedProgram(program), input, helpers, budget, i);
                if (result.Difference is { } difference)
                {
                    if (++differed <= MaxReported)
                    {
                        output.WriteLine($"DIFFERENT program {i}: {difference}");
                        output.Write(Disassembler.Disassemble(code));
                    }
                }
                else
                {
                    agreed++;
                }

                if (result.Reference.Fault is { } fault)
                {
                    faults[fault.Kind] = faults.GetValueOrDefault(fault.Kind) + 1;
                }
                else
                {
                    completed++;
                }
            }

            output.WriteLine($"{count} programs ({instructions} instructions) in {timer.Elapsed.TotalSeconds:F1} s; " +
                $"{completed} exited, faults: {string.Join(", ", faults.OrderBy(f => f.Key).Select(f => $"{f.Key} {f.Value}"))}");
            output.WriteLine($"{agreed} agreed, {differed} differed");
            return differed == 0 ? 0 : 1;
        });
        return command;
    }
}
