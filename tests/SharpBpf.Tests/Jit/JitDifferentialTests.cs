using System.Diagnostics;
using SharpBpf.Conformance;
using SharpBpf.Isa;
using SharpBpf.Fuzzing;
using SharpBpf.Runtime;
using Xunit.Abstractions;

namespace SharpBpf.Tests.Jit;

/// <summary>
/// Differential testing: random programs run on the interpreter (the reference) and the JIT with identical inputs
/// must give the same r0, fault (kind, pc, message), instruction count, stack and input memory.
/// </summary>
public class JitDifferentialTests(ITestOutputHelper output)
{
    private const int InputLength = 64;

    [Fact]
    public void RandomValidProgramsBehaveIdentically()
    {
        var random = new Random(20261125);
        var generator = new RandomProgramGenerator(random, InputLength);
        var helpers = RandomProgramGenerator.Helpers();
        var faults = new Dictionary<FaultKind, int>();
        int completed = 0, instructions = 0;
        var timer = Stopwatch.StartNew();
        const int Programs = 10_000;
        for (int i = 0; i < Programs; i++)
        {
            var code = generator.Next();
            var program = BpfProgram.Create(code, $"random{i}");
            instructions += code.Length;
            var input = new byte[InputLength];
            random.NextBytes(input);

            // Mostly a generous budget; sometimes a tiny one, so that it runs out inside blocks and calls.
            long budget = random.Next(5) == 0 ? random.Next(0, 120) : 100_000;
            var outcome = Engines.Compare(program, input, helpers, budget, i, $"program {i}:\n{Listing(code)}");
            if (outcome.Fault is { } fault)
            {
                faults[fault.Kind] = faults.GetValueOrDefault(fault.Kind) + 1;
            }
            else
            {
                completed++;
            }
        }

        output.WriteLine($"{Programs} programs ({instructions} instructions) in {timer.Elapsed.TotalSeconds:F1} s: " +
            $"{completed} completed; faults: {string.Join(", ", faults.Select(kv => $"{kv.Key} {kv.Value}"))}");

        // The generator must exercise both normal completion and every fault the JIT hands to the interpreter.
        Assert.True(completed > Programs / 4, $"only {completed} programs completed");
        Assert.Contains(FaultKind.MemoryAccess, faults.Keys);
        Assert.Contains(FaultKind.InstructionBudgetExhausted, faults.Keys);
        Assert.Contains(FaultKind.InvalidCallTarget, faults.Keys);
        Assert.Contains(FaultKind.MisalignedAtomic, faults.Keys);
    }

    [Fact]
    public void RandomProgramsWithCallbacksAndTailCallsBehaveIdentically()
    {
        var random = new Random(181);
        var generator = new RandomProgramGenerator(random, InputLength);

        // The generator's helpers, counting the callbacks bpf_loop runs and the tail calls that go ahead.
        var helpers = RandomProgramGenerator.Helpers();
        int loops = 0, tailCalls = 0;
        var loop = helpers.Find(SharpBpf.Runtime.Calls.LoopHelper.Loop)!.Function;
        var tailCall = helpers.Find(RandomProgramGenerator.TailCallSelfHelper)!.Function;
        helpers.Register(SharpBpf.Runtime.Calls.LoopHelper.Loop, "bpf_loop", (ctx, a, b, c, d, e) =>
        {
            loops += (int)Math.Min(a & 0xffffffff, 8);
            return loop(ctx, a, b, c, d, e);
        });
        helpers.Register(RandomProgramGenerator.TailCallSelfHelper, "tail_call_self", (ctx, a, b, c, d, e) =>
        {
            tailCalls += (c & 3) != 0 ? 1 : 0;
            return tailCall(ctx, a, b, c, d, e);
        });

        int compared = 0;
        while (compared < 400)
        {
            var code = generator.Next();
            if (!code.Any(insn => insn.Opcode == Opcode.Call && insn.Immediate is SharpBpf.Runtime.Calls.LoopHelper.Loop or RandomProgramGenerator.TailCallSelfHelper))
            {
                continue;
            }

            var input = new byte[InputLength];
            random.NextBytes(input);
            long budget = random.Next(5) == 0 ? random.Next(0, 200) : 100_000;
            Engines.Compare(BpfProgram.Create(code, $"calls{compared}"), input, helpers, budget, compared, $"program {compared}:\n{Listing(code)}");
            compared++;
        }

        output.WriteLine($"{compared} programs: {loops} bpf_loop iterations asked for, {tailCalls} tail calls asked for");
        Assert.True(loops > 40, $"only {loops} loop iterations");
        Assert.True(tailCalls > 40, $"only {tailCalls} tail calls");
    }

    [Fact]
    public void RandomGarbageProgramsFaultIdentically()
    {
        var (compared, faulted) = CompareGarbage(new Random(77), 20_000, program => new SharpBpf.Jit.JittedProgram(program));
        Assert.True(compared > 2_000, $"only {compared} programs passed validation");
        Assert.True(faulted > 500, $"only {faulted} programs faulted");
    }

    /// <summary>
    /// Compares the interpreter and <paramref name="compile"/> on <paramref name="count"/> random programs, half noise,
    /// half valid programs with a few instructions mutated; returns how many passed validation and how many faulted.
    /// </summary>
    internal (int Compared, int Faulted) CompareGarbage(Random random, int count, Func<BpfProgram, ExecutableProgram> compile)
    {
        var opcodes = KnownOpcodes();
        var helpers = ConformanceHelpers.Register(RandomProgramGenerator.Helpers());
        int rejected = 0, compared = 0, faulted = 0;
        var generator = new RandomProgramGenerator(random, InputLength);
        for (int i = 0; i < count; i++)
        {
            // Half pure noise (short, so that some pass validation), half valid programs with a few slots mutated.
            var code = i % 2 == 0 ? GarbageCode(random, opcodes) : Mutate(WithoutFunctionPointers(generator), random, opcodes);
            BpfProgram program;
            Interpreter interpreter;
            try
            {
                program = BpfProgram.Create(code);
                interpreter = new Interpreter(program);
            }
            catch (BpfException)
            {
                rejected++;
                continue;
            }

            var input = new byte[InputLength];
            random.NextBytes(input);
            var outcome = Engines.Compare(interpreter, compile(program), input, helpers, 2_000, i, $"garbage {i}:\n{Listing(code)}");
            compared++;
            faulted += outcome.Fault is null ? 0 : 1;
        }

        output.WriteLine($"rejected {rejected}, compared {compared}, faulted {faulted}");
        return (compared, faulted);
    }

    // Function pointers hold image addresses, which differ between the two engines: leave such programs out.
    private static Instruction[] WithoutFunctionPointers(RandomProgramGenerator generator)
    {
        while (true)
        {
            var code = generator.Next();
            if (!code.Any(insn => insn.IsLoadImm64 && insn.Imm64Source == Imm64Source.Function))
            {
                return code;
            }
        }
    }

    private static Instruction[] Mutate(Instruction[] code, Random random, byte[] opcodes)
    {
        int mutations = random.Next(1, 4);
        for (int m = 0; m < mutations; m++)
        {
            int pc = random.Next(code.Length);
            var insn = code[pc];
            code[pc] = random.Next(5) switch
            {
                0 => new Instruction(opcodes[random.Next(opcodes.Length)], insn.Dst, insn.Src, insn.Offset, insn.Immediate),
                1 => new Instruction(insn.Opcode, (byte)random.Next(11), insn.Src, insn.Offset, insn.Immediate),
                2 => new Instruction(insn.Opcode, insn.Dst, insn.Opcode == Opcode.LoadImm64 ? (byte)0 : (byte)random.Next(11), insn.Offset, insn.Immediate),
                3 => insn.WithOffset((short)(insn.Offset + random.Next(-9, 9))),
                _ => insn.WithImmediate(random.Next(3) == 0 ? random.Next() : insn.Immediate + random.Next(-9, 9)),
            };
        }

        return code;
    }

    private static Instruction[] GarbageCode(Random random, byte[] opcodes)
    {
        int length = random.Next(1, 8);
        var code = new Instruction[length + 1];
        for (int i = 0; i < length; i++)
        {
            byte opcode = random.Next(30) == 0 ? (byte)random.Next(256) : opcodes[random.Next(opcodes.Length)];
            byte dst = (byte)random.Next(11);
            byte src = random.Next(2) == 0 ? (byte)0 : (byte)random.Next(11);
            if (opcode is Opcode.Call or Opcode.CallX)
            {
                src = (byte)random.Next(3);
            }

            // Function pointers would differ between the two engines' images: keep lddw to plain constants.
            if (opcode == Opcode.LoadImm64)
            {
                src = 0;
            }

            bool isJump = (opcode & 0x07) is 0x05 or 0x06;
            short offset = random.Next(3) switch
            {
                0 => 0,
                1 when isJump => (short)random.Next(-i - 1, length - i),
                1 => (short)random.Next(-16, 16),
                _ => (short)random.Next(-600, 600),
            };
            int imm = random.Next(5) switch
            {
                0 => 0,
                1 => random.Next(-4, 40),
                2 => random.Next(short.MinValue, short.MaxValue),
                3 => new[] { 8, 16, 32, 64, 1, 0x41, 0xe1, 0xf1, 0xa1 }[random.Next(9)],
                _ => random.Next(),
            };
            code[i] = new Instruction(opcode, dst, src, offset, imm);
        }

        code[length] = Instruction.Exit;
        return code;
    }

    /// <summary>Every opcode of the instruction set (validation sorts out their fields).</summary>
    private static byte[] KnownOpcodes()
    {
        var list = new List<byte>();
        for (int op = 0; op <= 0xd0; op += 0x10)
        {
            foreach (int cls in new[] { 0x04, 0x07, 0x05, 0x06 })
            {
                list.Add((byte)(op | cls));
                list.Add((byte)(op | cls | 0x08));
            }
        }

        foreach (int size in new[] { 0x00, 0x08, 0x10, 0x18 })
        {
            list.Add((byte)(0x61 | size));
            list.Add((byte)(0x81 | size));
            list.Add((byte)(0x62 | size));
            list.Add((byte)(0x63 | size));
            list.Add((byte)(0x20 | size));
            list.Add((byte)(0x40 | size));
        }

        list.AddRange([0xc3, 0xdb, 0xc3, 0xdb, Opcode.LoadImm64]);
        return [.. list];
    }

    internal static string Listing(Instruction[] code) =>
        string.Join("\n", code.Select((insn, pc) => $"{pc,4}: {insn}"));
}
