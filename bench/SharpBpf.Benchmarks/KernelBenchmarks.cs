using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using SharpBpf.Linux;
using SharpBpf.Linux.Events;
using SharpBpf.Linux.Objects;
using SharpBpf.Objects;

namespace SharpBpf.Benchmarks;

/// <summary>
/// The Linux backend against the running kernel (root only): map element syscalls, loading the firewall object
/// side by side with <c>bpftool prog loadall</c> of the same file, and ring buffer records delivered to C#.
/// Run with: <c>dotnet run -c Release --project bench/SharpBpf.Benchmarks -- --filter '*KernelBenchmarks*'</c>.
/// </summary>
[MemoryDiagnoser]
public class KernelBenchmarks
{
    private const int RingRecords = 1000;
    private readonly byte[] _key = new byte[4];
    private readonly byte[] _value = new byte[8];
    private string _firewall = "";
    private BpfObject? _firewallDefinition;
    private KernelMap? _hash;
    private KernelObject? _loaded;
    private RingBufferReader? _ring;
    private byte[] _blockedPacket = [];

    /// <summary>Creates the maps and loads the firewall once for the steady-state benchmarks.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _firewall = Path.Combine(Repository.Root, "bpf", "obj", "xdp_firewall.o");
        _firewallDefinition = BpfObject.Load(_firewall);
        _hash = KernelMap.Create(MapType.Hash, 4, 8, 1024, "bench_hash");
        _hash.Update(_key, _value);
        _loaded = KernelObject.Load(_firewallDefinition);
        byte[] blocked = [198, 51, 100, 66];
        _loaded.Map("fw_blocklist").Update(blocked, new byte[16]);
        _ring = new RingBufferReader(_loaded.Map("fw_events"));
        _blockedPacket = UdpFrom(blocked);
    }

    /// <summary>Releases everything.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _ring?.Dispose();
        _loaded?.Dispose();
        _hash?.Dispose();
    }

    /// <summary>One BPF_MAP_LOOKUP_ELEM on a hash map.</summary>
    [Benchmark]
    public bool MapLookup() => _hash!.TryLookup(_key, _value);

    /// <summary>One BPF_MAP_UPDATE_ELEM on a hash map.</summary>
    [Benchmark]
    public void MapUpdate() => _hash!.Update(_key, _value);

    /// <summary>Open, relocate, create maps and load xdp_firewall.o, then close it all.</summary>
    [Benchmark]
    public int LoadFirewallObject()
    {
        using var loaded = KernelObject.Load(BpfObject.Load(_firewall));
        return loaded.Programs.Count;
    }

    /// <summary>The same with bpftool (a process: exec, libbpf load, pin), the reference.</summary>
    [Benchmark]
    public int BpftoolLoadAllFirewall()
    {
        string pin = $"/sys/fs/bpf/sharpbpf_bench_{Environment.ProcessId}";
        using (var process = Process.Start("bpftool", ["prog", "loadall", _firewall, pin])!)
        {
            process.WaitForExit();
        }

        foreach (var file in Directory.GetFiles(pin))
        {
            File.Delete(file);
        }

        Directory.Delete(pin);
        return 1;
    }

    /// <summary>
    /// 1000 drops reported through the ring buffer (one BPF_PROG_TEST_RUN with repeat 1000 on a blocked packet) and
    /// read by the C# consumer: divide by 1000 for the cost per record.
    /// </summary>
    [Benchmark(OperationsPerInvoke = RingRecords)]
    public int RingBufferRecords()
    {
        _loaded!.Program("xdp_firewall").TestRun(_blockedPacket, RingRecords);
        int read = 0;
        while (read < RingRecords)
        {
            read += _ring!.Consume(_ => { });
        }

        return read;
    }

    private static byte[] UdpFrom(byte[] source)
    {
        var frame = new byte[14 + 20 + 8 + 8];
        frame[12] = 0x08;
        frame[14] = 0x45;
        frame[17] = (byte)(frame.Length - 14);
        frame[22] = 64;
        frame[23] = 17;
        source.CopyTo(frame, 26);
        new byte[] { 10, 1, 0, 1 }.CopyTo(frame, 30);
        frame[34] = 0x30; // source port 12345
        frame[35] = 0x39;
        frame[37] = 53;   // destination port 53
        frame[39] = 16;   // UDP length
        return frame;
    }
}
