namespace SharpBpf.Testing;

/// <summary>Locates ../shared (the conformance cases and sample objects beside the checkout).</summary>
internal static class SharedData
{
    private static readonly Lazy<string?> Root = new(FindRoot);

    /// <summary>The shared folder, or null when it is absent.</summary>
    public static string? Directory => Root.Value;

    /// <summary>A sub-folder of the shared folder, or null when absent.</summary>
    public static string? Folder(string name) =>
        Directory is { } root && System.IO.Directory.Exists(Path.Combine(root, name)) ? Path.Combine(root, name) : null;

    /// <summary>The repository root (the folder holding SharpBpf.slnx).</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "SharpBpf.slnx")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("SharpBpf.slnx not found above " + AppContext.BaseDirectory);
        }
    }

    private static string? FindRoot()
    {
        string candidate = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));
        return System.IO.Directory.Exists(candidate) ? candidate : null;
    }
}

/// <summary>A fact that is skipped, with the reason, when ../shared/FOLDER is absent.</summary>
internal sealed class SharedFactAttribute : FactAttribute
{
    public SharedFactAttribute(string folder)
    {
        if (SharedData.Folder(folder) is null)
        {
            Skip = $"../shared/{folder} is not present beside the checkout";
        }
    }
}
