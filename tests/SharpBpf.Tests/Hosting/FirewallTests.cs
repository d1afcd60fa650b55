using System.Buffers.Binary;
using System.Net;
using SharpBpf.Hosting;
using SharpBpf.Maps;

namespace SharpBpf.Tests.Hosting;

/// <summary>
/// bpf/obj/xdp_firewall.o over bpf/pcap/traffic.pcap in the VM, checked frame by frame and map by map against what
/// the kernel gave for the same object, capture and block list (bpf/verify.py).
/// </summary>
public class FirewallTests
{
    private static readonly string[] StatNames = ["tcp", "udp", "icmp", "other", "ipv6", "non_ip"];

    public static TheoryData<EngineKind> Engines => [EngineKind.Interpreter, EngineKind.Jit];

    [Theory]
    [MemberData(nameof(Engines))]
    public void DefaultConfigurationGivesTheKernelsVerdictsCountersAndEvents(EngineKind engine)
    {
        using var vm = LoadFirewall(engine, dropUdpPort: 0);
        var verdicts = RunCapture(vm);
        Assert.Equal(ProjectSamples.ExpectedVerdicts("xdp_firewall"), verdicts);
        AssertMapsMatchKernel(vm, ProjectSamples.ExpectedSummary.GetProperty("xdp_firewall"));
    }

    [Fact]
    public void ReadOnlyDataSetBeforeLoadChangesThePolicyAsTheRebuiltObjectDidInTheKernel()
    {
        // The kernel run used an object rebuilt with drop_udp_dport = 5004 as the .rodata default; setting .rodata
        // before load, as a libbpf skeleton does, must give the same results.
        using var vm = LoadFirewall(EngineKind.Interpreter, dropUdpPort: 5004);
        var verdicts = RunCapture(vm);
        Assert.Equal(ProjectSamples.ExpectedVerdicts("xdp_firewall_udp5004"), verdicts);
        AssertMapsMatchKernel(vm, ProjectSamples.ExpectedSummary.GetProperty("xdp_firewall_udp5004"));
    }

    [Fact]
    public void ReadOnlyDataIsFrozenAndReadOnlyToPrograms()
    {
        using var vm = LoadFirewall(EngineKind.Interpreter, dropUdpPort: 0);
        var rodata = vm.Map(".rodata");
        Assert.True(rodata.IsFrozen);
        Assert.Equal(MapResult.NotPermitted, rodata.Update(new byte[4], new byte[4]));
        Assert.Equal(MapFlags.ReadOnlyProgram, rodata.Flags & MapFlags.ReadOnlyProgram);
        var value = new byte[4];
        Assert.Equal(MapResult.Success, rodata.Lookup(new byte[4], value));
        Assert.Equal(new byte[] { 0, 0, 1, 0 }, value); // drop_udp_dport 0, drop_malformed 1
    }

    [Fact]
    public void ThreadsRunningConcurrentlyLoseNoCounterUpdate()
    {
        // Four threads, two CPU slots: per-CPU counters are plain read-modify-writes, the block list counters atomic
        // adds; with every frame run four times, every total must be exactly four times the kernel's.
        const int threads = 4;
        using var vm = LoadFirewall(EngineKind.Jit, dropUdpPort: 0, possibleCpus: 2);
        var frames = ProjectSamples.Traffic;
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            foreach (var frame in frames)
            {
                vm.RunPacket("xdp_firewall", frame.Data);
            }
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());

        var expected = ProjectSamples.ExpectedSummary.GetProperty("xdp_firewall");
        var stats = SumStats(vm);
        foreach (var name in StatNames)
        {
            Assert.Equal(threads * expected.GetProperty("fw_stats").GetProperty(name).GetProperty("packets").GetInt64(), stats[name].Packets);
            Assert.Equal(threads * expected.GetProperty("fw_stats").GetProperty(name).GetProperty("bytes").GetInt64(), stats[name].Bytes);
        }

        foreach (var entry in expected.GetProperty("fw_blocklist").EnumerateObject())
        {
            var (drops, bytes) = BlockEntry(vm, entry.Name);
            Assert.Equal(threads * entry.Value.GetProperty("drops").GetInt64(), drops);
            Assert.Equal(threads * entry.Value.GetProperty("bytes").GetInt64(), bytes);
        }

        Assert.Equal(threads * expected.GetProperty("fw_events").GetProperty("records").GetInt32(), vm.DrainEvents().Count);
    }

    internal static VmObject LoadFirewall(EngineKind engine, ushort dropUdpPort, int possibleCpus = 2)
    {
        var vm = VmObject.Load(ProjectSamples.ObjectPath("xdp_firewall.o"), new VmObjectOptions { Engine = engine, PossibleCpus = possibleCpus },
            obj =>
            {
                var config = new byte[2];
                BinaryPrimitives.WriteUInt16LittleEndian(config, dropUdpPort);
                obj.SetReadOnlyData(config); // struct fw_config starts with drop_udp_dport
            });
        foreach (var address in ProjectSamples.BlockedSources)
        {
            Assert.Equal(MapResult.Success, vm.Map("fw_blocklist").Update(ProjectSamples.Address(address), new byte[16]));
        }

        return vm;
    }

    private static string[] RunCapture(VmObject vm)
    {
        var program = vm.Program("xdp_firewall");
        return [.. ProjectSamples.Traffic.Select(frame => ProjectSamples.CsvCell(program.RunPacket(frame.Data)))];
    }

    private static void AssertMapsMatchKernel(VmObject vm, System.Text.Json.JsonElement expected)
    {
        var stats = SumStats(vm);
        foreach (var name in StatNames)
        {
            var kernel = expected.GetProperty("fw_stats").GetProperty(name);
            Assert.Equal((kernel.GetProperty("packets").GetInt64(), kernel.GetProperty("bytes").GetInt64()), stats[name]);
        }

        var blocklist = expected.GetProperty("fw_blocklist");
        Assert.Equal(blocklist.EnumerateObject().Count(), vm.Map("fw_blocklist").Keys().Count());
        foreach (var entry in blocklist.EnumerateObject())
        {
            Assert.Equal((entry.Value.GetProperty("drops").GetInt64(), entry.Value.GetProperty("bytes").GetInt64()), BlockEntry(vm, entry.Name));
        }

        // The ring buffer records, decoded as verify.py decodes the kernel's (struct fw_event, 24 bytes).
        var events = vm.DrainEvents();
        Assert.All(events, e => Assert.Equal("fw_events", e.MapName));
        var kernelEvents = expected.GetProperty("fw_events");
        Assert.Equal(kernelEvents.GetProperty("records").GetInt32(), events.Count);
        string[] reasons = ["", "blocked_source", "udp_port", "malformed"];
        var byReason = events.GroupBy(e => reasons[e.Data[19]]).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(kernelEvents.GetProperty("by_reason").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32()), byReason);
        var byFamily = events.GroupBy(e => e.Data[20].ToString(System.Globalization.CultureInfo.InvariantCulture)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(kernelEvents.GetProperty("by_family").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32()), byFamily);
        var blocked = events.Where(e => e.Data[19] == 1).Select(e => new IPAddress(e.Data.AsSpan(0, 4)).ToString()).Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(kernelEvents.GetProperty("blocked_sources").EnumerateArray().Select(a => a.GetString()!), blocked);
        var ports = events.Where(e => e.Data[19] == 2).Select(e => (int)BinaryPrimitives.ReadUInt16LittleEndian(e.Data.AsSpan(10))).Distinct().Order();
        Assert.Equal(kernelEvents.GetProperty("udp_ports").EnumerateArray().Select(a => a.GetInt32()), ports);
    }

    private static Dictionary<string, (long Packets, long Bytes)> SumStats(VmObject vm)
    {
        var stats = vm.Map("fw_stats");
        var result = new Dictionary<string, (long, long)>();
        for (int index = 0; index < StatNames.Length; index++)
        {
            var key = BitConverter.GetBytes(index);
            var values = new byte[stats.UserValueSize];
            Assert.Equal(MapResult.Success, stats.Lookup(key, values));
            long packets = 0, bytes = 0;
            for (int cpu = 0; cpu < stats.PossibleCpus; cpu++)
            {
                packets += BinaryPrimitives.ReadInt64LittleEndian(values.AsSpan(cpu * 16));
                bytes += BinaryPrimitives.ReadInt64LittleEndian(values.AsSpan((cpu * 16) + 8));
            }

            result[StatNames[index]] = (packets, bytes);
        }

        return result;
    }

    private static (long Drops, long Bytes) BlockEntry(VmObject vm, string address)
    {
        var value = new byte[16];
        Assert.Equal(MapResult.Success, vm.Map("fw_blocklist").Lookup(ProjectSamples.Address(address), value));
        return (BinaryPrimitives.ReadInt64LittleEndian(value), BinaryPrimitives.ReadInt64LittleEndian(value.AsSpan(8)));
    }
}
