using SharpBpf.Conformance;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Runtime;

namespace SharpBpf.Tests.TestSupport;

/// <summary>Assembles and runs small programs on the interpreter with the conformance contract.</summary>
internal static class Vm
{
    public static BpfProgram Program(string source, AssemblySyntax syntax = AssemblySyntax.Ubpf) =>
        BpfProgram.Create(Assembler.Assemble(source, syntax));

    /// <summary>r0 of a run on the given input memory (r1 = its address, r2 = its length).</summary>
    public static ulong Run(string source, byte[]? memory = null, AssemblySyntax syntax = AssemblySyntax.Ubpf) =>
        ConformanceRunner.Execute(new Interpreter(Program(source, syntax)), memory ?? [], 1_000_000);

    /// <summary>The fault of a run that must fault.</summary>
    public static ExecutionFault Fault(string source, byte[]? memory = null, AssemblySyntax syntax = AssemblySyntax.Ubpf) =>
        Assert.Throws<BpfExecutionException>(() => Run(source, memory, syntax)).Fault;
}
