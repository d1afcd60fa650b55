using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpBpf.Btf;
using SharpBpf.Btf.Core;
using SharpBpf.Linux;
using SharpBpf.Linux.Objects;
using SharpBpf.Objects;
using SharpBpf.Verification;
using SharpBpf.Verification.Explain;

namespace SharpBpf.Cli.Commands;

/// <summary>
/// <c>sharpbpf verify OBJECT [--program NAME] [--log-level 0|1|2] [--flag BPF_F_...]... [--time-limit SECONDS] [--json]
/// [--kernel] [--explain PAGE.html]</c>: the verifier's verdict on each program, with <c>--kernel</c> the running
/// kernel's beside it, with <c>--explain</c> the explain page of everything the verifier saw.
/// </summary>
internal static class VerifyCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static Command Create()
    {
        var file = new Argument<FileInfo>("OBJECT") { Description = "A BPF ELF object (clang -target bpf)." };
        var program = new Option<string?>("--program") { Description = "Verify only the program with this name (its function symbol)." };
        var logLevel = new Option<int>("--log-level")
        {
            Description = "The verifier log: 0 none, 1 the failing path, 2 every path.",
            DefaultValueFactory = _ => 0,
        }.AcceptOnlyFromAmong("0", "1", "2");
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var kernel = new Option<bool>("--kernel")
        {
            Description = "Also load each program into the running kernel (Linux, root) and show its verdict, error line and processed count beside ours.",
        };
        var flag = new Option<string[]>("--flag")
        {
            Description = "A program-load flag, as BPF_PROG_LOAD takes it (repeatable): " + string.Join(", ", VerifierFlagNames.All) + ".",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var timeLimit = new Option<double?>("--time-limit") { Description = "Stop verifying a program after this many seconds (it counts as rejected, with a message saying so)." };
        var explain = new Option<FileInfo?>("--explain")
        {
            Description = "Write a self-contained HTML page of every state the verifier saw, the failing path and where the offending value came from (one program: use --program).",
        };
        var type = new Option<string?>("--type")
        {
            Description = "The program type of programs whose section name gives none (old objects' \"2/1\" or \"from-container\" sections), " +
                "as bpftool names it: xdp, sched_cls (or tc), socket_filter, kprobe, tracepoint...",
        };
        var command = new Command("verify", "Verify the programs of a BPF object with the kernel's rules.") { file, program, logLevel, json, kernel, flag, timeLimit, explain, type };
        command.SetAction(parse =>
        {
            var flags = VerifierFlags.None;
            foreach (var name in parse.GetValue(flag) ?? [])
            {
                if (!VerifierFlagNames.TryParse(name, out var one))
                {
                    parse.InvocationConfiguration.Error.WriteLine($"error: unknown program-load flag '{name}'; known flags: {string.Join(", ", VerifierFlagNames.All)}");
                    return CliApp.BadInput;
                }

                flags |= one;
            }

            TimeSpan? limit = null;
            if (parse.GetValue(timeLimit) is { } seconds)
            {
                if (!(seconds > 0 && seconds <= 86_400))
                {
                    parse.InvocationConfiguration.Error.WriteLine($"error: --time-limit must be a number of seconds above 0 and at most 86400, not {seconds.ToString(CultureInfo.InvariantCulture)}");
                    return CliApp.BadInput;
                }

                limit = TimeSpan.FromSeconds(seconds);
            }

            ProgramType? fallbackType = null;
            if (parse.GetValue(type) is { } typeName)
            {
                if (ParseProgramType(typeName) is not { } parsed)
                {
                    parse.InvocationConfiguration.Error.WriteLine($"error: unknown program type '{typeName}'; known types: {string.Join(", ", ProgramTypeNames().Select(n => n.Name))}");
                    return CliApp.BadInput;
                }

                fallbackType = parsed;
            }

            var obj = BpfObject.Load(parse.GetRequiredValue(file).FullName);
            var output = parse.InvocationConfiguration.Output;
            string? only = parse.GetValue(program);
            var selected = obj.Programs.Where(p => only is null || p.Name == only).ToList();
            if (selected.Count == 0)
            {
                parse.InvocationConfiguration.Error.WriteLine(only is null ? "error: the object has no programs" : $"error: no program named '{only}'");
                return CliApp.BadInput;
            }

            var explainTo = parse.GetValue(explain);
            if (explainTo is not null && selected.Count != 1)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: --explain writes one program's page: choose one of the {selected.Count} programs with --program");
                return CliApp.BadInput;
            }

            int level = parse.GetValue(logLevel);
            Dictionary<string, KernelVerdict>? theirs = null;
            if (parse.GetValue(kernel))
            {
                if (KernelSupport.Status is { IsSupported: false } or { HasPrivilege: false })
                {
                    parse.InvocationConfiguration.Error.WriteLine($"error: --kernel needs privileged bpf(): {KernelSupport.Status.Reason}");
                    return CliApp.BadInput;
                }

                theirs = KernelVerdicts(obj, selected, level, (ProgramLoadFlags)flags, fallbackType);
            }

            var core = RelocateForRunningKernel(obj);
            var results = selected.Select(p => (Program: p, Result: Verify(obj, p, level, core, flags, limit, explainTo, fallbackType))).ToList();
            if (parse.GetValue(json))
            {
                var doc = new
                {
                    programs = results.Select(r =>
                    {
                        // The issue's shape; "kernel" only with --kernel.
                        var entry = new Dictionary<string, object?>
                        {
                            ["name"] = r.Program.Name,
                            ["section"] = r.Program.SectionName,
                            ["type"] = TypeOf(r.Program, fallbackType).ToString(),
                            ["accepted"] = r.Result.Accepted,
                            ["error"] = r.Result.Error?.Message,
                            ["processed"] = r.Result.Statistics.Processed,
                            ["time_ms"] = Math.Round(r.Result.Elapsed.TotalMilliseconds, 3),
                            ["log"] = r.Result.Log,
                        };
                        if (theirs is not null)
                        {
                            entry["kernel"] = theirs[r.Program.Name];
                        }

                        return entry;
                    }),
                };
                output.WriteLine(JsonSerializer.Serialize(doc, Json));
            }
            else
            {
                foreach (var (p, result) in results)
                {
                    if (level > 0)
                    {
                        output.Write(result.Log);
                    }

                    string verdict = result.Accepted
                        ? "accepted"
                        : $"rejected at insn {result.Error!.Pc}: {result.Error.Message}";
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{p.Name} ({p.SectionName}, {TypeOf(p, fallbackType)}): {verdict} ({result.Statistics.Processed} insns processed, {result.Elapsed.TotalMilliseconds:0.###} ms)"));
                    if (result.Error?.Source is { } source)
                    {
                        output.WriteLine($"  at {source}");
                    }

                    if (explainTo is not null)
                    {
                        output.WriteLine($"  explain page written to {explainTo.FullName} ({explainTo.Length} bytes)");
                    }

                    if (theirs?[p.Name] is { } k)
                    {
                        if (level > 0 && k.Log.Length > 0)
                        {
                            output.WriteLine("  kernel log:");
                            foreach (var line in k.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                            {
                                output.WriteLine("  | " + line);
                            }
                        }

                        string kernelVerdict = k.Accepted ? "accepted" : $"rejected: {k.Error}";
                        string agreement = k.Accepted == result.Accepted ? "same verdict" : "DIFFERENT VERDICT";
                        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"  kernel: {kernelVerdict} ({(k.Processed is { } n ? n.ToString(CultureInfo.InvariantCulture) : "?")} insns processed); {agreement}"));
                    }
                }
            }

            return results.All(r => r.Result.Accepted) ? 0 : 1;
        });
        return command;
    }

    private static ProgramType TypeOf(ObjectProgram program, ProgramType? fallback) =>
        program.Type == ProgramType.Unspecified && fallback is { } type ? type : program.Type;

    // bpftool's short names (from the kernel's enum when it has BTF), the enum's own names, and "tc" as libbpf spells it.
    private static IEnumerable<(string Name, ProgramType Type)> ProgramTypeNames() =>
        Enum.GetValues<ProgramType>().Where(t => t != ProgramType.Unspecified).Select(t => (KernelNames.Of(t), t));

    private static ProgramType? ParseProgramType(string name)
    {
        if (name.Equals("tc", StringComparison.OrdinalIgnoreCase))
        {
            return ProgramType.SchedCls;
        }

        foreach (var (shortName, type) in ProgramTypeNames())
        {
            if (shortName.Equals(name, StringComparison.OrdinalIgnoreCase) || type.ToString().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return type;
            }
        }

        return null;
    }

    private static VerifierResult Verify(BpfObject obj, ObjectProgram program, int level, CoreResult? core, VerifierFlags flags, TimeSpan? limit, FileInfo? explainTo, ProgramType? fallbackType)
    {
        var options = VerifierOptions.For(obj, program, level, flags, limit, fallbackType);
        var instructions = core?.FindProgram(program.Name)?.Instructions ?? program.Instructions;
        if (explainTo is null)
        {
            return Verifier.Verify(instructions, options, program.Name);
        }

        var (result, report) = VerifierExplainer.Explain(instructions, options, program.Name);
        ExplainCommand.WritePage(report, explainTo);
        explainTo.Refresh();
        return result;
    }

    // The kernel verifies what libbpf hands it: programs relocated for the running kernel. Objects without CO-RE
    // records, or systems without kernel BTF, are verified as compiled.
    private static CoreResult? RelocateForRunningKernel(BpfObject obj) =>
        CoreRelocator.HasRelocations(obj) && BtfFile.RunningKernel is { } vmlinux ? CoreRelocator.Apply(obj, vmlinux) : null;

    /// <summary>The kernel's verdict on one program: accepted, its error line, and its processed instruction count.</summary>
    internal sealed record KernelVerdict(
        [property: System.Text.Json.Serialization.JsonPropertyName("accepted")] bool Accepted,
        [property: System.Text.Json.Serialization.JsonPropertyName("error")] string? Error,
        [property: System.Text.Json.Serialization.JsonPropertyName("processed")] long? Processed,
        [property: System.Text.Json.Serialization.JsonPropertyName("log")] string Log);

    private static Dictionary<string, KernelVerdict> KernelVerdicts(BpfObject obj, List<ObjectProgram> selected, int level, ProgramLoadFlags flags, ProgramType? fallbackType)
    {
        var verdicts = new Dictionary<string, KernelVerdict>();
        using var loaded = KernelObject.Load(obj, new KernelObjectOptions
        {
            ContinueOnProgramFailure = true,
            Programs = selected.Select(p => p.Name).ToHashSet(),
            LogLevel = (uint)level,
            ExtraProgramFlags = flags,
            FallbackProgramType = fallbackType,
        });
        foreach (var entry in loaded.Programs.Where(p => !p.Skipped))
        {
            verdicts[entry.Name] = entry.Program is { } accepted
                ? new KernelVerdict(true, null, accepted.GetInfo(includeArrays: false).VerifiedInstructions, level > 0 ? accepted.VerifierLog ?? "" : "")
                : FromLog(entry.Error, level);
        }

        return verdicts;
    }

    // The error is the first of the lines between the last instruction and "processed N insns ..." (the kernel may
    // add explanations after it, as "R1 offset is outside of the packet"); the count comes from that last line.
    private static KernelVerdict FromLog(KernelObjectException? error, int level)
    {
        var lines = (error?.VerifierLog ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int processedLine = Array.FindLastIndex(lines, l => l.StartsWith("processed ", StringComparison.Ordinal));
        long? processed = null;
        if (processedLine >= 0 && long.TryParse(lines[processedLine].Split(' ')[1], CultureInfo.InvariantCulture, out long n))
        {
            processed = n;
        }

        int first = processedLine > 0 ? processedLine : lines.Length;
        while (first > 0 && !IsInstructionOrState(lines[first - 1]))
        {
            first--;
        }

        int end = processedLine > 0 ? processedLine : lines.Length;
        string? line = first < end ? lines[first] : lines.LastOrDefault();
        return new KernelVerdict(false, line ?? error?.Message.Split('\n')[0], processed, level > 0 ? error?.VerifierLog ?? "" : "");
    }

    // "12: (71) r1 = ...", "0: R1=ctx() R10=fp0", "; source line", "func#0 @0": the log's trace, not its error.
    private static bool IsInstructionOrState(string line) =>
        line.StartsWith(';') || line.StartsWith("func#", StringComparison.Ordinal) ||
        (line.IndexOf(':', StringComparison.Ordinal) is > 0 and var colon && line.AsSpan(0, colon).IndexOfAnyExceptInRange('0', '9') < 0);
}
