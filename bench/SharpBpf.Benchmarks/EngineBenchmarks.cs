using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Jit;
using SharpBpf.Runtime;

namespace SharpBpf.Benchmarks;

/// <summary>
/// Engine speed in nanoseconds per BPF instruction executed (OperationsPerInvoke is the exact instruction count of
/// one run, checked in setup), for the interpreter and the JIT side by side, both in checked mode.
/// References measured on the project's machine: the uBPF interpreter in C takes about 3.6 ns per instruction on the
/// sum loop, uBPF's JIT about 0.12 ns, and the kernel's JIT about 0.09 ns.
/// </summary>
[Config(typeof(Config))]
[MemoryDiagnoser]
public class EngineBenchmarks
{
    /// <summary>Instructions one run of each program executes.</summary>
    public const int SumLoopInstructions = 30_000_003;

    /// <summary>Instructions of one checksum run over 1500 bytes.</summary>
    public const int ChecksumInstructions = 6_003;

    /// <summary>Instructions of one stack-loop run.</summary>
    public const int StackLoopInstructions = 6_000_003;

    private const string SumLoop = """
        r0 = 0
        r1 = 1
        loop:
        r0 += r1
        r1 += 1
        if r1 <= 10000000 goto loop
        exit
        """;

    // r1 = buffer, r2 = length: sum of the bytes.
    private const string ChecksumLoop = """
        r0 = 0
        r2 += r1
        loop:
        r3 = *(u8 *)(r1 + 0)
        r0 += r3
        r1 += 1
        if r1 < r2 goto loop
        exit
        """;

    private const string StackLoop = """
        r0 = 0
        r1 = 0
        loop:
        *(u64 *)(r10 - 8) = r1
        r2 = *(u64 *)(r10 - 8)
        r0 += r2
        *(u32 *)(r10 - 16) = w0
        r1 += 1
        if r1 < 1000000 goto loop
        exit
        """;

    private ExecutableProgram _sum = null!;
    private ExecutableProgram _checksum = null!;
    private ExecutableProgram _stack = null!;
    private BpfProgram _checksumProgram = null!;
    private BpfExecutionContext _context = null!;
    private MemoryRegion _packet = null!;

    /// <summary>The engine under test.</summary>
    [Params("interpreter", "jit")]
    public string Engine { get; set; } = "interpreter";

    [GlobalSetup]
    public void Setup()
    {
        _checksumProgram = Assemble(ChecksumLoop, "checksum");
        _sum = Prepare(Assemble(SumLoop, "sum"));
        _checksum = Prepare(_checksumProgram);
        _stack = Prepare(Assemble(StackLoop, "stack"));
        _context = new BpfExecutionContext { InstructionBudget = long.MaxValue };
        var bytes = new byte[1500];
        new Random(42).NextBytes(bytes);
        _packet = MemoryRegion.FromBytes(bytes, MemoryAccess.Read, MemoryRegionKind.Packet, "packet");
        _context.AddRegion(_packet);

        CheckCount(SumLoopInstructions, () => SumTo10Million());
        CheckCount(ChecksumInstructions, () => Checksum1500Bytes());
        CheckCount(StackLoopInstructions, () => StackHeavyLoop());
    }

    [Benchmark(OperationsPerInvoke = SumLoopInstructions, Description = "sum 1..10^7 (ns/insn)")]
    public ulong SumTo10Million() => _sum.Run(_context);

    [Benchmark(OperationsPerInvoke = ChecksumInstructions, Description = "byte checksum, 1500 B (ns/insn)")]
    public ulong Checksum1500Bytes() => _checksum.Run(_context, _packet.Start, (ulong)_packet.Length);

    [Benchmark(OperationsPerInvoke = StackLoopInstructions, Description = "stack-heavy loop (ns/insn)")]
    public ulong StackHeavyLoop() => _stack.Run(_context);

    [Benchmark(Description = "prepare + first run of the checksum program (ns)")]
    public ulong PrepareChecksum() => Prepare(_checksumProgram).Run(_context, _packet.Start, (ulong)_packet.Length);

    private static BpfProgram Assemble(string source, string name) =>
        BpfProgram.Create(Assembler.Assemble(source, AssemblySyntax.Llvm), name);

    private ExecutableProgram Prepare(BpfProgram program) =>
        Engine == "jit" ? new JittedProgram(program) : new Interpreter(program);

    private void CheckCount(long expected, Func<ulong> run)
    {
        run();
        if (_context.InstructionsExecuted != expected)
        {
            throw new InvalidOperationException($"expected {expected} instructions per run, the program executed {_context.InstructionsExecuted}");
        }
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            // The per-instruction loops against uBPF's engines (interpreter 3.6 ns, JIT 0.12 ns per instruction).
            AddColumn(new FigureColumn("vs uBPF (interp 3.6 / JIT 0.12 ns)", "Mean divided by uBPF's time per instruction (below 1: faster)",
                (benchmark, mean) => benchmark.Descriptor.WorkloadMethod.Name == nameof(PrepareChecksum)
                    ? null
                    : mean / (EngineOf(benchmark) == "jit" ? 0.12 : 3.6)));
        }

        private static string? EngineOf(BenchmarkCase benchmark) =>
            benchmark.Parameters.Items.FirstOrDefault(p => p.Name == nameof(Engine))?.Value as string;
    }
}
