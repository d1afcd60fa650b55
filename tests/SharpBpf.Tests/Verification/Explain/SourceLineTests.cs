using System.Text.RegularExpressions;
using SharpBpf.Objects;
using SharpBpf.Testing;
using SharpBpf.Verification;

namespace SharpBpf.Tests.Verification.Explain;

/// <summary>
/// Source lines from BTF line info: the log's <c>; text @ file.c:LINE</c> lines and the error's source line, checked
/// against the C files the objects of bpf/ were compiled from.
/// </summary>
public partial class SourceLineTests
{
    [GeneratedRegex(@"^; (?<text>.*) @ (?<file>[^ ]+):(?<line>\d+)$")]
    private static partial Regex SourceLogLine();

    internal static string ProjectObject(string name) => Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", name);

    private static string[] CSource(string file) => File.ReadAllLines(Path.Combine(SharedData.RepositoryRoot, "bpf", "src", file));

    public static TheoryData<string> ProjectObjects()
    {
        var data = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(Path.Combine(SharedData.RepositoryRoot, "bpf", "obj"), "*.o").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(path));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ProjectObjects))]
    public void Every_logged_source_line_is_that_line_of_the_C_file_and_is_not_repeated(string objectName)
    {
        var obj = BpfObject.Load(ProjectObject(objectName));
        foreach (var program in obj.Programs)
        {
            var result = Verifier.Verify(program.Instructions, VerifierOptions.For(obj, program, logLevel: 2), program.Name);
            var lines = result.Log.Split('\n');
            int sourceLines = 0;
            string? previous = null;
            for (int i = 0; i < lines.Length; i++)
            {
                var m = SourceLogLine().Match(lines[i]);
                if (!lines[i].StartsWith("; ", StringComparison.Ordinal))
                {
                    continue;
                }

                Assert.True(m.Success, $"{program.Name}: malformed source line '{lines[i]}'");
                sourceLines++;
                var c = CSource(m.Groups["file"].Value);
                int number = int.Parse(m.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal(c[number - 1].TrimStart(), m.Groups["text"].Value);
                // The kernel prints a line only before an instruction, and not twice in a row.
                Assert.Matches(@"^\d+: \(", lines[i + 1]);
                Assert.NotEqual(previous, m.Groups["file"].Value + ":" + number);
                previous = m.Groups["file"].Value + ":" + number;
            }

            Assert.True(sourceLines > 0, $"{program.Name}: no source lines in the log");
        }
    }

    [Fact]
    public void The_firewall_log_starts_with_the_line_of_its_first_instruction()
    {
        var obj = BpfObject.Load(ProjectObject("xdp_firewall.o"));
        var program = obj.Programs.Single(p => p.Name == "xdp_firewall");
        var result = Verifier.Verify(program.Instructions, VerifierOptions.For(obj, program, logLevel: 2), program.Name);
        var lines = result.Log.Split('\n');
        int first = Array.FindIndex(lines, l => l.StartsWith("0: (", StringComparison.Ordinal));
        Assert.Equal("; void *data_end = (void *)(long)ctx->data_end; @ xdp_firewall.c:259", lines[first - 1]);
    }

    [Fact]
    public void The_error_carries_the_failing_instructions_source_line()
    {
        var obj = BpfObject.Load(ProjectObject("xdp_firewall.o"));
        var program = obj.Programs.Single(p => p.Name == "xdp_firewall");
        var options = VerifierOptions.For(obj, program);
        // Stopping after five instructions fails at insn 5, the first of "info.len = data_end - data;".
        var limited = new VerifierOptions { ProgramType = options.ProgramType, Maps = options.Maps, SourceLines = options.SourceLines, MaxProcessedInstructions = 5 };
        var result = Verifier.Verify(program.Instructions, limited, program.Name);
        Assert.False(result.Accepted);
        Assert.Equal(5, result.Error!.Pc);
        var source = result.Error.Source;
        Assert.NotNull(source);
        Assert.Equal("xdp_firewall.c", source.ShortFileName);
        Assert.Equal(265, source.Line);
        Assert.Equal(CSource("xdp_firewall.c")[264], source.Text);
    }

    [Fact]
    public void Subprograms_lines_are_moved_to_where_their_code_sits()
    {
        var obj = BpfObject.Load(ProjectObject("calls_loops.o"));
        var program = obj.Programs[0];
        Assert.NotEmpty(program.Subprograms);
        var lines = SourceLine.ForProgram(obj, program);
        var c = CSource("calls_loops.c");
        foreach (var sub in program.Subprograms)
        {
            // The subprogram's first instruction is covered by a line of its own function, not of the caller's.
            var first = SourceLine.Find(lines, sub.StartIndex);
            Assert.NotNull(first);
            Assert.Equal(sub.StartIndex, first.Pc);
            int start = Array.FindLastIndex(c, first.Line - 1, l => l.Contains(sub.Name + "(", StringComparison.Ordinal));
            Assert.True(start >= 0, $"{sub.Name}: line {first.Line} is not inside it");
        }
    }

    [Fact]
    public void A_program_without_line_info_has_no_source_lines()
    {
        var c = VerifierCases.All.First(x => x.Error is not null);
        var result = VerifierCaseTests.Verify(c, logLevel: 2);
        Assert.Null(result.Error!.Source);
        Assert.DoesNotContain("\n; ", "\n" + result.Log, StringComparison.Ordinal);
    }
}
