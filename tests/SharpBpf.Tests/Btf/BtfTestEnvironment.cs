using SharpBpf.Btf;

namespace SharpBpf.Tests.Btf;

/// <summary>Locates the files the BTF tests use: fixtures, the shared samples and the running kernel's BTF.</summary>
internal static class BtfTestEnvironment
{
    public const string VmlinuxPath = "/sys/kernel/btf/vmlinux";

    private static readonly Lazy<string?> RepoRoot = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SharpBpf.slnx"))) return dir.FullName;
        }
        return null;
    });

    private static readonly Lazy<BtfSpec?> VmlinuxBtf = new(() => File.Exists(VmlinuxPath) ? BtfSpec.Load(VmlinuxPath) : null);

    /// <summary>
    /// The shared samples folder (../shared/samples from the repository root), or null. SHARPBPF_SHARED overrides
    /// the shared folder, for worktrees that do not sit next to it.
    /// </summary>
    public static string? SamplesDirectory
    {
        get
        {
            if (Environment.GetEnvironmentVariable("SHARPBPF_SHARED") is { Length: > 0 } shared)
                return Directory.Exists(Path.Combine(shared, "samples")) ? Path.Combine(shared, "samples") : null;
            if (RepoRoot.Value is not { } root) return null;
            string dir = Path.GetFullPath(Path.Combine(root, "..", "shared", "samples"));
            return Directory.Exists(dir) ? dir : null;
        }
    }

    public static bool HasVmlinux => File.Exists(VmlinuxPath);

    /// <summary>The running kernel's BTF, parsed once per test run.</summary>
    public static BtfSpec Vmlinux => VmlinuxBtf.Value ?? throw new InvalidOperationException("no " + VmlinuxPath);

    public static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "btf", name);

    public static byte[] Fixture(string name) => File.ReadAllBytes(FixturePath(name));

    /// <summary>Every sample object with a .BTF section: (relative path, .BTF bytes, .BTF.ext bytes or null, sections).</summary>
    public static IEnumerable<(string Name, byte[] BtfSpec, byte[]? Ext, IReadOnlyDictionary<string, byte[]> Sections)> SampleObjectsWithBtf()
    {
        if (SamplesDirectory is not { } dir) yield break;
        foreach (string path in Directory.EnumerateFiles(dir, "*.o", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            IReadOnlyDictionary<string, byte[]> sections;
            try
            {
                sections = TestElfSections.Read(File.ReadAllBytes(path));
            }
            catch (InvalidDataException)
            {
                continue; // the invalid/ folder holds broken ELF files; the ELF loader's tests cover those
            }
            if (sections.TryGetValue(".BTF", out var btf))
                yield return (Path.GetRelativePath(dir, path), btf, sections.GetValueOrDefault(".BTF.ext"), sections);
        }
    }

    public static string? FindTool(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}

/// <summary>A fact that is skipped when the shared samples folder (../shared/samples) is absent.</summary>
internal sealed class BtfRequiresSamplesFactAttribute : FactAttribute
{
    public BtfRequiresSamplesFactAttribute()
    {
        if (BtfTestEnvironment.SamplesDirectory is null) Skip = "../shared/samples is absent";
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
        else if (BtfTestEnvironment.FindTool(tool) is null) Skip = tool + " is not installed";
    }
}
