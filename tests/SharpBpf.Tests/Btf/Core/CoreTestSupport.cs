using System.Security.Cryptography;
using SharpBpf.Btf;
using SharpBpf.Objects;
using SharpBpf.Testing;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Btf.Core;

/// <summary>The project's CO-RE objects and the libbpf fixtures recorded against the running kernel.</summary>
internal static class CoreTestSupport
{
    public static BpfObject ProjectObject(string name) => BpfObject.Load(Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", name));

    /// <summary>The fixture's lines after its two header lines, and the vmlinux hash it was recorded with.</summary>
    public static (string Hash, string[] Lines) LibbpfFixture(string objectName)
    {
        var all = File.ReadAllLines(Fixtures.Path("core", Path.GetFileNameWithoutExtension(objectName) + ".libbpf.txt"));
        return (all[0].Split(' ')[^1], all.Where(l => !l.StartsWith('#')).ToArray());
    }

    private static readonly Lazy<string?> VmlinuxHash = new(() =>
        File.Exists(BtfTestEnvironment.VmlinuxPath) ? Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(BtfTestEnvironment.VmlinuxPath))) : null);

    /// <summary>Why a fixture recorded against a kernel's BTF does not apply here, or null when it does.</summary>
    public static string? FixtureMismatch(string objectName)
    {
        if (VmlinuxHash.Value is not { } hash) return BtfTestEnvironment.VmlinuxPath + " is absent";
        var (recorded, _) = LibbpfFixture(objectName);
        return recorded == hash ? null : "the libbpf fixture was recorded against another kernel's BTF (regenerate it with Fixtures/core/gen-libbpf-core.sh)";
    }
}

/// <summary>A fact that runs only when the running kernel's BTF is the one a libbpf fixture was recorded with.</summary>
internal sealed class CoreFixtureFactAttribute : FactAttribute
{
    public CoreFixtureFactAttribute(string objectName)
    {
        if (CoreTestSupport.FixtureMismatch(objectName) is { } reason) Skip = reason;
    }
}
