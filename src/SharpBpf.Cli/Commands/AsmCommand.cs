using System.CommandLine;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf asm FILE [-o OUT] [--syntax llvm|ubpf]</c>: assembly text to raw instruction bytes.</summary>
internal static class AsmCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "The assembly source ('-' for standard input)." };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Where to write the instruction bytes (default: FILE with extension .bin)." };
        var syntax = new Option<string?>("--syntax")
        {
            Description = "The source syntax: llvm (r0 = 1) or ubpf (mov %r0, 1). Default: detected per line.",
        }.AcceptOnlyFromAmong("llvm", "ubpf");
        var hex = new Option<bool>("--hex") { Description = "Print the bytes as hex on standard output instead of writing a file." };
        var command = new Command("asm", "Assemble BPF assembly (LLVM or uBPF syntax) into raw little-endian instructions.")
        {
            file, output, syntax, hex,
        };
        command.SetAction(parse =>
        {
            var input = parse.GetRequiredValue(file);
            string text = input.Name == "-" ? Console.In.ReadToEnd() : File.ReadAllText(input.FullName);
            string? syntaxName = parse.GetValue(syntax);
            AssemblySyntax? chosen = syntaxName is null ? null : CommonOptions.ParseSyntax(syntaxName);
            var instructions = Assembler.Assemble(text, chosen);
            byte[] bytes = Instruction.Encode(instructions);
            var stdout = parse.InvocationConfiguration.Output;
            if (parse.GetValue(hex))
            {
                stdout.WriteLine(Convert.ToHexString(bytes).ToLowerInvariant());
                return 0;
            }

            string target = parse.GetValue(output)?.FullName ?? Path.ChangeExtension(input.FullName, ".bin");
            File.WriteAllBytes(target, bytes);
            stdout.WriteLine($"{instructions.Length} instructions ({bytes.Length} bytes) written to {target}");
            return 0;
        });
        return command;
    }
}
