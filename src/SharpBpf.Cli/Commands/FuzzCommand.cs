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
/// <c>sharpbpf fuzz --verifier [--kernel] --cases N</c>: the verifier's soundness on random realistic programs (see
/// <see cref="VerifierFuzz"/>).
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
        var verifier = new Option<bool>("--verifier")
        {
            Description = "Fuzz the verifier instead: random realistic programs, each accepted one run in the checked interpreter on random inputs (a fault is a soundness bug).",
        };
        var kernel = new Option<bool>("--kernel") { Description = "With --verifier: also load every program into the running kernel (Linux, root) and report agreement." };
        var runs = new Option<int>("--runs") { Description = "With --verifier: runs of each accepted program on random inputs.", DefaultValueFactory = _ => 4 };
        var timeLimit = new Option<double?>("--time-limit") { Description = "Stop cleanly after this many seconds (the programs so far are reported)." };
        var globalFunctions = new Option<double>("--global-functions")
        {
            Description = "With --verifier: the share (0 to 1) of called subprograms that are global, verified on their own from their BTF prototype.",
        };
        var command = new Command("fuzz", "Run random valid programs on two engines and report every disagreement; or fuzz the verifier (--verifier).")
        {
            engines, cases, seed, verifier, kernel, runs, timeLimit, globalFunctions,
        };
        command.SetAction(parse =>
        {
            int count = parse.GetValue(cases);
            if (count <= 0)
            {
                throw new BpfException($"--cases must be positive, not {count}");
            }

            TimeSpan? limit = null;
            if (parse.GetValue(timeLimit) is { } seconds)
            {
                limit = seconds > 0 && seconds <= TimeSpan.MaxValue.TotalSeconds / 2
                    ? TimeSpan.FromSeconds(seconds)
                    : throw new BpfException($"--time-limit must be a positive number of seconds, not {seconds}");
            }

            if (parse.GetValue(verifier))
            {
                int runCount = parse.GetValue(runs);
                double globalRate = parse.GetValue(globalFunctions);
                if (globalRate is < 0 or > 1 || double.IsNaN(globalRate))
                {
                    throw new BpfException($"--global-functions must be between 0 and 1, not {globalRate}");
                }

                return runCount is < 1 or > 1000
                    ? throw new BpfException($"--runs must be between 1 and 1000, not {runCount}")
                    : VerifierFuzz.Run(parse.InvocationConfiguration.Output, count, parse.GetValue(seed), runCount, parse.GetValue(kernel), limit, globalRate);
            }

            if (parse.GetValue(kernel) || parse.GetValue(globalFunctions) != 0)
            {
                throw new BpfException("--kernel and --global-functions go with --verifier");
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
                if (limit is { } l && timer.Elapsed > l)
                {
                    output.WriteLine($"time limit of {l.TotalSeconds:0.#} s reached after {i} programs");
                    count = i;
                    break;
                }

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
