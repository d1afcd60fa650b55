using SharpBpf.Btf;
using SharpBpf.Btf.Core;
using SharpBpf.Testing;

namespace SharpBpf.Tests.Btf.Core;

/// <summary>
/// The committed mini kernels (Fixtures/core/mini-{new,old}.btf, used as --btf targets by the CLI tests) are the
/// <see cref="CoreTargets"/> layouts. Run with SHARPBPF_WRITE_CORE_TARGETS=1 to rewrite them after changing those.
/// </summary>
public sealed class CoreTargetFileTests
{
    private static string FixturePath(string name) => Path.Combine(SharedData.RepositoryRoot, "tests", "SharpBpf.Tests", "Fixtures", "core", name);

    [Theory]
    [InlineData("mini-new.btf", false)]
    [InlineData("mini-old.btf", true)]
    public void CommittedTargetHasTheLayoutTheTestsExpect(string name, bool old)
    {
        var built = old ? CoreTargets.OldKernel() : CoreTargets.NewKernel();
        if (Environment.GetEnvironmentVariable("SHARPBPF_WRITE_CORE_TARGETS") == "1")
            File.WriteAllBytes(FixturePath(name), built.Data.ToArray());
        var btf = BtfFile.Load(FixturePath(name)).Validate();
        var task = btf.Find("task_struct", BtfKind.Struct);
        var pid = task.GetMembers().Single(m => m.Name == "pid");
        Assert.Equal((uint)(old ? CoreTargets.OldPidOffset : CoreTargets.NewPidOffset) * 8, pid.BitOffset);
        Assert.Equal(old, task.GetMembers().Any(m => m.Name == "state"));
        var result = CoreRelocator.Apply(CoreTestSupport.ProjectObject("core_probe.o"), btf);
        Assert.True(result.Succeeded);
    }
}
