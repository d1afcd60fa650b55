using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpBpf.Objects;
using SharpBpf.Verification;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf verify OBJECT [--program NAME] [--log-level 0|1|2] [--json]</c>: the verifier's verdict on each program.</summary>
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
        var command = new Command("verify", "Verify the programs of a BPF object with the kernel's rules.") { file, program, logLevel, json };
        command.SetAction(parse =>
        {
            var obj = BpfObject.Load(parse.GetRequiredValue(file).FullName);
            var output = parse.InvocationConfiguration.Output;
            string? only = parse.GetValue(program);
            var selected = obj.Programs.Where(p => only is null || p.Name == only).ToList();
            if (selected.Count == 0)
            {
                parse.InvocationConfiguration.Error.WriteLine(only is null ? "error: the object has no programs" : $"error: no program named '{only}'");
                return CliApp.BadInput;
            }

            int level = parse.GetValue(logLevel);
            var results = selected.Select(p => (Program: p, Result: Verify(obj, p, level))).ToList();
            if (parse.GetValue(json))
            {
                var doc = new
                {
                    programs = results.Select(r => new
                    {
                        name = r.Program.Name,
                        section = r.Program.SectionName,
                        type = r.Program.Type.ToString(),
                        accepted = r.Result.Accepted,
                        error = r.Result.Error?.Message,
                        processed = r.Result.Statistics.Processed,
                        time_ms = Math.Round(r.Result.Elapsed.TotalMilliseconds, 3),
                        log = r.Result.Log,
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
                        $"{p.Name} ({p.SectionName}, {p.Type}): {verdict} ({result.Statistics.Processed} insns processed, {result.Elapsed.TotalMilliseconds:0.###} ms)"));
                }
            }

            return results.All(r => r.Result.Accepted) ? 0 : 1;
        });
        return command;
    }

    private static VerifierResult Verify(BpfObject obj, ObjectProgram program, int level)
    {
        var options = VerifierOptions.For(obj, program, level);
        return Verifier.Verify(program.Instructions, options, program.Name);
    }
}
