using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Jit;
using SharpBpf.Maps;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Calls;

namespace SharpBpf.Linux.Tests.Kernel;

/// <summary>
/// Tail calls, bpf_loop and bpf_for_each_map_elem in the kernel (BPF_PROG_TEST_RUN of XDP programs) and in the VM on
/// both engines: the VM must return what the kernel returns.
/// </summary>
public class CallsKernelComparisonTests
{
    private static readonly byte[] Packet = new byte[64];

    // {MAP} is the map reference: map[fd:N] for the kernel, map[idx:0] for the VM.
    private static BpfProgram Assemble(string source, string mapReference, string name) =>
        BpfProgram.Create(Assembler.Assemble(source.Replace("{MAP}", mapReference, StringComparison.Ordinal), AssemblySyntax.Llvm), name);

    /// <summary>r0 of the first program in the kernel, with the others installed in a program array at their index.</summary>
    private static uint KernelTailCallRun(IReadOnlyList<string> programs, int slots)
    {
        using var array = KernelMap.Create(MapType.ProgramArray, 4, 4, (uint)slots, "sb_tail_array");
        var loaded = new List<KernelProgram>();
        try
        {
            for (int i = 0; i < programs.Count; i++)
            {
                loaded.Add(KernelProgram.Load(Assemble(programs[i], $"map[fd:{array.Handle.Fd}]", $"sb_tail_{i}"), ProgramType.Xdp));
                if (i > 0)
                {
                    array.Update(BitConverter.GetBytes((uint)i), BitConverter.GetBytes(loaded[i].Handle.Fd));
                }
            }

            return loaded[0].TestRun(Packet).ReturnValue;
        }
        finally
        {
            foreach (var program in loaded)
            {
                program.Dispose();
            }
        }
    }

    /// <summary>r0 of the first program in the VM on one engine, with the same program array.</summary>
    private static ulong VmTailCallRun(IReadOnlyList<string> programs, int slots, bool jit)
    {
        var maps = new MapSet(new MapSetOptions { PossibleCpus = 1 });
        var array = (ProgramArrayMap)maps.Create(new MapSpec(MapType.ProgramArray, 4, 4, slots, Name: "array"));
        var options = new EngineOptions { ResolveImm64 = maps.CreateImm64Resolver() };
        var prepared = new List<ExecutableProgram>();
        for (int i = 0; i < programs.Count; i++)
        {
            var program = Assemble(programs[i], "map[idx:0]", $"p{i}");
            prepared.Add(jit ? new JittedProgram(program, options) : new Interpreter(program, options));
            if (i > 0)
            {
                array.SetProgram(i, prepared[i]);
            }
        }

        return prepared[0].Run(maps.CreateContext(LoopHelper.Register(maps.CreateHelperTable())));
    }

    private static void AssertSameAsKernel(IReadOnlyList<string> programs, int slots)
    {
        uint kernel = KernelTailCallRun(programs, slots);
        Assert.Equal(kernel, (uint)VmTailCallRun(programs, slots, jit: false));
        Assert.Equal(kernel, (uint)VmTailCallRun(programs, slots, jit: true));
    }

    [KernelFact]
    public void TheTailCallLimitIsTheKernels()
    {
        // Program i tail-calls slot i + 1 and returns 1000 + i when that fails; 36 programs, slots 1-35 filled.
        var programs = Enumerable.Range(0, 36).Select(i => $"""
            r2 = {"{MAP}"} ll
            r3 = {i + 1}
            call 12
            r0 = {1000 + i}
            exit
            """).ToList();
        AssertSameAsKernel(programs, 40);
        Assert.Equal(1033u, KernelTailCallRun(programs, 40));
    }

    [KernelFact]
    public void TailCallsToEmptySlotsCountAsTheKernelCountsThem()
    {
        // The interpreter of kernel/bpf/core.c counts them, the JITs do not: whatever this kernel does, the VM must too.
        foreach (int failures in new[] { 32, 33, 40 })
        {
            string main = $"""
                r7 = r1
                r6 = 0
                again:
                r1 = r7
                r2 = {"{MAP}"} ll
                r3 = 0
                call 12
                r6 += 1
                if r6 < {failures} goto again
                r1 = r7
                r2 = {"{MAP}"} ll
                r3 = 1
                call 12
                r0 = 77
                exit
                """;
            AssertSameAsKernel([main, "r0 = 1\nexit"], 4);
        }
    }

    [KernelFact]
    public void OutOfRangeIndexesFail()
    {
        string main = """
            r7 = r1
            r2 = {MAP} ll
            r3 = 4
            call 12
            r1 = r7
            r2 = {MAP} ll
            r3 = -1
            call 12
            r1 = r7
            r2 = {MAP} ll
            r3 = 0x100000001 ll
            call 12
            r0 = 5
            exit
            """;
        AssertSameAsKernel([main, "r0 = 3\nexit"], 4);
    }

    [KernelFact]
    public void ATailCallFromASubprogramReturnsToItsCaller()
    {
        // main keeps r6 across the call; sub tail-calls slot 1 (needs BTF: LoadWithFunctionInfo) and the target's r0
        // comes back to main as sub's.
        const string main = """
            r6 = 100
            call sub
            r0 += r6
            exit
            sub:
            r6 = 5000
            r2 = {MAP} ll
            r3 = 1
            call 12
            r0 = 9999
            exit
            """;
        using var array = KernelMap.Create(MapType.ProgramArray, 4, 4, 4, "sb_tail_sub");
        uint kernel;
        using (var target = KernelProgram.Load(Assemble("r0 = 25\nexit", "map[idx:0]", "sb_tail_target"), ProgramType.Xdp))
        {
            array.Update(BitConverter.GetBytes(1u), BitConverter.GetBytes(target.Handle.Fd));
            var loaded = LoadWithFunctionInfo(Assemble(main, $"map[fd:{array.Handle.Fd}]", "sb_tail_sub"), out var btf);
            using (btf)
            using (loaded)
            {
                kernel = loaded.TestRun(Packet).ReturnValue;
            }
        }

        Assert.Equal(125u, kernel);
        foreach (bool jit in new[] { false, true })
        {
            Assert.Equal(kernel, (uint)VmTailCallRun([main, "r0 = 25\nexit"], 4, jit));
        }
    }

    /// <summary>r0 of a program in the kernel and in the VM (both engines), with one array map whose values are given.</summary>
    private static void AssertLoopProgramSameAsKernel(string source, MapType mapType, ulong[] values)
    {
        using var map = KernelMap.Create(mapType, 4, 8, (uint)values.Length, "sb_loop_map");
        for (int i = 0; i < values.Length; i++)
        {
            map.Update(BitConverter.GetBytes((uint)i), BitConverter.GetBytes(values[i]));
        }

        uint kernel;
        var loaded = LoadWithFunctionInfo(Assemble(source, $"map[fd:{map.Handle.Fd}]", "sb_loop"), out var btf);
        using (btf)
        using (loaded)
        {
            kernel = loaded.TestRun(Packet).ReturnValue;
        }

        foreach (bool jit in new[] { false, true })
        {
            var maps = new MapSet(new MapSetOptions { PossibleCpus = 1 });
            var vmMap = maps.Create(new MapSpec(mapType, 4, 8, values.Length, Name: "m"));
            for (int i = 0; i < values.Length; i++)
            {
                vmMap.Update(BitConverter.GetBytes((uint)i), BitConverter.GetBytes(values[i]));
            }

            var program = Assemble(source, "map[idx:0]", "loop");
            var options = new EngineOptions { ResolveImm64 = maps.CreateImm64Resolver() };
            ExecutableProgram prepared = jit ? new JittedProgram(program, options) : new Interpreter(program, options);
            ulong vm = prepared.Run(maps.CreateContext(LoopHelper.Register(maps.CreateHelperTable())));
            Assert.True(kernel == (uint)vm, $"{(jit ? "JIT" : "interpreter")}: kernel {kernel}, VM {(uint)vm}");
        }
    }

    /// <summary>
    /// Loads an XDP program whose functions are described by BTF (the kernel requires func_info for callbacks): every
    /// function is <c>int f(long, long, long, long)</c>, static but the first.
    /// </summary>
    private static KernelProgram LoadWithFunctionInfo(BpfProgram program, out KernelBtf btf)
    {
        var builder = new Btf.BtfBuilder();
        int intType = builder.AddInt("int", 4, Btf.BtfIntEncoding.Signed);
        int longType = builder.AddInt("long", 8, Btf.BtfIntEncoding.Signed);
        int mainProto = builder.AddFunctionProto(intType, new Btf.BtfParameterDefinition("ctx", longType));
        int callbackProto = builder.AddFunctionProto(intType,
            new Btf.BtfParameterDefinition("a", longType), new Btf.BtfParameterDefinition("b", longType),
            new Btf.BtfParameterDefinition("c", longType), new Btf.BtfParameterDefinition("d", longType));
        var starts = program.FunctionStarts;
        var funcInfo = new byte[8 * starts.Length];
        for (int i = 0; i < starts.Length; i++)
        {
            int function = i == 0
                ? builder.AddFunction("sb_main", mainProto, Btf.BtfFunctionLinkage.Global)
                : builder.AddFunction($"sb_callback{i}", callbackProto, Btf.BtfFunctionLinkage.Static);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(funcInfo.AsSpan(8 * i), starts[i]);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(funcInfo.AsSpan((8 * i) + 4), function);
        }

        btf = KernelBtf.Load(builder.ToArray());
        return KernelProgram.Load(new ProgramLoadOptions
        {
            Type = ProgramType.Xdp,
            Instructions = program.Instructions.ToArray(),
            Name = "sb_loop",
            Btf = btf.Handle,
            FuncInfo = funcInfo,
        });
    }

    // r0 = (r0 & 0xffff) << 16 | (the u64 at r10 - 8 & 0xffff); exit.
    private const string ResultAndAccumulator = """
        r0 &= 0xffff
        r0 <<= 16
        r1 = *(u64 *)(r10 - 8)
        r1 &= 0xffff
        r0 |= r1
        exit
        """;

    // bpf_loop(n, callback, &acc, flags): returns (result & 0xffff) << 16 | (acc & 0xffff); the callback adds index * 3
    // and stops at index 6.
    private static string LoopProgram(uint count, int flags) => $"""
        *(u64 *)(r10 - 8) = 0
        r1 = {count}
        r2 = subprog[callback] ll
        r3 = r10
        r3 += -8
        r4 = {flags}
        call 181
        {ResultAndAccumulator}
        callback:
        r3 = *(u64 *)(r2 + 0)
        r1 *= 3
        r3 += r1
        *(u64 *)(r2 + 0) = r3
        r0 = 0
        if r1 != 18 goto out
        r0 = 1
        out:
        exit
        """;

    [KernelFact]
    public void BpfLoopMatchesTheKernel()
    {
        foreach (var (count, flags) in new[] { (0u, 0), (4u, 0), (10u, 0), (3u, 1), (0x800001u, 0) })
        {
            AssertLoopProgramSameAsKernel(LoopProgram(count, flags), MapType.Array, [0]);
        }
    }

    // for_each(map, callback, &acc, flags): returns (visited << 16) | acc; the callback adds value + key and stops when
    // the value is 30.
    private static string ForEachProgram(int flags) => $"""
        *(u64 *)(r10 - 8) = 0
        r1 = {"{MAP}"} ll
        r2 = subprog[callback] ll
        r3 = r10
        r3 += -8
        r4 = {flags}
        call 164
        {ResultAndAccumulator}
        callback:
        r5 = *(u64 *)(r3 + 0)
        r0 = *(u32 *)(r2 + 0)
        r0 += r5
        r1 = *(u64 *)(r4 + 0)
        r1 += r0
        *(u64 *)(r4 + 0) = r1
        r0 = 0
        if r5 != 30 goto out
        r0 = 1
        out:
        exit
        """;

    [KernelFact]
    public void ForEachMapElemOverArraysMatchesTheKernel()
    {
        AssertLoopProgramSameAsKernel(ForEachProgram(0), MapType.Array, [10, 20, 5, 7]);
        AssertLoopProgramSameAsKernel(ForEachProgram(0), MapType.Array, [10, 20, 30, 40, 50]);
        AssertLoopProgramSameAsKernel(ForEachProgram(1), MapType.Array, [1, 2]);
        AssertLoopProgramSameAsKernel(ForEachProgram(0), MapType.Hash, [30]);
    }
}
