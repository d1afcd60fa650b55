using BenchmarkDotNet.Attributes;
using SharpBpf.Btf;
using SharpBpf.Btf.Core;
using SharpBpf.Isa;
using SharpBpf.Linux;
using SharpBpf.Linux.Objects;
using SharpBpf.Objects;
using SharpBpf.Verification;

namespace SharpBpf.Benchmarks;

/// <summary>
/// The verifier against the kernel's own BPF_PROG_LOAD, side by side on the same programs: every program of
/// ../shared/samples that the running kernel accepts. The set is found once in the set-up, by loading each object as
/// the project's loader does (CO-RE for the running kernel, maps created, BTF func/line info; programs whose section
/// gives no type load as socket filters); the kernel benchmark replays exactly those BPF_PROG_LOAD requests with the
/// log off (each program loaded, then closed), and ours verifies the same instructions as the same type with the same
/// maps. The Ratio column is ours / the kernel's. Needs root and ../shared (or $SHARPBPF_SHARED). One operation takes
/// seconds, so run few iterations: <c>dotnet run -c Release --project bench/SharpBpf.Benchmarks -- --filter
/// '*VerifierBenchmarks*' --inProcess --warmupCount 1 --iterationCount 5 --invocationCount 1 --unrollFactor 1</c>.
/// </summary>
public class VerifierBenchmarks
{
    private readonly List<KernelObject> _objects = [];
    private readonly List<ProgramLoadOptions> _kernelLoads = [];
    private readonly List<(Instruction[] Instructions, VerifierOptions Options, string Name)> _ours = [];

    /// <summary>Loads every sample object once to learn which programs the kernel accepts and how it was asked.</summary>
    [GlobalSetup]
    public void Setup()
    {
        string samples = SamplesFolder() ?? throw new InvalidOperationException("../shared/samples not found (set SHARPBPF_SHARED)");
        foreach (var file in Directory.GetFiles(samples, "*.o", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            BpfObject obj;
            try
            {
                obj = BpfObject.Load(file);
            }
            catch (BpfException)
            {
                continue; // the malformed objects of invalid/
            }

            var requests = new Dictionary<string, ProgramLoadOptions>();
            KernelObject loaded;
            try
            {
                loaded = KernelObject.Load(obj, new KernelObjectOptions
                {
                    ContinueOnProgramFailure = true,
                    // As the agreement table loads old objects: XDP when the file name says so, else tc.
                    FallbackProgramType = Path.GetFileName(file).Contains("xdp", StringComparison.OrdinalIgnoreCase) ? ProgramType.Xdp : ProgramType.SchedCls,
                    ProgramLoadObserver = (program, request) => requests[program.Name] = request,
                });
            }
            catch (BpfException)
            {
                continue; // maps or BTF the kernel refuses: no program of it is loadable
            }

            _objects.Add(loaded);
            var core = CoreRelocator.HasRelocations(obj) && BtfFile.RunningKernel is { } vmlinux ? CoreRelocator.Apply(obj, vmlinux) : null;
            var maps = VerifierMap.FromObject(obj);
            foreach (var entry in loaded.Programs.Where(p => p.Program is not null))
            {
                var program = obj.Programs.First(p => p.Name == entry.Name);
                var request = requests[entry.Name];
                _kernelLoads.Add(Quiet(request));
                _ours.Add((core?.FindProgram(program.Name)?.Instructions ?? program.Instructions,
                    new VerifierOptions { ProgramType = request.Type, ExpectedAttachType = program.ExpectedAttachType, Maps = maps },
                    program.Name));
            }
        }

        Console.WriteLine($"// {_kernelLoads.Count} programs the kernel accepts, from {_objects.Count} objects");
    }

    /// <summary>Unloads the objects.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var loaded in _objects)
        {
            loaded.Dispose();
        }
    }

    /// <summary>BPF_PROG_LOAD of every accepted program, log off, each closed right after.</summary>
    [Benchmark(Baseline = true)]
    public int KernelProgramLoad()
    {
        int loaded = 0;
        foreach (var request in _kernelLoads)
        {
            using var handle = BpfSyscall.ProgramLoad(request, out _);
            loaded++;
        }

        return loaded;
    }

    /// <summary>Verifier.Verify of the same programs (log off).</summary>
    [Benchmark]
    public int SharpBpfVerify()
    {
        int accepted = 0;
        foreach (var (instructions, options, name) in _ours)
        {
            accepted += Verifier.Verify(instructions, options, name).Accepted ? 1 : 0;
        }

        return accepted;
    }

    // The same request with no log, and no second load to fetch one.
    private static ProgramLoadOptions Quiet(ProgramLoadOptions r) => new()
    {
        Type = r.Type,
        Instructions = r.Instructions,
        License = r.License,
        Name = r.Name,
        LogLevel = 0,
        LogOnFailure = false,
        KernelVersion = r.KernelVersion,
        Flags = r.Flags,
        ExpectedAttachType = r.ExpectedAttachType,
        IfIndex = r.IfIndex,
        Btf = r.Btf,
        FuncInfo = r.FuncInfo,
        FuncInfoRecordSize = r.FuncInfoRecordSize,
        LineInfo = r.LineInfo,
        LineInfoRecordSize = r.LineInfoRecordSize,
        AttachBtfId = r.AttachBtfId,
        AttachProgram = r.AttachProgram,
        AttachBtfObject = r.AttachBtfObject,
        FdArray = r.FdArray,
    };

    // $SHARPBPF_SHARED/samples, else a "shared/samples" folder beside the checkout or one of its parents (worktrees).
    private static string? SamplesFolder()
    {
        if (Environment.GetEnvironmentVariable("SHARPBPF_SHARED") is { Length: > 0 } configured)
        {
            return Directory.Exists(Path.Combine(configured, "samples")) ? Path.Combine(configured, "samples") : null;
        }

        for (var dir = new DirectoryInfo(Repository.Root).Parent; dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "samples");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
