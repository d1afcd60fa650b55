namespace SharpBpf.Testing;

/// <summary>
/// Locates ../shared (the conformance cases and sample objects beside the checkout). The one place tests find it:
/// $SHARPBPF_SHARED when set, else ../shared next to the repository root, else (in a git worktree) ../shared next
/// to the main checkout.
/// </summary>
internal static class SharedData
{
    /// <summary>The environment variable that overrides where the shared folder is.</summary>
    public const string EnvironmentVariable = "SHARPBPF_SHARED";

    private static readonly Lazy<string?> Repository = new(FindRepositoryRoot);
    private static readonly Lazy<string?> Root = new(FindRoot);

    /// <summary>The shared folder, or null when it is absent.</summary>
    public static string? Directory => Root.Value;

    /// <summary>A sub-folder of the shared folder, or null when absent.</summary>
    public static string? Folder(string name) =>
        Directory is { } root && System.IO.Directory.Exists(Path.Combine(root, name)) ? Path.Combine(root, name) : null;

    /// <summary>The repository root (the folder holding SharpBpf.slnx).</summary>
    public static string RepositoryRoot =>
        Repository.Value ?? throw new InvalidOperationException("SharpBpf.slnx not found above " + AppContext.BaseDirectory);

    private static string? FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SharpBpf.slnx")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    private static string? FindRoot()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } configured)
        {
            // An explicit setting is obeyed even when wrong, so that a typo is noticed as skipped tests, not masked.
            return System.IO.Directory.Exists(configured) ? Path.GetFullPath(configured) : null;
        }

        if (Repository.Value is not { } root)
        {
            return null; // not run from a checkout: the shared tests skip
        }

        string beside = Path.GetFullPath(Path.Combine(root, "..", "shared"));
        if (System.IO.Directory.Exists(beside))
        {
            return beside;
        }

        // In a git worktree ".git" is a file "gitdir: <main>/.git/worktrees/<name>": try beside the main checkout.
        string gitFile = Path.Combine(root, ".git");
        const string Prefix = "gitdir:";
        if (File.Exists(gitFile) && File.ReadAllText(gitFile).Trim() is { } line && line.StartsWith(Prefix, StringComparison.Ordinal))
        {
            var main = new DirectoryInfo(line[Prefix.Length..].Trim()).Parent?.Parent?.Parent;
            if (main is not null)
            {
                string candidate = Path.GetFullPath(Path.Combine(main.FullName, "..", "shared"));
                return System.IO.Directory.Exists(candidate) ? candidate : null;
            }
        }

        return null;
    }

    /// <summary>The reason a test needing ../shared/FOLDER is skipped, or null when the folder is present.</summary>
    public static string? SkipReason(string folder) =>
        Folder(folder) is null ? $"../shared/{folder} is not present beside the checkout (or under ${EnvironmentVariable})" : null;
}

/// <summary>A fact that is skipped, with the reason, when ../shared/FOLDER is absent.</summary>
internal sealed class SharedFactAttribute : FactAttribute
{
    public SharedFactAttribute(string folder) => Skip = SharedData.SkipReason(folder);
}

/// <summary>A theory that is skipped, with the reason, when ../shared/FOLDER is absent.</summary>
internal sealed class SharedTheoryAttribute : TheoryAttribute
{
    public SharedTheoryAttribute(string folder) => Skip = SharedData.SkipReason(folder);
}
