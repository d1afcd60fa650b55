using System.Text.Json;
using SharpBpf.Cli;
using SharpBpf.Linux.Tests.Kernel;
using SharpBpf.Testing;

namespace SharpBpf.Linux.Tests.Verification;

/// <summary>The verifier's source-line log and the explain page checked against the running kernel's own log.</summary>
public class ExplainKernelTests
{
    /// <summary>Our log and the kernel's for each program of an object, from <c>sharpbpf verify --kernel --json</c>.</summary>
    internal static List<(string Name, bool Accepted, string Log, bool KernelAccepted, string KernelLog)> BothLogs(string path, int level)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(["verify", path, "--kernel", "--json", "--log-level", level.ToString(System.Globalization.CultureInfo.InvariantCulture)], output, error);
        Assert.True(code is 0 or 1, $"exit {code}: {error}");
        using var doc = JsonDocument.Parse(output.ToString());
        return doc.RootElement.GetProperty("programs").EnumerateArray().Select(p => (
            p.GetProperty("name").GetString()!, p.GetProperty("accepted").GetBoolean(), p.GetProperty("log").GetString()!,
            p.GetProperty("kernel").GetProperty("accepted").GetBoolean(), p.GetProperty("kernel").GetProperty("log").GetString()!)).ToList();
    }

    private static HashSet<string> SourceLines(string log) => log.Split('\n').Where(l => l.StartsWith("; ", StringComparison.Ordinal)).ToHashSet();

    [KernelFact]
    public void The_firewall_logs_the_kernels_source_lines()
    {
        var (name, _, log, _, kernelLog) = BothLogs(ObjectLoadTests.ProjectObject("xdp_firewall.o"), 2).Single();
        Assert.Equal("xdp_firewall", name);
        var ours = SourceLines(log);
        Assert.True(ours.Count > 40);
        Assert.Equal(SourceLines(kernelLog).Order(StringComparer.Ordinal), ours.Order(StringComparer.Ordinal));
    }

    [KernelFact]
    public void Every_source_line_we_log_is_one_the_kernel_logs()
    {
        foreach (var path in Directory.GetFiles(Path.Combine(SharedData.RepositoryRoot, "bpf", "obj"), "*.o"))
        {
            foreach (var (name, accepted, log, kernelAccepted, kernelLog) in BothLogs(path, 2))
            {
                if (accepted && kernelAccepted)
                {
                    var extra = SourceLines(log).Except(SourceLines(kernelLog)).ToList();
                    Assert.True(extra.Count == 0, $"{Path.GetFileName(path)} {name}: not in the kernel's log: {string.Join(" | ", extra)}");
                }
            }
        }
    }
}

/// <summary>The kernel log parser on logs the running kernel writes now.</summary>
public class ExplainKernelLogTests
{
    private static string Fixture(string name) => Path.Combine(SharedData.RepositoryRoot, "tests", "SharpBpf.Tests", "Fixtures", "explain", name);

    private static string Chain(SharpBpf.Verification.Explain.ExplainReport report) =>
        string.Join(" | ", report.Provenance.Select(s => $"{s.Depth}:{s.Role}:{s.Location}@{s.Pc}"));

    [KernelFact]
    public void Todays_kernel_logs_of_the_fixtures_explain_as_the_committed_ones()
    {
        foreach (string name in (string[])["unbounded_index", "callee_offset"])
        {
            foreach (int level in (int[])[1, 2])
            {
                var (_, _, _, kernelAccepted, kernelLog) = ExplainKernelTests.BothLogs(Fixture(name + ".o"), level).Single();
                Assert.False(kernelAccepted);
                var live = SharpBpf.Verification.Explain.KernelLogParser.Parse(kernelLog, name);
                var committed = SharpBpf.Verification.Explain.KernelLogParser.Parse(File.ReadAllText(Fixture($"{name}.level{level}.log")), name);
                Assert.Equal(committed.Error, live.Error);
                Assert.Equal(committed.FailingPath.Select(v => committed.Visits[v].Pc), live.FailingPath.Select(v => live.Visits[v].Pc));
                Assert.Equal(Chain(committed), Chain(live));
            }
        }
    }

    [KernelFact]
    public void Every_kernel_verdict_on_the_samples_parses_to_the_kernels_error()
    {
        if (SharedData.Folder("samples") is not { } samples)
        {
            return; // ../shared absent: nothing to compare
        }

        int rejections = 0;
        foreach (var path in Directory.GetFiles(Path.Combine(samples, "build"), "*.o").Order(StringComparer.Ordinal))
        {
            var output = new StringWriter();
            int code = CliApp.Run(["verify", path, "--kernel", "--json", "--log-level", "2"], output, new StringWriter());
            if (code is not (0 or 1))
            {
                continue; // not loadable as a whole (program types the section names do not give)
            }

            using var doc = System.Text.Json.JsonDocument.Parse(output.ToString());
            foreach (var p in doc.RootElement.GetProperty("programs").EnumerateArray())
            {
                var kernel = p.GetProperty("kernel");
                if (!kernel.GetProperty("log").GetString()!.Contains("processed ", StringComparison.Ordinal))
                {
                    continue; // the loader refused it before the verifier ran (no log)
                }

                var report = SharpBpf.Verification.Explain.KernelLogParser.Parse(kernel.GetProperty("log").GetString()!);
                string where = $"{Path.GetFileName(path)} {p.GetProperty("name").GetString()}";
                if (kernel.GetProperty("accepted").GetBoolean())
                {
                    Assert.True(report.Accepted, where + ": " + report.Error);
                    continue;
                }

                rejections++;
                // A message the kernel ends without a newline runs into the closing line; the parser separates them.
                string kernelError = kernel.GetProperty("error").GetString()!;
                int glued = kernelError.IndexOf("processed ", StringComparison.Ordinal);
                Assert.Equal(glued > 0 ? kernelError[..glued] : kernelError, report.Error?.Message);
                Assert.StartsWith("processed ", report.Summary, StringComparison.Ordinal);
                Assert.NotEmpty(report.FailingPath);
                Assert.Equal(report.Error!.Pc, report.Visits[report.FailingPath[^1]].Pc);
                Assert.Equal(0, report.Visits[report.FailingPath[0]].Pc);
            }
        }

        Assert.True(rejections > 0, "no kernel rejection among the samples");
    }
}
