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
