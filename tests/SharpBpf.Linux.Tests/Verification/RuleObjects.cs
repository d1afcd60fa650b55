using SharpBpf.Linux.Objects;
using SharpBpf.Linux.Tests.Kernel;
using SharpBpf.Objects;
using SharpBpf.Testing;
using SharpBpf.Verification;
using Xunit.Abstractions;

namespace SharpBpf.Linux.Tests.Verification;

/// <summary>The objects of bpf/verifier: one program per verifier rule, each with the kernel's expected error line (null: accepted).</summary>
internal static class RuleObjects
{
    /// <summary>
    /// Loads every program of <paramref name="obj"/> into the running kernel and yields each with the kernel's log,
    /// after asserting that the programs are those of <paramref name="expected"/>, that the kernel's verdict is
    /// the expected one and that an expected error line is a line of the kernel's log.
    /// </summary>
    public static IEnumerable<(ObjectProgram Program, string Log)> LoadIntoKernel(BpfObject obj, IReadOnlyDictionary<string, string?> expected)
    {
        using var loaded = KernelObject.Load(obj, new KernelObjectOptions { ContinueOnProgramFailure = true, LogLevel = 1 });
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), loaded.Programs.Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (var entry in loaded.Programs)
        {
            string? error = expected[entry.Name];
            string kernelLog = entry.Program is { } accepted ? accepted.VerifierLog ?? "" : entry.Error?.VerifierLog ?? "";
            Assert.True((entry.Program is not null) == (error is null), $"{entry.Name}: kernel verdict\n{kernelLog}");
            if (error is not null)
            {
                Assert.Contains(error, kernelLog.Split('\n'));
            }

            yield return (obj.Programs.Single(p => p.Name == entry.Name), kernelLog);
        }
    }
}

/// <summary>
/// An object of bpf/verifier checked whole: SharpBPF's verdicts and error lines against the expected ones in-process,
/// and as root the kernel's verdicts, error lines, processed counts and level-1 logs against SharpBPF's.
/// </summary>
public abstract class RuleObjectTests(ITestOutputHelper output)
{
    /// <summary>The object's file name in bpf/verifier.</summary>
    protected abstract string ObjectName { get; }

    /// <summary>Each program's expected error line (the kernel's), or null when it is accepted.</summary>
    protected abstract IReadOnlyDictionary<string, string?> Expected { get; }

    /// <summary>Whether the level-1 logs must be equal too (not where a known difference of the log remains).</summary>
    protected virtual bool CompareLogs => true;

    /// <summary>Programs whose level-1 log still differs from the kernel's, each with the reason.</summary>
    protected virtual IReadOnlyDictionary<string, string> KnownLogDifferences { get; } = new Dictionary<string, string>();

    private string ObjectPath => Path.Combine(SharedData.RepositoryRoot, "bpf", "verifier", ObjectName);

    [Fact]
    public void Verdicts_and_error_lines_are_the_kernels_in_process()
    {
        var obj = BpfObject.Load(ObjectPath);
        Assert.Equal(Expected.Keys.Order(StringComparer.Ordinal), obj.Programs.Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (var program in obj.Programs)
        {
            var ours = Verifier.Verify(program.Instructions, VerifierOptions.For(obj, program, 1), program.Name);
            Assert.True(ours.Error?.Message == Expected[program.Name], $"{program.Name}: {ours.Error?.Message ?? "accepted"}\n{ours.Log}");
        }
    }

    [KernelFact]
    public void Verdicts_error_lines_and_logs_equal_the_kernels()
    {
        var obj = BpfObject.Load(ObjectPath);
        foreach (var (program, kernelLog) in RuleObjects.LoadIntoKernel(obj, Expected))
        {
            var ours = Verifier.Verify(program.Instructions, VerifierOptions.For(obj, program, 1), program.Name);
            Assert.Equal(Expected[program.Name], ours.Error?.Message);
            Assert.Contains($"processed {ours.Statistics.Processed} insns", kernelLog, StringComparison.Ordinal);
            string? difference = KernelVerifierLogTests.FirstDifference(kernelLog, ours.Log);
            if (KnownLogDifferences.TryGetValue(program.Name, out string? reason))
            {
                output.WriteLine($"{program.Name}: known log difference ({reason}): {difference ?? "none any more"}");
            }
            else
            {
                output.WriteLine($"{program.Name}: {difference ?? "same log"}");
                Assert.True(difference is null || !CompareLogs, $"{program.Name}: {difference}");
            }
        }
    }
}
