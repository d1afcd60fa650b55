using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Runtime;

namespace SharpBpf.Benchmarks;

/// <summary>
/// Interpreter speed in nanoseconds per BPF instruction executed (OperationsPerInvoke is the exact
/// instruction count of one run, checked in setup). Reference: the uBPF interpreter in C takes about
/// 3.6 ns per instruction on the sum loop on the project's machine.
/// </summary>
[Config(typeof(Config))]
[MemoryDiagnoser]
public class InterpreterBenchmarks
{
    /// <summary>Instructions one run of each program executes.</summary>
    public const int SumLoopInstructions = 30_000_003;
    public const int ChecksumInstructions = 6_003;
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

    private Interpreter _sum = null!;
    private Interpreter _checksum = null!;
    private Interpreter _stack = null!;
    private BpfExecutionContext _context = null!;
    private MemoryRegion _packet = null!;

    [GlobalSetup]
    public void Setup()
    {
        _sum = Prepare(SumLoop, "sum");
        _checksum = Prepare(ChecksumLoop, "checksum");
        _stack = Prepare(StackLoop, "stack");
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

    private static Interpreter Prepare(string source, string name) =>
        new(BpfProgram.Create(Assembler.Assemble(source, AssemblySyntax.Llvm), name));

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
            AddColumn(new ReferenceColumn("vs uBPF interpreter (3.6 ns/insn)", new Dictionary<string, double>
            {
                [nameof(SumTo10Million)] = 3.6,
                [nameof(Checksum1500Bytes)] = 3.6,
                [nameof(StackHeavyLoop)] = 3.6,
            }));
        }
    }
}
