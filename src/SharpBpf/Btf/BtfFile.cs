using SharpBpf.Elf;

namespace SharpBpf.Btf;

/// <summary>Reads BTF from a file that is either raw BTF (<c>/sys/kernel/btf/vmlinux</c>, a module's BTF) or an ELF object with a <c>.BTF</c> section.</summary>
public static class BtfFile
{
    /// <summary>Where Linux exposes the running kernel's BTF.</summary>
    public const string RunningKernelPath = "/sys/kernel/btf/vmlinux";

    /// <summary>
    /// The running kernel's BTF (the default CO-RE target on Linux), or null when the system does not expose it
    /// (not Linux, or a kernel built without CONFIG_DEBUG_INFO_BTF).
    /// </summary>
    /// <exception cref="BtfFormatException">The file exists but is not valid BTF.</exception>
    public static BtfSpec? TryLoadRunningKernel() => File.Exists(RunningKernelPath) ? BtfSpec.Load(RunningKernelPath) : null;

    private static readonly Lazy<BtfSpec?> Running = new(TryLoadRunningKernel);

    /// <summary>
    /// The running kernel's BTF, read once per process (about 12 ms and the size of the file), or null when this
    /// system has none; every in-process user (CO-RE in the VM, <c>verify</c>, the kernel loader) shares it.
    /// </summary>
    public static BtfSpec? RunningKernel => Running.Value;

    /// <summary>Whether the bytes start like an ELF file.</summary>
    public static bool IsElf(ReadOnlySpan<byte> data) => data.Length >= 4 && data[0] == 0x7f && data[1] == (byte)'E' && data[2] == (byte)'L' && data[3] == (byte)'F';

    /// <summary>Parses raw BTF, or the <c>.BTF</c> section of an ELF object.</summary>
    /// <param name="data">The file's bytes.</param>
    /// <param name="baseBtf">For split BTF, its base.</param>
    /// <exception cref="BtfFormatException">The BTF is malformed, or an ELF file has no <c>.BTF</c> section.</exception>
    /// <exception cref="ElfFormatException">The ELF file is malformed.</exception>
    public static BtfSpec Parse(ReadOnlyMemory<byte> data, BtfSpec? baseBtf = null)
    {
        if (!IsElf(data.Span)) return BtfSpec.Parse(data, baseBtf);
        var elf = ElfFile.Parse(data);
        var section = elf.FindSection(".BTF") ?? throw new BtfFormatException("the ELF file has no .BTF section");
        return BtfSpec.Parse(section.Data, baseBtf);
    }

    /// <summary>Reads and parses raw BTF, or the <c>.BTF</c> section of an ELF object.</summary>
    /// <exception cref="BtfFormatException">The BTF is malformed, or an ELF file has no <c>.BTF</c> section.</exception>
    /// <exception cref="ElfFormatException">The ELF file is malformed.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static BtfSpec Load(string path, BtfSpec? baseBtf = null) => Parse(File.ReadAllBytes(path), baseBtf);
}
