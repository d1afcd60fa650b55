using SharpBpf.Conformance;
using SharpBpf.Runtime;
using SharpBpf.Tests.TestSupport;
using SharpBpf.Testing;
using Xunit.Abstractions;

namespace SharpBpf.Tests.Runtime;

/// <summary>Every case of ../shared/conformance on the interpreter.</summary>
public class ConformanceSuiteTests(ITestOutputHelper output)
{
    [SharedFact("conformance")]
    public void EveryConformanceCasePassesOnTheInterpreter()
    {
        var files = ConformanceFiles.All();
        Assert.NotEmpty(files);
        var failures = new List<string>();
        foreach (var file in files)
        {
            var result = ConformanceRunner.Run(ConformanceCase.Load(file), program => new Interpreter(program));
            if (!result.Passed)
            {
                failures.Add($"{result.Case.Name}: {result.Describe()}");
            }
        }

        output.WriteLine($"{files.Length - failures.Count} of {files.Length} cases passed");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
