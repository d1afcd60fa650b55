using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Runtime;

/// <summary>Conditional jumps of both widths and signedness, calls, exit and the instruction budget.</summary>
public class InterpreterControlFlowTests
{
    // Each row: a comparison that must be taken (1) or not (0) on the given operands.
    [Theory]
    [InlineData("jeq", "-1", "-1", 1)]
    [InlineData("jeq", "0", "-1", 0)]
    [InlineData("jne", "0", "-1", 1)]
    [InlineData("jgt", "-1", "1", 1)]      // unsigned: 2^64-1 > 1
    [InlineData("jsgt", "-1", "1", 0)]     // signed: -1 < 1
    [InlineData("jge", "5", "5", 1)]
    [InlineData("jsge", "-5", "-5", 1)]
    [InlineData("jlt", "1", "-1", 1)]
    [InlineData("jslt", "1", "-1", 0)]
    [InlineData("jle", "-1", "-1", 1)]
    [InlineData("jsle", "-2", "-1", 1)]
    [InlineData("jset", "6", "1", 0)]
    [InlineData("jset", "6", "2", 1)]
    [InlineData("jsgt", "0x7fffffff", "-2147483648", 1)]
    public void Jump64(string op, string left, string right, int taken)
    {
        Assert.Equal((ulong)taken, Vm.Run($"mov %r1, {left}\nmov %r2, {right}\nmov %r0, 0\n{op} %r1, %r2, +1\nexit\nmov %r0, 1\nexit"));
        Assert.Equal((ulong)taken, Vm.Run($"mov %r1, {left}\nmov %r0, 0\n{op} %r1, {right}, +1\nexit\nmov %r0, 1\nexit"));
    }

    [Theory]
    // Only the low 32 bits are compared; the upper halves differ.
    [InlineData("jeq32", "0x1ffffffff", "0x2ffffffff", 1)]
    [InlineData("jne32", "0x100000005", "0x5", 0)]
    [InlineData("jgt32", "0x1ffffffff", "0x1", 1)]
    [InlineData("jsgt32", "0x0ffffffff", "0x1", 0)]  // -1 as int
    [InlineData("jslt32", "0x0ffffffff", "0x0", 1)]
    [InlineData("jsge32", "0x180000000", "0x7fffffff", 0)]
    [InlineData("jle32", "0x300000002", "0x2", 1)]
    [InlineData("jset32", "0x100000000", "0x100000000", 0)]
    public void Jump32ComparesTheLowHalves(string op, string left, string right, int taken) =>
        Assert.Equal((ulong)taken, Vm.Run($"lddw %r1, {left}\nlddw %r2, {right}\nmov %r0, 0\n{op} %r1, %r2, +1\nexit\nmov %r0, 1\nexit"));

    [Fact]
    public void Ja32JumpsByItsImmediate() =>
        Assert.Equal(2UL, Vm.Run("mov %r0, 1\nja32 skip\nmov %r0, 3\nskip:\nadd %r0, 1\nexit"));

    [Fact]
    public void LocalCallsPreserveCalleeSavedRegistersAndGetTheirOwnFrame()
    {
        const string program = """
            mov %r6, 6
            stdw [%r10-8], 111
            mov %r1, 5
            call local double
            ldxdw %r2, [%r10-8]
            jne %r2, 111, fail
            jne %r6, 6, fail
            exit
            fail:
            mov %r0, -1
            exit
            double:
            mov %r6, 0
            stdw [%r10-8], 222
            mov %r0, %r1
            add %r0, %r1
            exit
            """;
        Assert.Equal(10UL, Vm.Run(program));
    }

    [Fact]
    public void CalleeMayUseAPointerIntoTheCallersFrame()
    {
        const string program = """
            stdw [%r10-8], 0
            mov %r1, %r10
            add %r1, -8
            call local store
            ldxdw %r0, [%r10-8]
            exit
            store:
            stdw [%r1+0], 42
            exit
            """;
        Assert.Equal(42UL, Vm.Run(program));
    }

    [Fact]
    public void EightFramesAreAllowedAndTheNinthFaults()
    {
        // Recursion that counts r1 down; each level is a new frame.
        static string Recurse(int levels) => $"""
            mov %r1, {levels}
            call local f
            exit
            f:
            jeq %r1, 0, done
            sub %r1, 1
            call local f
            done:
            mov %r0, 7
            exit
            """;
        Assert.Equal(7UL, Vm.Run(Recurse(6)));   // main + 7 calls = 8 frames
        var fault = Vm.Fault(Recurse(7));        // a 9th frame
        Assert.Equal(SharpBpf.Runtime.FaultKind.CallDepthExceeded, fault.Kind);
        Assert.Contains("limit of 8 frames", fault.Message);
    }

    [Fact]
    public void InfiniteLoopIsStoppedByTheBudget()
    {
        var fault = Vm.Fault("mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit");
        Assert.Equal(SharpBpf.Runtime.FaultKind.InstructionBudgetExhausted, fault.Kind);
        Assert.Contains("budget", fault.Message);
    }

    [Fact]
    public void UnknownHelperFaultsWithItsId()
    {
        var fault = Vm.Fault("call 77\nexit");
        Assert.Equal(SharpBpf.Runtime.FaultKind.UnknownHelper, fault.Kind);
        Assert.Equal(0, fault.Pc);
        Assert.Contains("77", fault.Message);
    }

    [Fact]
    public void HelpersReceiveR1ToR5()
    {
        // gather_bytes(1, 2, 3, 4, 5)
        Assert.Equal(0x0102030405UL, Vm.Run("mov %r1, 1\nmov %r2, 2\nmov %r3, 3\nmov %r4, 4\nmov %r5, 5\ncall 0\nexit"));
        Assert.Equal(1_000_000UL, Vm.Run("lddw %r1, 1000000000000\ncall 3\nexit"));
    }

    [Fact]
    public void UnwindHelperStopsTheProgramAtOnce() =>
        Assert.Equal(0UL, Vm.Run("mov %r0, 9\nmov %r1, 0\ncall 5\nmov %r0, 2\nexit"));

    [Fact]
    public void CallxCallsTheHelperWhoseIdIsInTheRegister() =>
        Assert.Equal(0x0102030405UL, Vm.Run("mov %r1, 1\nmov %r2, 2\nmov %r3, 3\nmov %r4, 4\nmov %r5, 5\nmov %r6, 0\ncall %r6\nexit"));

    [Fact]
    public void CallxToAnUnknownTargetFaults()
    {
        var fault = Vm.Fault("mov %r6, 0x7777\ncall %r6\nexit");
        Assert.Equal(SharpBpf.Runtime.FaultKind.InvalidCallTarget, fault.Kind);
    }

    [Fact]
    public void HelperMemoryArgumentsAreChecked()
    {
        // memfrob over 4 bytes of the stack works; over 4 bytes past the input it faults at the call.
        Assert.Equal(0x2aUL, Vm.Run("stb [%r10-4], 0\nmov %r1, %r10\nadd %r1, -4\nmov %r2, 4\ncall 1\nldxb %r0, [%r10-4]\nexit"));
        var fault = Vm.Fault("add %r1, 2\nmov %r2, 4\ncall 1\nexit", [1, 2, 3, 4]);
        Assert.Equal(SharpBpf.Runtime.FaultKind.MemoryAccess, fault.Kind);
        Assert.Equal(2, fault.Pc);
    }
}
