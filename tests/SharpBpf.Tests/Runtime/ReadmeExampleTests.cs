using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Runtime;

namespace SharpBpf.Tests.Runtime;

/// <summary>The library example of README.md, kept honest.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void TheReadmeExampleDoesWhatTheReadmeSays()
    {
        var program = BpfProgram.Create(Assembler.Assemble("""
            r0 = 0
            loop:
            r0 += r1
            r1 -= 1
            if r1 != 0 goto loop
            exit
            """), "sum");
        var vm = new Interpreter(program);
        var context = new BpfExecutionContext();
        Assert.Equal(5050UL, vm.Run(context, r1: 100));
        Assert.Equal(302, context.InstructionsExecuted);

        var bad = new Interpreter(BpfProgram.Create(Assembler.Assemble("r0 = *(u64 *)(r1 + 0x10)\nexit")));
        var e = Assert.Throws<BpfExecutionException>(() => bad.Run(context, r1: context.Stack.End));
        Assert.StartsWith("pc 0 (r0 = *(u64 *)(r1 + 0x10)): invalid memory read of 8 byte(s) at 0x", e.Fault.Message);
        Assert.Contains("it is outside every region; nearest is 'stack'", e.Fault.Message);
    }
}
