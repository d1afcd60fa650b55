using SharpBpf.Conformance;
using SharpBpf.Jit;
using SharpBpf.Runtime;
using Xunit.Abstractions;

namespace SharpBpf.Tests.Jit;

/// <summary>Every case of ../shared/conformance on the JIT, against the expected results in the files.</summary>
public class JitConformanceTests(ITestOutputHelper output)
{
    [JitSharedFact("conformance")]
    public void EveryConformanceCasePassesOnTheJit()
    {
        var files = Directory.GetFiles(JitSharedData.Folder("conformance")!, "*.data");
        Assert.NotEmpty(files);
        var failures = new List<string>();
        int checkedCases = 0;
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            var testCase = ConformanceCase.Load(file);
            if (testCase.ExpectedResult is not { } expected)
            {
                continue;
            }

            checkedCases++;
            try
            {
                var program = Engines.Assemble(testCase.Assembly);
                var context = new BpfExecutionContext(ConformanceHelpers.Create()) { InstructionBudget = 1_000_000 };
                var memory = testCase.Memory.ToArray();
                ulong result = new JittedProgram(program).RunOnMemory(context, memory);
                if (result != expected)
                {
                    failures.Add($"{testCase.Name}: expected 0x{expected:x}, got 0x{result:x}");
                }
            }
            catch (BpfException e)
            {
                failures.Add($"{testCase.Name}: {e.Message}");
            }
        }

        output.WriteLine($"{checkedCases - failures.Count} of {checkedCases} cases passed");
        Assert.True(checkedCases > 200, $"only {checkedCases} cases have an expected result");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [JitSharedFact("conformance")]
    public void EveryConformanceCaseMatchesTheInterpreterExactly()
    {
        foreach (var file in Directory.GetFiles(JitSharedData.Folder("conformance")!, "*.data").Order(StringComparer.Ordinal))
        {
            var testCase = ConformanceCase.Load(file);
            var program = Engines.Assemble(testCase.Assembly);
            Engines.Compare(program, testCase.Memory.ToArray(), ConformanceHelpers.Create(), 1_000_000, 7, testCase.Name);
        }
    }
}
