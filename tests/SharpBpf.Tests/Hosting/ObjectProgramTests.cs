using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SharpBpf.Hosting;
using SharpBpf.Maps;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Contexts;
using SharpBpf.Runtime.Helpers;

namespace SharpBpf.Tests.Hosting;

/// <summary>
/// The other programs of bpf/obj in the VM: tc rewriting (packets and checksums checked independently), socket filters,
/// longest-prefix routing and tracing, with the kernel's verdicts and counters from bpf/pcap where the kernel ran them.
/// (tail_calls.o and calls_loops.o: Runtime/Calls/SampleObjectTests.)
/// </summary>
public class ObjectProgramTests
{
    [Fact]
    public void TcRewriteRemarksAndRedirectsPortsWithValidChecksums()
    {
        using var vm = VmObject.Load(ProjectSamples.ObjectPath("tc_rewrite.o"), new VmObjectOptions { PossibleCpus = 2 });
        var dscpRule = new byte[16];
        dscpRule[8] = 46; // struct tc_dscp_rule { u64 hits; u8 dscp; }: EF
        Assert.Equal(MapResult.Success, vm.Map("tc_dscp_rules").Update(ProjectSamples.Address("203.0.113.10"), dscpRule));
        var portRule = new byte[16];
        BinaryPrimitives.WriteUInt16LittleEndian(portRule.AsSpan(8), 6004); // struct tc_port_rule { u64 hits; u16 new_port; }
        Assert.Equal(MapResult.Success, vm.Map("tc_port_rules").Update(BitConverter.GetBytes((ushort)5004), portRule));

        var program = vm.Program("tc_rewrite");
        Assert.Equal(PacketContextKind.TrafficControl, program.PacketKind);
        int remarked = 0, portsRewritten = 0, ipChecksumsValid = 0, udpChecksumsValid = 0, bad = 0;
        var cells = new List<string>();
        foreach (var frame in ProjectSamples.Traffic)
        {
            var result = program.RunPacket(frame.Data);
            cells.Add(ProjectSamples.CsvCell(result));
            if (!result.Ran || result.Packet.AsSpan().SequenceEqual(frame.Data))
            {
                continue;
            }

            // What changed must be exactly what the rules say, with correct checksums (computed here, RFC 1071).
            byte[] input = frame.Data, output = result.Packet;
            Assert.Equal(input.Length, output.Length);
            Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(output.AsSpan(12)));
            int ihl = (output[14] & 15) * 4;
            var ip = output.AsSpan(14, ihl);
            if (output[15] != input[15])
            {
                remarked++;
                Assert.Equal(46, output[15] >> 2);
                Assert.Equal(input[15] & 3, output[15] & 3);
                Assert.Equal("203.0.113.10", new System.Net.IPAddress(ip.Slice(16, 4)).ToString());
            }

            if (InternetChecksum(ip) == 0xffff)
            {
                ipChecksumsValid++;
            }
            else
            {
                bad++;
            }

            if (ip[9] == 17 && output.Length >= 14 + ihl + 8)
            {
                var udp = output.AsSpan(14 + ihl);
                if (BinaryPrimitives.ReadUInt16BigEndian(udp[2..]) != BinaryPrimitives.ReadUInt16BigEndian(input.AsSpan(14 + ihl + 2)))
                {
                    portsRewritten++;
                    Assert.Equal(5004, BinaryPrimitives.ReadUInt16BigEndian(input.AsSpan(14 + ihl + 2)));
                    Assert.Equal(6004, BinaryPrimitives.ReadUInt16BigEndian(udp[2..]));
                }

                var pseudo = new byte[12 + udp.Length];
                ip.Slice(12, 8).CopyTo(pseudo);
                pseudo[9] = 17;
                BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)udp.Length);
                udp.CopyTo(pseudo.AsSpan(12));
                if (InternetChecksum(pseudo) == 0xffff)
                {
                    udpChecksumsValid++;
                }
                else
                {
                    bad++;
                }
            }

            // Nothing else may change: compare the frames with the rewritten fields masked out.
            var a = (byte[])input.Clone();
            var b = (byte[])output.Clone();
            foreach (int at in new[] { 15, 24, 25, 14 + ihl + 2, 14 + ihl + 3, 14 + ihl + 6, 14 + ihl + 7 }.Where(at => at < a.Length))
            {
                a[at] = b[at] = 0;
            }

            Assert.Equal(a, b);
        }

        Assert.Equal(ProjectSamples.ExpectedVerdicts("tc_rewrite"), cells);
        var kernel = ProjectSamples.ExpectedSummary.GetProperty("tc_rewrite");
        Assert.Equal(kernel.GetProperty("dscp_rewritten").GetInt32(), remarked);
        Assert.Equal(kernel.GetProperty("port_rewritten").GetInt32(), portsRewritten);
        Assert.Equal(kernel.GetProperty("ip_checksum_ok").GetInt32(), ipChecksumsValid);
        Assert.Equal(kernel.GetProperty("udp_checksum_ok").GetInt32(), udpChecksumsValid);
        Assert.Equal(0, bad);
        Assert.Equal(kernel.GetProperty("tc_dscp_rules_hits").GetInt64(), Hits(vm.Map("tc_dscp_rules")));
        Assert.Equal(kernel.GetProperty("tc_port_rules_hits").GetInt64(), Hits(vm.Map("tc_port_rules")));
    }

    [Fact]
    public void SocketFilterKeepsTheKernelsFrames() => SocketFilterMatchesKernel("udp_port_range");

    [Fact]
    public void LegacySocketFilterKeepsTheKernelsFrames() => SocketFilterMatchesKernel("udp_port_range_legacy");

    private static void SocketFilterMatchesKernel(string name)
    {
        using var vm = VmObject.Load(ProjectSamples.ObjectPath("socket_filter.o"), new VmObjectOptions { PossibleCpus = 2, Engine = EngineKind.Jit });
        var program = vm.Program(name);
        Assert.Equal(PacketContextKind.SocketFilter, program.PacketKind);
        var cells = ProjectSamples.Traffic.Select(f => ProjectSamples.CsvCell(program.RunPacket(f.Data))).ToArray();
        Assert.Equal(ProjectSamples.ExpectedVerdicts(name), cells);
        Assert.Equal(40, cells.Count(c => c == "200"));
    }

    [Fact]
    public void LongestPrefixRoutingGivesTheKernelsVerdictsAndCounters()
    {
        using var vm = VmObject.Load(ProjectSamples.ObjectPath("lpm_route.o"), new VmObjectOptions { PossibleCpus = 2 });
        (string Address, int Length, uint NextHop, uint Ifindex, uint Action)[] routes =
        [
            ("10.0.0.0", 8, 0, 0, 0),
            ("10.1.0.0", 24, 0, 0, 0),
            ("10.1.0.30", 32, 0, 1, 2),
            ("203.0.113.0", 24, 0xCB007101, 1, 2),
            ("198.51.100.0", 24, 0, 0, 1),
        ];
        var table = vm.Map("route_table");
        foreach (var route in routes)
        {
            Assert.Equal(MapResult.Success, table.Update(RouteKey(route.Address, route.Length), RouteValue(route.NextHop, route.Ifindex, route.Action)));
        }

        var program = vm.Program("xdp_lpm_route");
        var results = ProjectSamples.Traffic.Select(f => program.RunPacket(f.Data)).ToList();
        Assert.Equal(ProjectSamples.ExpectedVerdicts("xdp_lpm_route"), results.Select(ProjectSamples.CsvCell));
        Assert.All(results.Where(r => r.XdpAction == XdpAction.Redirect), r => Assert.Equal(1u, r.Redirect!.Ifindex));

        var kernel = ProjectSamples.ExpectedSummary.GetProperty("lpm_route");
        string[] statNames = ["lookups", "misses", "drops", "redirects"];
        var stats = vm.Map("route_stats");
        for (int i = 0; i < statNames.Length; i++)
        {
            var values = new byte[stats.UserValueSize];
            Assert.Equal(MapResult.Success, stats.Lookup(BitConverter.GetBytes(i), values));
            long sum = Enumerable.Range(0, stats.PossibleCpus).Sum(cpu => BinaryPrimitives.ReadInt64LittleEndian(values.AsSpan(cpu * 8)));
            Assert.Equal(kernel.GetProperty("route_stats").GetProperty(statNames[i]).GetInt64(), sum);
        }

        foreach (var route in routes)
        {
            var value = new byte[32];
            Assert.Equal(MapResult.Success, table.Lookup(RouteKey(route.Address, route.Length), value));
            var expected = kernel.GetProperty("routes").GetProperty($"{route.Address}/{route.Length}");
            Assert.Equal(expected.GetProperty("packets").GetInt64(), BinaryPrimitives.ReadInt64LittleEndian(value.AsSpan(16)));
            Assert.Equal(expected.GetProperty("bytes").GetInt64(), BinaryPrimitives.ReadInt64LittleEndian(value.AsSpan(24)));
        }
    }

    [Fact]
    public void TracepointProgramCountsCallsPerThreadFromAHostContext()
    {
        ulong now = 1_000;
        var options = new VmObjectOptions
        {
            PossibleCpus = 2,
            Helpers = new HelperOptions { CurrentPidTgid = (4321UL << 32) | 4322, MonotonicClock = () => now += 10 },
        };
        using var vm = VmObject.Load(ProjectSamples.ObjectPath("trace_exec.o"), options);
        var program = vm.Program("count_getpid");
        Assert.Equal(PacketContextKind.None, program.PacketKind);
        var record = new byte[64]; // struct sys_enter_record
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(8), 39); // __syscall_nr of getpid on x86-64
        for (int i = 0; i < 25; i++)
        {
            Assert.Equal(0UL, program.RunTracing(record));
        }

        var key = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(key, 4321);     // tgid
        BinaryPrimitives.WriteUInt32LittleEndian(key.AsSpan(4), 4322); // pid (thread id)
        var stats = new byte[32];
        Assert.Equal(MapResult.Success, vm.Map("syscall_counts").Lookup(key, stats));
        Assert.Equal(25L, BinaryPrimitives.ReadInt64LittleEndian(stats));               // calls, as the kernel counted
        Assert.Equal(1_010L, BinaryPrimitives.ReadInt64LittleEndian(stats.AsSpan(8)));  // first_ns
        Assert.Equal(1_250L, BinaryPrimitives.ReadInt64LittleEndian(stats.AsSpan(16))); // last_ns
        Assert.Equal(39L, BinaryPrimitives.ReadInt64LittleEndian(stats.AsSpan(24)));    // syscall_nr
        Assert.Throws<VmObjectException>(() => program.RunPacket(new byte[64]));
    }

    [Fact]
    public void KprobeProgramReadsArgumentsFromRegistersAndKernelMemory()
    {
        var options = new VmObjectOptions { PossibleCpus = 1, Helpers = new HelperOptions { CurrentPidTgid = (7UL << 32) | 8 } };
        using var vm = VmObject.Load(ProjectSamples.ObjectPath("trace_exec.o"), options);

        // struct open_how { u64 flags, mode, resolve } somewhere in "kernel memory" the program may probe.
        var how = new byte[24];
        BinaryPrimitives.WriteUInt64LittleEndian(how, 0x80000); // O_CLOEXEC
        BinaryPrimitives.WriteUInt64LittleEndian(how.AsSpan(8), 420); // 0644
        BinaryPrimitives.WriteUInt64LittleEndian(how.AsSpan(16), 4);
        var kernelMemory = MemoryRegion.FromBytes(how, MemoryAccess.Read, MemoryRegionKind.Other, "open_how");
        vm.Maps.Memory.Add(kernelMemory);

        var program = vm.Program("trace_openat2");
        Assert.Equal(0UL, program.RunTracing(new PtRegs { Di = unchecked((ulong)-100), Dx = kernelMemory.Start })); // AT_FDCWD
        Assert.Equal(0UL, program.RunTracing(new PtRegs { Di = 3, Dx = 0xdead_0000 }));                            // unreadable: fields stay 0

        var key = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(key, 7);
        BinaryPrimitives.WriteUInt32LittleEndian(key.AsSpan(4), 8);
        var request = new byte[40]; // struct open_request { s64 dfd; u64 flags, mode, resolve, count; }
        Assert.Equal(MapResult.Success, vm.Map("open_events").Lookup(key, request));
        Assert.Equal(3L, BinaryPrimitives.ReadInt64LittleEndian(request));
        Assert.Equal(0L, BinaryPrimitives.ReadInt64LittleEndian(request.AsSpan(8)));
        Assert.Equal(2L, BinaryPrimitives.ReadInt64LittleEndian(request.AsSpan(32)));
    }

    [Fact]
    public void StaticProgramArraySlotsHoldTheirPrograms()
    {
        using var vm = VmObject.Load(ProjectSamples.ObjectPath("tail_calls.o"), new VmObjectOptions { PossibleCpus = 1 });
        var table = (ProgramArrayMap)vm.Map("dispatch_table");
        Assert.Same(vm.Program("handle_tcp").Executable, table.Get(0));
        Assert.Same(vm.Program("handle_udp").Executable, table.Get(1));
        Assert.Null(table.Get(2));
        Assert.Null(table.Get(3));
    }

    [Fact]
    public void EveryProjectObjectInstantiatesAndReportsWhatItCannotPrepare()
    {
        foreach (var path in Directory.GetFiles(Path.GetDirectoryName(ProjectSamples.ObjectPath("x.o"))!, "*.o"))
        {
            using var vm = VmObject.Load(path, new VmObjectOptions { PossibleCpus = 1 });
            Assert.NotEmpty(vm.Programs);
            Assert.Equal(vm.Object.Maps.Count(m => !m.RequiresBtf), vm.ObjectMaps.Count);
            Assert.All(vm.Programs, p => Assert.True(p.Executable is not null || p.BuildError is not null));
        }
    }

    private static long Hits(BpfMap rules)
    {
        var entry = Assert.Single(rules.Entries());
        return BinaryPrimitives.ReadInt64LittleEndian(entry.Value);
    }

    private static byte[] RouteKey(string address, int prefixLength)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(key, prefixLength);
        ProjectSamples.Address(address).CopyTo(key, 4);
        return key;
    }

    private static byte[] RouteValue(uint nextHop, uint ifindex, uint action)
    {
        var value = new byte[32];
        BinaryPrimitives.WriteUInt32BigEndian(value, nextHop);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(4), ifindex);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(8), action);
        return value;
    }

    private static int InternetChecksum(ReadOnlySpan<byte> data)
    {
        long sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        if ((data.Length & 1) != 0)
        {
            sum += data[^1] << 8;
        }

        while (sum >> 16 != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (int)sum;
    }
}
