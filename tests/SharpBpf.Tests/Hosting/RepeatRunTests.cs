using System.Buffers.Binary;
using SharpBpf.Hosting;

namespace SharpBpf.Tests.Hosting;

/// <summary>RunPacket with repeat: the program runs that many times on one context, as BPF_PROG_TEST_RUN's repeat.</summary>
public class RepeatRunTests
{
    [Theory]
    [InlineData(EngineKind.Interpreter)]
    [InlineData(EngineKind.Jit)]
    public void Repeat_runs_the_program_that_many_times_and_times_one_run(EngineKind engine)
    {
        using var vm = VmObject.Load(ProjectSamples.ObjectPath("bench_maps.o"), new VmObjectOptions { Engine = engine, PossibleCpus = 1 });
        var frame = ProjectSamples.Traffic.First(f => f.Data.Length > 34 && f.Data[12] == 0x08 && f.Data[13] == 0x00).Data;
        var result = vm.RunPacket(vm.Program("bench_hash"), frame, 25);
        Assert.Equal("XDP_PASS", result.Verdict);
        Assert.True(result.NanosecondsPerRun > 0);

        // bench_hash counts packets per source address: one entry, 25 packets.
        var flows = vm.Map("bench_flows");
        var value = new byte[16];
        Assert.Equal(SharpBpf.Maps.MapResult.Success, flows.Lookup(frame.AsSpan(26, 4), value));
        Assert.Equal(25UL, BinaryPrimitives.ReadUInt64LittleEndian(value));
        Assert.Throws<ArgumentOutOfRangeException>(() => vm.RunPacket(vm.Program("bench_hash"), frame, 0));
    }
}
