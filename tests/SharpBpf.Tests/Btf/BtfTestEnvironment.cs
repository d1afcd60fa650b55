using SharpBpf.Btf;
using SharpBpf.Elf;
using SharpBpf.Testing;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Btf;

/// <summary>Locates the files the BTF tests use: the shared samples with BTF and the running kernel's BTF.</summary>
internal static class BtfTestEnvironment
{
    public const string VmlinuxPath = "/sys/kernel/btf/vmlinux";

    private static readonly Lazy<BtfSpec?> VmlinuxBtf = new(() => File.Exists(VmlinuxPath) ? BtfSpec.Load(VmlinuxPath) : null);

    public static bool HasVmlinux => File.Exists(VmlinuxPath);

    /// <summary>The running kernel's BTF, parsed once per test run.</summary>
    public static BtfSpec Vmlinux => VmlinuxBtf.Value ?? throw new InvalidOperationException("no " + VmlinuxPath);

    /// <summary>Every sample object with a .BTF section: (relative path, .BTF bytes, .BTF.ext bytes or null, the parsed ELF file).</summary>
    public static IEnumerable<(string Name, byte[] BtfSpec, byte[]? Ext, ElfFile Elf)> SampleObjectsWithBtf()
    {
        if (SharedData.Folder("samples") is not { } dir) yield break;
        foreach (string path in Directory.EnumerateFiles(dir, "*.o", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            ElfFile elf;
            try
            {
                elf = ElfFile.Load(path);
            }
            catch (ElfFormatException)
            {
                continue; // the invalid/ folder holds broken ELF files; the ELF loader's tests cover those
            }
            if (elf.FindSection(".BTF") is { } btf)
                yield return (Path.GetRelativePath(dir, path), btf.Data.ToArray(), elf.FindSection(".BTF.ext")?.Data.ToArray(), elf);
        }
    }
}

/// <summary>A fact that is skipped when the kernel does not expose /sys/kernel/btf/vmlinux.</summary>
internal sealed class BtfRequiresVmlinuxFactAttribute : FactAttribute
{
    public BtfRequiresVmlinuxFactAttribute()
    {
        if (!BtfTestEnvironment.HasVmlinux) Skip = BtfTestEnvironment.VmlinuxPath + " is absent";
    }
}

/// <summary>A fact that needs /sys/kernel/btf/vmlinux and an external tool on PATH.</summary>
internal sealed class BtfRequiresVmlinuxAndToolFactAttribute : FactAttribute
{
    public BtfRequiresVmlinuxAndToolFactAttribute(string tool)
    {
        if (!BtfTestEnvironment.HasVmlinux) Skip = BtfTestEnvironment.VmlinuxPath + " is absent";
        else if (ExternalTool.Find(tool) is null) Skip = tool + " is not installed";
    }
}
