namespace SharpBpf.Tests.TestSupport;

/// <summary>The committed test fixtures, copied next to the test assembly as Fixtures/AREA/... (one folder per area).</summary>
internal static class Fixtures
{
    /// <summary>The fixture folder of an area (asm, btf, disasm, elf).</summary>
    public static string Directory(string area) => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", area);

    /// <summary>The path of one fixture file of an area; <paramref name="name"/> may contain sub-folders.</summary>
    public static string Path(string area, string name) => System.IO.Path.Combine(Directory(area), name);

    /// <summary>The bytes of one fixture file of an area.</summary>
    public static byte[] Read(string area, string name) => File.ReadAllBytes(Path(area, name));
}

/// <summary>External reference tools (clang-19, llvm-objdump-19, bpftool) that some tests compare against.</summary>
internal static class ExternalTool
{
    /// <summary>The full path of <paramref name="name"/> on PATH, or null when it is not installed.</summary>
    public static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => System.IO.Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
