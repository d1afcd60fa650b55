using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Jobs;
using Perfolizer.Horology;

namespace SharpBpf.Benchmarks;

/// <summary>
/// A clock that counts the CPU time of the calling thread (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>), in nanoseconds: time the
/// thread spends waiting for a CPU does not count. That is what <c>BPF_PROG_TEST_RUN</c>'s duration leaves out too (the
/// kernel stops its timer while the test run gives the CPU away between repetitions), so on a machine shared with other
/// work the VM's figures and the kernel's stay comparable. Used for benchmarks run in this process (<c>--inProcess</c>)
/// on Linux; elsewhere BenchmarkDotNet's default (wall-clock) timing is used.
/// </summary>
internal sealed partial class ThreadCpuClock : IClock
{
    private const int ClockThreadCpuTimeId = 3;

    public static ThreadCpuClock Instance { get; } = new();

    /// <summary>Whether the benchmarks run in this process (set from the command line before BenchmarkDotNet starts).</summary>
    public static bool InProcess { get; set; }

    public string Title => "thread CPU time (CLOCK_THREAD_CPUTIME_ID)";

    public bool IsAvailable => OperatingSystem.IsLinux() && Environment.Is64BitProcess && ClockGetTime(ClockThreadCpuTimeId, out _) == 0;

    public Frequency Frequency => Frequency.GHz;

    public long GetTimestamp()
    {
        _ = ClockGetTime(ClockThreadCpuTimeId, out var time);
        return (time.Seconds * 1_000_000_000L) + time.Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);
}

/// <summary>Times every job of the benchmark class with <see cref="ThreadCpuClock"/> where it is available and the jobs run in this process.</summary>
[AttributeUsage(AttributeTargets.Class)]
internal sealed class ThreadCpuClockAttribute() : JobMutatorConfigBaseAttribute(
    ThreadCpuClock.InProcess && ThreadCpuClock.Instance.IsAvailable ? Job.Default.WithClock(ThreadCpuClock.Instance) : Job.Default);
