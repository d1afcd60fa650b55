using System.Globalization;
using System.Runtime.InteropServices;

namespace SharpBpf.Linux;

/// <summary>Whether this process may use bpf(), and why not when it may not.</summary>
/// <param name="IsSupported">True when a probe map could be created.</param>
/// <param name="HasPrivilege">True when running as root or with CAP_BPF or CAP_SYS_ADMIN in the effective set.</param>
/// <param name="Reason">A human explanation when <paramref name="IsSupported"/> is false; otherwise a short description.</param>
public sealed record KernelSupportStatus(bool IsSupported, bool HasPrivilege, string Reason);

/// <summary>Checks once per process whether the bpf() backend can work here.</summary>
public static class KernelSupport
{
    private const int CapSysAdmin = 21;
    private const int CapBpf = 39;
    private static readonly Lazy<KernelSupportStatus> Cached = new(Probe);

    /// <summary>The cached result of <see cref="Probe"/>.</summary>
    public static KernelSupportStatus Status => Cached.Value;

    /// <summary>Whether bpf() works with privilege here (Linux, root or CAP_BPF, and a probe map can be created).</summary>
    public static bool IsAvailable => Status.IsSupported && Status.HasPrivilege;

    /// <summary>Runs the checks now: operating system, architecture, privilege, then a real BPF_MAP_CREATE.</summary>
    public static KernelSupportStatus Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return new(false, false, $"bpf() needs Linux; this is {RuntimeInformation.OSDescription}");
        }

        try
        {
            _ = BpfSyscall.SyscallNumber;
        }
        catch (PlatformNotSupportedException e)
        {
            return new(false, false, e.Message);
        }

        bool privileged = LinuxSystem.EffectiveUserId == 0 || HasCapability(CapBpf) || HasCapability(CapSysAdmin);
        try
        {
            using var probe = BpfSyscall.MapCreate(new MapCreateOptions { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1 });
            return new(true, privileged, privileged
                ? "bpf() works and the process is privileged"
                : "bpf() works, but without CAP_BPF/root most program types and commands are refused");
        }
        catch (BpfSyscallException e)
        {
            string hint = e.ErrorNumber switch
            {
                Errno.EPERM => privileged
                    ? "bpf() was refused despite privilege (a seccomp filter, LSM or lockdown may block it)"
                    : $"bpf() needs root or CAP_BPF (kernel.unprivileged_bpf_disabled = {ReadSysctl("/proc/sys/kernel/unprivileged_bpf_disabled")})",
                Errno.ENOSYS => "the kernel was built without bpf() (CONFIG_BPF_SYSCALL) or a sandbox hides it",
                _ => "the probe map could not be created",
            };
            return new(false, privileged, $"{hint}: {e.ErrorName} from {e.Operation}");
        }
        catch (DllNotFoundException e)
        {
            return new(false, privileged, $"the C library could not be loaded: {e.Message}");
        }
    }

    private static bool HasCapability(int capability)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("CapEff:", StringComparison.Ordinal) &&
                    ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong mask))
                {
                    return (mask & (1UL << capability)) != 0;
                }
            }
        }
        catch (IOException)
        {
        }

        return false;
    }

    private static string ReadSysctl(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "unknown";
        }
    }
}
