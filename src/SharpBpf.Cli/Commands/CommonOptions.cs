using System.CommandLine;
using SharpBpf.Isa;
using SharpBpf.Jit;
using SharpBpf.Runtime;

namespace SharpBpf.Cli.Commands;

/// <summary>Options shared by several verbs.</summary>
internal static class CommonOptions
{
    public static Option<string> Syntax(string description) => new Option<string>("--syntax")
    {
        Description = description,
        DefaultValueFactory = _ => "llvm",
    }.AcceptOnlyFromAmong("llvm", "ubpf");

    public static AssemblySyntax ParseSyntax(string value) => value == "ubpf" ? AssemblySyntax.Ubpf : AssemblySyntax.Llvm;

    public static Option<string> Engine() => new Option<string>("--engine")
    {
        Description = "The engine that runs programs: the interpreter or the JIT (both checked).",
        DefaultValueFactory = _ => "interpreter",
    }.AcceptOnlyFromAmong("interpreter", "jit");

    /// <summary>Builds the chosen engine for a program.</summary>
    public static Func<BpfProgram, ExecutableProgram> Engine(string name) => name switch
    {
        "jit" => program => new JittedProgram(program),
        _ => program => new Interpreter(program),
    };
}
