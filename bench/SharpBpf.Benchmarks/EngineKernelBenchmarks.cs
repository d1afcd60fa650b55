using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using SharpBpf.Capture;
using SharpBpf.Hosting;
using SharpBpf.Linux;
using SharpBpf.Linux.Objects;
using SharpBpf.Maps;
using SharpBpf.Runtime;
using RingBufferReader = SharpBpf.Linux.Events.RingBufferReader;

namespace SharpBpf.Benchmarks;

/// <summary>
/// The interpreter, the JIT checked, the JIT unchecked (verified) and the kernel's JIT on the same clang-compiled XDP
/// programs and frames, in nanoseconds per program run: the VM through
/// <see cref="VmObject.RunPacket(VmProgram, ReadOnlySpan{byte}, int)"/> with repeat, the kernel through
/// <c>BPF_PROG_TEST_RUN</c> with repeat (its own per-repetition figure, "Kernel ns/run"); both time the repeated runs
/// on a context set up once. Run in this process on Linux, the VM's times are the benchmark thread's CPU time
/// (<see cref="ThreadCpuClock"/>): the kernel's figure leaves out the time its test run yields the CPU, and on a machine
/// shared with other work the wall-clock time of the VM would count the time other processes ran. "ns/insn" divides
/// by the instructions one run executes; "Ratio" is against the interpreter, "vs kernel" against the kernel's JIT.
/// Workloads: <c>sum</c> (bpf/obj/bench_compute.o bench_sum, 1..10^7 in 1000 bpf_loop chunks), <c>checksum</c>
/// (bench_checksum, the Internet checksum of a 1500-byte frame), <c>xdp_firewall</c>, <c>bench_hash</c> (a hash
/// lookup and update per frame) and <c>bench_ringbuf</c> (a 64-byte ring buffer record per run, drained by a consumer
/// in C# after each frame's runs on both sides; the VM's time includes its consumer, the kernel's does not) over the
/// first 256 frames of bpf/pcap/traffic.pcap.
/// Run with <c>dotnet run -c Release --project bench/SharpBpf.Benchmarks -- --filter '*EngineKernelBenchmarks*' --inProcess</c>
/// (as root for the kernel's figures).
/// </summary>
[Config(typeof(Config))]
[WarmupCount(2)]
[IterationCount(8)]
[ThreadCpuClock]
public class EngineKernelBenchmarks
{
    private const int TrafficFrames = 256;

    private List<byte[]> _frames = [];
    private int _repeat;
    private VmObject? _vm;
    private VmProgram? _program;

    /// <summary>The program and frames.</summary>
    [Params("sum", "checksum", "xdp_firewall", "bench_hash", "bench_ringbuf")]
    public string Workload { get; set; } = "sum";

    /// <summary>Prepares the interpreter.</summary>
    [GlobalSetup(Target = nameof(Interpreter))]
    public void SetupInterpreter() => Setup(EngineKind.Interpreter, SafetyMode.Checked);

    /// <summary>Prepares the JIT, checked.</summary>
    [GlobalSetup(Target = nameof(JitChecked))]
    public void SetupJitChecked() => Setup(EngineKind.Jit, SafetyMode.Checked);

    /// <summary>Prepares the JIT, unchecked (the verifier must accept the program).</summary>
    [GlobalSetup(Target = nameof(JitUnchecked))]
    public void SetupJitUnchecked() => Setup(EngineKind.Jit, SafetyMode.Unchecked);

    private void Setup(EngineKind engine, SafetyMode safety)
    {
        var workload = Workloads.Of(Workload);
        _frames = workload.Frames();
        _repeat = workload.Repeat;
        _vm = VmObject.Load(workload.ObjectPath, new VmObjectOptions { Engine = engine, Safety = safety, Verify = safety == SafetyMode.Unchecked });
        _program = _vm.Program(workload.Program);
        if (safety == SafetyMode.Unchecked && !_program.IsUnchecked)
        {
            throw new InvalidOperationException($"{workload.Program} cannot run unchecked: the verifier rejects it ({_program.Verification?.Error})");
        }
    }

    /// <summary>Releases the VM.</summary>
    [GlobalCleanup]
    public void Cleanup() => _vm?.Dispose();

    /// <summary>The interpreter.</summary>
    [Benchmark(Baseline = true)]
    public long Interpreter() => RunAll();

    /// <summary>The JIT, every access checked.</summary>
    [Benchmark]
    public long JitChecked() => RunAll();

    /// <summary>The JIT with the accesses the verifier proved unchecked.</summary>
    [Benchmark]
    public long JitUnchecked() => RunAll();

    // One invocation: every frame, each run Repeat times in a row (the ns/run column divides by that).
    private long RunAll()
    {
        long sum = 0;
        foreach (var frame in _frames)
        {
            sum += (long)_vm!.RunPacket(_program!, frame, _repeat).ReturnValue;

            // As the kernel's side consumes after each frame's test run: the records are still in the cache.
            sum += _vm.DrainEvents().Count;
        }

        return sum;
    }

    /// <summary>A program, its frames and how often each frame is run in a row.</summary>
    private sealed record Workloads(string ObjectPath, string Program, int Repeat, Func<List<byte[]>> Frames)
    {
        public int RunsPerInvoke => Frames().Count * Repeat;

        public static Workloads Of(string name) => name switch
        {
            "sum" => new(Object("bench_compute.o"), "bench_sum", 1, () => [Frame(64)]),
            "checksum" => new(Object("bench_compute.o"), "bench_checksum", 1000, () => [Frame(1500)]),
            "xdp_firewall" => new(Object("xdp_firewall.o"), "xdp_firewall", 100, Traffic),
            "bench_hash" => new(Object("bench_maps.o"), "bench_hash", 100, Traffic),
            "bench_ringbuf" => new(Object("bench_maps.o"), "bench_ringbuf", 100, Traffic),
            _ => throw new ArgumentException($"no workload {name}", nameof(name)),
        };

        private static string Object(string file) => Path.Combine(Repository.Root, "bpf", "obj", file);

        // An Ethernet frame of an unknown EtherType with seeded payload bytes.
        private static byte[] Frame(int length)
        {
            var frame = new byte[length];
            new Random(1500).NextBytes(frame);
            frame[12] = 0x88;
            frame[13] = 0xb5;
            return frame;
        }

        private static List<byte[]> Traffic()
        {
            using var reader = CaptureReader.Open(Path.Combine(Repository.Root, "bpf", "pcap", "traffic.pcap"));
            var frames = reader.ReadAll().Select(p => p.Data).Where(d => d.Length >= 14).Take(TrafficFrames).ToList();
            return frames.Count == TrafficFrames
                ? frames
                : throw new InvalidOperationException($"traffic.pcap has {frames.Count} usable frames, the benchmark needs {TrafficFrames}");
        }
    }

    /// <summary>Figures computed once per workload for the columns: the kernel's time per run and the instructions per run.</summary>
    private static class Figures
    {
        private static readonly Dictionary<string, double?> Kernel = [];
        private static readonly Dictionary<string, double> Instructions = [];

        /// <summary>BPF_PROG_TEST_RUN's mean duration per repetition over the workload's frames; null without privileged bpf().</summary>
        public static double? KernelNanosecondsPerRun(string workload)
        {
            lock (Kernel)
            {
                if (!Kernel.TryGetValue(workload, out var figure))
                {
                    figure = MeasureKernel(Workloads.Of(workload));
                    Kernel[workload] = figure;
                }

                return figure;
            }
        }

        /// <summary>The mean number of instructions one run executes (in the interpreter, checked).</summary>
        public static double InstructionsPerRun(string workload)
        {
            lock (Instructions)
            {
                if (!Instructions.TryGetValue(workload, out double count))
                {
                    var w = Workloads.Of(workload);
                    using var vm = VmObject.Load(w.ObjectPath, new VmObjectOptions { Verify = false });
                    var frames = w.Frames();
                    count = frames.Average(f => (double)vm.RunPacket(vm.Program(w.Program), f).InstructionsExecuted);
                    Instructions[workload] = count;
                }

                return count;
            }
        }

        private static double? MeasureKernel(Workloads workload)
        {
            if (!KernelSupport.Status.IsSupported || !KernelSupport.Status.HasPrivilege)
            {
                return null;
            }

            using var kernel = KernelObject.Load(workload.ObjectPath);
            var program = kernel.Program(workload.Program);
            var rings = kernel.Maps.Where(m => m.Definition.Type == MapType.RingBuffer).Select(m => new RingBufferReader(m.Map!)).ToList();
            try
            {
                // The same repeat as the VM's, at least 10 so that the kernel's timer resolution does not matter.
                uint repeat = (uint)Math.Max(10, workload.Repeat);
                double total = 0;
                var frames = workload.Frames();
                foreach (var frame in frames)
                {
                    total += program.TestRun(frame, repeat).DurationNanoseconds;
                    rings.ForEach(r => r.Consume(static _ => { }));
                }

                return total / frames.Count;
            }
            finally
            {
                rings.ForEach(r => r.Dispose());
            }
        }
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            HideColumns("Error", "StdDev", "RatioSD");
            AddColumn(new FigureColumn("ns/run", "Mean time of one program run in nanoseconds", (b, mean) => mean / RunsPerInvoke(b)));
            AddColumn(new FigureColumn("insns/run", "Instructions one run executes (mean over the frames)", (b, _) => Figures.InstructionsPerRun(WorkloadOf(b))));
            AddColumn(new FigureColumn("ns/insn", "ns/run divided by insns/run", (b, mean) => mean / RunsPerInvoke(b) / Figures.InstructionsPerRun(WorkloadOf(b))));
            AddColumn(new FigureColumn("Kernel ns/run", "BPF_PROG_TEST_RUN's own mean duration per repetition, same program and frames",
                (b, _) => Figures.KernelNanosecondsPerRun(WorkloadOf(b))));
            AddColumn(new FigureColumn("vs kernel", "ns/run divided by Kernel ns/run (below 1: faster than the kernel's JIT)",
                (b, mean) => Figures.KernelNanosecondsPerRun(WorkloadOf(b)) is { } kernel ? mean / RunsPerInvoke(b) / kernel : null));
        }

        private static string WorkloadOf(BenchmarkCase benchmark) =>
            (string)benchmark.Parameters.Items.First(p => p.Name == nameof(Workload)).Value;

        private static int RunsPerInvoke(BenchmarkCase benchmark) => Workloads.Of(WorkloadOf(benchmark)).RunsPerInvoke;
    }
}
