using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SharpBpf.Isa;
using SharpBpf.Jit;
using SharpBpf.Objects;
using SharpBpf.Runtime;

namespace SharpBpf.Benchmarks;

/// <summary>
/// JIT compile time of a large program, per 1,000 instructions ("ms/1000 insns"): the largest program of the Cilium
/// samples (../shared/samples/cilium/bpf_xdp_dsr_linux.o, looked for beside the checkout and its parents; tail_nodeport_nat_ipv6, about 8,000 instructions), or the
/// largest program of bpf/obj when the samples are absent. <c>Emit</c> is the translation to IL;
/// <c>EmitAndGenerate</c> adds the runtime's machine-code generation of what a first run needs (a run with a budget
/// of one instruction: the entry function, or for a function split into pieces its dispatcher and first piece): the
/// time to a runnable program. <c>EmitAndGenerateAll</c> adds the machine code of every piece, which a run gets only
/// as it reaches them. Map references resolve to dummy addresses (nothing runs).
/// Run with <c>dotnet run -c Release --project bench/SharpBpf.Benchmarks -- --filter '*JitCompileBenchmarks*' --inProcess</c>.
/// </summary>
[Config(typeof(Config))]
[WarmupCount(3)]
[IterationCount(10)]
public class JitCompileBenchmarks
{
    private static readonly Lazy<BpfProgram> Largest = new(FindLargest);
    private readonly BpfExecutionContext _context = new() { InstructionBudget = 1 };
    private readonly EngineOptions _options = new() { ResolveImm64 = (pc, source, immediate, next) => 0x1000 };

    /// <summary>The program measured.</summary>
    public static BpfProgram Program => Largest.Value;

    /// <summary>IL emission only.</summary>
    [Benchmark]
    public JittedProgram Emit() => new(Program, _options);

    /// <summary>IL emission and the machine code of the entry function.</summary>
    [Benchmark]
    public JittedProgram EmitAndGenerate()
    {
        var jitted = new JittedProgram(Program, _options);
        try
        {
            jitted.Run(_context);
        }
        catch (BpfExecutionException)
        {
            // The budget of one instruction ends the run at once: only the code generation mattered.
        }

        return jitted;
    }

    /// <summary>IL emission, the machine code a first run needs and that of every piece of the split functions.</summary>
    [Benchmark]
    public JittedProgram EmitAndGenerateAll()
    {
        var jitted = EmitAndGenerate();
        jitted.GenerateAllPieces();
        return jitted;
    }

    private static BpfProgram FindLargest()
    {
        // ../shared beside the checkout (or beside the main checkout, for a worktree).
        string? cilium = null;
        for (var dir = new DirectoryInfo(Repository.Root).Parent; dir is not null && cilium is null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "samples", "cilium", "bpf_xdp_dsr_linux.o");
            cilium = File.Exists(candidate) ? candidate : null;
        }

        var files = cilium is not null ? [cilium] : Directory.GetFiles(Path.Combine(Repository.Root, "bpf", "obj"), "*.o");
        var largest = files.SelectMany(f => BpfObject.Load(f).Programs).MaxBy(p => p.Instructions.Length)!;
        return largest.ToBpfProgram();
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new FigureColumn("ms/1000 insns", "Mean time per 1,000 instructions of the program, in ms",
                (_, mean) => mean / 1e6 / (Program.Length / 1000.0)));
        }
    }
}
