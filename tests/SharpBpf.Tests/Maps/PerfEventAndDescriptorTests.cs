using SharpBpf.Isa;
using SharpBpf.Maps;
using SharpBpf.Runtime;
using static SharpBpf.Tests.Maps.MapTestSupport;

namespace SharpBpf.Tests.Maps;

public class PerfEventAndDescriptorTests
{
    // bpf_perf_event_output(ctx, map, flags = r6, data = 12 bytes on the stack, 12).
    private const string Output = """
        *(u64 *)(r10 - 16) = r7
        *(u32 *)(r10 - 8) = 0xabcd
        r1 = 0
        r2 = map[idx:0] ll
        r3 = r6
        r4 = r10
        r4 += -16
        r5 = 12
        call 25
        exit
        """;

    [Fact]
    public void SamplesGoToTheCurrentCpusBufferAndErrnosFollowTheKernel()
    {
        var set = NewSet(cpus: 2);
        var map = (PerfEventArrayMap)set.Create(Spec(MapType.PerfEventArray, 4, 4, 2));

        // No reader yet: the entry is empty.
        Assert.Equal(unchecked((ulong)-2L), Run(set, "r6 = 0xffffffff ll\nr7 = 1\n" + Output));

        using var reader = new PerfEventReader(map, perCpuBufferBytes: 64);
        Assert.Equal(0UL, Run(set, "r6 = 0xffffffff ll\nr7 = 1\n" + Output, cpu: 1));
        Assert.Equal(0UL, Run(set, "r6 = 0\nr7 = 2\n" + Output, cpu: 0));
        Assert.Equal(unchecked((ulong)-95L), Run(set, "r6 = 1\nr7 = 3\n" + Output, cpu: 0)); // another CPU's buffer
        Assert.Equal(unchecked((ulong)-7L), Run(set, "r6 = 2\nr7 = 3\n" + Output, cpu: 0)); // index past max_entries
        Assert.Equal(unchecked((ulong)-22L), Run(set, "r6 = 0x100000000 ll\nr7 = 3\n" + Output, cpu: 0));

        var records = new List<PerfEventRecord>();
        while (reader.TryRead(out var record))
        {
            records.Add(record);
        }

        Assert.Equal(2, records.Count);
        var fromCpu1 = Assert.Single(records, r => r.Cpu == 1);
        Assert.Equal(12, fromCpu1.RawSample.Length); // 4-byte size + 12 bytes is already a multiple of 8
        Assert.Equal(1UL, BitConverter.ToUInt64(fromCpu1.RawSample));
        Assert.Equal(0xabcdu, BitConverter.ToUInt32(fromCpu1.RawSample, 8));
        Assert.Equal(2UL, BitConverter.ToUInt64(Assert.Single(records, r => r.Cpu == 0).RawSample));
    }

    [Fact]
    public void AFullBufferLosesSamplesAndReportsTheCount()
    {
        var set = NewSet(cpus: 1);
        var map = (PerfEventArrayMap)set.Create(Spec(MapType.PerfEventArray, 4, 4, 1));
        using var reader = new PerfEventReader(map, perCpuBufferBytes: 64);

        // Each sample takes 8 + 16 = 24 bytes: two fit in 64, the next three are lost.
        var results = Enumerable.Range(0, 5).Select(i => map.Output(0, PerfEventArrayMap.CurrentCpu, new byte[12])).ToArray();
        Assert.Equal([MapResult.Success, MapResult.Success, MapResult.NoSpace, MapResult.NoSpace, MapResult.NoSpace], results);
        Assert.True(reader.TryRead(out var a));
        Assert.True(reader.TryRead(out var b));
        Assert.Equal(0UL, a.LostSamples + b.LostSamples);
        Assert.True(reader.TryRead(out var lost));
        Assert.Equal(3UL, lost.LostSamples);
        Assert.Empty(lost.RawSample);
        Assert.False(reader.TryRead(out _));
        Assert.Equal(3UL, reader.Buffers[0].TotalLost);
    }

    [Fact]
    public async Task PerfReaderAsyncStreamsSamples()
    {
        var set = NewSet(cpus: 2);
        var map = (PerfEventArrayMap)set.Create(Spec(MapType.PerfEventArray, 4, 4, 2));
        using var reader = new PerfEventReader(map);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var consumer = Task.Run(async () =>
        {
            var got = new List<int>();
            await foreach (var record in reader.ReadAllAsync(cts.Token))
            {
                got.Add(BitConverter.ToInt32(record.RawSample));
                if (got.Count == 50)
                {
                    break;
                }
            }

            return got;
        });
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(MapResult.Success, map.Output(i % 2, PerfEventArrayMap.CurrentCpu, BitConverter.GetBytes(i)));
        }

        var received = await consumer;
        Assert.Equal(Enumerable.Range(0, 50).ToArray(), received.Order().ToArray());
    }

    [Fact]
    public void ProgramArrayStoresRegisteredProgramsByIndex()
    {
        var set = NewSet();
        var programs = (ProgramArrayMap)set.Create(Spec(MapType.ProgramArray, 4, 4, 4));
        var program = new Interpreter(BpfProgram.Create([Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0, immediate: 3), Instruction.Exit]));
        int id = set.RegisterProgram(program);

        Assert.Equal(MapResult.Success, programs.Update(U32(2), U32((uint)id)));
        Assert.Same(program, programs.Get(2));
        Assert.Null(programs.Get(1));
        Assert.Null(programs.Get(100));
        var value = new byte[4];
        Assert.Equal(MapResult.Success, programs.Lookup(U32(2), value));
        Assert.Equal(id, BitConverter.ToInt32(value));
        Assert.Equal(MapResult.NotFound, programs.Lookup(U32(1), value));

        Assert.Equal(MapResult.BadDescriptor, programs.Update(U32(1), U32(999)));
        Assert.Equal(MapResult.Invalid, programs.Update(U32(1), U32((uint)id), MapUpdateFlags.NoExist));
        Assert.Equal(MapResult.TooBig, programs.Update(U32(4), U32((uint)id)));
        Assert.Equal(MapResult.Success, programs.Delete(U32(2)));
        Assert.Equal(MapResult.NotFound, programs.Delete(U32(2)));
        Assert.Equal(MapResult.TooBig, programs.Delete(U32(9)));

        var other = new Interpreter(BpfProgram.Create([Instruction.Exit]));
        Assert.Equal(MapResult.Success, programs.SetProgram(0, other));
        Assert.Same(other, programs.Get(0));
        Assert.Same(other, set.FindProgram(set.ProgramId(other)));
    }

    [Fact]
    public void InnerMapsMustMatchTheTemplate()
    {
        var set = NewSet();
        var template = Spec(MapType.Hash, 4, 8, 16, name: "tmpl");
        var outer = (HashOfMapsMap)set.Create(Spec(MapType.HashOfMaps, 8, 4, 4) with { InnerMap = template });
        var good = set.Create(template with { MaxEntries = 64 }); // hashes may differ in size
        var wrongValue = set.Create(template with { ValueSize = 4 });
        Assert.Equal(MapResult.Success, outer.Update(U64(1), U32((uint)good.Id)));
        Assert.Equal(MapResult.Invalid, outer.Update(U64(2), U32((uint)wrongValue.Id)));
        Assert.Equal(MapResult.BadDescriptor, outer.Update(U64(2), U32(999)));
        Assert.Same(good, outer.FindInner(U64(1)));
        Assert.Equal(good.Handle, outer.LookupForProgram(U64(1), 0));
        Assert.Equal(0UL, outer.LookupForProgram(U64(2), 0));

        var arrays = Spec(MapType.Array, 4, 4, 8, name: "arr");
        var outerArray = (ArrayOfMapsMap)set.Create(Spec(MapType.ArrayOfMaps, 4, 4, 2) with { InnerMap = arrays });
        Assert.Equal(MapResult.Invalid, outerArray.SetInner(0, set.Create(arrays with { MaxEntries = 9 }))); // arrays must match exactly
        var flexible = arrays with { Flags = MapFlags.InnerMap };
        var outerFlexible = (ArrayOfMapsMap)set.Create(Spec(MapType.ArrayOfMaps, 4, 4, 2) with { InnerMap = flexible });
        Assert.Equal(MapResult.Success, outerFlexible.SetInner(0, set.Create(flexible with { MaxEntries = 9 })));
        Assert.Equal(MapResult.Invalid, outerFlexible.SetInner(1, outer)); // no nesting
    }
}
