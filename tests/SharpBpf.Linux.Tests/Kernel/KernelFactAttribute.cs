namespace SharpBpf.Linux.Tests.Kernel;

/// <summary>
/// A fact that needs a working, privileged bpf(): skipped at discovery time, with the probe's reason,
/// when not on Linux, not root/CAP_BPF, or the probe map cannot be created.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class KernelFactAttribute : FactAttribute
{
    public KernelFactAttribute()
    {
        var status = KernelSupport.Status;
        if (!status.IsSupported || !status.HasPrivilege)
        {
            Skip = $"needs privileged bpf(): {status.Reason}";
        }
    }

    /// <summary>Also skip, with the reason, when bpftool (the cross-check reference) is not installed.</summary>
    public bool RequiresBpftool
    {
        get => _requiresBpftool;
        set
        {
            _requiresBpftool = value;
            if (value && Skip is null && !Bpftool.IsInstalled)
            {
                Skip = "bpftool is not installed (apt-get install bpftool); it is the reference this test compares with";
            }
        }
    }

    private bool _requiresBpftool;

    /// <inheritdoc cref="KernelTheoryAttribute.XdpHelper"/>
    public int XdpHelper
    {
        get => _xdpHelper;
        set
        {
            _xdpHelper = value;
            if (Skip is null && KernelFeatures.IsHelperSupported(ProgramType.Xdp, value) == false)
            {
                Skip = $"this kernel refuses helper #{value} in XDP programs (program of this type cannot use helper)";
            }
        }
    }

    private int _xdpHelper;
}

/// <summary>A theory that needs a working, privileged bpf(); skipped at discovery time with the probe's reason.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class KernelTheoryAttribute : TheoryAttribute
{
    public KernelTheoryAttribute()
    {
        var status = KernelSupport.Status;
        if (!status.IsSupported || !status.HasPrivilege)
        {
            Skip = $"needs privileged bpf(): {status.Reason}";
        }
    }

    /// <summary>
    /// Also skip, with the reason, when the running kernel does not let XDP programs call this helper (some kernel
    /// builds withhold helpers such as <c>bpf_xdp_adjust_meta</c>; the kernel's refusal is then the right answer).
    /// </summary>
    public int XdpHelper
    {
        get => _xdpHelper;
        set
        {
            _xdpHelper = value;
            if (Skip is null && KernelFeatures.IsHelperSupported(ProgramType.Xdp, value) == false)
            {
                Skip = $"this kernel refuses helper #{value} in XDP programs (program of this type cannot use helper)";
            }
        }
    }

    private int _xdpHelper;
}

/// <summary>
/// A kernel test that also needs fentry (BPF trampolines): skipped with the kernel's answer where loading a
/// trivial fentry program is refused (some sandboxed kernels return EPERM before verification).
/// </summary>
public sealed class FentryFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Refusal = new(Probe);

    public FentryFactAttribute()
    {
        var status = KernelSupport.Status;
        if (!status.IsSupported || !status.HasPrivilege)
        {
            Skip = $"needs privileged bpf(): {status.Reason}";
        }
        else if (Refusal.Value is { } reason)
        {
            Skip = $"this kernel refuses fentry programs: {reason}";
        }
    }

    private static string? Probe()
    {
        try
        {
            using var program = ProgramTests.LoadFentry(ProgramTests.VmlinuxFunctionId("bpf_fentry_test1"));
            return null;
        }
        catch (BpfException e)
        {
            return e.Message.Split('\n')[0];
        }
    }
}

/// <summary>Tests that count this process's file descriptors must not run alongside others.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialKernelCollection
{
    public const string Name = "serial kernel tests";
}
