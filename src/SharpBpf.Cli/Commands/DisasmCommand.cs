using System.CommandLine;
using SharpBpf.Isa;
using SharpBpf.Isa.Formatting;
using SharpBpf.Objects;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf disasm FILE</c>: raw instruction bytes to an llvm-objdump-style listing.</summary>
internal static class DisasmCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "Raw little-endian BPF instructions, or a BPF ELF object." };
        var syntax = CommonOptions.Syntax("The output syntax: llvm (as llvm-objdump prints) or ubpf.");
        var program = new Option<string?>("--program", "-p") { Description = "For an object: only this program (its function name)." };
        var command = new Command("disasm", "Disassemble raw BPF instructions or the programs of an ELF object.") { file, syntax, program };
        command.SetAction(parse =>
        {
            byte[] bytes = File.ReadAllBytes(parse.GetRequiredValue(file).FullName);
            var options = new DisassemblyOptions { Syntax = CommonOptions.ParseSyntax(parse.GetValue(syntax)!) };
            var output = parse.InvocationConfiguration.Output;
            if (!bytes.AsSpan().StartsWith("\u007fELF"u8))
            {
                output.Write(Disassembler.Disassemble(Instruction.Decode(bytes), options));
                return 0;
            }

            // An object: each program after linking (subprograms appended, relocations applied), as it would be loaded.
            var obj = BpfObject.Load(bytes.AsMemory());
            string? only = parse.GetValue(program);
            var programs = obj.Programs.Where(p => only is null || p.Name == only).ToList();
            if (programs.Count == 0)
            {
                throw new BpfException(only is null ? "the object has no programs" : $"the object has no program named '{only}'");
            }

            foreach (var p in programs)
            {
                output.WriteLine($"{p.Name} (SEC(\"{p.SectionName}\"), {p.Type}, {p.Instructions.Length} instructions):");
                output.Write(Disassembler.Disassemble(p.Instructions, options));
                output.WriteLine();
            }

            return 0;
        });
        return command;
    }
}
