using SharpBpf.Hosting;
using SharpBpf.Maps;
using SharpBpf.Runtime;

namespace SharpBpf.Tests.Hosting;

/// <summary>
/// Every packet program of bpf/obj over the project's capture, verified and run unchecked on both engines, gives
/// exactly the checked interpreter's verdicts, packets, maps and events.
/// </summary>
public class UncheckedVmTests
{
    public static TheoryData<string> Objects() => [.. Directory.GetFiles(Path.Combine(SharpBpf.Testing.SharedData.RepositoryRoot, "bpf", "obj"), "*.o")
        .Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Objects))]
    public void Unchecked_engines_give_the_checked_results(string objectName)
    {
        using var reference = Load(objectName, EngineKind.Interpreter, verify: false, SafetyMode.Checked);
        using var jit = Load(objectName, EngineKind.Jit, verify: true, SafetyMode.Unchecked);
        using var interpreter = Load(objectName, EngineKind.Interpreter, verify: true, SafetyMode.Unchecked);
        Assert.All(reference.Programs, p => Assert.Null(p.Verification));
        foreach (var program in reference.Programs.Where(p => p.RunsOnPackets))
        {
            var candidates = new[] { jit, interpreter }.Select(vm => (Vm: vm, Program: vm.Program(program.Name))).ToList();
            foreach (var (_, other) in candidates)
            {
                Assert.NotNull(other.Verification);
                Assert.Equal(other.Verification.Accepted, other.IsUnchecked);
            }

            foreach (var frame in ProjectSamples.Traffic)
            {
                var expected = reference.RunPacket(program, frame.Data);
                foreach (var (vm, other) in candidates)
                {
                    var actual = vm.RunPacket(other, frame.Data);
                    string where = $"{program.Name} frame {frame.Index} ({vm.Options.Engine})";
                    Assert.True(expected.Verdict == actual.Verdict, $"{where}: {expected} vs {actual}");
                    Assert.True(expected.Packet.AsSpan().SequenceEqual(actual.Packet), where);
                    // The JIT runs verified programs without counting (EngineOptions.CountInstructions), as the kernel does.
                    long expectedCount = vm.Options.Engine == EngineKind.Jit && other.IsUnchecked ? 0 : expected.InstructionsExecuted;
                    Assert.Equal(expectedCount, actual.InstructionsExecuted);
                }
            }
        }

        foreach (var map in reference.ObjectMaps)
        {
            var expected = Entries(reference, map);
            Assert.Equal(expected, Entries(jit, jit.Map(map.Name)));
            Assert.Equal(expected, Entries(interpreter, interpreter.Map(map.Name)));
        }

        int events = reference.DrainEvents().Count;
        Assert.Equal(events, jit.DrainEvents().Count);
        Assert.Equal(events, interpreter.DrainEvents().Count);
    }

    [Fact]
    public void The_firewall_is_verified_and_runs_unchecked_by_request_only()
    {
        using var byDefault = VmObject.Load(ProjectSamples.ObjectPath("xdp_firewall.o"));
        var program = byDefault.Program("xdp_firewall");
        Assert.True(program.Verification!.Accepted);
        Assert.False(program.IsUnchecked);

        using var vm = Load("xdp_firewall.o", EngineKind.Jit, verify: true, SafetyMode.Unchecked);
        program = vm.Program("xdp_firewall");
        Assert.True(program.IsUnchecked);
        Assert.True(program.Verification!.Facts.ProvenCount(SharpBpf.Verification.MemoryKinds.Packet) > 0);
    }

    [Fact]
    public void Converted_context_loads_of_verified_packet_programs_run_unchecked()
    {
        // The loads of ctx->data and ctx->data_end the VM converts after verification: the verifier proved the originals,
        // so on the unchecked engines they load the pointers straight from the context memory.
        int converted = 0;
        foreach (var objectName in new[] { "bench_compute.o", "xdp_firewall.o", "calls_loops.o", "lpm_route.o", "tc_rewrite.o" })
        {
            foreach (var engine in new[] { EngineKind.Jit, EngineKind.Interpreter })
            {
                using var vm = Load(objectName, engine, verify: true, SafetyMode.Unchecked);
                foreach (var program in vm.Programs.Where(p => p.RunsOnPackets && p.IsUnchecked))
                {
                    var executable = program.Executable!;
                    var code = executable.Program.Instructions.ToArray();
                    var verified = program.Verification!.Facts.Instructions.ToArray();
                    var pcs = Enumerable.Range(0, code.Length).Where(pc => code[pc] != verified[pc]).ToList();
                    Assert.All(pcs, pc => Assert.True(executable.RunsUnchecked(pc), $"{objectName} {program.Name} pc {pc}"));
                    converted += pcs.Count;
                }
            }
        }

        Assert.True(converted >= 20, $"{converted} converted loads");
    }

    // A map's entries in a canonical order (hash maps iterate in an order of their own).
    private static List<string> Entries(VmObject vm, BpfMap map)
    {
        using var dump = System.Text.Json.JsonDocument.Parse(MapDump.FormatJson(vm, map));
        return [.. dump.RootElement.EnumerateArray().Select(e => e.GetRawText()).Order(StringComparer.Ordinal)];
    }

    private static VmObject Load(string objectName, EngineKind engine, bool verify, SafetyMode safety)
    {
        var vm = VmObject.Load(ProjectSamples.ObjectPath(objectName),
            new VmObjectOptions { Engine = engine, Verify = verify, Safety = safety, PossibleCpus = 1 });
        if (vm.ObjectMaps.Any(m => m.Name == "fw_blocklist"))
        {
            foreach (var address in ProjectSamples.BlockedSources)
            {
                Assert.Equal(MapResult.Success, vm.Map("fw_blocklist").Update(ProjectSamples.Address(address), new byte[16]));
            }
        }

        return vm;
    }
}
