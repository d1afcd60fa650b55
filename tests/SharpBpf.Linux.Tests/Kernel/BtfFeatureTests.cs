using SharpBpf.Btf;
using SharpBpf.Linux.Objects;

namespace SharpBpf.Linux.Tests.Kernel;

public class BtfFeatureTests
{
    [KernelFact]
    public void ProbesFindTheFeaturesThisKernelHas()
    {
        var features = KernelFeatures.SupportedBtfFeatures;
        // A kernel that exposes /sys/kernel/btf/vmlinux (5.4+) has functions, global functions and data sections.
        Assert.True(features.HasFlag(BtfFeatures.Function | BtfFeatures.GlobalFunction | BtfFeatures.DataSection), features.ToString());
        // Its own BTF tells which newer kinds it produces itself: each one it uses must have probed as supported.
        var vmlinux = VmlinuxBtf.Value;
        Assert.NotNull(vmlinux);
        var used = BtfSanitizer.UsedFeatures(vmlinux);
        Assert.Equal(used & ~BtfFeatures.QuestionMarkDataSection, used & features & ~BtfFeatures.QuestionMarkDataSection);
    }

    [KernelFact]
    public void ProjectObjectsNeedNoSanitizingHereAndLoadWithBtf()
    {
        using var loaded = KernelObject.Load(ObjectLoadTests.ProjectObject("core_layouts.o"));
        Assert.Null(loaded.BtfError);
        Assert.NotNull(loaded.Btf);
        Assert.Equal(BtfFeatures.None, loaded.SanitizedBtfFeatures & KernelFeatures.SupportedBtfFeatures);
    }
}
