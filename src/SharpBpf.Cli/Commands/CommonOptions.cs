using System.CommandLine;
using SharpBpf.Isa;

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
        Description = "The engine that runs programs.",
        DefaultValueFactory = _ => "interpreter",
    }.AcceptOnlyFromAmong("interpreter");
}
