using SharpBpf.Linux.Objects;
using SharpBpf.Objects;

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
