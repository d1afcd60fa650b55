using BenchmarkDotNet.Attributes;
using SharpBpf.Btf;

namespace SharpBpf.Benchmarks;

/// <summary>
/// BTF of the running kernel (<c>/sys/kernel/btf/vmlinux</c>): parsing (indexing ~150k types), full validation
/// and the C dump (what <c>bpftool btf dump file /sys/kernel/btf/vmlinux format c</c> does).
/// </summary>
[MemoryDiagnoser]
public class BtfBenchmarks
{
    private const string VmlinuxPath = "/sys/kernel/btf/vmlinux";
    private byte[] _bytes = [];
    private BtfSpec? _btf;

    /// <summary>Reads the kernel's BTF once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _bytes = File.ReadAllBytes(VmlinuxPath);
        _btf = BtfSpec.Parse(_bytes);
    }

    /// <summary>Parses (indexes) vmlinux BTF.</summary>
    [Benchmark]
    public int ParseVmlinux() => BtfSpec.Parse(_bytes).TypeCount;

    /// <summary>Validates vmlinux BTF with the kernel's rules.</summary>
    [Benchmark]
    public int ValidateVmlinux() => BtfSpec.Parse(_bytes).Validate().TypeCount;

    /// <summary>Dumps vmlinux BTF as a C header.</summary>
    [Benchmark]
    public long DumpVmlinuxAsC()
    {
        using var writer = new StreamWriter(Stream.Null);
        BtfCDumper.Dump(_btf!, writer);
        return writer.BaseStream.Length;
    }

    /// <summary>Finds a struct by name and a member through anonymous unions (the first lookup builds the name index).</summary>
    [Benchmark]
    public long FindTaskStructPid()
    {
        var btf = BtfSpec.Parse(_bytes);
        int id = btf.FindId("task_struct", BtfKind.Struct);
        return btf.FindMember(id, "pid")!.BitOffset;
    }
}
