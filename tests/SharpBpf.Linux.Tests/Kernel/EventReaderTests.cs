using System.Buffers.Binary;
using System.Diagnostics;
using SharpBpf.Linux.Events;

namespace SharpBpf.Linux.Tests.Kernel;

public class EventReaderTests
{
    // struct event { u32 pid; u32 tgid; u64 sequence; } from Fixtures/attach_points.c
    private static (int Pid, int Tgid, ulong Sequence) Decode(ReadOnlySpan<byte> record) =>
        (BinaryPrimitives.ReadInt32LittleEndian(record), BinaryPrimitives.ReadInt32LittleEndian(record[4..]), BinaryPrimitives.ReadUInt64LittleEndian(record[8..]));

    [KernelFact]
    public void RingBufferAndPerfBufferDeliverEveryGetpidOfThisThread()
    {
        using var loaded = AttachPoints.Load();
        using var ring = new RingBufferReader(loaded.Map("events"));
        using var perf = new PerfBufferReader(loaded.Map("perf_events"));
        int tid = AttachPoints.GetTid();
        const int Calls = 50;
        using (loaded.Program("report_getpid").AttachTracepoint("syscalls", "sys_enter_getpid"))
        {
            for (int i = 0; i < Calls; i++)
            {
                AttachPoints.GetPid();
            }
        }

        var fromRing = new List<(int Pid, int Tgid, ulong Sequence)>();
        while (ring.Poll(record => fromRing.Add(Decode(record)), timeoutMilliseconds: 200) > 0)
        {
        }

        var fromPerf = new List<PerfSample>();
        while (perf.Poll(fromPerf.Add, timeoutMilliseconds: 200) > 0)
        {
        }

        var mine = fromRing.Where(e => e.Pid == tid).ToList();
        Assert.Equal(Calls, mine.Count);
        Assert.All(fromRing, e => Assert.Equal(Environment.ProcessId, e.Tgid));
        // The sequence numbers are the program's own counter: strictly increasing, as the kernel produced them.
        Assert.Equal(mine.Select(e => e.Sequence).Order(), mine.Select(e => e.Sequence));
        Assert.Equal(0UL, perf.LostSamples);
        var perfMine = fromPerf.Where(s => !s.IsLoss).Select(s => Decode(s.Data)).Where(e => e.Pid == tid).ToList();
        Assert.Equal(mine.Select(e => e.Sequence), perfMine.Select(e => e.Sequence).Order());
        // The kernel pads raw samples so that size field plus data fill whole 8-byte words: 4 + 16 -> 4 + 20.
        Assert.All(fromPerf, s => Assert.Equal(20, s.Data.Length));
        Assert.Equal(fromRing.Count, ring.RecordsRead);
    }

    [KernelFact]
    public async Task AsyncReadersYieldEventsAndEndOnCancellation()
    {
        using var loaded = AttachPoints.Load();
        using var ring = new RingBufferReader(loaded.Map("events"));
        using var perf = new PerfBufferReader(loaded.Map("perf_events"));
        using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var ringEvents = new List<int>();
        var perfEvents = new List<int>();
        var ringTask = Task.Run(async () =>
        {
            await foreach (var record in ring.ReadAllAsync(cancellation.Token))
            {
                lock (ringEvents)
                {
                    ringEvents.Add(Decode(record).Pid);
                }
            }
        });
        var perfTask = Task.Run(async () =>
        {
            await foreach (var sample in perf.ReadAllAsync(cancellation.Token))
            {
                lock (perfEvents)
                {
                    perfEvents.Add(Decode(sample.Data).Pid);
                }
            }
        });

        int tid = 0;
        using (loaded.Program("report_getpid").AttachTracepoint("syscalls", "sys_enter_getpid"))
        {
            var caller = new Thread(() =>
            {
                tid = AttachPoints.GetTid();
                for (int i = 0; i < 20; i++)
                {
                    AttachPoints.GetPid();
                }
            });
            caller.Start();
            caller.Join();
        }

        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(10) && (Count(ringEvents, tid) < 20 || Count(perfEvents, tid) < 20))
        {
            await Task.Delay(10);
        }

        Assert.Equal(20, Count(ringEvents, tid));
        Assert.Equal(20, Count(perfEvents, tid));

        // Cancelling wakes the readers blocked in epoll: both enumerations end promptly.
        watch.Restart();
        await cancellation.CancelAsync();
        await Task.WhenAll(ringTask, perfTask).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5));
    }

    [KernelFact]
    public void ReadersRefuseMapsOfAnotherType()
    {
        using var loaded = AttachPoints.Load();
        Assert.Throws<ArgumentException>(() => new RingBufferReader(loaded.Map("hits")));
        Assert.Throws<ArgumentException>(() => new PerfBufferReader(loaded.Map("events")));
        Assert.Throws<ArgumentException>(() => new PerfBufferReader(loaded.Map("perf_events"), pagesPerCpu: 3));
    }

    private static int Count(List<int> events, int tid)
    {
        lock (events)
        {
            return events.Count(pid => pid == tid);
        }
    }
}
