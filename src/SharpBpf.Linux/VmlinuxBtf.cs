using SharpBpf.Btf;

namespace SharpBpf.Linux;

/// <summary>The running kernel's own BTF (/sys/kernel/btf/vmlinux), read once on first use.</summary>
public static class VmlinuxBtf
{
    /// <summary>Where the kernel exposes its BTF.</summary>
    public const string Path = BtfFile.RunningKernelPath;

    private static readonly Lazy<BtfSpec?> Spec = new(() =>
    {
        try
        {
            return BtfFile.RunningKernel;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BtfFormatException)
        {
            return null;
        }
    });

    /// <summary>The kernel's BTF, or null when the kernel has none (CONFIG_DEBUG_INFO_BTF off) or it cannot be read.</summary>
    public static BtfSpec? Value => Spec.Value;

    /// <summary>The id of a named type of the given kind in the kernel's BTF, or -1 (also when there is no kernel BTF).</summary>
    public static int FindId(string name, BtfKind kind) => Value?.FindId(name, kind) ?? -1;
}
