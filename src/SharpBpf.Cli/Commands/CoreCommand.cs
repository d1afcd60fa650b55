using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpBpf.Btf;
using SharpBpf.Btf.Core;
using SharpBpf.Objects;

namespace SharpBpf.Cli.Commands;

/// <summary>
/// <c>sharpbpf core OBJECT --btf TARGET [--btf TARGET...] [--json]</c>: the fleet check. Relocates the object's CO-RE
/// records against each target kernel BTF and prints every relocation's result and a program-by-target matrix.
/// </summary>
internal static class CoreCommand
{
    private const string DefaultTarget = BtfFile.RunningKernelPath;
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static Command Create()
    {
        var file = new Argument<FileInfo>("OBJECT") { Description = "A BPF ELF object with .BTF and .BTF.ext (clang -g -target bpf)." };
        var targets = new Option<FileInfo[]>("--btf")
        {
            Description = "A target kernel's BTF (raw like /sys/kernel/btf/vmlinux, or an ELF file's .BTF); repeat for a fleet. Default: " + DefaultTarget + ".",
            AllowMultipleArgumentsPerToken = false,
        };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of tables." };
        var log = new Option<bool>("--log") { Description = "Print, per target, the relocation log in the format of libbpf's debug output instead of tables." };
        var command = new Command("core", "Check CO-RE relocation of an object against one or more kernels' BTF: every relocation, and which programs relocate where.")
        {
            file, targets, json, log,
        };
        command.SetAction(parse =>
        {
            var obj = BpfObject.Load(parse.GetRequiredValue(file).FullName);
            var paths = (parse.GetValue(targets) ?? []).Select(f => f.FullName).ToList();
            if (paths.Count == 0)
            {
                if (!File.Exists(DefaultTarget)) throw new BtfFormatException($"no --btf TARGET given and {DefaultTarget} does not exist");
                paths.Add(DefaultTarget);
            }

            var names = TargetNames(paths);
            var results = paths.Select((p, i) => CoreRelocator.Apply(obj, BtfFile.Load(p), names[i])).ToList();
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(Describe(obj, paths, results), Json));
            }
            else if (parse.GetValue(log))
            {
                foreach (var result in results)
                {
                    output.WriteLine($"# target {result.TargetName}");
                    foreach (var line in result.Relocations.SelectMany(r => r.Log)) output.WriteLine(line);
                }
            }
            else
            {
                WriteText(output, obj, paths, results);
            }
            return results.All(r => r.Succeeded) ? 0 : 1;
        });
        return command;
    }

    /// <summary>File names, or full paths where two targets share a file name.</summary>
    private static List<string> TargetNames(List<string> paths)
    {
        var names = paths.Select(Path.GetFileName).Select(n => n ?? "").ToList();
        return names.Select((n, i) => names.Count(m => m == n) > 1 ? paths[i] : n).ToList();
    }

    private static string Verdict(CoreProgramResult p) =>
        !p.Succeeded ? "FAILED" : p.PoisonedCount > 0 ? $"ok ({p.PoisonedCount} poisoned)" : "ok";

    private static string Result(CoreRelocationReport r) => r.Outcome switch
    {
        CoreRelocationOutcome.Patched => r.OriginalValue == r.NewValue ? $"{r.NewValue} (unchanged)" : $"{r.OriginalValue} -> {r.NewValue}"
            + (r.MemorySize.Original != 0 ? $", size {r.MemorySize.Original} -> {r.MemorySize.New}" : ""),
        CoreRelocationOutcome.Poisoned => "poisoned: " + r.Reason,
        CoreRelocationOutcome.Skipped => "skipped: " + r.Reason,
        _ => "FAILED: " + r.Reason,
    };

    /// <summary>The spec without its "&lt;kind&gt; [id] " prefix, which the table shows in columns.</summary>
    private static string ShortSpec(string spec)
    {
        int close = spec.IndexOf("] ", StringComparison.Ordinal);
        return close >= 0 ? spec[(close + 2)..] : spec;
    }

    private static void WriteText(TextWriter output, BpfObject obj, List<string> paths, List<CoreResult> results)
    {
        int relocations = results.Count == 0 ? 0 : results[0].Relocations.Count;
        output.WriteLine($"{relocations} CO-RE relocation(s) in {obj.Programs.Count} program(s)");
        for (int t = 0; t < results.Count; t++)
        {
            var result = results[t];
            output.WriteLine();
            output.WriteLine($"target {result.TargetName} ({paths[t]}, {result.Target.TypeCount - 1} types): {(result.Succeeded ? "relocates" : "FAILS")}");
            foreach (var program in result.Programs)
            {
                output.WriteLine($"  program {program.Name} ({program.Program.SectionName}): {Verdict(program)}");
                if (program.Relocations.Count == 0) continue;
                var rows = program.Relocations.Select(r => new[]
                {
                    "#" + r.Report.Index.ToString(CultureInfo.InvariantCulture),
                    r.InstructionIndex.ToString(CultureInfo.InvariantCulture),
                    r.Report.KindName,
                    r.Report.AccessString,
                    ShortSpec(r.Report.LocalSpec),
                    r.Report.Candidates.FirstOrDefault(c => c.Matched) is { } c ? ShortSpec(c.Spec) : r.Report.Candidates.Count == 0 ? "(no candidate)" : "(no match)",
                    Result(r.Report),
                }).ToList();
                Table(output, ["relo", "insn", "kind", "access", "local", "target", "result"], rows);
            }
            foreach (var r in result.Relocations.Where(r => r.Outcome == CoreRelocationOutcome.Skipped))
                output.WriteLine($"  section {r.SectionName} relo #{r.Index}: {Result(r)}");
        }

        output.WriteLine();
        output.WriteLine("summary");
        var header = new List<string> { "program" };
        header.AddRange(results.Select(r => r.TargetName));
        var matrix = obj.Programs.Select((p, i) =>
        {
            var row = new List<string> { p.Name };
            row.AddRange(results.Select(r => Verdict(r.Programs[i])));
            return row.ToArray();
        }).ToList();
        Table(output, [.. header], matrix);
    }

    private static void Table(TextWriter output, string[] header, List<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        output.WriteLine("    " + string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        foreach (var row in rows) output.WriteLine("    " + string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
    }

    private static object Describe(BpfObject obj, List<string> paths, List<CoreResult> results) => new
    {
        programs = obj.Programs.Select(p => new { name = p.Name, section = p.SectionName }),
        targets = results.Select((r, t) => new
        {
            name = r.TargetName,
            path = paths[t],
            succeeded = r.Succeeded,
            programs = r.Programs.Select(p => new
            {
                name = p.Name,
                succeeded = p.Succeeded,
                poisoned = p.PoisonedCount,
                relocations = p.Relocations.Select(x => Relocation(x.Report, x.InstructionIndex)),
            }),
            skipped = r.Relocations.Where(x => x.Outcome == CoreRelocationOutcome.Skipped).Select(x => Relocation(x, -1)),
        }),
        matrix = obj.Programs.Select((p, i) => new
        {
            program = p.Name,
            targets = results.ToDictionary(r => r.TargetName, r => r.Programs[i].Succeeded ? (r.Programs[i].PoisonedCount > 0 ? "poisoned" : "ok") : "failed"),
        }),
    };

    private static object Relocation(CoreRelocationReport r, int programInstruction) => new
    {
        relo = r.Index,
        section = r.SectionName,
        function = r.FunctionName,
        function_insn = r.InstructionIndex,
        program_insn = programInstruction,
        kind = r.KindName,
        access = r.AccessString,
        local_type_id = r.LocalTypeId,
        local = r.LocalSpec,
        candidates = r.Candidates.Select(c => new { type_id = c.TypeId, spec = c.Spec, matched = c.Matched }),
        outcome = r.Outcome.ToString().ToLowerInvariant(),
        original_value = r.OriginalValue,
        new_value = r.NewValue,
        reason = r.Reason,
    };
}
