using System.Buffers.Binary;
using System.Text.Json;
using SharpBpf.Isa;
using SharpBpf.Maps;
using SharpBpf.Objects;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Contexts;
using SharpBpf.Runtime.Helpers;
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
        var loaded = new LoadedObject(Path.Combine(BpfDirectory, "obj", "tail_calls.o"), engine);
        var dispatch = loaded.Programs["xdp_dispatch"];
        var stats = loaded.Maps.FindByName("dispatch_stats")!;
        var expected = ExpectedVerdicts("xdp_dispatch");
        var summary = ExpectedSummary("tail_calls");
        string[] names = ["dispatched", "fallback", "not_ip", "tcp_syn", "udp", "udp_port0", "icmp"];

        var frames = Pcap.ReadFrames(Path.Combine(BpfDirectory, "pcap", "traffic.pcap"));
        Assert.Equal(expected.Count, frames.Count);
        for (int i = 0; i < frames.Count; i++)
        {
            string verdict = loaded.RunXdp(dispatch, frames[i]);
            Assert.True(expected[i] == verdict, $"frame {i}: kernel {expected[i]}, VM {verdict}");
        }

        var before = SumPerCpu(stats, names.Length);
        for (int k = 0; k < names.Length; k++)
        {
            Assert.True(summary.GetProperty("empty_icmp_slot").GetProperty(names[k]).GetUInt64() == before[k], $"{names[k]}: VM {before[k]}");
        }

        // Installing handle_icmp into the empty slot 2 at run time, then a second pass, as verify.py does.
        var table = (ProgramArrayMap)loaded.Maps.FindByName("dispatch_table")!;
        Assert.Equal(MapResult.Success, table.SetProgram(2, loaded.Programs["handle_icmp"]));
        foreach (var frame in frames)
        {
            loaded.RunXdp(dispatch, frame);
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
        var loaded = new LoadedObject(Path.Combine(BpfDirectory, "obj", "calls_loops.o"), engine);
        var program = loaded.Programs["xdp_calls_loops"];
        var expected = ExpectedVerdicts("xdp_calls_loops");
        var frames = Pcap.ReadFrames(Path.Combine(BpfDirectory, "pcap", "traffic.pcap"));
        for (int i = 0; i < frames.Count; i++)
        {
            string verdict = loaded.RunXdp(program, frames[i]);
            Assert.True(expected[i] == verdict, $"frame {i}: kernel {expected[i]}, VM {verdict}");
        }

        var summary = ExpectedSummary("calls_loops");
        var bss = loaded.Maps.FindByName(".bss")!;
        var value = new byte[bss.ValueSize];
        Assert.Equal(MapResult.Success, bss.Lookup(new byte[4], value));
        foreach (var name in new[] { "packets_seen", "ipv4_packets", "bad_checksums", "options_skipped" })
        {
            ulong actual = BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan(loaded.SymbolOffset(name)));
            Assert.True(summary.GetProperty(name).GetUInt64() == actual, $"{name}: VM {actual}");
        }

        Assert.Equal(summary.GetProperty("last_hash").GetUInt32(), BinaryPrimitives.ReadUInt32LittleEndian(value.AsSpan(loaded.SymbolOffset("last_hash"))));
    }

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

/// <summary>Frames of a classic little-endian pcap file.</summary>
internal static class Pcap
{
    public static List<byte[]> ReadFrames(string path)
    {
        var data = File.ReadAllBytes(path);
        Assert.Equal(0xa1b2c3d4u, BinaryPrimitives.ReadUInt32LittleEndian(data));
        var frames = new List<byte[]>();
        for (int offset = 24; offset + 16 <= data.Length;)
        {
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset + 8));
            offset += 16;
            frames.Add(data.AsSpan(offset, length).ToArray());
            offset += length;
        }

        return frames;
    }
}

/// <summary>
/// An object loaded into the VM the way libbpf loads it into a kernel: every map created in object order (global data
/// with its initial value, read-only sections frozen), every XDP program converted and prepared on one engine, and the
/// program arrays' static slots filled.
/// </summary>
internal sealed class LoadedObject
{
    private readonly BpfObject _object;
    private readonly XdpContext _xdp = new();
    private readonly BpfExecutionContext _context;

    public LoadedObject(string path, EngineKind engine, int cpus = 2)
    {
        _object = BpfObject.Load(path);
        Maps = new MapSet(new MapSetOptions { PossibleCpus = cpus });
        foreach (var definition in _object.Maps)
        {
            var map = Maps.Create(new MapSpec(definition.Type, (int)definition.KeySize, (int)definition.ValueSize, (int)definition.MaxEntries,
                (MapFlags)definition.Flags, definition.Name));
            if (definition.InitialValue is { } initial)
            {
                Assert.Equal(MapResult.Success, map.Update(new byte[4], initial.Span));
            }

            if (definition.IsReadOnly)
            {
                map.Freeze();
            }
        }

        // Code names maps by their index in the object (libbpf would patch in descriptors): resolve by index.
        var options = new EngineOptions
        {
            ResolveImm64 = (pc, source, immediate, next) => Maps.ResolveImm64(pc, source switch
            {
                Imm64Source.MapFd => Imm64Source.MapIndex,
                Imm64Source.MapValue => Imm64Source.MapIndexValue,
                _ => source,
            }, immediate, next),
        };
        foreach (var program in _object.Programs)
        {
            var converted = _xdp.ConvertProgram(program.ToBpfProgram());
            Programs[program.Name] = engine == EngineKind.Jit ? new SharpBpf.Jit.JittedProgram(converted, options) : new Interpreter(converted, options);
        }

        for (int i = 0; i < _object.Maps.Count; i++)
        {
            foreach (var slot in _object.Maps[i].InitialSlots.Where(s => s.TargetMapIndex < 0))
            {
                Assert.Equal(MapResult.Success, ((ProgramArrayMap)Maps[i]).SetProgram(slot.Slot, Programs[slot.SymbolName]));
            }
        }

        var helpers = KernelHelpers.Register(MapHelpers.Register(new HelperTable(), Maps));
        _context = Maps.CreateContext(helpers);
    }

    public MapSet Maps { get; }

    public Dictionary<string, ExecutableProgram> Programs { get; } = [];

    /// <summary>The offset of a global variable in its section.</summary>
    public int SymbolOffset(string name) => (int)_object.Elf.Symbols.First(s => s.Name == name).Value;

    /// <summary>Runs one frame as BPF_PROG_TEST_RUN does; the verdict as verify.py writes it ("PASS", "EINVAL"...).</summary>
    public string RunXdp(ExecutableProgram program, byte[] frame)
    {
        if (frame.Length < XdpContext.MinPacketLength)
        {
            return "EINVAL";
        }

        _xdp.SetPacket(frame);
        _xdp.Run(program, _context);
        return _xdp.Action switch
        {
            XdpAction.Aborted => "ABORTED",
            XdpAction.Drop => "DROP",
            XdpAction.Pass => "PASS",
            XdpAction.Transmit => "TX",
            XdpAction.Redirect => "REDIRECT",
            var other => ((uint)other).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }
}
