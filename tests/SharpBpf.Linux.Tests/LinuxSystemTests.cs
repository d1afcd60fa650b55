namespace SharpBpf.Linux.Tests;
public class LinuxSystemTests
{
    [Fact]
    public void ReportsTheOperatingSystem() => Assert.Equal(OperatingSystem.IsLinux(), LinuxSystem.IsLinux);
}
