using SharpBpf.Capture;
using SharpBpf.Hosting;
using SharpBpf.Linux.Events;
using SharpBpf.Linux.Objects;
using SharpBpf.Linux.Tests.Kernel;
using SharpBpf.Maps;
using SharpBpf.Objects;
using RingBufferReader = SharpBpf.Linux.Events.RingBufferReader;
using SharpBpf.Testing;
using Xunit.Abstractions;

namespace SharpBpf.Linux.Tests.Agreement;

/// <summary>
/// The kernel is the authority: every packet program of bpf/obj runs over bpf/pcap/traffic.pcap in the VM and in the
/// running kernel (BPF_PROG_TEST_RUN), and both must give the same verdict and output packet for every frame, and
/// leave the same contents in every map and the same records in every ring buffer afterwards.
/// </summary>
public class VmKernelAgreementTests(ITestOutputHelper output)
{
    private static readonly string TrafficPath = Path.Combine(SharedData.RepositoryRoot, "bpf", "pcap", "traffic.pcap");

    /// <summary>Objects in bpf/obj with at least one program that runs on packets.</summary>
    public static TheoryData<string, EngineKind> PacketObjects()
    {
        var data = new TheoryData<string, EngineKind>();
        foreach (string path in Directory.GetFiles(Path.Combine(SharedData.RepositoryRoot, "bpf", "obj"), "*.o").Order(StringComparer.Ordinal))
        {
            // Decided from the object alone: instantiating it here would allocate its maps at test discovery.
            if (BpfObject.Load(path).Programs.Any(p => VmObject.PacketKindOf(p.Type) != PacketContextKind.None))
            {
                data.Add(Path.GetFileName(path), EngineKind.Interpreter);
                data.Add(Path.GetFileName(path), EngineKind.Jit);
            }
        }

        return data;
    }

    [KernelTheory]
    [MemberData(nameof(PacketObjects))]
    public void VerdictsPacketsAndMapsAgreeWithTheKernel(string file, EngineKind engine)
    {
        var frames = ReadFrames();
        using var vm = VmObject.Load(ObjectLoadTests.ProjectObject(file), new VmObjectOptions { Engine = engine }, Configure);
        var definition = BpfObject.Load(ObjectLoadTests.ProjectObject(file));
        Configure(definition);
        using var kernel = KernelObject.Load(definition, new KernelObjectOptions { ContinueOnProgramFailure = true });
        if (file == "xdp_firewall.o")
        {
            // The firewall's block list, as bpf/verify.py configures it for the kernel's reference run.
            foreach (byte[] address in FirewallBlockList)
            {
                Assert.Equal(MapResult.Success, vm.Map("fw_blocklist").Update(address, new byte[16]));
                kernel.Map("fw_blocklist").Update(address, new byte[16]);
            }
        }

        var rings = kernel.Maps.Where(m => m.Definition.Type == MapType.RingBuffer)
            .ToDictionary(m => m.Name, m => new RingBufferReader(m.Map!));
        int compared = 0, events = 0;
        foreach (var program in vm.Programs.Where(p => p.RunsOnPackets))
        {
            var loaded = kernel.Programs.Single(p => p.Name == program.Name);
            Assert.True(loaded.Program is not null, $"{file}: the kernel refused {program.Name}: {loaded.Error?.Message}");
            for (int i = 0; i < frames.Count; i++)
            {
                var ours = vm.RunPacket(program, frames[i]);
                var theirs = KernelRun(loaded.Program!, frames[i]);
                string where = $"{file}: {program.Name}, frame {i} ({frames[i].Length} bytes)";
                if (theirs is null)
                {
                    Assert.False(ours.Ran, $"{where}: the kernel refused the frame with EINVAL, the VM ran it ({ours.Verdict})");
                    continue;
                }

                Assert.True(ours.Ran, $"{where}: the VM refused the frame ({ours.Refusal}), the kernel returned {theirs.ReturnValue}");
                Assert.True(theirs.ReturnValue == (uint)ours.ReturnValue, $"{where}: kernel r0 {theirs.ReturnValue}, VM {ours.Verdict} ({ours.ReturnValue})");
                Assert.True(theirs.Data.AsSpan().SequenceEqual(ours.Packet),
                    $"{where}: output packets differ\n kernel {Convert.ToHexString(theirs.Data)}\n VM     {Convert.ToHexString(ours.Packet)}");
                compared++;
            }

            AssertMapsAgree(file + " after " + program.Name, vm, kernel);
            events += AssertRingBufferEventsAgree(file + " after " + program.Name, vm, rings);
        }

        foreach (var ring in rings.Values)
        {
            ring.Dispose();
        }

        output.WriteLine($"{file} ({engine}): {compared} runs and {events} ring buffer records agree");
        Assert.True(compared > 0, $"{file}: no frame was run by both");
    }

    private static readonly byte[][] FirewallBlockList = [[198, 51, 100, 66], [198, 51, 100, 77], [192, 0, 2, 200]];

    // Load-time configuration through .rodata, the same for both: the firewall also drops UDP to port 5004.
    private static void Configure(BpfObject definition)
    {
        if (definition.FindMap(".rodata") is not null && definition.Programs.Any(p => p.Name == "xdp_firewall"))
        {
            definition.SetReadOnlyData([0x8c, 0x13]); // struct fw_config.drop_udp_dport = 5004, little-endian
        }
    }

    private static List<byte[]> ReadFrames()
    {
        using var reader = CaptureReader.Open(TrafficPath);
        return reader.ReadAll().Select(p => p.Data).ToList();
    }

    // The kernel's result, or null when it refuses the frame with EINVAL (as it does for runts).
    private static TestRunResult? KernelRun(KernelProgram program, byte[] frame)
    {
        try
        {
            return program.TestRun(new TestRunOptions { Data = frame, DataOutCapacity = 4096, Repeat = 1 });
        }
        catch (BpfSyscallException e) when (e.ErrorName == "EINVAL")
        {
            return null;
        }
    }

    // Every map but ring buffers (events, compared by the ring buffer tests) and descriptor arrays (program and map
    // ids differ by design). Per-CPU values are compared as the sum over CPUs of each 64-bit word: the kernel runs each
    // test on whichever CPU the thread is on, so only the totals are deterministic.
    private static void AssertMapsAgree(string where, VmObject vm, KernelObject kernel)
    {
        foreach (var kernelMap in kernel.Maps)
        {
            var type = kernelMap.Definition.Type;
            if (type is MapType.RingBuffer or MapType.ProgramArray or MapType.ArrayOfMaps or MapType.HashOfMaps or MapType.PerfEventArray)
            {
                continue;
            }

            var ours = vm.Map(kernelMap.Name);
            var theirs = kernelMap.Map!;
            var expected = theirs.Keys().ToDictionary(Convert.ToHexString, k => Canonical(theirs.Lookup(k)!, theirs.IsPerCpu, theirs.ValueSize));
            var actual = ours.Keys().ToDictionary(Convert.ToHexString, k => Canonical(Value(ours, k), ours.IsPerCpu, ours.ValueSize));
            Assert.True(expected.Keys.Order().SequenceEqual(actual.Keys.Order()),
                $"{where}: map {kernelMap.Name} keys differ: kernel [{string.Join(' ', expected.Keys.Order())}], VM [{string.Join(' ', actual.Keys.Order())}]");
            foreach (var (key, value) in expected)
            {
                Assert.True(value == actual[key], $"{where}: map {kernelMap.Name} key {key}: kernel {value}, VM {actual[key]}");
            }
        }
    }

    // The records each ring buffer holds, in order, must be the same bytes in both.
    private static int AssertRingBufferEventsAgree(string where, VmObject vm, Dictionary<string, RingBufferReader> kernelRings)
    {
        var ours = vm.DrainEvents().Where(e => kernelRings.ContainsKey(e.MapName)).ToList();
        int count = 0;
        foreach (var (name, ring) in kernelRings)
        {
            var theirs = new List<string>();
            ring.Consume(record => theirs.Add(Convert.ToHexString(record)));
            var mine = ours.Where(e => e.MapName == name).Select(e => Convert.ToHexString(e.Data)).ToList();
            Assert.True(theirs.SequenceEqual(mine),
                $"{where}: ring buffer {name}: kernel {theirs.Count} records, VM {mine.Count}; first difference at {FirstDifference(theirs, mine)}");
            count += theirs.Count;
        }

        return count;
    }

    private static int FirstDifference(List<string> a, List<string> b)
    {
        int i = 0;
        while (i < a.Count && i < b.Count && a[i] == b[i])
        {
            i++;
        }

        return i;
    }

    private static byte[] Value(BpfMap map, byte[] key)
    {
        var value = new byte[map.UserValueSize];
        Assert.Equal(MapResult.Success, map.Lookup(key, value));
        return value;
    }

    private static string Canonical(byte[] value, bool perCpu, int valueSize)
    {
        if (!perCpu)
        {
            return Convert.ToHexString(value);
        }

        int stride = (valueSize + 7) & ~7;
        var sums = new ulong[stride / 8];
        for (int cpu = 0; cpu + stride <= value.Length; cpu += stride)
        {
            for (int word = 0; word < sums.Length; word++)
            {
                sums[word] += BitConverter.ToUInt64(value, cpu + word * 8);
            }
        }

        return "sum(" + string.Join(',', sums) + ")";
    }
}
