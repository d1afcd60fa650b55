using BenchmarkDotNet.Attributes;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Jit;
using SharpBpf.Runtime;

namespace SharpBpf.Benchmarks;

/// <summary>
/// JIT speed in nanoseconds per BPF instruction executed, on the same programs as the interpreter benchmarks
/// (OperationsPerInvoke is the exact instruction count of one run, checked in setup), plus the time to compile.
/// </summary>
[MemoryDiagnoser]
public class JitBenchmarks
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

    private JittedProgram _sum = null!;
    private JittedProgram _checksum = null!;
    private JittedProgram _stack = null!;
    private BpfProgram _checksumProgram = null!;
    private BpfExecutionContext _context = null!;
    private MemoryRegion _packet = null!;

    [GlobalSetup]
    public void Setup()
    {
        _sum = Prepare(SumLoop, "sum");
        _checksumProgram = BpfProgram.Create(Assembler.Assemble(ChecksumLoop, AssemblySyntax.Llvm), "checksum");
        _checksum = new JittedProgram(_checksumProgram);
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

    [Benchmark(OperationsPerInvoke = SumLoopInstructions, Description = "JIT: sum 1..10^7 (ns/insn)")]
    public ulong SumTo10Million() => _sum.Run(_context);

    [Benchmark(OperationsPerInvoke = ChecksumInstructions, Description = "JIT: byte checksum, 1500 B (ns/insn)")]
    public ulong Checksum1500Bytes() => _checksum.Run(_context, _packet.Start, (ulong)_packet.Length);

    [Benchmark(OperationsPerInvoke = StackLoopInstructions, Description = "JIT: stack-heavy loop (ns/insn)")]
    public ulong StackHeavyLoop() => _stack.Run(_context);

    /// <summary>Compiling to IL and the first run (where the runtime generates machine code), per program.</summary>
    [Benchmark(Description = "JIT: compile + first run of the checksum program")]
    public ulong CompileChecksum() => new JittedProgram(_checksumProgram).Run(_context, _packet.Start, (ulong)_packet.Length);

    private static JittedProgram Prepare(string source, string name) =>
        new(BpfProgram.Create(Assembler.Assemble(source, AssemblySyntax.Llvm), name));

    private void CheckCount(long expected, Func<ulong> run)
    {
        run();
        if (_context.InstructionsExecuted != expected)
        {
            throw new InvalidOperationException($"expected {expected} instructions per run, the program executed {_context.InstructionsExecuted}");
        }
    }
}
