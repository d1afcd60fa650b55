using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using SharpBpf.Linux.Interop;

namespace SharpBpf.Linux.Events;

/// <summary>One item from a perf event array: a sample a program sent with bpf_perf_event_output, or a count of lost ones.</summary>
/// <param name="Cpu">The CPU whose ring it came from.</param>
/// <param name="Data">The sample's bytes (empty for a loss report).</param>
/// <param name="Lost">For a loss report: how many samples the kernel dropped because the ring was full; else 0.</param>
public readonly record struct PerfSample(int Cpu, byte[] Data, ulong Lost)
{
    /// <summary>Whether this is a loss report rather than a sample.</summary>
    public bool IsLoss => Lost != 0;
}

/// <summary>
/// Reads a BPF perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY) as libbpf's perf_buffer does: one bpf-output perf
/// event per online CPU, stored in the map at its CPU index, each with a memory-mapped ring of data pages that the
/// kernel fills and this reader drains, waiting in epoll.
/// </summary>
public sealed unsafe class PerfBufferReader : IDisposable
{
    private const int DataHeadOffset = 1024, DataTailOffset = 1032, DataOffsetOffset = 1040, DataSizeOffset = 1048;
    private const uint RecordLost = 2, RecordSample = 9;
    private const ulong SoftwareBpfOutput = 10, SampleRaw = 1 << 10;
    private readonly List<CpuRing> _rings = [];
    private readonly EpollWaiter _waiter;
    private readonly KernelMap _map;
    private int _disposed;

    /// <summary>
    /// Opens the per-CPU events and rings of <paramref name="pagesPerCpu"/> data pages (a power of two) and installs
    /// them in <paramref name="map"/>, which must stay open while the reader is used.
    /// </summary>
    /// <exception cref="ArgumentException">The map is not a perf event array, or the page count not a power of two.</exception>
    /// <exception cref="BpfSyscallException">perf_event_open, mmap or the map update failed.</exception>
    public PerfBufferReader(KernelMap map, int pagesPerCpu = 8)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.Type != MapType.PerfEventArray)
        {
            throw new ArgumentException($"map '{map.Name}' is a {map.Type} map, not a perf event array", nameof(map));
        }

        if (pagesPerCpu <= 0 || (pagesPerCpu & (pagesPerCpu - 1)) != 0)
        {
            throw new ArgumentException($"the ring size must be a power of two pages, not {pagesPerCpu}", nameof(pagesPerCpu));
        }

        _map = map;
        _waiter = new EpollWaiter();
        try
        {
            var attributes = new PerfEventAttributes
            {
                Type = (uint)PerfEventType.Software, Config = SoftwareBpfOutput, SampleType = SampleRaw, SamplePeriod = 1, WakeupEvents = 1,
            };
            int cpus = (int)Math.Min(map.MaxEntries, (uint)LinuxSystem.PossibleCpuCount);
            for (int cpu = 0; cpu < cpus; cpu++)
            {
                SafeFileHandle perfEvent;
                try
                {
                    perfEvent = PerfEvent.Open(attributes, -1, cpu);
                }
                catch (BpfSyscallException e) when (e.ErrorNumber == 19) // ENODEV: the CPU is offline
                {
                    continue;
                }

                var ring = new CpuRing(cpu, perfEvent, pagesPerCpu);
                _rings.Add(ring);
                map.Update(BitConverter.GetBytes(cpu), BitConverter.GetBytes((int)perfEvent.DangerousGetHandle()));
                PerfEvent.Enable(perfEvent);
                _waiter.Add((int)perfEvent.DangerousGetHandle(), (ulong)_rings.Count - 1);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The total of lost samples the kernel has reported so far.</summary>
    public ulong LostSamples { get; private set; }

    /// <summary>Hands every sample and loss report available now to <paramref name="onSample"/>; returns how many.</summary>
    public int Consume(Action<PerfSample> onSample)
    {
        ArgumentNullException.ThrowIfNull(onSample);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        int delivered = 0;
        foreach (var ring in _rings)
        {
            delivered += Drain(ring, onSample);
        }

        return delivered;
    }

    /// <summary>Waits up to <paramref name="timeoutMilliseconds"/> (-1: forever) for samples and delivers them; returns how many.</summary>
    public int Poll(Action<PerfSample> onSample, int timeoutMilliseconds = -1)
    {
        int now = Consume(onSample);
        if (now > 0)
        {
            return now;
        }

        _waiter.Wait(timeoutMilliseconds);
        return _disposed != 0 ? 0 : Consume(onSample);
    }

    /// <summary>The samples and loss reports as they arrive, until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async IAsyncEnumerable<PerfSample> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var registration = cancellationToken.Register(_waiter.Wake);
        var batch = new List<PerfSample>();
        while (!cancellationToken.IsCancellationRequested && _disposed == 0)
        {
            batch.Clear();
            Consume(batch.Add);
            if (batch.Count == 0)
            {
                await Task.Run(() => _waiter.Wait(-1), CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            foreach (var sample in batch)
            {
                yield return sample;
            }
        }
    }

    private int Drain(CpuRing ring, Action<PerfSample> onSample)
    {
        byte* header = (byte*)ring.Memory;
        ulong head = Volatile.Read(ref *(ulong*)(header + DataHeadOffset));
        ulong tail = *(ulong*)(header + DataTailOffset);
        int delivered = 0;
        Span<byte> recordHeader = stackalloc byte[8];
        while (tail < head)
        {
            Copy(ring, tail, recordHeader);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(recordHeader);
            int size = BinaryPrimitives.ReadUInt16LittleEndian(recordHeader[6..]);
            if (size < 8)
            {
                break; // cannot happen with a sane kernel; stop rather than loop
            }

            var record = new byte[size];
            Copy(ring, tail, record);
            if (type == RecordSample && size >= 12)
            {
                int length = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(8)), (uint)(size - 12));
                onSample(new PerfSample(ring.Cpu, record.AsSpan(12, length).ToArray(), 0));
                delivered++;
            }
            else if (type == RecordLost && size >= 24)
            {
                ulong lost = BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(16));
                LostSamples += lost;
                onSample(new PerfSample(ring.Cpu, [], lost));
                delivered++;
            }

            tail += (ulong)size;
        }

        Volatile.Write(ref *(ulong*)(header + DataTailOffset), tail);
        return delivered;
    }

    private static void Copy(CpuRing ring, ulong position, Span<byte> destination)
    {
        ulong offset = position % ring.DataSize;
        int first = (int)Math.Min((ulong)destination.Length, ring.DataSize - offset);
        new ReadOnlySpan<byte>(ring.Data + offset, first).CopyTo(destination);
        if (first < destination.Length)
        {
            new ReadOnlySpan<byte>(ring.Data, destination.Length - first).CopyTo(destination[first..]);
        }
    }

    /// <summary>Removes the events from the map, unmaps the rings and closes the events.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _waiter?.Wake();
        foreach (var ring in _rings)
        {
            if (!_map.Handle.IsClosed)
            {
                _ = _map.Delete(BitConverter.GetBytes(ring.Cpu));
            }

            ring.Dispose();
        }

        _waiter?.Dispose();
    }

    private sealed class CpuRing : IDisposable
    {
        public CpuRing(int cpu, SafeFileHandle perfEvent, int pages)
        {
            Cpu = cpu;
            PerfEvent = perfEvent;
            int page = Environment.SystemPageSize;
            Length = (nuint)(page * (pages + 1));
            Memory = Libc.MemoryMap(0, Length, Libc.ProtRead | Libc.ProtWrite, Libc.MapShared, (int)perfEvent.DangerousGetHandle(), 0);
            if (Memory == -1)
            {
                int errno = Marshal.GetLastPInvokeError();
                perfEvent.Dispose();
                throw new BpfSyscallException("mmap", errno, $"perf ring of CPU {cpu}");
            }

            byte* header = (byte*)Memory;
            ulong dataOffset = *(ulong*)(header + DataOffsetOffset);
            ulong dataSize = *(ulong*)(header + DataSizeOffset);
            Data = header + (dataOffset != 0 ? dataOffset : (ulong)page);
            DataSize = dataSize != 0 ? dataSize : (ulong)(page * pages);
        }

        public int Cpu { get; }

        public SafeFileHandle PerfEvent { get; }

        public nint Memory { get; }

        public nuint Length { get; }

        public byte* Data { get; }

        public ulong DataSize { get; }

        public void Dispose()
        {
            _ = Libc.MemoryUnmap(Memory, Length);
            PerfEvent.Dispose();
        }
    }
}
