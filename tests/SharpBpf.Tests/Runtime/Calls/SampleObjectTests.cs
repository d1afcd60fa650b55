using System.Buffers.Binary;
using System.Text.Json;
using SharpBpf.Capture;
using SharpBpf.Hosting;
using SharpBpf.Maps;
using SharpBpf.Testing;

namespace SharpBpf.Tests.Runtime.Calls;

/// <summary>
/// The committed bpf/obj/tail_calls.o and calls_loops.o run over bpf/pcap/traffic.pcap in the VM, on both engines,
/// against what the kernel gave for the same frames (bpf/pcap/expected_verdicts.csv and expected_summary.json, written by
/// <c>python3 bpf/verify.py --write</c> with BPF_PROG_TEST_RUN through bpftool).
/// </summary>
public class SampleObjectTests
{
    private static string BpfDirectory => Path.Combine(SharedData.RepositoryRoot, "bpf");

    [Theory]
    [MemberData(nameof(CallsVm.BothEngines), MemberType = typeof(CallsVm))]
    public void TailCallDispatcherMatchesTheKernel(EngineKind engine)
    {
        using var loaded = Load("tail_calls.o", engine);
        var dispatch = loaded.Program("xdp_dispatch");
        var stats = loaded.Map("dispatch_stats");
        var expected = ExpectedVerdicts("xdp_dispatch");
        var summary = ExpectedSummary("tail_calls");
        string[] names = ["dispatched", "fallback", "not_ip", "tcp_syn", "udp", "udp_port0", "icmp"];

        var frames = ReadFrames();
        Assert.Equal(expected.Count, frames.Count);
        for (int i = 0; i < frames.Count; i++)
        {
            string verdict = Verdict(dispatch.RunPacket(frames[i]));
            Assert.True(expected[i] == verdict, $"frame {i}: kernel {expected[i]}, VM {verdict}");
        }

        var before = SumPerCpu(stats, names.Length);
        for (int k = 0; k < names.Length; k++)
        {
            Assert.True(summary.GetProperty("empty_icmp_slot").GetProperty(names[k]).GetUInt64() == before[k], $"{names[k]}: VM {before[k]}");
        }

        // Installing handle_icmp into the empty slot 2 at run time, then a second pass, as verify.py does.
        var table = (ProgramArrayMap)loaded.Map("dispatch_table");
        Assert.Equal(MapResult.Success, table.SetProgram(2, loaded.Program("handle_icmp").Executable!));
        foreach (var frame in frames)
        {
            dispatch.RunPacket(frame);
        }

        var after = SumPerCpu(stats, names.Length);
        for (int k = 0; k < names.Length; k++)
        {
            Assert.True(summary.GetProperty("icmp_slot_installed").GetProperty(names[k]).GetUInt64() == after[k] - before[k], $"{names[k]} after installing: VM {after[k] - before[k]}");
        }
    }

    [Theory]
    [MemberData(nameof(CallsVm.BothEngines), MemberType = typeof(CallsVm))]
    public void CallsAndLoopsProgramMatchesTheKernel(EngineKind engine)
    {
        using var loaded = Load("calls_loops.o", engine);
        var program = loaded.Program("xdp_calls_loops");
        var expected = ExpectedVerdicts("xdp_calls_loops");
        var frames = ReadFrames();
        for (int i = 0; i < frames.Count; i++)
        {
            string verdict = Verdict(program.RunPacket(frames[i]));
            Assert.True(expected[i] == verdict, $"frame {i}: kernel {expected[i]}, VM {verdict}");
        }

        var summary = ExpectedSummary("calls_loops");
        var bss = loaded.Map(".bss");
        var value = new byte[bss.ValueSize];
        Assert.Equal(MapResult.Success, bss.Lookup(new byte[4], value));
        foreach (var name in new[] { "packets_seen", "ipv4_packets", "bad_checksums", "options_skipped" })
        {
            ulong actual = BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan(SymbolOffset(loaded, name)));
            Assert.True(summary.GetProperty(name).GetUInt64() == actual, $"{name}: VM {actual}");
        }

        Assert.Equal(summary.GetProperty("last_hash").GetUInt32(), BinaryPrimitives.ReadUInt32LittleEndian(value.AsSpan(SymbolOffset(loaded, "last_hash"))));
    }

    // The object instantiated in the VM as libbpf would in a kernel (SharpBpf.Hosting), on one engine.
    private static VmObject Load(string name, EngineKind engine) =>
        VmObject.Load(Path.Combine(BpfDirectory, "obj", name), new VmObjectOptions
        {
            Engine = engine == EngineKind.Jit ? SharpBpf.Hosting.EngineKind.Jit : SharpBpf.Hosting.EngineKind.Interpreter,
            PossibleCpus = 2,
        });

    private static List<byte[]> ReadFrames()
    {
        using var reader = CaptureReader.Open(Path.Combine(BpfDirectory, "pcap", "traffic.pcap"));
        return [.. reader.ReadAll().Select(p => p.Data)];
    }

    // The verdict as verify.py writes the kernel's ("PASS", "EINVAL"...).
    private static string Verdict(PacketRunResult result) => result.Verdict.StartsWith("XDP_", StringComparison.Ordinal) ? result.Verdict[4..] : result.Verdict;

    private static int SymbolOffset(VmObject loaded, string name) => (int)loaded.Object.Elf.Symbols.First(s => s.Name == name).Value;

    private static ulong[] SumPerCpu(BpfMap map, int entries)
    {
        var totals = new ulong[entries];
        var buffer = new byte[map.UserValueSize];
        for (int k = 0; k < entries; k++)
        {
            Assert.Equal(MapResult.Success, map.Lookup(BitConverter.GetBytes((uint)k), buffer));
            for (int offset = 0; offset < buffer.Length; offset += 8)
            {
                totals[k] += BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(offset));
            }
        }

        return totals;
    }

    private static List<string> ExpectedVerdicts(string column)
    {
        var lines = File.ReadAllLines(Path.Combine(BpfDirectory, "pcap", "expected_verdicts.csv"));
        int index = Array.IndexOf(lines[0].Split(','), column);
        Assert.True(index >= 0, $"no column {column}");
        return [.. lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')[index])];
    }

    private static JsonElement ExpectedSummary(string name)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(BpfDirectory, "pcap", "expected_summary.json")));
        return document.RootElement.GetProperty(name).Clone();
    }
}
