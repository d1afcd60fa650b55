using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using SharpBpf.Capture;
using SharpBpf.Hosting;
using SharpBpf.Linux;
using SharpBpf.Linux.Objects;
using SharpBpf.Maps;
using RingBufferReader = SharpBpf.Linux.Events.RingBufferReader;

namespace SharpBpf.Benchmarks;

/// <summary>
/// The same XDP programs on the same frames in the VM (interpreter and JIT, checked mode, through
/// <see cref="VmObject.RunPacket(VmProgram, ReadOnlySpan{byte})"/>) and in the kernel (BPF_PROG_TEST_RUN with repeat,
/// its own per-run figure, in the "Kernel ns/run" column), in nanoseconds per program run; "vs kernel" is VM / kernel.
/// Workloads (bpf/obj): <c>bench_hash</c> (one hash lookup and one update per frame), <c>bench_ringbuf</c> (one 64-byte
/// ring buffer record per frame, drained after every invocation by a consumer in C# on both sides: ring buffer
/// throughput) and <c>xdp_firewall</c> (the firewall; its drop events are drained the same way, so both sides take the
/// same path). Frames: the first 256 of bpf/pcap/traffic.pcap that XDP accepts, each run <see cref="Repeat"/> times in a
/// row, as the kernel's repeat does (none of these programs modifies the packet, so repeated runs take the same path).
/// Needs root; run with <c>dotnet run -c Release --project bench/SharpBpf.Benchmarks -- --filter '*VmKernelBenchmarks*'</c>.
/// </summary>
[Config(typeof(Config))]
public class VmKernelBenchmarks
{
    private const int Frames = 256;
    private const int Repeat = 100;
    private const int RunsPerInvoke = Frames * Repeat;

    private readonly List<byte[]> _frames = [];
    private VmObject? _vm;
    private VmProgram? _vmProgram;

    /// <summary>The object and program to run.</summary>
    [Params("bench_hash", "bench_ringbuf", "xdp_firewall")]
    public string Workload { get; set; } = "bench_hash";

    /// <summary>Loads the object into the VM with the interpreter and reads the frames.</summary>
    [GlobalSetup(Target = nameof(VmInterpreter))]
    public void SetupInterpreter() => SetupVm(EngineKind.Interpreter);

    /// <summary>Loads the object into the VM with the JIT and reads the frames.</summary>
    [GlobalSetup(Target = nameof(VmJit))]
    public void SetupJit() => SetupVm(EngineKind.Jit);

    private void SetupVm(EngineKind engine)
    {
        ReadFrames();
        _vm = VmObject.Load(ObjectPath(), new VmObjectOptions { Engine = engine });
        _vmProgram = _vm.Program(Workload);
    }

    private string ObjectPath() => ObjectPath(Workload);

    private static string ObjectPath(string workload) => Path.Combine(Repository.Root, "bpf", "obj",
        workload.StartsWith("bench_", StringComparison.Ordinal) ? "bench_maps.o" : workload + ".o");

    private void ReadFrames() => _frames.AddRange(LoadFrames());

    private static List<byte[]> LoadFrames()
    {
        using var reader = CaptureReader.Open(Path.Combine(Repository.Root, "bpf", "pcap", "traffic.pcap"));
        var frames = reader.ReadAll().Select(p => p.Data).Where(d => d.Length >= 14).Take(Frames).ToList();
        return frames.Count == Frames
            ? frames
            : throw new InvalidOperationException($"traffic.pcap has {frames.Count} usable frames, the benchmark needs {Frames}");
    }

    /// <summary>
    /// The kernel's own figure for a workload: the mean of BPF_PROG_TEST_RUN's reported duration per repetition over
    /// the same frames (repeat 1000 each), which leaves out the syscall and, for XDP, the dispatcher update every test
    /// run call makes (milliseconds per call on this machine: timing whole calls would measure that, not the program).
    /// Null where bpf() is not usable.
    /// </summary>
    internal static double? KernelNanosecondsPerRun(string workload)
    {
        lock (KernelFigures)
        {
            if (!KernelFigures.TryGetValue(workload, out var figure))
            {
                figure = MeasureKernel(workload);
                KernelFigures[workload] = figure;
            }

            return figure;
        }
    }

    private static readonly Dictionary<string, double?> KernelFigures = [];

    private static double? MeasureKernel(string workload)
    {
        if (!KernelSupport.Status.IsSupported || !KernelSupport.Status.HasPrivilege)
        {
            return null;
        }

        const uint kernelRepeat = 1000;
        using var kernel = KernelObject.Load(ObjectPath(workload));
        var program = kernel.Program(workload);
        var rings = kernel.Maps.Where(m => m.Definition.Type == MapType.RingBuffer).Select(m => new RingBufferReader(m.Map!)).ToList();
        try
        {
            double total = 0;
            var frames = LoadFrames();
            foreach (var frame in frames)
            {
                total += program.TestRun(frame, kernelRepeat).DurationNanoseconds;
                foreach (var ring in rings)
                {
                    ring.Consume(static _ => { });
                }
            }

            return total / frames.Count;
        }
        finally
        {
            rings.ForEach(r => r.Dispose());
        }
    }

    /// <summary>Releases the VM.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _vm?.Dispose();
    }

    /// <summary>The VM's interpreter on the same frames, then its ring buffers drained.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = RunsPerInvoke)]
    public long VmInterpreter() => RunVm();

    /// <summary>The VM's JIT on the same frames, then its ring buffers drained.</summary>
    [Benchmark(OperationsPerInvoke = RunsPerInvoke)]
    public long VmJit() => RunVm();

    private long RunVm()
    {
        long records = 0;
        foreach (var frame in _frames)
        {
            for (int i = 0; i < Repeat; i++)
            {
                records += (long)_vm!.RunPacket(_vmProgram!, frame).ReturnValue;
            }
        }

        return records + _vm!.DrainEvents().Count;
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            HideColumns("Error", "StdDev", "RatioSD");
            AddColumn(new KernelFigureColumn());
            AddColumn(new ReferenceColumn("vs kernel", benchmark => KernelNanosecondsPerRun(WorkloadOf(benchmark))));
        }

        private static string WorkloadOf(BenchmarkCase benchmark) =>
            (string)benchmark.Parameters.Items.First(p => p.Name == nameof(Workload)).Value;

        // The kernel's ns per run for the row's workload, printed beside the VM's mean.
        private sealed class KernelFigureColumn : IColumn
        {
            public string Id => "KernelNsPerRun";

            public string ColumnName => "Kernel ns/run";

            public bool AlwaysShow => true;

            public ColumnCategory Category => ColumnCategory.Custom;

            public int PriorityInCategory => 0;

            public bool IsNumeric => true;

            public UnitType UnitType => UnitType.Dimensionless;

            public string Legend => "BPF_PROG_TEST_RUN's own mean duration per repetition for the same program and frames";

            public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

            public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
                KernelNanosecondsPerRun(WorkloadOf(benchmarkCase)) is { } ns
                    ? ns.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)
                    : "n/a (no bpf())";

            public bool IsAvailable(Summary summary) => true;

            public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        }
    }
}
