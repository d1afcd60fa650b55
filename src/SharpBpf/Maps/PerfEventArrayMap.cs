using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace SharpBpf.Maps;

/// <summary>
/// BPF_MAP_TYPE_PERF_EVENT_ARRAY: one sample buffer per CPU, installed by a <see cref="PerfEventReader"/> at the
/// index of its CPU (as user space stores one perf event fd per CPU). Programs write with bpf_perf_event_output.
/// </summary>
public sealed class PerfEventArrayMap : DescriptorArrayMap<PerfEventBuffer>
{
    /// <summary>BPF_F_CURRENT_CPU: the index meaning "this CPU's buffer".</summary>
    public const ulong CurrentCpu = 0xffff_ffff;

    internal PerfEventArrayMap(MapSet owner, MapSpec spec) : base(owner, spec)
    {
    }

    /// <summary>
    /// bpf_perf_event_output: writes <paramref name="data"/> as a raw sample to the buffer at index
    /// <c>flags &amp; BPF_F_INDEX_MASK</c> (or <paramref name="cpu"/>'s with BPF_F_CURRENT_CPU). -EINVAL for other flag
    /// bits, -E2BIG for an index past max_entries, -ENOENT for an empty index, -EOPNOTSUPP when the buffer belongs to
    /// another CPU, -ENOSPC (and one more lost sample) when the buffer is full.
    /// </summary>
    public MapResult Output(int cpu, ulong flags, ReadOnlySpan<byte> data)
    {
        if ((flags & ~CurrentCpu) != 0)
        {
            return MapResult.Invalid;
        }

        ulong index = flags == CurrentCpu ? (ulong)cpu : flags;
        if (index >= (ulong)MaxEntries)
        {
            return MapResult.TooBig;
        }

        var buffer = Get((long)index);
        if (buffer is null)
        {
            return MapResult.NotFound;
        }

        return buffer.Cpu != cpu ? MapResult.OperationNotSupported : buffer.Write(data);
    }

    internal void Install(int index, PerfEventBuffer buffer) => Set((uint)index, -1 - index, buffer);

    internal void Uninstall(int index, PerfEventBuffer buffer) => ClearIf(index, buffer);

    private protected override MapResult LookupCore(ReadOnlySpan<byte> key, Span<byte> value, MapUpdateFlags flags) => MapResult.NotSupported;

    private protected override MapResult Resolve(int descriptor, out PerfEventBuffer? item)
    {
        // Perf event descriptors come from perf_event_open, which the VM does not have: use a PerfEventReader.
        item = null;
        return MapResult.BadDescriptor;
    }
}

/// <summary>One record read from a perf event array: a raw sample, or a count of samples lost for lack of room.</summary>
/// <param name="Cpu">The CPU whose buffer held the record.</param>
/// <param name="RawSample">The sample as perf delivers it (padded so that its 4-byte size field plus data is a multiple of 8), or empty for a lost record.</param>
/// <param name="LostSamples">For a lost record: how many samples were dropped; otherwise 0.</param>
public sealed record PerfEventRecord(int Cpu, byte[] RawSample, ulong LostSamples);

/// <summary>The sample buffer of one CPU: a bounded FIFO of records, accounted in bytes as perf's ring.</summary>
public sealed class PerfEventBuffer
{
    private readonly Lock _lock = new();
    private readonly Queue<PerfEventRecord> _records = new();
    private readonly Action _signal;
    private long _used;
    private ulong _pendingLost;

    internal PerfEventBuffer(int cpu, int capacity, Action signal)
    {
        Cpu = cpu;
        Capacity = capacity;
        _signal = signal;
    }

    /// <summary>The CPU the buffer belongs to.</summary>
    public int Cpu { get; }

    /// <summary>The size of the ring in bytes.</summary>
    public int Capacity { get; }

    /// <summary>The total number of samples lost so far.</summary>
    public ulong TotalLost { get; private set; }

    internal MapResult Write(ReadOnlySpan<byte> data)
    {
        // PERF_RECORD_SAMPLE: 8-byte header, then u32 size and the raw data, padded to 8 bytes.
        int raw = ((data.Length + 4 + 7) & ~7) - 4;
        long size = 8 + 4 + (long)raw;
        lock (_lock)
        {
            long needed = size + (_pendingLost > 0 ? LostRecordSize : 0);
            if (_used + needed > Capacity)
            {
                _pendingLost++;
                TotalLost++;
                return MapResult.NoSpace;
            }

            if (_pendingLost > 0)
            {
                _records.Enqueue(new PerfEventRecord(Cpu, [], _pendingLost));
                _used += LostRecordSize;
                _pendingLost = 0;
            }

            var sample = new byte[raw];
            data.CopyTo(sample);
            _records.Enqueue(new PerfEventRecord(Cpu, sample, 0));
            _used += size;
        }

        _signal();
        return MapResult.Success;
    }

    internal bool TryTake([NotNullWhen(true)] out PerfEventRecord? record)
    {
        lock (_lock)
        {
            if (_records.TryDequeue(out record))
            {
                _used -= record.LostSamples > 0 ? LostRecordSize : 8 + 4 + record.RawSample.Length;
                return true;
            }

            if (_pendingLost > 0)
            {
                record = new PerfEventRecord(Cpu, [], _pendingLost);
                _pendingLost = 0;
                return true;
            }

            return false;
        }
    }

    // PERF_RECORD_LOST: header, id and count.
    private const int LostRecordSize = 8 + 8 + 8;
}

/// <summary>
/// Reads a perf event array: installs one buffer per CPU (indexes 0 to min(max_entries, CPUs) - 1) and hands out
/// their samples and lost counts. Dispose removes the buffers.
/// </summary>
public sealed class PerfEventReader : IDisposable
{
    private readonly PerfEventArrayMap _map;
    private readonly PerfEventBuffer[] _buffers;
    private readonly SemaphoreSlim _ready = new(0);
    private int _nextCpu;
    private bool _disposed;

    /// <summary>Installs the buffers.</summary>
    /// <param name="map">The perf event array.</param>
    /// <param name="perCpuBufferBytes">The size of each CPU's ring, as user space gives perf_event_open's mmap.</param>
    public PerfEventReader(PerfEventArrayMap map, int perCpuBufferBytes = 64 * 1024)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentOutOfRangeException.ThrowIfLessThan(perCpuBufferBytes, 64);
        _map = map;
        int count = Math.Min(map.MaxEntries, map.PossibleCpus);
        _buffers = new PerfEventBuffer[count];
        for (int cpu = 0; cpu < count; cpu++)
        {
            _buffers[cpu] = new PerfEventBuffer(cpu, perCpuBufferBytes, Signal);
            map.Install(cpu, _buffers[cpu]);
        }
    }

    /// <summary>The per-CPU buffers.</summary>
    public IReadOnlyList<PerfEventBuffer> Buffers => _buffers;

    /// <summary>Takes the next record of any CPU (CPUs in turn); false when every buffer is empty.</summary>
    public bool TryRead([NotNullWhen(true)] out PerfEventRecord? record)
    {
        for (int i = 0; i < _buffers.Length; i++)
        {
            int cpu = (_nextCpu + i) % _buffers.Length;
            if (_buffers[cpu].TryTake(out record))
            {
                _nextCpu = cpu;
                return true;
            }
        }

        record = null;
        return false;
    }

    /// <summary>Yields records as programs write them, until cancelled.</summary>
    public async IAsyncEnumerable<PerfEventRecord> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            while (TryRead(out var record))
            {
                yield return record;
            }

            await _ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        for (int cpu = 0; cpu < _buffers.Length; cpu++)
        {
            _map.Uninstall(cpu, _buffers[cpu]);
        }

        _ready.Dispose();
    }

    private void Signal()
    {
        if (!_disposed && _ready.CurrentCount == 0)
        {
            try
            {
                _ready.Release();
            }
            catch (ObjectDisposedException)
            {
                // The reader went away while a program wrote.
            }
        }
    }
}
