using SharpBpf.Testing;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Isa.Assembly;

/// <summary>A fact skipped (with the reason) unless ../shared/samples and llvm-objdump-19 are both available.</summary>
public sealed class RequiresSamplesAndObjdumpFactAttribute : FactAttribute
{
    /// <summary>The objdump the samples are compared with.</summary>
    public const string Objdump = "llvm-objdump-19";

    /// <summary>Sets <see cref="FactAttribute.Skip"/> when the samples or llvm-objdump-19 cannot be found.</summary>
    public RequiresSamplesAndObjdumpFactAttribute()
    {
        Skip = SharedData.SkipReason("samples") ?? (ExternalTool.Find(Objdump) is null ? Objdump + " is not on PATH" : null);
    }
}
