using System.Text;
using SharpBpf.Fuzzing;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Jit;
using SharpBpf.Runtime;
using Xunit.Abstractions;

namespace SharpBpf.Tests.Jit;

/// <summary>
/// Large functions compiled as several methods (<see cref="FunctionPieces"/>) behave exactly as the interpreter:
/// jumps, loops, calls, tail calls, faults and budgets across piece boundaries.
/// </summary>
public class JitPieceTests(ITestOutputHelper output)
{
    private const int InputLength = 64;

    [Fact]
    public void RandomProgramsCutIntoTinyPiecesBehaveIdentically()
    {
        var random = new Random(6);
        var generator = new RandomProgramGenerator(random, InputLength);
        var helpers = RandomProgramGenerator.Helpers();
        int split = 0, faulted = 0;
        const int Programs = 3_000;
        for (int i = 0; i < Programs; i++)
        {
            var code = generator.Next();
            var program = BpfProgram.Create(code, $"pieces{i}");

            // Every function of more than 4 instructions is cut, into pieces of 2 to 6: most jumps leave their piece.
            var jit = new JittedProgram(program, null, splitAbove: 4, pieceLength: random.Next(2, 7));
            split += jit.PieceCount > 0 ? 1 : 0;
            var input = new byte[InputLength];
            random.NextBytes(input);
            long budget = random.Next(4) == 0 ? random.Next(0, 150) : 100_000;
            var outcome = Engines.Compare(new Interpreter(program), jit, input, helpers, budget, i, $"program {i}:\n{JitDifferentialTests.Listing(code)}");
            faulted += outcome.Fault is null ? 0 : 1;
        }

        output.WriteLine($"{Programs} programs, {split} of them split, {faulted} faulted");
        Assert.True(split > Programs * 9 / 10, $"only {split} programs were split");
        Assert.InRange(faulted, Programs / 20, Programs * 3 / 4);
    }

    [Fact]
    public void GarbageProgramsCutIntoTinyPiecesFaultIdentically()
    {
        var random = new Random(61);
        var (compared, faulted) = new JitDifferentialTests(output).CompareGarbage(
            random, 6_000, program => new JittedProgram(program, null, splitAbove: 4, pieceLength: random.Next(2, 7)));
        Assert.True(compared > 600, $"only {compared} programs passed validation");
        Assert.True(faulted > 150, $"only {faulted} programs faulted");
    }

    [Fact]
    public void AnUnknownHelperInALaterPieceFaultsAsInTheInterpreter()
    {
        var (source, _, _, _) = LargeProgram(new Random(9));
        var program = Engines.Assemble(source.Replace("call 4\n", "call 99\n"), AssemblySyntax.Llvm);
        var jit = new JittedProgram(program, null, splitAbove: 1000, pieceLength: 300);
        var input = new byte[InputLength];
        input[5] = 8;
        var outcome = Engines.Compare(new Interpreter(program), jit, input, RandomProgramGenerator.Helpers(), 1_000_000, 0, "unknown helper");
        Assert.Equal(FaultKind.UnknownHelper, outcome.Fault?.Kind);
        Assert.True(outcome.Fault!.Pc > 2000, $"fault at pc {outcome.Fault.Pc}");
    }

    [Fact]
    public void AfterTheBudgetCheckOfAPieceTheInterpreterSeesRegistersSetInEarlierPieces()
    {
        // Pieces [0,3), [3,8), [8,10). With a budget of 6 the middle piece's check (its longest path is 5 instructions,
        // 3 are left) hands over to the interpreter, which takes the short path to pc 8 and reads r6, set in the first
        // piece: the middle piece must hand over r6 as it got it, though it assigns r6 on its long path.
        var program = Engines.Assemble("""
            r6 = 42
            r0 = 0
            goto +0
            if r1 != 0 goto +4
            r6 = 7
            *(u8 *)(r1 + 0) = 1
            r0 += 1
            r0 += 1
            r0 += r6
            exit
            """, AssemblySyntax.Llvm);
        var pieces = FunctionPieces.Split(program.Instructions.ToArray(), 0, program.Length, splitAbove: 1, pieceLength: 3)!;
        Assert.Equal([0, 3, 8], pieces.Select(p => p.Start));
        var jit = new JittedProgram(program, null, splitAbove: 1, pieceLength: 3);
        var outcome = Engines.Compare(new Interpreter(program), jit, new byte[8], RandomProgramGenerator.Helpers(), 6, 0, "budget 6");
        Assert.Equal(42UL, outcome.Result);
    }

    [Fact]
    public void ALargeProgramAgreesAcrossPieceBoundaries()
    {
        var (source, loopStart, loopEnd, faultPc) = LargeProgram(new Random(66));
        var program = Engines.Assemble(source, AssemblySyntax.Llvm);
        var pieces = FunctionPieces.Split(program.Instructions.ToArray(), 0, program.FunctionStarts[1], splitAbove: 1000, pieceLength: 300)!;
        Assert.True(pieces.Length >= 5, $"{pieces.Length} pieces");
        Assert.Contains(pieces, p => p.Start > loopStart && p.Start <= loopEnd);
        Assert.True(faultPc >= pieces[2].Start, $"the load that faults (pc {faultPc}) lies in the first pieces");

        var helpers = RandomProgramGenerator.Helpers();
        int tailCalls = 0;
        var tailCall = helpers.Find(RandomProgramGenerator.TailCallSelfHelper)!.Function;
        helpers.Register(RandomProgramGenerator.TailCallSelfHelper, "tail_call_self", (ctx, a, b, c, d, e) =>
        {
            tailCalls += (c & 3) != 0 ? 1 : 0;
            return tailCall(ctx, a, b, c, d, e);
        });

        var interpreter = new Interpreter(program);
        var small = new JittedProgram(program, null, splitAbove: 1000, pieceLength: 300);
        var standard = new JittedProgram(program);
        Assert.Equal(pieces.Length, small.PieceCount);
        Assert.True(standard.PieceCount >= 2, $"{standard.PieceCount} pieces with the standard lengths");
        var random = new Random(7);
        int completed = 0, faultsInLaterPieces = 0, budgetFaults = 0;
        for (int i = 0; i < 120; i++)
        {
            var input = new byte[InputLength];
            random.NextBytes(input);
            input[5] = (byte)(random.Next(3) == 0 ? 60 + random.Next(60) : random.Next(56));
            long budget = random.Next(4) == 0 ? random.Next(0, 20_000) : 1_000_000;
            foreach (var jit in new[] { small, standard })
            {
                var outcome = Engines.Compare(interpreter, jit, input, helpers, budget, i, $"run {i}, {jit.PieceCount} pieces");
                completed += outcome.Fault is null ? 1 : 0;
                faultsInLaterPieces += outcome.Fault is { Kind: FaultKind.MemoryAccess } fault && fault.Pc == faultPc ? 1 : 0;
                budgetFaults += outcome.Fault is { Kind: FaultKind.InstructionBudgetExhausted } ? 1 : 0;
            }
        }

        output.WriteLine($"{pieces.Length} pieces; {completed} runs completed, {faultsInLaterPieces} faulted at pc {faultPc}, " +
            $"{budgetFaults} ran out of budget, {tailCalls} tail calls");
        Assert.True(completed > 20, $"{completed} completed");
        Assert.True(faultsInLaterPieces > 10, $"{faultsInLaterPieces} faults at pc {faultPc}");
        Assert.True(budgetFaults > 10, $"{budgetFaults} budget faults");
        Assert.True(tailCalls > 20, $"{tailCalls} tail calls");
    }

    [Fact]
    public void GeneratingEveryPieceLeavesTheProgramRunnable()
    {
        var (source, _, _, _) = LargeProgram(new Random(8));
        var program = Engines.Assemble(source, AssemblySyntax.Llvm);
        var jit = new JittedProgram(program, null, splitAbove: 1000, pieceLength: 300);
        jit.GenerateAllPieces();
        var input = new byte[InputLength];
        input[5] = 8;
        var outcome = Engines.Compare(new Interpreter(program), jit, input, RandomProgramGenerator.Helpers(), 1_000_000, 0, "after GenerateAllPieces");
        Assert.Null(outcome.Fault);
    }

    /// <summary>
    /// A program of about 3,000 instructions: a prelude, a loop of about 700 (its count from input byte 4), a local
    /// call, an input load whose offset is input byte 5 (out of bounds from 57 on), a self tail call (when byte 6 has
    /// one of its two low bits set), with filler of arithmetic, stack and input traffic, forward jumps and helper calls.
    /// </summary>
    private static (string Source, int LoopStart, int LoopEnd, int FaultPc) LargeProgram(Random random)
    {
        var text = new StringBuilder();
        int pc = 0;
        void Line(string line)
        {
            text.AppendLine(line);
            pc++;
        }

        void Filler(int count)
        {
            int end = pc + count;
            while (pc < end)
            {
                int left = end - pc;
                switch (random.Next(12))
                {
                    case 0: Line($"r7 += {random.Next(-100, 100)}"); break;
                    case 1: Line("r7 ^= r0"); break;
                    case 2: Line("r0 = r7"); break;
                    case 3: Line("r0 *= 7"); break;
                    case 4: Line("w3 = w7"); break;
                    case 5: Line("r7 += r3"); break;
                    case 6: Line($"*(u64 *)(r10 - {8 * random.Next(1, 9)}) = r7"); break;
                    case 7: Line($"r3 = *(u64 *)(r10 - {8 * random.Next(1, 9)})"); break;
                    case 8: Line($"r3 = *(u32 *)(r6 + {random.Next(0, 57)})"); break;
                    case 9: Line($"*(u32 *)(r6 + {random.Next(8, 57)}) = r7"); break;
                    case 10 when left > 3:
                        Line("r1 = r7");
                        Line("call 1");
                        Line("r7 ^= r0");
                        break;
                    default:
                        if (left > 2)
                        {
                            Line($"if r7 > {random.Next(-1000, 1000)} goto +{random.Next(0, Math.Min(left - 1, 40))}");
                        }

                        break;
                }
            }
        }

        Line("r6 = r1");
        Line("r9 = r2");
        Line("r0 = 0");
        Line("r3 = 0");
        Line("r7 = *(u32 *)(r6 + 0)");
        Line("r8 = 0");
        for (int i = 0; i < 6; i++)
        {
            Line($"*(u64 *)(r10 - {8 * (i + 1)}) = r7");
        }

        Filler(400);
        int loopStart = pc;
        text.AppendLine("loop:");
        Filler(700);
        Line("r8 += 1");
        Line("r3 = *(u8 *)(r6 + 4)");
        Line("r3 &= 3");
        int loopEnd = pc;
        Line("if r8 <= r3 goto loop");
        Filler(500);
        Line("r1 = r7");
        Line("call sub");
        Line("r7 ^= r0");
        Filler(500);
        Line("r4 = *(u8 *)(r6 + 5)");
        Line("r5 = r6");
        Line("r5 += r4");
        int faultPc = pc;
        Line("r3 = *(u64 *)(r5 + 0)");
        Line("r7 += r3");
        Filler(500);
        Line("r1 = r6");
        Line("r2 = r9");
        Line("r3 = *(u8 *)(r6 + 6)");
        Line("call 4");
        Line("r0 = r7");
        Line("exit");
        text.AppendLine("sub:");
        Line("r0 = r1");
        Line("r0 *= 3");
        Line("exit");
        return (text.ToString(), loopStart, loopEnd, faultPc);
    }
}
