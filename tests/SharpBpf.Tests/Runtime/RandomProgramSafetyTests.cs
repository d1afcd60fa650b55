using SharpBpf.Conformance;
using SharpBpf.Isa;
using SharpBpf.Runtime;
using Xunit.Abstractions;

namespace SharpBpf.Tests.Runtime;

/// <summary>
/// The checked interpreter is safe on its own: random instruction sequences (random opcodes, registers,
/// offsets, immediates and jumps) either are rejected by validation, or run to a result or a clean fault.
/// A wild access would crash the test process, so finishing the loop is itself the assertion of safety.
/// </summary>
public class RandomProgramSafetyTests(ITestOutputHelper output)
{
    // Every opcode RFC 9669 defines, so that most random slots are at least decodable.
    private static readonly byte[] ValidOpcodes = BuildOpcodes();

    [Fact]
    public void RandomProgramsEndInAResultOrACleanFault()
    {
        var random = new Random(20261125);
        int rejected = 0, completed = 0, faulted = 0;
        var faultKinds = new HashSet<FaultKind>();
        var reasons = new Dictionary<string, int>();
        var helpers = ConformanceHelpers.Create();
        for (int i = 0; i < 20_000; i++)
        {
            var code = RandomCode(random);
            BpfProgram program;
            try
            {
                program = BpfProgram.Create(code);
            }
            catch (BpfValidationException e)
            {
                rejected++;
                string reason = e.Reason.Split(' ')[0];
                reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
                continue;
            }

            var context = new BpfExecutionContext(helpers) { InstructionBudget = 5_000 };
            var memory = new byte[64];
            random.NextBytes(memory);
            var input = MemoryRegion.FromBytes(memory, MemoryAccess.ReadWrite, MemoryRegionKind.Input, "input");
            context.AddRegion(input);
            context.LegacyPacket = input;
            try
            {
                new Interpreter(program).Run(context, input.Start, (ulong)memory.Length);
                completed++;
            }
            catch (BpfExecutionException e)
            {
                faulted++;
                faultKinds.Add(e.Fault.Kind);
                Assert.False(string.IsNullOrEmpty(e.Fault.Message));
                Assert.InRange(e.Fault.Pc, 0, program.Length - 1);
            }
        }

        output.WriteLine("rejections: " + string.Join(", ", reasons.OrderByDescending(r => r.Value).Select(r => $"{r.Key} {r.Value}")));
        output.WriteLine($"rejected {rejected}, completed {completed}, faulted {faulted}; fault kinds: {string.Join(", ", faultKinds)}");

        // The generator must exercise the engine, not just the validator.
        Assert.True(completed > 1_000, $"only {completed} programs ran to completion");
        Assert.True(faulted > 1_000, $"only {faulted} programs faulted");
        Assert.Contains(FaultKind.MemoryAccess, faultKinds);
        Assert.Contains(FaultKind.InstructionBudgetExhausted, faultKinds);
    }

    private static Instruction[] RandomCode(Random random)
    {
        int length = random.Next(1, 48);
        var code = new List<Instruction>(length + 2);
        while (code.Count < length)
        {
            int pc = code.Count;
            byte opcode = ValidOpcodes[random.Next(ValidOpcodes.Length)];
            var insn = new Instruction(opcode, 0, 0, 0, 0);
            byte dst = (byte)random.Next(10);      // never r10 as a destination of arithmetic
            byte src = (byte)random.Next(11);
            short offset = RandomOffset(random, pc, length);
            int imm = RandomImmediate(random, pc, length);
            switch (insn.Class)
            {
                case InstructionClass.Alu:
                case InstructionClass.Alu64:
                    var op = insn.AluOperation;
                    bool isReg = insn.Source == OperandSource.Register;
                    short aluOffset = op is AluOperation.Div or AluOperation.Mod ? (short)random.Next(2)
                        : op == AluOperation.Mov && isReg ? new short[] { 0, 0, 8, 16, (short)(insn.Class == InstructionClass.Alu64 ? 32 : 0) }[random.Next(5)]
                        : (short)0;
                    int aluImm = op == AluOperation.End ? new[] { 16, 32, 64 }[random.Next(3)] : isReg || op == AluOperation.Neg ? 0 : imm;
                    insn = new Instruction(opcode, dst, isReg && op != AluOperation.End ? src : (byte)0, aluOffset, aluImm);
                    break;
                case InstructionClass.Jmp:
                case InstructionClass.Jmp32:
                    if (opcode == Opcode.Call)
                    {
                        insn = new Instruction(opcode, 0, 0, 0, random.Next(8)); // helpers 0-5 exist, 6-7 do not
                    }
                    else if (opcode == Opcode.CallX || opcode == Opcode.Exit)
                    {
                        insn = new Instruction(opcode, opcode == Opcode.CallX ? dst : (byte)0, 0, 0, 0);
                    }
                    else if (opcode == Opcode.Ja32)
                    {
                        insn = new Instruction(opcode, 0, 0, 0, offset);
                    }
                    else if (opcode == Opcode.Ja)
                    {
                        insn = new Instruction(opcode, 0, 0, offset, 0);
                    }
                    else
                    {
                        bool reg = insn.Source == OperandSource.Register;
                        insn = new Instruction(opcode, dst, reg ? src : (byte)0, offset, reg ? 0 : imm);
                    }

                    break;
                case InstructionClass.Ld when opcode == Opcode.LoadImm64:
                    code.Add(new Instruction(opcode, dst, 0, 0, imm));
                    insn = new Instruction(0, 0, 0, 0, random.Next(3) == 0 ? -1 : 0);
                    break;
                case InstructionClass.Ld:
                    insn = new Instruction(opcode, 0, insn.MemoryMode == MemoryMode.Ind ? src : (byte)0, 0, random.Next(-4, 72));
                    break;
                case InstructionClass.Ldx:
                    insn = new Instruction(opcode, dst, RandomBase(random, src), MemoryOffset(random), 0);
                    break;
                case InstructionClass.St:
                    insn = new Instruction(opcode, RandomBase(random, dst), 0, MemoryOffset(random), imm);
                    break;
                default: // Stx: stores and atomics
                    int stxImm = insn.MemoryMode == MemoryMode.Atomic
                        ? new[] { 0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1 }[random.Next(10)]
                        : 0;
                    insn = new Instruction(opcode, RandomBase(random, dst), (byte)random.Next(10), MemoryOffset(random), stxImm);
                    break;
            }

            // Now and then, a slot with arbitrary bits, to exercise validation and odd encodings too.
            code.Add(random.Next(200) == 0 ? new Instruction((byte)random.Next(256), (byte)random.Next(16), (byte)random.Next(16), offset, imm) : insn);
        }

        code.Add(Instruction.Exit);
        return [.. code];
    }

    // Memory bases are mostly r1 (the input) and r10 (the stack), so that accesses land near real memory.
    private static byte RandomBase(Random random, byte fallback) => random.Next(3) switch
    {
        0 => 1,
        1 => 10,
        _ => fallback,
    };

    private static short MemoryOffset(Random random) => random.Next(4) switch
    {
        0 => (short)random.Next(-8, 72),
        1 => (short)(random.Next(-64, 1) * 8),
        2 => (short)random.Next(-520, 8),
        _ => (short)random.Next(short.MinValue, short.MaxValue + 1),
    };

    private static short RandomOffset(Random random, int pc, int length) => (short)random.Next(-pc - 1, length - pc);

    private static int RandomImmediate(Random random, int pc, int length) => random.Next(5) switch
    {
        0 => random.Next(-8, 8),
        1 => random.Next(-pc - 1, length - pc),
        2 => random.Next(),
        3 => random.Next(64),
        _ => new[] { int.MinValue, int.MaxValue, -1, 0, 1, 31, 32, 63, 64 }[random.Next(9)],
    };

    private static byte[] BuildOpcodes()
    {
        var opcodes = new List<byte>();
        foreach (byte cls in new byte[] { 0x04, 0x07 })
        {
            for (int op = 0x00; op <= 0xd0; op += 0x10)
            {
                opcodes.Add((byte)(cls | op));
                opcodes.Add((byte)(cls | op | 0x08));
            }
        }

        foreach (byte cls in new byte[] { 0x05, 0x06 })
        {
            for (int op = 0x00; op <= 0xd0; op += 0x10)
            {
                opcodes.Add((byte)(cls | op));
                opcodes.Add((byte)(cls | op | 0x08));
            }
        }

        opcodes.AddRange([0x18, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50]);
        foreach (byte size in new byte[] { 0x00, 0x08, 0x10, 0x18 })
        {
            opcodes.Add((byte)(0x61 | size));
            opcodes.Add((byte)(0x62 | size));
            opcodes.Add((byte)(0x63 | size));
            opcodes.Add((byte)(0x81 | size));
        }

        opcodes.AddRange([0xc3, 0xdb, 0xc3, 0xdb]);

        // Keep only opcodes the encoding rules know (whatever their other fields).
        return [.. opcodes.Where(op => InstructionRules.Check(new Instruction(op, 0, 0, 0, 0), new Instruction(0, 0, 0, 0, 0)) is not { } reason
            || !reason.StartsWith("unknown opcode", StringComparison.Ordinal))];
    }
}
