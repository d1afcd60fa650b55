using System.CommandLine;
using SharpBpf.Isa;
using SharpBpf.Isa.Formatting;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf disasm FILE</c>: raw instruction bytes to an llvm-objdump-style listing.</summary>
internal static class DisasmCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "A file of raw little-endian BPF instructions." };
        var syntax = CommonOptions.Syntax("The output syntax: llvm (as llvm-objdump prints) or ubpf.");
        var command = new Command("disasm", "Disassemble raw BPF instructions.") { file, syntax };
        command.SetAction(parse =>
        {
            byte[] bytes = File.ReadAllBytes(parse.GetRequiredValue(file).FullName);
            var instructions = Instruction.Decode(bytes);
            var options = new DisassemblyOptions { Syntax = CommonOptions.ParseSyntax(parse.GetValue(syntax)!) };
            parse.InvocationConfiguration.Output.Write(Disassembler.Disassemble(instructions, options));
            return 0;
        });
        return command;
    }
}
