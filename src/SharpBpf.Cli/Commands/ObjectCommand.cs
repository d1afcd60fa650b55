using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpBpf.Objects;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf object OBJECT [--json]</c>: the programs, maps and relocations of a BPF ELF object.</summary>
internal static class ObjectCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static Command Create()
    {
        var file = new Argument<FileInfo>("OBJECT") { Description = "A BPF ELF object (clang -target bpf)." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of tables." };
        var command = new Command("object", "List the programs, maps and relocations of a BPF object file.") { file, json };
        command.SetAction(parse =>
        {
            var path = parse.GetRequiredValue(file).FullName;
            var obj = BpfObject.Load(path);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(Describe(obj), Json));
            }
            else
            {
                WriteTables(output, obj);
            }

            return 0;
        });
        return command;
    }

    private static object Describe(BpfObject obj) => new
    {
        license = obj.License,
        kernel_version = obj.KernelVersion,
        btf_bytes = obj.Btf?.Length,
        btf_ext_bytes = obj.BtfExt?.Length,
        programs = obj.Programs.Select(p => new
        {
            name = p.Name,
            section = p.SectionName,
            type = p.Type.ToString(),
            attach_type = p.ExpectedAttachType?.ToString(),
            instructions = p.Instructions.Length,
            valid = Validate(p) is null,
            invalid_reason = Validate(p),
            own_instructions = p.OwnInstructionCount,
            subprograms = p.Subprograms.Select(s => s.Name),
            relocations = p.Relocations.Select(r => new
            {
                insn = r.InstructionIndex,
                kind = r.Kind.ToString(),
                symbol = r.SymbolName,
                map = r.MapIndex >= 0 && r.MapIndex < obj.Maps.Count ? obj.Maps[r.MapIndex].Name : null,
                offset = r.ValueOffset,
            }),
        }),
        maps = obj.Maps.Select(m => new
        {
            name = m.Name,
            kind = m.Kind.ToString(),
            type = m.Type.ToString(),
            key_size = m.KeySize,
            value_size = m.ValueSize,
            max_entries = m.MaxEntries,
            flags = m.Flags,
            pinning = m.Pinning,
            inner = m.InnerMap?.Name,
        }),
    };

    private static void WriteTables(TextWriter output, BpfObject obj)
    {
        output.WriteLine($"license: {(obj.License.Length == 0 ? "(none)" : obj.License)}" +
            (obj.KernelVersion is { } v ? $", kernel version 0x{v:x}" : "") +
            $", BTF: {(obj.Btf is { } btf ? $"{btf.Length} bytes" : "none")}" +
            $", BTF.ext: {(obj.BtfExt is { } ext ? $"{ext.Length} bytes" : "none")}");
        output.WriteLine();
        Table(output, "programs", ["name", "section", "type", "insns", "subprogs", "relocs", "instructions"], obj.Programs.Select(p => new[]
        {
            p.Name, p.SectionName, p.Type.ToString(), p.Instructions.Length.ToString(CultureInfo.InvariantCulture),
            p.Subprograms.Count.ToString(CultureInfo.InvariantCulture), p.Relocations.Count.ToString(CultureInfo.InvariantCulture),
            Validate(p) is { } reason ? "invalid: " + reason : "valid",
        }));
        Table(output, "maps", ["name", "kind", "type", "key", "value", "max", "flags"], obj.Maps.Select(m => new[]
        {
            m.Name, m.Kind.ToString(), m.Type.ToString(), m.KeySize.ToString(CultureInfo.InvariantCulture),
            m.ValueSize.ToString(CultureInfo.InvariantCulture), m.MaxEntries.ToString(CultureInfo.InvariantCulture), $"0x{m.Flags:x}",
        }));
        Table(output, "relocations", ["program", "insn", "kind", "symbol", "target"], obj.Programs.SelectMany(p => p.Relocations.Select(r => new[]
        {
            p.Name, r.InstructionIndex.ToString(CultureInfo.InvariantCulture), r.Kind.ToString(), r.SymbolName,
            r.MapIndex >= 0 && r.MapIndex < obj.Maps.Count ? obj.Maps[r.MapIndex].Name + (r.ValueOffset != 0 ? $"+{r.ValueOffset}" : "") : "",
        })));
    }

    /// <summary>The structural validation error of a program's linked instructions, or null when they are valid.</summary>
    private static string? Validate(ObjectProgram program)
    {
        try
        {
            program.ToBpfProgram();
            return null;
        }
        catch (Isa.BpfValidationException e)
        {
            return e.Message;
        }
    }

    private static void Table(TextWriter output, string title, string[] header, IEnumerable<string[]> rows)
    {
        var all = rows.ToList();
        output.WriteLine($"{title} ({all.Count})");
        if (all.Count == 0)
        {
            output.WriteLine();
            return;
        }

        var widths = header.Select((h, i) => Math.Max(h.Length, all.Max(r => r[i].Length))).ToArray();
        output.WriteLine("  " + string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        foreach (var row in all)
        {
            output.WriteLine("  " + string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        }

        output.WriteLine();
    }
}
