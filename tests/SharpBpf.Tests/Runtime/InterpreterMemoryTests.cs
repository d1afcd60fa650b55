using SharpBpf.Isa;
using SharpBpf.Runtime;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Runtime;

/// <summary>Loads, stores, atomics, the 64-bit immediate load and the region checks.</summary>
public class InterpreterMemoryTests
{
    private static readonly byte[] Bytes = [0x11, 0x22, 0x33, 0x44, 0x85, 0x96, 0xa7, 0xf8];

    [Theory]
    [InlineData("ldxb", 0x85UL)]
    [InlineData("ldxh", 0x9685UL)]
    [InlineData("ldxw", 0xf8a79685UL)]
    [InlineData("ldxsb", 0xffffffffffffff85UL)]
    [InlineData("ldxsh", 0xffffffffffff9685UL)]
    [InlineData("ldxsw", 0xfffffffff8a79685UL)]
    public void LoadsZeroOrSignExtend(string mnemonic, ulong expected) =>
        Assert.Equal(expected, Vm.Run($"{mnemonic} %r0, [%r1+4]\nexit", Bytes));

    [Fact]
    public void LoadDoubleWordIsLittleEndian() =>
        Assert.Equal(0xf8a7968544332211UL, Vm.Run("ldxdw %r0, [%r1]\nexit", Bytes));

    [Theory]
    [InlineData("stxb", 0x11223344556677ffUL, 0xffUL)]
    [InlineData("stxh", 0x112233445566ffeeUL, 0xffeeUL)]
    [InlineData("stxw", 0x11223344ffeeddccUL, 0xffeeddccUL)]
    [InlineData("stxdw", 0x1122334455667788UL, 0x1122334455667788UL)]
    public void StoresTruncateToTheirSize(string mnemonic, ulong value, ulong expected) =>
        Assert.Equal(expected, Vm.Run($"stdw [%r10-8], 0\nlddw %r1, 0x{value:x}\n{mnemonic} [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit"));

    [Fact]
    public void StoreImmediateDoubleWordSignExtends() =>
        Assert.Equal(0xffffffffffffffffUL, Vm.Run("stdw [%r10-8], -1\nldxdw %r0, [%r10-8]\nexit"));

    [Fact]
    public void StoresReachTheInputMemory()
    {
        var memory = new byte[8];
        var program = Vm.Program("stw [%r1+2], 0x01020304\nmov %r0, 0\nexit");
        var context = new BpfExecutionContext();
        new Interpreter(program).RunOnMemory(context, memory);
        Assert.Equal(new byte[] { 0, 0, 4, 3, 2, 1, 0, 0 }, memory);
    }

    [Fact]
    public void ReadPastTheEndOfTheInputFaultsWithPcAddressSizeAndRegion()
    {
        var fault = Vm.Fault("mov %r0, 0\nldxw %r0, [%r1+6]\nexit", Bytes);
        Assert.Equal(FaultKind.MemoryAccess, fault.Kind);
        Assert.Equal(1, fault.Pc);
        Assert.Equal(4, fault.Size);
        Assert.Equal("input", fault.Region?.Name);
        Assert.Equal(fault.Region!.Start + 6, fault.Address);
        Assert.Contains("runs past the end", fault.Message);
    }

    [Theory]
    [InlineData("ldxdw %r0, [%r10]")]           // just above the stack
    [InlineData("ldxb %r0, [%r10-4097]")]       // just below all 8 frames
    [InlineData("mov %r2, 0\nldxb %r0, [%r2]")] // null
    [InlineData("stdw [%r10+8], 1")]
    [InlineData("lddw %r1, 0x1000\nlock add [%r1], %r0")]
    public void AccessesOutsideEveryRegionFault(string body)
    {
        var fault = Vm.Fault(body + "\nexit");
        Assert.Equal(FaultKind.MemoryAccess, fault.Kind);
    }

    [Fact]
    public void ReadOnlyRegionRefusesStores()
    {
        var program = new Interpreter(Vm.Program("stb [%r1], 1\nexit"));
        var context = new BpfExecutionContext();
        var region = MemoryRegion.FromBytes([1, 2, 3, 4, 5, 6, 7, 8], MemoryAccess.Read, MemoryRegionKind.Context, "ctx");
        context.AddRegion(region);
        var e = Assert.Throws<BpfExecutionException>(() => program.Run(context, region.Start));
        Assert.Contains("does not allow it", e.Message);
        Assert.Equal(1, region.AsSpan()[0]);
    }

    [Fact]
    public void SharedRegionsAreVisible()
    {
        var shared = new MemoryMap();
        var value = MemoryRegion.FromBytes(BitConverter.GetBytes(41UL), MemoryAccess.ReadWrite, MemoryRegionKind.MapValue, "map");
        shared.Add(value);
        var context = new BpfExecutionContext(sharedMemory: shared);
        var program = new Interpreter(Vm.Program("ldxdw %r0, [%r1]\nadd %r0, 1\nstxdw [%r1], %r0\nexit"));
        Assert.Equal(42UL, program.Run(context, value.Start));
        Assert.Equal(42UL, BitConverter.ToUInt64(value.AsSpan()));
    }

    // Atomics: (mnemonic, initial memory, src, expected memory, expected src after, expected r0 after)
    [Theory]
    [InlineData("lock add", 10UL, 5UL, 15UL, 5UL)]
    [InlineData("lock fetch add", 10UL, 5UL, 15UL, 10UL)]
    [InlineData("lock or", 0x0fUL, 0xf0UL, 0xffUL, 0xf0UL)]
    [InlineData("lock fetch or", 0x0fUL, 0xf0UL, 0xffUL, 0x0fUL)]
    [InlineData("lock and", 0xffUL, 0x0fUL, 0x0fUL, 0x0fUL)]
    [InlineData("lock fetch and", 0xffUL, 0x0fUL, 0x0fUL, 0xffUL)]
    [InlineData("lock xor", 0xffUL, 0x0fUL, 0xf0UL, 0x0fUL)]
    [InlineData("lock fetch xor", 0xffUL, 0x0fUL, 0xf0UL, 0xffUL)]
    [InlineData("lock xchg", 0x1111UL, 0x2222UL, 0x2222UL, 0x1111UL)]
    public void Atomic64(string op, ulong initial, ulong operand, ulong memoryAfter, ulong srcAfter)
    {
        string body = $"lddw %r2, 0x{initial:x}\nstxdw [%r10-8], %r2\nlddw %r1, 0x{operand:x}\n{op} [%r10-8], %r1\n";
        Assert.Equal(memoryAfter, Vm.Run(body + "ldxdw %r0, [%r10-8]\nexit"));
        Assert.Equal(srcAfter, Vm.Run(body + "mov %r0, %r1\nexit"));
    }

    [Theory]
    [InlineData("lock add32", 0xffffffffUL, 1UL, 0UL, 1UL)]
    [InlineData("lock fetch add32", 0xffffffffUL, 1UL, 0UL, 0xffffffffUL)]
    [InlineData("lock fetch or32", 0x0fUL, 0xf0UL, 0xffUL, 0x0fUL)]
    [InlineData("lock fetch and32", 0xffUL, 0x0fUL, 0x0fUL, 0xffUL)]
    [InlineData("lock fetch xor32", 0xffUL, 0x0fUL, 0xf0UL, 0xffUL)]
    [InlineData("lock xchg32", 0x80000000UL, 0x2222UL, 0x2222UL, 0x80000000UL)]
    public void Atomic32TouchesOnlyTheLowWordAndZeroExtendsTheOldValue(string op, ulong initial, ulong operand, ulong memoryAfter, ulong srcAfter)
    {
        // The upper word of the double word must survive; the fetched value is zero-extended even from a negative word.
        string body = $"lddw %r2, 0x55555555{initial:x8}\nstxdw [%r10-8], %r2\nlddw %r1, 0xffffffff{operand:x8}\n{op} [%r10-8], %r1\n";
        Assert.Equal(0x5555555500000000UL | memoryAfter, Vm.Run(body + "ldxdw %r0, [%r10-8]\nexit"));
        Assert.Equal(op.Contains("fetch", StringComparison.Ordinal) || op.Contains("xchg", StringComparison.Ordinal) ? srcAfter : 0xffffffff00000000UL | operand,
            Vm.Run(body + "mov %r0, %r1\nexit"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CompareExchangeReturnsTheOldValueInR0(bool matches)
    {
        string expected = matches ? "0x1234" : "0x9999";
        string body = $"stdw [%r10-8], 0x1234\nmov %r0, {expected}\nmov %r1, 0x7777\nlock cmpxchg [%r10-8], %r1\n";
        Assert.Equal(0x1234UL, Vm.Run(body + "exit"));
        Assert.Equal(matches ? 0x7777UL : 0x1234UL, Vm.Run(body + "ldxdw %r0, [%r10-8]\nexit"));
    }

    [Fact]
    public void CompareExchange32ComparesTheLowHalfOfR0AndZeroExtends()
    {
        string body = "lddw %r2, 0x00000001fffffffe\nstxdw [%r10-8], %r2\nlddw %r0, 0x77777777fffffffe\nmov32 %r1, 5\nlock cmpxchg32 [%r10-8], %r1\n";
        Assert.Equal(0xfffffffeUL, Vm.Run(body + "exit"));
        Assert.Equal(0x0000000100000005UL, Vm.Run(body + "ldxdw %r0, [%r10-8]\nexit"));
    }

    [Fact]
    public void MisalignedAtomicFaults()
    {
        var fault = Vm.Fault("stdw [%r10-16], 0\nstdw [%r10-8], 0\nlock add [%r10-12], %r1\nexit");
        Assert.Equal(FaultKind.MisalignedAtomic, fault.Kind);
    }

    [Fact]
    public void LoadImm64TakesTwoSlots() =>
        Assert.Equal(0x123456789abcdef0UL, Vm.Run("lddw %r0, 0x123456789abcdef0\nexit"));

    [Fact]
    public void MapReferencesNeedAResolver()
    {
        var (first, second) = Instruction.LoadImm64(1, 3, Imm64Source.MapFd);
        var program = BpfProgram.Create([first, second, Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0), Instruction.Exit]);
        var e = Assert.Throws<BpfException>(() => new Interpreter(program));
        Assert.Contains("map fd 3", e.Message);

        var resolved = new Interpreter(program, new EngineOptions { ResolveImm64 = (pc, source, imm, next) => 0xabc0UL + (ulong)imm });
        Assert.Equal(0UL, resolved.Run(new BpfExecutionContext()));
    }

    [Fact]
    public void FunctionPointerCanBeCalledWithCallx()
    {
        // lddw src=4 holds the address of the function 5 slots after it; callx calls it as a local function.
        var (first, second) = Instruction.LoadImm64(6, 0, Imm64Source.Function);
        first = first.WithImmediate(6);
        Instruction[] code =
        [
            first, second,                                                            // 0-1: r6 = &f (pc 0 + 1 + 6 = 7)
            new Instruction(Opcode.CallX, 6, 0, 0, 0),                                // 2: callx r6
            Instruction.Alu(true, AluOperation.Add, OperandSource.Immediate, 0, immediate: 1), // 3
            Instruction.Exit,                                                         // 4
            Instruction.Exit, Instruction.Exit,                                       // 5-6 padding
            Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0, immediate: 40), // 7: f
            Instruction.Exit,
        ];
        Assert.Equal(41UL, new Interpreter(BpfProgram.Create(code)).Run(new BpfExecutionContext()));
    }

    [Theory]
    [InlineData(0x30, 0, 0x85UL)]        // ldabsb 4
    [InlineData(0x28, 0, 0x8596UL)]      // ldabsh 4: network byte order
    [InlineData(0x20, 0, 0x8596a7f8UL)]  // ldabsw 4
    public void LegacyPacketLoadsAreBigEndian(byte opcode, byte src, ulong expected)
    {
        Instruction[] code = [new Instruction(opcode, 0, src, 0, 4), Instruction.Exit];
        Assert.Equal(expected, ConformanceRun(code, Bytes));
    }

    [Fact]
    public void LegacyPacketLoadOutOfBoundsEndsTheProgramWithZero()
    {
        Instruction[] code =
        [
            Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0, immediate: 99),
            Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 3, immediate: 6),
            new Instruction(0x40, 0, 3, 0, 0),   // ldindw r3+0: bytes 6..9 of an 8-byte packet
            Instruction.Exit,
        ];
        Assert.Equal(0UL, ConformanceRun(code, Bytes));
    }

    private static ulong ConformanceRun(Instruction[] code, byte[] memory) =>
        SharpBpf.Conformance.ConformanceRunner.Execute(new Interpreter(BpfProgram.Create(code)), memory);
}
