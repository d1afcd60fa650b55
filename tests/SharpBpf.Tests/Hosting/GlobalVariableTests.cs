using SharpBpf.Hosting;
using SharpBpf.Maps;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Hosting;

/// <summary>Global variables of a clang-compiled program: .data and .rodata read, .bss written, host and program sharing them.</summary>
public class GlobalVariableTests
{
    [Theory]
    [InlineData(EngineKind.Interpreter)]
    [InlineData(EngineKind.Jit)]
    public void ProgramsReadDataAndRodataAndWriteBss(EngineKind engine)
    {
        using var vm = VmObject.Load(Fixtures.Path("mapdump", "dump_types.o"), new VmObjectOptions { Engine = engine, PossibleCpus = 1 });
        var kitchen = new byte[vm.Map("kitchen_array").ValueSize];
        kitchen[0] = 200; // u8v
        Assert.Equal(MapResult.Success, vm.Map("kitchen_array").Update(new byte[4], kitchen));

        var frame = new byte[60];
        var result = vm.RunPacket("dump_types", frame);
        Assert.Equal("XDP_PASS", result.Verdict);

        // event_count += u8v + config_pair.x + negative + greeting[0] = 200 + 9 - 42 + 'h'
        var bss = (ArrayMap)vm.Map(".bss");
        var symbols = vm.Object.Elf.Symbols;
        int eventCount = (int)symbols.Single(s => s.Name == "event_count").Value;
        int lastPair = (int)symbols.Single(s => s.Name == "last_pair").Value;
        Assert.Equal(200 + 9 - 42 + 'h', BitConverter.ToInt64(bss.GetValueSpan(0)[eventCount..]));
        Assert.Equal(1, bss.GetValueSpan(0)[lastPair]);

        // The host changes .data between runs; the program sees it. .rodata stays frozen.
        var data = (ArrayMap)vm.Map(".data");
        int negative = (int)symbols.Single(s => s.Name == "negative").Value;
        BitConverter.GetBytes(-100).CopyTo(data.GetValueSpan(0)[negative..]);
        vm.RunPacket("dump_types", frame);
        Assert.Equal((2 * (200 + 9 + 'h')) - 42 - 100, BitConverter.ToInt64(bss.GetValueSpan(0)[eventCount..]));
        Assert.Equal(MapResult.NotPermitted, vm.Map(".rodata").Update(new byte[4], new byte[vm.Map(".rodata").ValueSize]));
    }
}
