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
}

/// <summary>Tests that count this process's file descriptors must not run alongside others.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialKernelCollection
{
    public const string Name = "serial kernel tests";
}
