using System.Diagnostics;
using System.Runtime.InteropServices;

namespace SharpBpf.Runtime.Helpers;

/// <summary>What the host tells helpers about "current": thread and process ids, credentials, name and clocks.</summary>
internal static partial class HostProcess
{
    private const string Libc = "libc.so.6";
    private const int ClockBoottime = 7;

    private static readonly Lazy<string> ProcessName = new(ReadProcessName);

    [ThreadStatic]
    private static string? t_threadName;

    /// <summary>(tgid &lt;&lt; 32) | tid of the calling thread; the process id twice where thread ids are unavailable.</summary>
    public static ulong PidTgid()
    {
        ulong tgid = (uint)Environment.ProcessId;
        ulong tid = tgid;
        if (OperatingSystem.IsLinux())
        {
            try
            {
                tid = (uint)GetTid();
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                // Without gettid (an old or non-glibc C library) report the process id.
            }
        }

        return (tgid << 32) | tid;
    }

    /// <summary>(gid &lt;&lt; 32) | uid of the process; 0 where there are no such ids.</summary>
    public static ulong UidGid()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        try
        {
            return ((ulong)GetGid() << 32) | GetUid();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return 0;
        }
    }

    /// <summary>
    /// The calling thread's name as the kernel keeps it (<c>current->comm</c>, at most 15 bytes): read once per thread
    /// from /proc/thread-self/comm on Linux (the process name for the main thread), the process name elsewhere.
    /// </summary>
    public static string Comm => t_threadName ??= ReadThreadName();

    private static string ReadThreadName()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/thread-self/comm"))
            {
                return File.ReadAllText("/proc/thread-self/comm").TrimEnd('\n');
            }
        }
        catch (IOException)
        {
            // Fall back to the process name.
        }

        return ProcessName.Value;
    }

    /// <summary>CLOCK_MONOTONIC in nanoseconds (the clock of <c>Stopwatch</c> on Linux).</summary>
    public static ulong MonotonicNanoseconds()
    {
        long ticks = Stopwatch.GetTimestamp();
        return Stopwatch.Frequency == 1_000_000_000
            ? (ulong)ticks
            : (ulong)(ticks * (1_000_000_000.0 / Stopwatch.Frequency));
    }

    /// <summary>CLOCK_BOOTTIME in nanoseconds (monotonic time including suspend); CLOCK_MONOTONIC where unavailable.</summary>
    public static unsafe ulong BootNanoseconds()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                long* timespec = stackalloc long[2];
                if (ClockGetTime(ClockBoottime, timespec) == 0)
                {
                    return (ulong)((timespec[0] * 1_000_000_000L) + timespec[1]);
                }
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                // Fall back to the monotonic clock.
            }
        }

        return MonotonicNanoseconds();
    }

    private static string ReadProcessName()
    {
        string name;
        try
        {
            name = OperatingSystem.IsLinux() && File.Exists("/proc/self/comm")
                ? File.ReadAllText("/proc/self/comm").TrimEnd('\n')
                : Process.GetCurrentProcess().ProcessName;
        }
        catch (IOException)
        {
            name = Process.GetCurrentProcess().ProcessName;
        }

        return name;
    }

    [LibraryImport(Libc, EntryPoint = "gettid")]
    private static partial int GetTid();

    [LibraryImport(Libc, EntryPoint = "getuid")]
    private static partial uint GetUid();

    [LibraryImport(Libc, EntryPoint = "getgid")]
    private static partial uint GetGid();

    [LibraryImport(Libc, EntryPoint = "clock_gettime")]
    private static unsafe partial int ClockGetTime(int clock, long* timespec);
}
