using System.Buffers.Binary;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Iced.Intel;
using Instruction = SharpBpf.Isa.Instruction;
using SharpBpf.Btf;
using SharpBpf.Isa;
using SharpBpf.Isa.Formatting;
using SharpBpf.Linux;

namespace SharpBpf.Cli.Commands;

/// <summary>What the kernel-inspection verbs share: id arguments, the --json option and bpftool-style output.</summary>
internal static class KernelCli
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Option<bool> JsonOption() => new("--json", "-j") { Description = "Print JSON (the fields bpftool -j prints, plus a few)." };

    public static Argument<uint> IdArgument(string what) => new("ID") { Description = $"The {what}'s id." };

    public static void WriteJson(TextWriter output, JsonNode node) => output.WriteLine(node.ToJsonString(Indented));

    /// <summary>Every object of a kind, opened by id; objects that vanish between listing and opening are skipped.</summary>
    public static IEnumerable<T> OpenAll<T>(BpfObjectKind kind, Func<uint, T> open)
    {
        foreach (uint id in BpfSyscall.EnumerateIds(kind))
        {
            T item;
            try
            {
                item = open(id);
            }
            catch (BpfSyscallException e) when (e.ErrorNumber == Errno.ENOENT)
            {
                continue;
            }

            yield return item;
        }
    }

    /// <summary>
    /// A <c>list</c> or <c>show [ID]</c> verb over one kind of kernel object: <paramref name="prepare"/> gathers what
    /// every item needs once per invocation (such as which links use which program), then each object is printed as
    /// text or as one element of a JSON array (a single object for <c>show ID</c>).
    /// </summary>
    public static Command ListOrShow<T, TState>(string name, string description, bool withId, BpfObjectKind kind, Func<uint, T> open,
        Func<TState> prepare, Func<T, TState, JsonObject> toJson, Action<TextWriter, T, TState> toText)
        where T : IDisposable
    {
        var json = JsonOption();
        var id = new Argument<uint?>("ID") { Description = "The object's id.", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command(name, description) { json };
        if (withId)
        {
            command.Arguments.Add(id);
        }

        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            uint? only = withId ? parse.GetValue(id) : null;
            var state = prepare();
            var items = only is { } single ? [open(single)] : OpenAll(kind, open).ToList();
            var array = new JsonArray();
            foreach (var item in items)
            {
                using (item)
                {
                    if (parse.GetValue(json))
                    {
                        array.Add(toJson(item, state));
                    }
                    else
                    {
                        toText(output, item, state);
                    }
                }
            }

            if (parse.GetValue(json))
            {
                WriteJson(output, only is null ? array : array[0]!.DeepClone());
            }

            return 0;
        });
        return command;
    }

    public static string Ids(IEnumerable<uint> ids) => string.Join(',', ids.Select(i => i.ToString(CultureInfo.InvariantCulture)));

    public static JsonArray IdArray(IEnumerable<uint> ids) => [.. ids.Select(i => (JsonNode)i)];

    public static string Hex(ReadOnlySpan<byte> bytes) => string.Join(' ', bytes.ToArray().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    /// <summary>bpftool prints bytes in JSON as "0x.." strings.</summary>
    public static JsonArray HexArray(ReadOnlySpan<byte> bytes) => [.. bytes.ToArray().Select(b => (JsonNode)$"0x{b:x2}")];

    public static long? Memlock(BpfFileDescriptor descriptor) =>
        KernelNames.FdInfo(descriptor).TryGetValue("memlock", out var text) && long.TryParse(text, CultureInfo.InvariantCulture, out long value) ? value : null;
}

/// <summary><c>sharpbpf prog list|show [ID]|dump xlated|jited ID</c>: the programs loaded in the kernel, as bpftool shows them.</summary>
internal static class ProgCommand
{
    public static Command Create()
    {
        var command = new Command("prog", "Inspect the BPF programs loaded in the running kernel (needs root).");
        command.Subcommands.Add(ListOrShow("list", "List every loaded program.", withId: false));
        command.Subcommands.Add(ListOrShow("show", "Show one program, or all without an id.", withId: true));
        var dump = new Command("dump", "Disassemble a loaded program.");
        dump.Subcommands.Add(DumpXlated());
        dump.Subcommands.Add(DumpJited());
        command.Subcommands.Add(dump);
        return command;
    }

    private static Command ListOrShow(string name, string description, bool withId) =>
        KernelCli.ListOrShow(name, description, withId, BpfObjectKind.Program, KernelProgram.FromId, AllLinks,
            (program, links) => Describe(program, program.GetInfo(), links),
            (output, program, links) => WriteText(output, program, program.GetInfo(), links));

    private static List<LinkInfo> AllLinks() => [.. KernelCli.OpenAll(BpfObjectKind.Link, KernelLink.FromId).Select(l =>
    {
        using (l)
        {
            return l.GetInfo();
        }
    })];

    private static JsonObject Describe(KernelProgram program, ProgramInfo info, List<LinkInfo> allLinks)
    {
        var links = allLinks.Where(l => l.ProgramId == info.Id).ToList();
        var o = new JsonObject
        {
            ["id"] = info.Id,
            ["type"] = KernelNames.Of(info.Type),
            ["name"] = FullName(info),
            ["tag"] = info.Tag,
            ["gpl_compatible"] = info.GplCompatible,
        };
        if (info.RunTimeNanoseconds != 0 || info.RunCount != 0)
        {
            o["run_time_ns"] = info.RunTimeNanoseconds;
            o["run_cnt"] = info.RunCount;
        }

        o["loaded_at"] = LinuxSystem.BootTimeToUnixSeconds(info.LoadTimeNanoseconds);
        o["uid"] = info.CreatedByUid;
        o["bytes_xlated"] = info.XlatedLength;
        o["jited"] = info.JitedLength > 0;
        o["bytes_jited"] = info.JitedLength;
        if (KernelCli.Memlock(program.Handle) is { } memlock)
        {
            o["bytes_memlock"] = memlock;
        }

        if (info.MapIds.Length > 0)
        {
            o["map_ids"] = KernelCli.IdArray(info.MapIds);
        }

        if (info.BtfId != 0)
        {
            o["btf_id"] = info.BtfId;
        }

        o["verified_insns"] = info.VerifiedInstructions;
        o["links"] = new JsonArray([.. links.Select(l => (JsonNode)LinkCommand.Describe(l))]);
        return o;
    }

    private static void WriteText(TextWriter output, KernelProgram program, ProgramInfo info, List<LinkInfo> allLinks)
    {
        var links = allLinks.Where(l => l.ProgramId == info.Id).ToList();
        var loaded = DateTimeOffset.FromUnixTimeSeconds(LinuxSystem.BootTimeToUnixSeconds(info.LoadTimeNanoseconds));
        output.WriteLine($"{info.Id}: {KernelNames.Of(info.Type)}  name {FullName(info)}  tag {info.Tag}{(info.GplCompatible ? "  gpl" : "")}" +
            (info.RunCount != 0 ? $" run_time_ns {info.RunTimeNanoseconds} run_cnt {info.RunCount}" : ""));
        output.WriteLine($"\tloaded_at {loaded:yyyy-MM-ddTHH:mm:ss}+0000  uid {info.CreatedByUid}");
        output.WriteLine($"\txlated {info.XlatedLength}B  " + (info.JitedLength > 0 ? $"jited {info.JitedLength}B" : "not jited") +
            (KernelCli.Memlock(program.Handle) is { } memlock ? $"  memlock {memlock}B" : "") +
            (info.MapIds.Length > 0 ? $"  map_ids {KernelCli.Ids(info.MapIds)}" : ""));
        output.WriteLine($"\t{(info.BtfId != 0 ? $"btf_id {info.BtfId}  " : "")}verified_insns {info.VerifiedInstructions}");
        foreach (var link in links)
        {
            output.WriteLine($"\tlink {link.Id}: {LinkCommand.Summary(link)}");
        }
    }

    private static Command DumpXlated()
    {
        var id = KernelCli.IdArgument("program");
        var json = KernelCli.JsonOption();
        var command = new Command("xlated", "The instructions as the verifier rewrote them, with source lines from the program's BTF line info.") { id, json };
        command.SetAction(parse =>
        {
            using var program = KernelProgram.FromId(parse.GetValue(id));
            var info = program.GetInfo();
            var instructions = Instruction.Decode(info.XlatedInstructions);
            var lines = SourceLines(info);
            var output = parse.InvocationConfiguration.Output;
            var array = new JsonArray();
            for (int pc = 0; pc < instructions.Length; pc++)
            {
                string text = Disassembler.Format(instructions, pc);
                bool hasSource = lines.TryGetValue(pc, out var source);
                if (parse.GetValue(json))
                {
                    var item = new JsonObject { ["pc"] = pc, ["insn"] = text };
                    if (hasSource)
                    {
                        item["src"] = source.Text;
                        item["line"] = source.Location;
                    }

                    array.Add(item);
                }
                else
                {
                    if (hasSource)
                    {
                        output.WriteLine($"; {source.Text} @ {source.Location}");
                    }

                    output.WriteLine($"{pc,4}: {text}");
                }

                if (instructions[pc].IsLoadImm64)
                {
                    pc++;
                }
            }

            if (parse.GetValue(json))
            {
                KernelCli.WriteJson(output, array);
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// The program's name; the kernel keeps 15 characters, so a name that long is completed from the BTF name of the
    /// program's first function, as bpftool does.
    /// </summary>
    internal static string FullName(ProgramInfo info)
    {
        if (info.Name.Length < 15 || info.BtfId == 0 || info.FuncInfo.Length < 8)
        {
            return info.Name;
        }

        try
        {
            using var btf = KernelBtf.FromId(info.BtfId);
            var spec = BtfSpec.Parse(btf.GetInfo(includeData: true).Data);
            int typeId = (int)BinaryPrimitives.ReadUInt32LittleEndian(info.FuncInfo.AsSpan(4));
            string name = spec.IsValidTypeId(typeId) ? spec[typeId].Name : "";
            return name.StartsWith(info.Name, StringComparison.Ordinal) ? name : info.Name;
        }
        catch (Exception e) when (e is BpfException or BtfFormatException)
        {
            return info.Name;
        }
    }

    /// <summary>The source line of each instruction that starts one, from the program's line info and its BTF strings.</summary>
    internal static Dictionary<int, (string Text, string Location)> SourceLines(ProgramInfo info)
    {
        var lines = new Dictionary<int, (string Text, string Location)>();
        if (info.BtfId == 0 || info.LineInfo.Length == 0 || info.LineInfoRecordSize < 16)
        {
            return lines;
        }

        using var btf = KernelBtf.FromId(info.BtfId);
        var spec = BtfSpec.Parse(btf.GetInfo(includeData: true).Data);
        for (int at = 0; at + (int)info.LineInfoRecordSize <= info.LineInfo.Length; at += (int)info.LineInfoRecordSize)
        {
            var record = info.LineInfo.AsSpan(at);
            int pc = (int)BinaryPrimitives.ReadUInt32LittleEndian(record);
            string file = spec.GetString(BinaryPrimitives.ReadUInt32LittleEndian(record[4..]));
            string text = spec.GetString(BinaryPrimitives.ReadUInt32LittleEndian(record[8..])).Trim();
            uint line = BinaryPrimitives.ReadUInt32LittleEndian(record[12..]) >> 10;
            lines[pc] = (text, $"{Path.GetFileName(file)}:{line.ToString(CultureInfo.InvariantCulture)}");
        }

        return lines;
    }

    private static Command DumpJited()
    {
        var id = KernelCli.IdArgument("program");
        var command = new Command("jited", "The machine code the JIT produced, as x86-64 assembly (Intel syntax).") { id };
        command.SetAction(parse =>
        {
            using var program = KernelProgram.FromId(parse.GetValue(id));
            var info = program.GetInfo();
            var output = parse.InvocationConfiguration.Output;
            if (info.JitedCode.Length == 0)
            {
                throw new BpfException($"program {info.Id} has no JIT image (not jited, or the kernel hides it)");
            }

            if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
            {
                output.WriteLine(KernelCli.Hex(info.JitedCode));
                return 0;
            }

            // One image per BPF function: the lengths split the code, the ksyms give each start address.
            var lengths = info.JitedFunctionLengths.Length > 0 ? info.JitedFunctionLengths : [(uint)info.JitedCode.Length];
            int offset = 0;
            var formatter = new IntelFormatter();
            var text = new StringOutput();
            for (int f = 0; f < lengths.Length && offset < info.JitedCode.Length; f++)
            {
                ulong address = f < info.JitedKsyms.Length ? info.JitedKsyms[f] : 0;
                int length = (int)Math.Min(lengths[f], (uint)(info.JitedCode.Length - offset));
                output.WriteLine(f == 0 ? $"{info.Name}:" : $"{info.Name} function {f}:");
                var decoder = Decoder.Create(64, new ByteArrayCodeReader(info.JitedCode, offset, length), address);
                while (decoder.IP < address + (ulong)length)
                {
                    decoder.Decode(out Iced.Intel.Instruction instruction);
                    formatter.Format(instruction, text);
                    output.WriteLine($"{instruction.IP - address,6:x}:\t{text.ToStringAndReset()}");
                }

                offset += length;
            }

            return 0;
        });
        return command;
    }
}
