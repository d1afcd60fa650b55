using Microsoft.Win32.SafeHandles;
using SharpBpf.Linux.Interop;

namespace SharpBpf.Linux;

/// <summary>Facts about the running system that decide what the backend may do.</summary>
public static class LinuxSystem
{
    private static readonly Lazy<int> PossibleCpus = new(ReadPossibleCpuCount);

    /// <summary>Whether this process runs on Linux.</summary>
    public static bool IsLinux => OperatingSystem.IsLinux();

    /// <summary>
    /// The number of possible CPUs (from /sys/devices/system/cpu/possible): per-CPU maps hold one value slot
    /// for each, so this sizes their user-space buffers.
    /// </summary>
    public static int PossibleCpuCount => PossibleCpus.Value;

    /// <summary>Parses a CPU list such as "0-3,8,10-11" and counts the CPUs; the count of the highest index plus one is what per-CPU maps use.</summary>
    /// <exception cref="FormatException">The text is not a CPU list.</exception>
    public static int ParseCpuListCount(string list)
    {
        ArgumentNullException.ThrowIfNull(list);
        int highest = -1;
        foreach (var part in list.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var bounds = part.Split('-');
            bool valid = bounds.Length is 1 or 2 && bounds.All(b => int.TryParse(b, System.Globalization.NumberStyles.None, null, out _));
            int first = valid ? int.Parse(bounds[0]) : 0;
            int last = valid ? int.Parse(bounds[^1]) : 0;
            if (!valid || first > last || last > 1 << 20)
            {
                throw new FormatException($"'{part}' in CPU list '{list}' is not a CPU number or range");
            }

            highest = Math.Max(highest, last);
        }

        return highest < 0 ? throw new FormatException($"CPU list '{list}' is empty") : highest + 1;
    }

    /// <summary>Opens a directory (for example a cgroup) read-only, for handing to the kernel as a link target.</summary>
    /// <exception cref="BpfSyscallException">open() failed.</exception>
    public static SafeFileHandle OpenDirectory(string path)
    {
        int fd = Libc.Open(path, Libc.OpenDirectoryReadOnly);
        return fd >= 0
            ? new SafeFileHandle(new IntPtr(fd), ownsHandle: true)
            : throw new BpfSyscallException("open", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), path);
    }

    /// <summary>
    /// Converts a kernel time stamp in nanoseconds since boot (such as a program's load time) to Unix seconds, the way
    /// bpftool does: the current realtime clock minus the boot-time clock, in whole seconds, plus the stamp's seconds.
    /// </summary>
    public static unsafe long BootTimeToUnixSeconds(ulong nanosecondsSinceBoot)
    {
        long* real = stackalloc long[2];
        long* boot = stackalloc long[2];
        if (Libc.ClockGetTime(Libc.ClockRealtime, real) != 0 || Libc.ClockGetTime(Libc.ClockBoottime, boot) != 0)
        {
            throw new BpfSyscallException("clock_gettime", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }

        return real[0] - boot[0] + (long)(nanosecondsSinceBoot / 1_000_000_000);
    }

    /// <summary>The effective user id of this process.</summary>
    public static uint EffectiveUserId => IsLinux ? Libc.GetEffectiveUserId() : uint.MaxValue;

    private static int ReadPossibleCpuCount()
    {
        const string path = "/sys/devices/system/cpu/possible";
        try
        {
            return ParseCpuListCount(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return Environment.ProcessorCount;
        }
    }
}
