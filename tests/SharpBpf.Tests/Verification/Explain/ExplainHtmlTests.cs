using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using SharpBpf.Isa.Assembly;
using SharpBpf.Verification;
using SharpBpf.Verification.Explain;

namespace SharpBpf.Tests.Verification.Explain;

/// <summary>The explain page: self-contained, escaped, complete, bounded in size.</summary>
public partial class ExplainHtmlTests
{
    internal static string UnboundedIndexPage() =>
        ExplainHtml.Render(KernelLogParser.Parse(File.ReadAllText(KernelLogParserTests.Fixture("unbounded_index.level1.log")), "unbounded_index"));

    [GeneratedRegex("<script type=\"application/json\" id=\"explain-data\">(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex DataElement();

    [Fact]
    public void The_top_of_the_page_has_the_error_the_failing_instruction_and_its_state()
    {
        string page = UnboundedIndexPage();
        int program = page.IndexOf("id=\"program\"", StringComparison.Ordinal);
        string top = WebUtility.HtmlDecode(page[..program]);
        Assert.Contains("insn 11: R0 unbounded memory access, make sure to bounds check any such access", top, StringComparison.Ordinal);
        Assert.Contains("11: (79) r1 = *(u64 *)(r0 +8)", top, StringComparison.Ordinal);
        Assert.Contains("; config->slots[index] += 1; @ unbounded_index.c:30", top, StringComparison.Ordinal);
        Assert.Matches(@"<tr class=""hot""><th>R0</th><td>map_value\(map=config_map,ks=4,vs=72,smin=0,smax=umax=0x7fffffff8,", page);
        Assert.Contains("Where did R0's value come from?", top, StringComparison.Ordinal);
        Assert.Contains("6: (85) call bpf_map_lookup_elem#1", top, StringComparison.Ordinal);
        // The listing says what each instruction of the failing path changed, as the log does after ';'.
        Assert.Contains("<td class=\"after\">R1=scalar(smin=0,smax=umax=0x7fffffff8,smax32=0x7ffffff8,umax32=0xfffffff8,var_off=(0x0; 0x7fffffff8))</td>",
            Regex.Match(page, "<tr id=\"i9\" .*").Value, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_instruction_is_listed_with_its_source_and_every_recorded_state_is_in_the_data()
    {
        string log = File.ReadAllText(KernelLogParserTests.Fixture("xdp_firewall.level2.log"));
        var report = KernelLogParser.Parse(log, "xdp_firewall");
        string page = ExplainHtml.Render(report);
        foreach (var insn in report.Instructions)
        {
            Assert.Contains($"<tr id=\"i{insn.Pc}\" ", page, StringComparison.Ordinal);
        }

        Assert.Contains(WebUtility.HtmlEncode("; void *data_end = (void *)(long)ctx->data_end; @ xdp_firewall.c:259"), page, StringComparison.Ordinal);
        // Decode the states as the page's script does (each against the one before it) and compare with the report.
        using var data = JsonDocument.Parse(DataElement().Match(page).Groups[1].Value);
        var values = data.RootElement.GetProperty("values").EnumerateArray().Select(v => $"{v[0].GetInt32()}|{v[1].GetString()}={v[2].GetString()}").ToList();
        var states = data.RootElement.GetProperty("states").EnumerateArray().ToList();
        var resolved = new List<HashSet<int>>();
        foreach (var state in states)
        {
            var items = state.EnumerateArray().Select(e => e.GetInt32()).ToList();
            var set = items[0] >= 0 ? new HashSet<int>(resolved[items[0]]) : [];
            foreach (int x in items.Skip(1))
            {
                if (x > 0)
                {
                    set.Add(x - 1);
                }
                else
                {
                    set.Remove(-x - 1);
                }
            }

            resolved.Add(set);
        }

        Assert.Equal(report.States.Count, resolved.Count);
        for (int s = 0; s < report.States.Count; s++)
        {
            Assert.Equal(report.States[s].Select(id => $"{report.Values[id].Frame}|{report.Values[id].Slot}={report.Values[id].Text}").Order(StringComparer.Ordinal),
                resolved[s].Select(id => values[id]).Order(StringComparer.Ordinal));
        }

        int visitsInData = data.RootElement.GetProperty("rows").EnumerateArray().Sum(r => r[0].GetArrayLength());
        Assert.Equal(report.Visits.Count, visitsInData);
    }

    [Fact]
    public void Everything_from_the_log_is_escaped_and_nothing_is_fetched()
    {
        const string Hostile = "<script>alert(1)</script>&\"'";
        string log = $"""
            0: R1=ctx() R10=fp0
            ; if (x {Hostile}) @ evil</script>.c:3
            0: (b7) r0 = 0                       ; R0_w=scalar(id={Hostile})
            1: (95) exit
            R0 leaks {Hostile}
            processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
            """;
        var report = KernelLogParser.Parse(log, "prog" + Hostile);
        Assert.Equal("R0 leaks " + Hostile, report.Error!.Message);
        string page = ExplainHtml.Render(report);
        Assert.DoesNotContain("<script>alert", page, StringComparison.Ordinal);
        Assert.Equal(2, Regex.Count(page, "<script"));
        Assert.Equal(2, Regex.Count(page, "</script>"));
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;", page, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?i)\b(src|href)\s*=\s*""(https?:|//)|<link|@import|url\(", page);
    }

    [Fact]
    public void A_long_exploration_gives_a_bounded_page()
    {
        // 100,000 loop iterations, each a new state at the loop's instructions.
        var code = Assembler.Assemble("""
            r1 = 0
            r1 += 1
            if r1 < 25000 goto -2
            r0 = 2
            exit
            """);
        var (result, report) = VerifierExplainer.Explain(code, new VerifierOptions { ProgramType = ProgramType.Xdp }, "loop");
        Assert.True(result.Accepted, result.Error?.ToString());
        Assert.True(result.Statistics.Processed > 50_000);
        string page = ExplainHtml.Render(report);
        Assert.True(page.Length < 100_000, $"{page.Length} bytes");
        Assert.Contains("later visits were only counted", page, StringComparison.Ordinal);
    }
}
