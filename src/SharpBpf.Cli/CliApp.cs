using System.CommandLine;
using SharpBpf.Cli.Commands;

namespace SharpBpf.Cli;

/// <summary>The <c>sharpbpf</c> command line: builds the command tree and runs it with the given writers.</summary>
public static class CliApp
{
    /// <summary>Exit code for bad input (an unreadable file, malformed assembly, an invalid program).</summary>
    public const int BadInput = 2;

    /// <summary>Builds the root command with every verb.</summary>
    /// <remarks>
    /// A plain command named "sharpbpf" rather than a RootCommand, whose name would be the assembly's
    /// (SharpBpf.Cli: it cannot be "sharpbpf", which differs from SharpBpf.dll only by case).
    /// </remarks>
    public static Command BuildRoot()
    {
        var root = new Command("sharpbpf", "sharpbpf: assemble, disassemble, run and test BPF programs, in-process on any OS.")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption(),
        };
        root.Subcommands.Add(AsmCommand.Create());
        root.Subcommands.Add(DisasmCommand.Create());
        root.Subcommands.Add(ObjectCommand.Create());
        root.Subcommands.Add(ConformanceCommand.Create());
        root.Subcommands.Add(ConformancePluginCommand.Create());
        root.Subcommands.Add(FuzzCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(ProgCommand.Create());
        root.Subcommands.Add(MapCommand.Create());
        root.Subcommands.Add(LinkCommand.Create());
        root.Subcommands.Add(FeatureCommand.Create());
        var btf = BtfCommand.Create();
        BtfListCommand.AddTo(btf); // btf list/show (kernel) beside btf dump (files)
        root.Subcommands.Add(btf);
        root.Subcommands.Add(CoreCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(ExplainCommand.Create());
        return root;
    }

    /// <summary>Parses and runs a command line; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var parse = BuildRoot().Parse(args);
        if (parse.Errors.Count > 0)
        {
            // A malformed command line is bad input too (exit 2), as a bad file is.
            foreach (var parseError in parse.Errors)
            {
                error.WriteLine($"error: {parseError.Message}");
            }

            return BadInput;
        }

        var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        try
        {
            return parse.Invoke(configuration);
        }
        catch (BpfException e)
        {
            error.WriteLine($"error: {e.Message}");
            return BadInput;
        }
        catch (IOException e)
        {
            error.WriteLine($"error: {e.Message}");
            return BadInput;
        }
        catch (UnauthorizedAccessException e)
        {
            error.WriteLine($"error: {e.Message}");
            return BadInput;
        }
    }
}
