using System.Diagnostics;
using System.Net;
using SharpBpf.Objects;
using SharpBpf.Verification;
using SharpBpf.Verification.Explain;

namespace SharpBpf.Tests.Verification.Explain;

/// <summary>A fact that needs headless Chromium (Debian's <c>chromium</c> package); skipped with the reason when absent.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (ExplainChromiumTests.ChromiumPath is null)
        {
            Skip = "chromium is not installed (apt-get install chromium): it renders the explain page";
        }
    }
}

/// <summary>The explain page opened in headless Chromium: what a developer sees without clicking anything.</summary>
public class ExplainChromiumTests
{
    internal static string? ChromiumPath { get; } = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);

    /// <summary>The DOM after the page's script ran, as Chromium serialises it.</summary>
    private static string RenderedDom(string html)
    {
        string dir = Directory.CreateTempSubdirectory("sharpbpf-explain-").FullName;
        try
        {
            string page = Path.Combine(dir, "page.html");
            File.WriteAllText(page, html);
            var start = new ProcessStartInfo(ChromiumPath!)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string arg in (string[])["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", $"--user-data-dir={Path.Combine(dir, "profile")}",
                "--virtual-time-budget=5000", "--dump-dom", new Uri(page).AbsoluteUri])
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            string dom = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(120_000))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("chromium did not finish in 120 s");
            }

            Assert.True(dom.Length > 0, "chromium printed no DOM: " + stderr.Result);
            return dom;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Text(string dom) => WebUtility.HtmlDecode(System.Text.RegularExpressions.Regex.Replace(dom, "<[^>]+>", " "));

    [ChromiumFact]
    public void The_failing_instruction_and_its_register_state_are_on_the_screen()
    {
        var obj = BpfObject.Load(KernelLogParserTests.Fixture("unbounded_index.o"));
        var program = obj.Programs.Single();
        var (_, report) = VerifierExplainer.Explain(program.Instructions, VerifierOptions.For(obj, program), program.Name);
        string dom = RenderedDom(ExplainHtml.Render(report));
        string text = Text(dom);
        Assert.Contains("insn 11: R0 unbounded memory access, make sure to bounds check any such access", text, StringComparison.Ordinal);
        Assert.Contains("11: (79) r1 = *(u64 *)(r0 +8)", text, StringComparison.Ordinal);
        Assert.Matches(@"R0\s+map_value\(map=config_map,ks=4,vs=72,smin=0,smax=umax=0x7fffffff8,smax32=0x7ffffff8,umax32=0xfffffff8,var_off=\(0x0; 0x7fffffff8\)\)", text);
        // The script ran: the failing instruction's row is open on its states, the failing path's visit marked.
        Assert.Contains("class=\"detail onpath\"", dom, StringComparison.Ordinal);
        Assert.Contains("#1 path 0 (entry) · failing path", text, StringComparison.Ordinal);
    }

    [ChromiumFact]
    public void A_kernel_logs_page_shows_the_kernels_error_and_state()
    {
        var report = KernelLogParser.Parse(File.ReadAllText(KernelLogParserTests.Fixture("callee_offset.level1.log")), "callee_offset");
        string text = Text(RenderedDom(ExplainHtml.Render(report)));
        Assert.Contains("insn 11: value -2147483648 makes pkt pointer be out of bounds", text, StringComparison.Ordinal);
        Assert.Contains("11: (0f) r6 += r1", text, StringComparison.Ordinal);
        Assert.Matches(@"R1\s+scalar\(smin=0xffffffff80000000,smax=smax32=0x7ffffffe,", text);
        Assert.Contains("Where did R1's value come from?", text, StringComparison.Ordinal);
    }
}
