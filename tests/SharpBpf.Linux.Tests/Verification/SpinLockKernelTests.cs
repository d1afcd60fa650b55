using SharpBpf.Linux.Tests.Kernel;
using SharpBpf.Objects;
using SharpBpf.Testing;
using SharpBpf.Verification;

namespace SharpBpf.Linux.Tests.Verification;

/// <summary>
/// bpf_spin_lock rules (bpf/verifier/spin_lock.o: a map whose BTF value type holds a lock, one program per rule):
/// SharpBPF's verdict, error line and processed count against the running kernel's.
/// </summary>
public class SpinLockKernelTests
{
    // What each program shows; the kernel confirms every line below before SharpBPF's is compared with it.
    private static readonly Dictionary<string, string?> Expected = new()
    {
        ["locked_update"] = null,
        ["call_while_locked"] = "function calls are not allowed while holding a lock",
        ["unlock_missing"] = "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region",
        ["lock_read_directly"] = "bpf_spin_lock cannot be accessed directly by load/store",
        ["unlock_other_lock"] = "bpf_spin_unlock of different lock",
        ["lock_wrong_offset"] = "off 16 doesn't point to 'struct bpf_spin_lock' that is at 8",
        ["socket_filter_lock_map"] = "socket filter progs cannot use bpf_spin_lock yet",
    };

    [Fact]
    public void The_lock_offset_comes_from_the_value_btf()
    {
        var maps = VerifierMap.FromObject(BpfObject.Load(ObjectPath));
        var counters = Assert.Single(maps, m => m.Name == "counters");
        Assert.True(counters.HasValueBtf);
        Assert.Equal(8, counters.SpinLockOffset);
    }

    [KernelFact]
    public void Verdicts_and_error_lines_equal_the_kernels()
    {
        var obj = BpfObject.Load(ObjectPath);
        foreach (var (program, kernelLog) in RuleObjects.LoadIntoKernel(obj, Expected))
        {
            string? expected = Expected[program.Name];
            var ours = Verifier.Verify(program.Instructions, VerifierOptions.For(obj, program, 1), program.Name);
            Assert.True(ours.Accepted == (expected is null), $"{program.Name}: {ours.Error?.Message}\n{ours.Log}");
            if (expected is not null)
            {
                Assert.Equal(expected, ours.Error!.Message);
            }

            // The kernel refuses a map a program type may not use before walking any instruction (it processed 0 instructions).
            if (!kernelLog.Contains("processed 0 insns", StringComparison.Ordinal))
            {
                Assert.Contains($"processed {ours.Statistics.Processed} insns", kernelLog, StringComparison.Ordinal);
            }
        }
    }

    private static string ObjectPath => Path.Combine(SharedData.RepositoryRoot, "bpf", "verifier", "spin_lock.o");
}
