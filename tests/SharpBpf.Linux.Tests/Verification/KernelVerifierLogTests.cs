using System.Globalization;
using System.Text.RegularExpressions;
using SharpBpf.Btf;
using SharpBpf.Btf.Core;
using SharpBpf.Linux.Objects;
using SharpBpf.Linux.Tests.Kernel;
using SharpBpf.Objects;
using SharpBpf.Testing;
using SharpBpf.Verification;
using Xunit.Abstractions;

namespace SharpBpf.Linux.Tests.Verification;

/// <summary>
/// SharpBPF's level-1 verifier log against the running kernel's, line for line: the programs of bpf/obj and the verifier
/// test cases (accepted and rejected).
/// </summary>
/// <remarks>
/// Known differences, tolerated with their reason:
/// <list type="bullet">
/// <item>The closing statistics line's numbers (the processed count is checked by the agreement tests; the other
/// counters follow the kernel's pruning heuristics, which SharpBPF approximates).</item>
/// <item>The immediate of a map load (<c>(18) r1 = 0xffff...</c>): the kernel prints the map's kernel address, which
/// only the running kernel knows.</item>
/// </list>
/// At level 2 the kernel 6.18 prints lines 6.12 did not; SharpBPF prints the "Live regs before insn:" listing (equal to
/// the kernel's, loop numbers included) and the mark_precise backtracking lines (equal for the programs compared below).
/// Not printed, because SharpBPF does not run the analyses that produce them: 6.18's call-chain stack liveness
/// ("(0) frame 0 insn 36 +live -8,-16", "(0) live stack update done in 2 iterations", after each path's exit) and its
/// loop (SCC) bookkeeping ("SCC enter (1)", "SCC exit (1)"). Level-2 states also still differ where the kernel tracks
/// more (<c>scalar(id=1+1848)</c> for a register plus a known constant or a 32-bit add), and in the map names the loader gives global data maps (<c>obj.bss</c>, here <c>.bss</c>).
/// A log longer than its buffer keeps its tail, as the kernel's rotating log (<see cref="VerifierOptions.MaxLogLength"/>).
/// </remarks>
public partial class KernelVerifierLogTests(ITestOutputHelper output)
{
    [KernelFact]
    public void Level_one_log_equals_the_kernels_for_the_programs_of_bpf_obj()
    {
        var failures = new List<string>();
        int compared = 0;
        foreach (var (file, program, kernelLog, ourLog) in ProgramLogs(1))
        {
            compared++;
            if (FirstDifference(kernelLog, ourLog) is { } difference)
            {
                failures.Add($"{file} {program}: {difference}");
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{compared} programs compared"));
        Assert.True(compared > 10, "the programs of bpf/obj did not load");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [KernelFact]
    public void Level_two_mark_precise_lines_equal_the_kernels_for_the_programs_of_bpf_obj()
    {
        // The precision backtracking trace: every "mark_precise: ..." line (last_idx/first_idx, regs/stack before each
        // instruction, the parent states with their precise marks), in order.
        var failures = new List<string>();
        int compared = 0, lines = 0;
        foreach (var (file, program, kernelLog, ourLog) in ProgramLogs(2))
        {
            if (MarkPreciseKnownDifferences.TryGetValue($"{file} {program}", out string? reason))
            {
                output.WriteLine($"{file} {program}: not compared ({reason})");
                continue;
            }

            compared++;
            lines += MarkPreciseLines(kernelLog).Count;
            if (FirstDifferentLine(MarkPreciseLines(kernelLog), MarkPreciseLines(ourLog)) is { } difference)
            {
                failures.Add($"{file} {program}: mark_precise {difference}");
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{compared} programs compared, {lines} mark_precise lines"));
        Assert.True(compared >= 10, "the programs of bpf/obj did not load");
        Assert.True(lines > 1000, "too few mark_precise lines to compare");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [KernelFact]
    public void Level_two_log_equals_the_kernels_for_the_programs_of_bpf_obj()
    {
        // The whole level-2 log, line for line, but the lines of 6.18's analyses SharpBPF does not run (stack liveness,
        // SCC bookkeeping) and the loader's names of global data maps.
        var failures = new List<string>();
        var equal = new List<string>();
        foreach (var (file, program, kernelLog, ourLog) in ProgramLogs(2))
        {
            string kernel = string.Join('\n', kernelLog.Split('\n')
                .Where(l => !l.StartsWith("SCC ", StringComparison.Ordinal) && !StackLivenessLine().IsMatch(l))
                .Select(l => l.Replace("(map=obj.", "(map=.", StringComparison.Ordinal)));
            string? difference = FirstDifference(kernel, ourLog);
            if (difference is null)
            {
                equal.Add($"{file} {program}");
            }
            else if (LevelTwoKnownDifferences.TryGetValue($"{file} {program}", out string? reason))
            {
                output.WriteLine($"{file} {program}: known difference ({reason}): {difference}");
            }
            else
            {
                failures.Add($"{file} {program}: {difference}");
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{equal.Count} programs with the kernel's level-2 log: {string.Join(", ", equal)}"));
        Assert.True(equal.Count >= 10, "the programs of bpf/obj did not load");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    // Programs whose level-2 log still differs from the kernel's, and why.
    private static readonly Dictionary<string, string> LevelTwoKnownDifferences = new()
    {
        ["bench_compute.o bench_sum"] = "the kernel's level-2 log (over 22 MB) overflows the loader's 16 MB buffer, which keeps only its tail",
        ["calls_loops.o xdp_calls_loops"] = "stack slots a helper wrote are printed after the call (the kernel does not mark them scratched)",
        ["core_layouts.o layouts_fork"] = "the kernel links r3 += r2 (r2 a known constant) to r3's id (scalar(id=1+1848)); SharpBPF only for an immediate",
        ["core_probe.o on_new_task"] = "the kernel links r3 += r1 (r1 a known constant) to r3's id (scalar(id=3+1264)); SharpBPF only for an immediate",
        ["tc_rewrite.o tc_rewrite"] = "the kernel links w2 += 6 (a 32-bit add) to w2's id (scalar(id=7+6)); SharpBPF only for 64-bit adds",
    };

    // Kernel 6.18's stack liveness trace: "(0) frame 0 insn 36 +live -8,-16", "(23,61) live stack update done in 2 iterations".
    [GeneratedRegex(@"^\([\d,]+\) (?:frame \d+ insn \d+ \+|live stack update done)")]
    private static partial Regex StackLivenessLine();

    [KernelFact]
    public void Level_two_live_registers_listing_equals_the_kernels_for_the_programs_of_bpf_obj()
    {
        // "Live regs before insn:" (kernel 6.17 and later): each instruction with its loop (SCC) number and the registers
        // live before it.
        var failures = new List<string>();
        int compared = 0;
        foreach (var (file, program, kernelLog, ourLog) in ProgramLogs(2))
        {
            var kernel = LiveRegistersListing(kernelLog);
            if (kernel.Count == 0)
            {
                output.WriteLine($"{file} {program}: the kernel's log has no listing (its head was rotated out of the buffer)");
                continue;
            }

            compared++;
            if (FirstDifferentLine(kernel, LiveRegistersListing(ourLog)) is { } difference)
            {
                failures.Add($"{file} {program}: listing {difference}");
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{compared} programs compared"));
        Assert.True(compared >= 15, "the programs of bpf/obj did not load");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    private static List<string> LiveRegistersListing(string log) =>
        log.Split('\n').SkipWhile(l => l != "Live regs before insn:").Skip(1).TakeWhile(l => l.Length > 10 && l[..4].Trim().All(char.IsAsciiDigit) && l[4] == ' ').ToList();

    private static string? FirstDifferentLine(List<string> kernel, List<string> ours)
    {
        int i = 0;
        while (i < Math.Min(kernel.Count, ours.Count) && SameLine(kernel[i], ours[i]))
        {
            i++;
        }

        return i < Math.Max(kernel.Count, ours.Count)
            ? string.Create(CultureInfo.InvariantCulture, $"line {i + 1}: kernel \"{(i < kernel.Count ? kernel[i] : "(end)")}\", SharpBPF \"{(i < ours.Count ? ours[i] : "(end)")}\"")
            : null;
    }

    // Programs whose mark_precise lines still differ from the kernel's, and why.
    private static readonly Dictionary<string, string> MarkPreciseKnownDifferences = new()
    {
        ["bench_compute.o bench_sum"] = "the kernel's level-2 log (over 22 MB) overflows the loader's 16 MB buffer, which keeps only its tail",
        ["calls_loops.o xdp_calls_loops"] = "at a callback's exit the kernel backtracks r0 through the callback's frame and its callers; SharpBPF's trace stops earlier",
    };

    private static List<string> MarkPreciseLines(string log) =>
        log.Split('\n').Where(l => l.StartsWith("mark_precise: ", StringComparison.Ordinal))
            // Global data maps: the kernel names them after the object ("obj.bss"), SharpBPF by section (".bss").
            .Select(l => l.Replace("(map=obj.", "(map=.", StringComparison.Ordinal)).ToList();

    /// <summary>Each program of bpf/obj loaded into the kernel and verified by SharpBPF at <paramref name="level"/>: both logs.</summary>
    private static IEnumerable<(string File, string Program, string KernelLog, string OurLog)> ProgramLogs(uint level)
    {
        string folder = Path.Combine(SharedData.RepositoryRoot, "bpf", "obj");
        foreach (var file in Directory.GetFiles(folder, "*.o").Order(StringComparer.Ordinal))
        {
            var obj = BpfObject.Load(file);
            var core = CoreRelocator.HasRelocations(obj) && BtfFile.RunningKernel is { } vmlinux ? CoreRelocator.Apply(obj, vmlinux) : null;
            using var loaded = KernelObject.Load(obj, new KernelObjectOptions { ContinueOnProgramFailure = true, LogLevel = level });
            foreach (var entry in loaded.Programs.Where(p => !p.Skipped))
            {
                var program = obj.Programs.Single(p => p.Name == entry.Name);
                string kernelLog = entry.Program is { } accepted ? accepted.VerifierLog ?? "" : entry.Error?.VerifierLog ?? "";
                var options = VerifierOptions.For(obj, program, (int)level) with { MaxLogLength = 0 };
                var ours = Verifier.Verify(core?.FindProgram(program.Name)?.Instructions ?? program.Instructions, options, program.Name);
                yield return (Path.GetFileName(file), program.Name, kernelLog, ours.Log);
            }
        }
    }

    [KernelTheory]
    [MemberData(nameof(KernelVerifierAgreementTests.Names), MemberType = typeof(KernelVerifierAgreementTests))]
    public void Level_one_log_equals_the_kernels_for_the_verifier_cases(string name)
    {
        var c = VerifierCases.All.Single(x => x.Name == name);
        var (_, kernelLog) = KernelVerifierAgreementTests.LoadIntoKernel(c);
        var ours = Verifier.Verify(c.Instructions, c.Options(1));
        output.WriteLine("kernel:\n" + kernelLog + "\nSharpBPF:\n" + ours.Log);
        string? difference = FirstDifference(kernelLog, ours.Log);
        if (KnownDifferences.TryGetValue(name, out string? reason))
        {
            output.WriteLine($"known difference ({reason}): {difference ?? "none any more"}");
            return;
        }

        Assert.True(difference is null, difference);
    }

    // Cases whose level-1 log still differs from the kernel's, and why.
    private static readonly Dictionary<string, string> KnownDifferences = new()
    {
        ["frame_pointer_read_only"] = "SharpBPF refuses a write to r10 before walking any instruction",
        ["for_each_map_elem_value_overrun"] = "callback verification is logged differently",
        ["for_each_map_elem_key_overrun"] = "callback verification is logged differently",
        ["for_each_map_elem_key_write"] = "callback verification is logged differently",
        ["loop_callback_return_range"] = "callback verification is logged differently",
        ["callback_returns_pointer"] = "callback verification is logged differently",
    };

    /// <summary>The first line where the logs differ beyond the known differences, or null when they agree.</summary>
    internal static string? FirstDifference(string kernelLog, string ourLog)
    {
        var kernel = Lines(kernelLog);
        var ours = Lines(ourLog);
        for (int i = 0; i < Math.Max(kernel.Count, ours.Count); i++)
        {
            string? k = i < kernel.Count ? kernel[i] : null;
            string? o = i < ours.Count ? ours[i] : null;
            if (k is null || o is null || !SameLine(k, o))
            {
                return string.Create(CultureInfo.InvariantCulture, $"line {i + 1}: kernel \"{k ?? "(end)"}\", SharpBPF \"{o ?? "(end)"}\"");
            }
        }

        return null;
    }

    // The kernel forgets the newline after a few messages: the statistics line then follows on the same line.
    private static List<string> Lines(string log) =>
        log.Split('\n')
            .SelectMany(l => l.IndexOf("processed ", StringComparison.Ordinal) is > 0 and var i && Statistics().IsMatch(l[i..]) ? [l[..i], l[i..]] : new[] { l })
            .Select(l => Statistics().IsMatch(l) ? "processed" : l)
            .Where(l => l.Length > 0)
            .ToList();

    private static bool SameLine(string kernel, string ours)
    {
        if (kernel == ours)
        {
            return true;
        }

        // A map load, at the start of an instruction line or quoted by a mark_precise line.
        var k = MapLoad().Match(kernel);
        var o = MapLoad().Match(ours);
        return k.Success && o.Success && k.Groups[1].Value == o.Groups[1].Value && k.Groups[2].Value.StartsWith("0xffff", StringComparison.Ordinal) &&
            kernel[(k.Index + k.Length)..].TrimStart() == ours[(o.Index + o.Length)..].TrimStart();
    }

    [GeneratedRegex(@"^processed \d+ insns \(limit \d+\) max_states_per_insn \d+ total_states \d+ peak_states \d+ mark_read \d+$")]
    private static partial Regex Statistics();

    // "4: (18) r1 = 0xffff888241be6e00": a kernel address in the kernel's log, a map index in ours (also in a
    // mark_precise line, "... before 4: (18) r1 = ...", and in the live registers listing, "  1   4: .1........ (18) r1 = ...").
    [GeneratedRegex(@"^((?:mark_precise: .* before \d+: |[ \d]{4} *\d+: [.0-9]{10} |\d+: )\(18\) r\d+ = )(0x[0-9a-f]+)")]
    private static partial Regex MapLoad();
}
