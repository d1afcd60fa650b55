using System.CommandLine;
using System.Globalization;
using SharpBpf.Verification.Explain;

namespace SharpBpf.Cli.Commands;

/// <summary>
/// <c>sharpbpf explain LOGFILE [-o report.html]</c>: renders a kernel verifier log (level 1 or 2, as BPF_PROG_LOAD or
/// libbpf prints it) as the explain page, so that the kernel's own rejections get the same view as ours.
/// </summary>
internal static class ExplainCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("LOGFILE") { Description = "A kernel verifier log (log level 1 or 2), or - for standard input." };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "The HTML page to write (default: LOGFILE with .html)." };
        var name = new Option<string?>("--program") { Description = "The program's name on the page (default: from libbpf's framing, else the file name)." };
        var command = new Command("explain", "Render a kernel verifier log as a self-contained HTML page: every state, the failing path, where the offending value came from.")
        {
            file, output, name,
        };
        command.SetAction(parse =>
        {
            var log = parse.GetRequiredValue(file);
            var error = parse.InvocationConfiguration.Error;
            bool stdin = log.Name == "-";
            if (!stdin && !log.Exists)
            {
                error.WriteLine($"error: {log.FullName} does not exist");
                return CliApp.BadInput;
            }

            var target = parse.GetValue(output) ?? (stdin ? new FileInfo("explain.html") : new FileInfo(Path.ChangeExtension(log.FullName, ".html")));
            string programName = parse.GetValue(name) ?? (stdin ? "prog" : Path.GetFileNameWithoutExtension(log.Name));
            var reader = stdin ? Console.In : new StreamReader(log.FullName);
            ExplainReport report;
            try
            {
                report = KernelLogParser.Parse(reader, programName);
            }
            finally
            {
                if (!stdin)
                {
                    reader.Dispose();
                }
            }

            if (parse.GetValue(name) is { } given)
            {
                report = report.WithProgramName(given);
            }

            long size = WritePage(report, target);
            string verdict = report.Error is { } e ? $"rejected at insn {e.Pc}: {e.Message}" : "accepted";
            parse.InvocationConfiguration.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{report.ProgramName}: {verdict} ({report.Visits.Count} states at {report.Instructions.Count} instructions); {target.FullName} written ({size} bytes)"));
            return 0;
        });
        return command;
    }

    /// <summary>Writes the page; returns its size in bytes.</summary>
    internal static long WritePage(ExplainReport report, FileInfo target)
    {
        using (var writer = new StreamWriter(target.FullName, append: false, new System.Text.UTF8Encoding(false)))
        {
            ExplainHtml.Write(report, writer);
        }

        return new FileInfo(target.FullName).Length;
    }
}
