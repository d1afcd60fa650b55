using System.CommandLine;
using SharpBpf.Conformance;
using SharpBpf.Isa;
using SharpBpf.Jit;
using SharpBpf.Runtime;
using SharpBpf.Verification;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf conformance PATH...</c>: runs bpf_conformance-format cases and prints a summary.</summary>
internal static class ConformanceCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("PATH")
        {
            Description = "Case files (.data) or directories of them (default: the built-in cases).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var engine = CommonOptions.Engine();
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Print every case, not only failures." };
        var runUnchecked = new Option<bool>("--unchecked")
        {
            Description = "Verify each case (as a socket filter) and run the ones the verifier accepts in unchecked mode; the others run checked.",
        };
        var command = new Command("conformance", "Run ISA conformance cases (the bpf_conformance text format) on an engine.")
        {
            paths, engine, verbose, runUnchecked,
        };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var requested = parse.GetValue(paths) ?? [];
            var cases = requested.Length == 0 ? BuiltInCases() : ExpandPaths(requested).Select(LoadCase);
            string engineName = parse.GetValue(engine)!;
            var checkedEngine = CommonOptions.Engine(engineName);
            bool tryUnchecked = parse.GetValue(runUnchecked);
            int passed = 0, failed = 0, ranUnchecked = 0;
            ExecutableProgram Prepare(BpfProgram program)
            {
                var verification = tryUnchecked ? Verifier.Verify(program, new VerifierOptions { ProgramType = ProgramType.SocketFilter }) : null;
                if (verification is not { Accepted: true })
                {
                    return checkedEngine(program);
                }

                ranUnchecked++;
                var options = new EngineOptions { Safety = SafetyMode.Unchecked, Verification = verification };
                return engineName == "jit" ? new JittedProgram(program, options) : new Interpreter(program, options);
            }

            foreach (var (name, testCase, formatError) in cases)
            {
                if (testCase is null)
                {
                    failed++;
                    output.WriteLine($"FAIL {name}: {formatError}");
                    continue;
                }

                var result = ConformanceRunner.Run(testCase, Prepare);

                if (result.Passed)
                {
                    passed++;
                    if (parse.GetValue(verbose))
                    {
                        output.WriteLine($"PASS {result.Case.Name}");
                    }
                }
                else
                {
                    failed++;
                    output.WriteLine($"FAIL {result.Case.Name}: {result.Describe()}");
                }
            }

            output.WriteLine($"{passed} passed, {failed} failed");
            if (tryUnchecked)
            {
                output.WriteLine($"{ranUnchecked} of {passed + failed} cases ran unchecked (accepted by the verifier), the others checked");
            }

            return failed == 0 ? 0 : 1;
        });
        return command;
    }

    private static (string Name, ConformanceCase? Case, string? Error) LoadCase(string path)
    {
        try
        {
            return (Path.GetFileName(path), ConformanceCase.Load(path), null);
        }
        catch (ConformanceFormatException e)
        {
            return (Path.GetFileName(path), null, e.Message);
        }
    }

    /// <summary>The cases embedded in the tool: a quick self-test that needs no files.</summary>
    internal static IEnumerable<(string Name, ConformanceCase? Case, string? Error)> BuiltInCases()
    {
        var assembly = typeof(ConformanceCommand).Assembly;
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("cases/", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            string name = Path.GetFileNameWithoutExtension(resource["cases/".Length..]);
            yield return (name, ConformanceCase.Parse(reader.ReadToEnd(), name), null);
        }
    }

    private static List<string> ExpandPaths(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                files.AddRange(Directory.EnumerateFiles(path, "*.data").Order(StringComparer.Ordinal));
            }
            else if (File.Exists(path))
            {
                files.Add(path);
            }
            else
            {
                throw new FileNotFoundException($"no such file or directory: {path}");
            }
        }

        return files;
    }
}
