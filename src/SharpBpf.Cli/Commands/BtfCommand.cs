using System.CommandLine;
using System.Text.Json;
using SharpBpf.Btf;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf btf dump FILE [--format c|raw] [--json] [--base BASE]</c>: print BTF as C or as bpftool's raw listing.</summary>
internal static class BtfCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "Raw BTF (/sys/kernel/btf/vmlinux, a module's BTF) or an ELF object with a .BTF section." };
        var format = new Option<string>("--format")
        {
            Description = "c: a vmlinux.h-style C header; raw: one record per type, as 'bpftool btf dump file' prints it.",
            DefaultValueFactory = _ => "raw",
        }.AcceptOnlyFromAmong("c", "raw");
        var json = new Option<bool>("--json") { Description = "Print the raw listing as JSON (bpftool's field names)." };
        var baseFile = new Option<FileInfo>("--base") { Description = "For split BTF (a kernel module's), the BTF it extends, usually /sys/kernel/btf/vmlinux." };
        var dump = new Command("dump", "Print the types of a BTF file.") { file, format, json, baseFile };
        dump.SetAction(parse =>
        {
            var baseBtf = parse.GetValue(baseFile) is { } b ? BtfFile.Load(b.FullName) : null;
            var btf = BtfFile.Load(parse.GetRequiredValue(file).FullName, baseBtf);
            var output = parse.InvocationConfiguration.Output;
            bool asC = parse.GetValue(format) == "c";
            if (parse.GetValue(json))
            {
                if (asC) throw new BtfFormatException("--json prints the raw listing; it cannot be combined with --format c");
                using var stream = new MemoryStream();
                using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
                    BtfRawDumper.WriteJson(btf, writer);
                output.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
            }
            else if (asC)
            {
                BtfCDumper.Dump(btf, output);
            }
            else
            {
                BtfRawDumper.Dump(btf, output);
            }

            return 0;
        });
        return new Command("btf", "Inspect BTF (BPF Type Format) data.") { dump };
    }
}
