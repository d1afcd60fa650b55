using System.CommandLine;
using SharpBpf.Conformance;
using SharpBpf.Isa;
using SharpBpf.Runtime;

namespace SharpBpf.Cli.Commands;

/// <summary>
/// <c>sharpbpf conformance-plugin [MEMORY_HEX]</c>: the plugin protocol of the public bpf_conformance runner.
/// Program bytes come as hex on standard input (or with --program), input memory as the hex argument; r0 is
/// printed in hex. A program error goes to standard error with a non-zero exit code.
/// </summary>
internal static class ConformancePluginCommand
{
    public static Command Create()
    {
        var memory = new Argument<string?>("MEMORY_HEX") { Description = "The input memory, as hex bytes.", Arity = ArgumentArity.ZeroOrOne };
        var program = new Option<string?>("--program") { Description = "The program bytes as hex (default: read from standard input)." };
        var debug = new Option<bool>("--debug") { Description = "Print the disassembly on standard error." };
        var engine = CommonOptions.Engine();
        var elf = new Option<bool>("--elf") { Description = "The program bytes are a BPF ELF object; its first program runs." };
        var command = new Command("conformance-plugin", "Run one program for the bpf_conformance runner (plugin protocol).")
        {
            memory, program, debug, elf, engine,
        };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            string programHex = parse.GetValue(program) ?? Console.In.ReadToEnd();
            byte[] code = ParseHex(programHex, "program");
            byte[] input = ParseHex(parse.GetValue(memory) ?? "", "memory");
            try
            {
                var bpf = parse.GetValue(elf) ? FirstProgram(code) : BpfProgram.FromBytes(code);
                if (parse.GetValue(debug))
                {
                    error.Write(Isa.Formatting.Disassembler.Disassemble(bpf.Instructions));
                }

                ulong r0 = ConformanceRunner.Execute(CommonOptions.Engine(parse.GetValue(engine)!)(bpf), input);
                output.WriteLine(r0.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
                return 0;
            }
            catch (BpfException e)
            {
                error.WriteLine(e.Message);
                return 1;
            }
        });
        return command;
    }

    private static BpfProgram FirstProgram(byte[] image)
    {
        var obj = Objects.BpfObject.Load(image.AsMemory());
        return obj.Programs.Count > 0 ? obj.Programs[0].ToBpfProgram() : throw new BpfException("the ELF object has no programs");
    }

    /// <summary>Hex bytes, with or without whitespace between them.</summary>
    internal static byte[] ParseHex(string text, string what)
    {
        var digits = new System.Text.StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                continue;
            }

            if (!char.IsAsciiHexDigit(c))
            {
                throw new BpfException($"{what}: '{c}' is not a hex digit");
            }

            digits.Append(c);
        }

        if (digits.Length % 2 != 0)
        {
            throw new BpfException($"{what}: odd number of hex digits ({digits.Length})");
        }

        return Convert.FromHexString(digits.ToString());
    }
}
