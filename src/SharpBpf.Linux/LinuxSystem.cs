namespace SharpBpf.Linux;
/// <summary>Facts about the running system that decide what the backend may do.</summary>
public static class LinuxSystem
{
    /// <summary>Whether this process runs on Linux.</summary>
    public static bool IsLinux => OperatingSystem.IsLinux();
}
