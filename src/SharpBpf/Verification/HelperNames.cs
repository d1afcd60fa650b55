namespace SharpBpf.Verification;

public static partial class HelperNames
{
    /// <summary>The kernel's name of helper <paramref name="id"/> with its <c>bpf_</c> prefix, or null when unknown.</summary>
    public static string? Find(long id) => id > 0 && id < Names.Length ? "bpf_" + Names[id] : null;

    /// <summary>The number of helper ids the table knows (ids are 0 to Count - 1).</summary>
    public static int Count => Names.Length;
}
