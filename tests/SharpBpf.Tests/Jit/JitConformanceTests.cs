using SharpBpf.Testing;
using SharpBpf.Conformance;
using SharpBpf.Jit;
using Xunit.Abstractions;

namespace SharpBpf.Tests.Jit;

/// <summary>Every case of ../shared/conformance on the JIT, against the expected results in the files.</summary>
public class JitConformanceTests(ITestOutputHelper output)
{
    [SharedFact("conformance")]
    public void EveryConformanceCasePassesOnTheJit()
    {
        var files = Directory.GetFiles(SharedData.Folder("conformance")!, "*.data");
        Assert.NotEmpty(files);
        var failures = new List<string>();
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            var result = ConformanceRunner.Run(ConformanceCase.Load(file), program => new JittedProgram(program));
            if (!result.Passed)
            {
                failures.Add($"{result.Case.Name}: {result.Describe()}");
            }
        }

        output.WriteLine($"{files.Length - failures.Count} of {files.Length} cases passed");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [SharedFact("conformance")]
    public void EveryConformanceCaseMatchesTheInterpreterExactly()
    {
        foreach (var file in Directory.GetFiles(SharedData.Folder("conformance")!, "*.data").Order(StringComparer.Ordinal))
        {
            var testCase = ConformanceCase.Load(file);
            var program = Engines.Assemble(testCase.Assembly);
            Engines.Compare(program, testCase.Memory.ToArray(), ConformanceHelpers.Create(), 1_000_000, 7, testCase.Name);
        }
    }
}
