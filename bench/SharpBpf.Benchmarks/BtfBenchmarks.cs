using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SharpBpf.Btf;
using SharpBpf.Btf.Core;
using SharpBpf.Objects;

namespace SharpBpf.Benchmarks;

/// <summary>
/// BTF of the running kernel (<c>/sys/kernel/btf/vmlinux</c>): parsing (indexing ~150k types), full validation,
/// the C dump side by side with <c>bpftool btf dump file /sys/kernel/btf/vmlinux format c</c> (the baseline of its
/// category: the Ratio column is SharpBPF's time over bpftool's), the raw listing beside bpftool's, and CO-RE
/// relocation of the project's core_probe.o against vmlinux.
/// </summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/SharpBpf.Benchmarks -- --filter '*BtfBenchmarks*'</c>.</remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class BtfBenchmarks
{
    private const string VmlinuxPath = "/sys/kernel/btf/vmlinux";
    private byte[] _bytes = [];
    private BtfSpec? _btf;
    private BpfObject? _coreProbe;

    /// <summary>Reads the kernel's BTF and the CO-RE object once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _bytes = File.ReadAllBytes(VmlinuxPath);
        _btf = BtfSpec.Parse(_bytes);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "bpf", "obj", "core_probe.o");
            if (File.Exists(candidate))
            {
                _coreProbe = BpfObject.Load(candidate);
                break;
            }
        }
    }

    /// <summary>Parses (indexes) vmlinux BTF.</summary>
    [Benchmark]
    [BenchmarkCategory("parse")]
    public int ParseVmlinux() => BtfSpec.Parse(_bytes).TypeCount;

    /// <summary>Validates vmlinux BTF with the kernel's rules.</summary>
    [Benchmark]
    [BenchmarkCategory("parse")]
    public int ValidateVmlinux() => BtfSpec.Parse(_bytes).Validate().TypeCount;

    /// <summary>Dumps vmlinux BTF as a C header.</summary>
    [Benchmark]
    [BenchmarkCategory("c-dump")]
    public long DumpVmlinuxAsC()
    {
        using var writer = new StreamWriter(Stream.Null);
        BtfCDumper.Dump(_btf!, writer);
        return writer.BaseStream.Length;
    }

    /// <summary>The reference: <c>bpftool btf dump file /sys/kernel/btf/vmlinux format c</c>, output discarded.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("c-dump")]
    public int BpftoolDumpVmlinuxAsC() => RunBpftool("btf", "dump", "file", VmlinuxPath, "format", "c");

    /// <summary>Parses vmlinux BTF and lists every type in bpftool's raw format.</summary>
    [Benchmark]
    [BenchmarkCategory("raw-dump")]
    public long DumpVmlinuxRaw()
    {
        using var writer = new StreamWriter(Stream.Null);
        BtfRawDumper.Dump(BtfSpec.Parse(_bytes), writer);
        return writer.BaseStream.Length;
    }

    /// <summary>The reference: <c>bpftool btf dump file /sys/kernel/btf/vmlinux</c> (raw), output discarded.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("raw-dump")]
    public int BpftoolDumpVmlinuxRaw() => RunBpftool("btf", "dump", "file", VmlinuxPath);

    /// <summary>CO-RE relocation of core_probe.o (3 programs, 54 relocations) against vmlinux, parsing included.</summary>
    [Benchmark]
    [BenchmarkCategory("core")]
    public int RelocateCoreProbe() => _coreProbe is null ? 0 : CoreRelocator.Apply(_coreProbe, BtfSpec.Parse(_bytes)).Relocations.Count;

    /// <summary>Finds a struct by name and a member through anonymous unions (the first lookup builds the name index).</summary>
    [Benchmark]
    [BenchmarkCategory("parse")]
    public long FindTaskStructPid()
    {
        var btf = BtfSpec.Parse(_bytes);
        int id = btf.FindId("task_struct", BtfKind.Struct);
        return btf.FindMember(id, "pid")!.BitOffset;
    }

    private static int RunBpftool(params string[] args)
    {
        var psi = new ProcessStartInfo("bpftool") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("bpftool did not start");
        // Drain stdout as bpftool writes it (as a shell redirect to /dev/null would).
        process.StandardOutput.BaseStream.CopyTo(Stream.Null);
        process.WaitForExit();
        return process.ExitCode;
    }
}
