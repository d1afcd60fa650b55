using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Testing;
using SharpBpf.Verification;
using SharpBpf.Verification.Explain;

namespace SharpBpf.Tests.Verification.Explain;

/// <summary>The state recorder and the provenance chain on small programs whose states and data flow are known by hand.</summary>
public class RecorderTests
{
    private static readonly VerifierMap HashMap = new("map0", MapType.Hash, 4, 8, 16);

    private static ExplainOutcome Explain(string code, ExplainOptions? options = null, params VerifierMap[] maps) =>
        VerifierExplainer.Explain(Assembler.Assemble(code), new VerifierOptions { ProgramType = ProgramType.Xdp, Maps = maps }, "test", options);

    private static string Chain(ExplainReport report) =>
        string.Join(" | ", report.Provenance.Select(s => $"{s.Depth}:{s.Role}:{s.Location}@{s.Pc}"));

    private static string[] Texts(ExplainReport report, ExplainVisit visit) => [.. report.StateValues(visit.State).Select(v => v.ToString())];

    [Fact]
    public void Every_visit_of_the_entry_sees_the_context_and_frame_pointer()
    {
        var (result, report) = Explain("r0 = 2\nexit");
        Assert.True(result.Accepted);
        Assert.True(report.Accepted);
        var entry = Assert.Single(report.VisitsAt(0));
        Assert.Equal(["R1=ctx()", "R10=fp0"], Texts(report, entry));
        var exit = Assert.Single(report.VisitsAt(1));
        Assert.Equal(["R0=2", "R1=ctx()", "R10=fp0"], Texts(report, exit));
        Assert.Empty(report.FailingPath);
        Assert.Empty(report.Provenance);
        Assert.StartsWith("processed 2 insns", report.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void An_instruction_reached_on_two_paths_has_both_states()
    {
        // Both sides of the jump reach "exit" with r0 = 1 and r0 = 2.
        var (_, report) = Explain("""
            call 7
            if r0 > 5 goto +2
            r0 = 1
            exit
            r0 = 2
            exit
            """);
        Assert.Equal(["R0=1", "R10=fp0"], Texts(report, Assert.Single(report.VisitsAt(3))));
        Assert.Equal(["R0=2", "R10=fp0"], Texts(report, Assert.Single(report.VisitsAt(5))));
        var states = report.VisitsAt(1).Select(v => string.Join(" ", Texts(report, v))).ToList();
        Assert.Equal(["R0=scalar() R10=fp0"], states);
        Assert.Equal(2, report.Paths.Count);
        Assert.Equal(new ExplainPath(1, 1, 4), report.Paths[1]);
        Assert.Equal(1, report.VisitsAt(4).Single().Path);
    }

    [Fact]
    public void A_loop_records_each_iterations_state_until_the_cap_then_counts()
    {
        // r1 counts 0..9: the back edge brings a new state each time (the loop head sees r1 = 0, 1, ..., 9).
        const string Loop = """
            r1 = 0
            r1 += 1
            if r1 < 10 goto -2
            r0 = 2
            exit
            """;
        var (_, all) = Explain(Loop);
        var counters = all.VisitsAt(2).Select(v => all.StateValues(v.State).Single(x => x.Slot == "R1").Text).ToList();
        Assert.Equal(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"], counters);
        Assert.All(all.UnrecordedVisits, n => Assert.Equal(0, n));

        var (_, capped) = Explain(Loop, new ExplainOptions { MaxStatesPerInstruction = 3 });
        Assert.Equal(3, capped.VisitsAt(2).Count());
        Assert.Equal(7, capped.UnrecordedVisits[2]);
        Assert.Contains(capped.Notes, n => n.Contains("at most 3 states", StringComparison.Ordinal));
    }

    [Fact]
    public void The_failing_path_keeps_a_state_at_every_step_even_past_the_cap()
    {
        // The loop runs 8 times, then reads r0 which nothing wrote.
        var (result, report) = Explain("""
            r1 = 0
            r1 += 1
            if r1 < 8 goto -2
            exit
            """, new ExplainOptions { MaxStatesPerInstruction = 2 });
        Assert.Equal("R0 !read_ok", result.Error!.Message);
        var path = report.FailingPath.Select(v => report.Visits[v]).ToList();
        Assert.Equal([0, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 3], path.Select(v => v.Pc));
        Assert.All(path, v => Assert.True(v.State >= 0 && v.OnFailingPath));
        Assert.Equal("R1=8", report.StateValues(path[^1].State).Single(x => x.Slot == "R1").ToString());
        Assert.Equal(new ExplainError(3, "R0 !read_ok", "R0", 0), report.Error);
        // R0 was never written: the chain is its use and the program entry.
        Assert.Equal("0:Used:R0@3 | 1:Entry:R0@0", Chain(report));
    }

    [Fact]
    public void A_very_long_failing_path_keeps_its_last_steps()
    {
        var (_, report) = Explain("""
            r1 = 0
            r1 += 1
            if r1 < 8 goto -2
            exit
            """, new ExplainOptions { MaxStatesPerInstruction = 2, PathWindow = 5 });
        var path = report.FailingPath.Select(v => report.Visits[v]).ToList();
        Assert.Equal([1, 2, 1, 2, 3], path.Select(v => v.Pc));
        Assert.All(path, v => Assert.True(v.State >= 0));
        Assert.Contains(report.Notes, n => n.Contains("first 13 steps are left out; its last 5 are shown", StringComparison.Ordinal));
        // The chain walks the steps that are kept: R0 was not written in them.
        Assert.Equal("0:Used:R0@3 | 1:Entry:R0@1", Chain(report));
    }

    [Fact]
    public void The_unbounded_scalar_is_traced_to_the_helper_that_returned_it()
    {
        var c = VerifierCases.All.Single(x => x.Name == "packet_unbounded_math");
        var (result, report) = VerifierExplainer.Explain(c.Instructions, new VerifierOptions { ProgramType = c.Type }, c.Name);
        Assert.Equal(c.Error, result.Error!.Message);
        // "r2 += r0": the message names no register; the instruction's source register is the offending one.
        Assert.Equal("R0", report.Error!.Register);
        Assert.Equal("0:Used:R0@3 | 1:Defined:R0@1", Chain(report));
        Assert.Equal("scalar()", report.Provenance[1].Value);
        Assert.Equal("scalar()", report.Provenance[0].Value);
    }

    [Fact]
    public void A_map_value_offset_is_traced_through_both_operands_and_the_null_check()
    {
        var c = VerifierCases.All.Single(x => x.Name == "map_value_unbounded_index");
        var (_, report) = VerifierExplainer.Explain(c.Instructions, new VerifierOptions { ProgramType = c.Type, Maps = [HashMap] }, c.Name);
        // 0 *(u32 *)(r10 -4) = 0; 1-2 lddw r1; 3 r2 = r10; 4 r2 += -4; 5 call 1; 6 if r0 == 0; 7 r6 = r0; 8 call 7;
        // 9 r0 &= 15; 10 r6 += r0; 11 r0 = *(u8 *)(r6 +0)
        Assert.Equal("R6", report.Error!.Register);
        Assert.Equal(
            "0:Used:R6@11 | 1:Defined:R6@10 | 2:Defined:R6@7 | 3:Tested:R0@6 | 3:Defined:R0@5 | 2:Defined:R0@9 | 3:Defined:R0@8",
            Chain(report));
        Assert.Equal("map_value(map=map0,ks=4,vs=8,smin=smin32=0,smax=umax=smax32=umax32=15,var_off=(0x0; 0xf))", report.Provenance[1].Value);
        Assert.Equal("scalar(smin=smin32=0,smax=umax=smax32=umax32=15,var_off=(0x0; 0xf))", report.Provenance[5].Value);
    }

    [Fact]
    public void A_value_spilled_to_the_stack_is_traced_through_its_slot()
    {
        var (_, report) = Explain("""
            r6 = r1
            call 7
            *(u64 *)(r10 - 16) = r0
            r2 = *(u32 *)(r6 + 0)
            r3 = *(u64 *)(r10 - 16)
            r2 += r3
            r0 = 2
            exit
            """);
        Assert.Equal("math between pkt pointer and register with unbounded min value is not allowed", report.Error!.Message);
        Assert.Equal("0:Used:R3@5 | 1:Defined:R3@4 | 2:Defined:fp-16@2 | 3:Defined:R0@1", Chain(report));
        // The spill links slot and register by an id, as the kernel's check_stack_write_fixed_off does.
        Assert.Equal("scalar(id=1)", report.Provenance[2].Value);
    }

    [Fact]
    public void A_callees_return_value_is_traced_into_the_callee()
    {
        // main: r6 = ctx; call f; r2 = data; r2 += r0 (unbounded) -- f: r0 = prandom; exit
        var (result, report) = Explain("""
            r6 = r1
            call pc+4
            r2 = *(u32 *)(r6 + 0)
            r2 += r0
            r0 = 2
            exit
            call 7
            r0 += 1
            exit
            """);
        Assert.False(result.Accepted, result.Log);
        Assert.True(report.Provenance.Count > 0, result.Error + " " + string.Join(",", report.FailingPath.Select(v => report.Visits[v].Pc)));
        Assert.Equal("0:Used:R0@3 | 1:Defined:R0@8 | 2:Defined:R0@7 | 3:Defined:R0@6", Chain(report));
        Assert.Equal(1, report.Provenance[2].Frame);
        Assert.Contains(report.Visits, v => v.Frame == 1 && v.Pc == 7);
    }

    [Fact]
    public void Recording_does_not_change_the_verdict_or_the_log()
    {
        foreach (var c in VerifierCases.All)
        {
            var options = c.Options(2);
            var plain = Verifier.Verify(c.Instructions, options, c.Name);
            var (explained, report) = VerifierExplainer.Explain(c.Instructions, options, c.Name);
            Assert.Equal(plain.Accepted, explained.Accepted);
            Assert.Equal(plain.Log, explained.Log);
            Assert.Equal(plain.Accepted, report.Accepted);
            // Errors found after the walk (the combined stack size) belong to no instruction; the processed-instruction
            // limit stops the walk before it visits the next one.
            if (!plain.Accepted && plain.Error!.Pc >= 0 && report.FailingPath.Count > 0 &&
                !plain.Error.Message.StartsWith("BPF program is too large", StringComparison.Ordinal))
            {
                Assert.True(plain.Error!.Pc == report.Visits[report.FailingPath[^1]].Pc, $"{c.Name}: {plain.Error} after {report.Visits[report.FailingPath[^1]].Pc}");
            }
        }
    }
}
