using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using SharpBpf.Runtime;

namespace SharpBpf.Maps;

/// <summary>
/// BPF_MAP_TYPE_RINGBUF: a multi-producer, single-consumer ring of variable-size records with the kernel's
/// layout: each record is an 8-byte header (<c>u32 len</c> with the BUSY and DISCARD bits, <c>u32 pg_off</c>)
/// followed by the data, padded to 8 bytes; positions grow without bound and are masked into the ring.
/// </summary>
/// <remarks>
/// The data region programs write through (<see cref="DataRegion"/>) is twice the ring size: as the kernel maps
/// the data pages twice, a record that wraps past the end continues contiguously in the second half, and the
/// reader reads it from there. Records are committed out of order but consumed in order: the reader stops at the
/// first record still BUSY. The reader trusts its own bookkeeping, not headers in program-writable memory.
/// </remarks>
public sealed class RingBufferMap : BpfMap
{
    /// <summary>The size of a record header.</summary>
    public const int HeaderSize = 8;

    /// <summary>BPF_RINGBUF_BUSY_BIT: the record is reserved but not yet submitted or discarded.</summary>
    public const uint BusyBit = 1u << 31;

    /// <summary>BPF_RINGBUF_DISCARD_BIT: the record was discarded; the reader skips it.</summary>
    public const uint DiscardBit = 1u << 30;

    /// <summary>BPF_RB_NO_WAKEUP.</summary>
    public const ulong NoWakeup = 1;

    /// <summary>BPF_RB_FORCE_WAKEUP.</summary>
    public const ulong ForceWakeup = 2;

    private const ulong MaxRecordSize = uint.MaxValue / 4;

    private readonly long _mask;
    private readonly Lock _producerLock = new();
    private readonly Lock _consumerLock = new();
    private readonly ConcurrentQueue<Record> _records = new();
    private readonly Dictionary<ulong, Record> _outstanding = [];
    private TaskCompletionSource _dataReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _producer;
    private long _consumer;

    internal RingBufferMap(MapSet owner, MapSpec spec) : base(owner, spec)
    {
        string name = string.IsNullOrEmpty(spec.Name) ? "ringbuf" : spec.Name;
        owner.Reserve(2L * spec.MaxEntries, name);
        _mask = spec.MaxEntries - 1;
        DataRegion = MemoryRegion.Allocate(2 * spec.MaxEntries, MemoryAccess.ReadWrite, MemoryRegionKind.HelperMemory, name + " (ring data)");
        owner.Memory.Add(DataRegion);
    }

    /// <summary>The memory records are reserved in (ring size, plus its mirror for records that wrap).</summary>
    public MemoryRegion DataRegion { get; }

    /// <summary>The ring's data size (max_entries).</summary>
    public int Size => MaxEntries;

    /// <summary>The producer position (BPF_RB_PROD_POS).</summary>
    public long ProducerPosition => Volatile.Read(ref _producer);

    /// <summary>The consumer position (BPF_RB_CONS_POS).</summary>
    public long ConsumerPosition => Volatile.Read(ref _consumer);

    /// <summary>Bytes reserved but not yet consumed (BPF_RB_AVAIL_DATA).</summary>
    public long AvailableData => ProducerPosition - ConsumerPosition;

    /// <summary>
    /// bpf_ringbuf_reserve: reserves a record of <paramref name="size"/> bytes and returns the address of its data,
    /// or 0 when flags are given, the record is too large or the ring lacks room.
    /// </summary>
    public ulong Reserve(ulong size, ulong flags)
    {
        if (flags != 0 || size > MaxRecordSize)
        {
            return 0;
        }

        long length = (long)((size + HeaderSize + 7) & ~7UL);
        if (length > Size)
        {
            return 0;
        }

        lock (_producerLock)
        {
            long consumer = Volatile.Read(ref _consumer);
            long producer = _producer;
            long next = producer + length;
            if (next - consumer > _mask)
            {
                return 0;
            }

            ulong header = DataRegion.Start + (ulong)(producer & _mask);
            WriteHeader(header, (uint)size | BusyBit, (uint)((producer & _mask) >> 12));
            var record = new Record(producer, (int)size, header + HeaderSize);
            _records.Enqueue(record);
            _outstanding[record.DataAddress] = record;
            Volatile.Write(ref _producer, next);
            return record.DataAddress;
        }
    }

    /// <summary>
    /// bpf_ringbuf_submit / bpf_ringbuf_discard: commits the record whose data starts at <paramref name="address"/>;
    /// false when no record reserved there is outstanding.
    /// </summary>
    public bool Commit(ulong address, ulong flags, bool discard)
    {
        Record? record;
        lock (_producerLock)
        {
            if (!_outstanding.Remove(address, out record))
            {
                return false;
            }
        }

        WriteHeader(address - HeaderSize, (uint)record.Length | (discard ? DiscardBit : 0), (uint)((record.Position & _mask) >> 12));
        Volatile.Write(ref record.State, discard ? Record.Discarded : Record.Committed);
        if ((flags & NoWakeup) == 0)
        {
            Wake();
        }

        return true;
    }

    /// <summary>bpf_ringbuf_output: copies <paramref name="data"/> into a new record (-EAGAIN without room, -EINVAL for unknown flags).</summary>
    public unsafe MapResult Output(ReadOnlySpan<byte> data, ulong flags)
    {
        if ((flags & ~(NoWakeup | ForceWakeup)) != 0)
        {
            return MapResult.Invalid;
        }

        ulong address = Reserve((ulong)data.Length, 0);
        if (address == 0)
        {
            return MapResult.TryAgain;
        }

        data.CopyTo(new Span<byte>((void*)address, data.Length));
        Commit(address, flags, discard: false);
        return MapResult.Success;
    }

    /// <summary>bpf_ringbuf_query: BPF_RB_AVAIL_DATA (0), BPF_RB_RING_SIZE (1), BPF_RB_CONS_POS (2), BPF_RB_PROD_POS (3); 0 otherwise.</summary>
    public ulong Query(ulong flags) => flags switch
    {
        0 => (ulong)AvailableData,
        1 => (ulong)Size,
        2 => (ulong)ConsumerPosition,
        3 => (ulong)ProducerPosition,
        _ => 0,
    };

    /// <summary>Takes the next committed record in ring order, skipping discarded ones; false when none is ready.</summary>
    internal unsafe bool TryConsume([NotNullWhen(true)] out byte[]? data)
    {
        lock (_consumerLock)
        {
            while (_records.TryPeek(out var record))
            {
                int state = Volatile.Read(ref record.State);
                if (state == Record.Busy)
                {
                    break;
                }

                data = state == Record.Committed ? new ReadOnlySpan<byte>((void*)record.DataAddress, record.Length).ToArray() : null;
                _records.TryDequeue(out _);
                Volatile.Write(ref _consumer, record.Position + ((record.Length + HeaderSize + 7) & ~7L));
                if (data is not null)
                {
                    return true;
                }
            }

            data = null;
            return false;
        }
    }

    /// <summary>A task that completes at the next wakeup; take it before checking for data so that no wakeup is missed.</summary>
    internal Task NextWakeup => Volatile.Read(ref _dataReady).Task;

    private void Wake() =>
        Interlocked.Exchange(ref _dataReady, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private static unsafe void WriteHeader(ulong address, uint length, uint pageOffset)
    {
        var header = new Span<byte>((void*)address, HeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], pageOffset);
        Volatile.Write(ref *(uint*)address, length);
    }

    private sealed class Record(long position, int length, ulong dataAddress)
    {
        public const int Busy = 0;
        public const int Committed = 1;
        public const int Discarded = 2;

        public int State;

        public long Position { get; } = position;

        public int Length { get; } = length;

        public ulong DataAddress { get; } = dataAddress;
    }
}

/// <summary>Consumes a ring buffer's records in order (the user-space side of BPF_MAP_TYPE_RINGBUF).</summary>
public sealed class RingBufferReader
{
    private readonly RingBufferMap _ring;

    /// <summary>Creates a reader; readers of one ring take turns, each record goes to one of them.</summary>
    public RingBufferReader(RingBufferMap ring)
    {
        ArgumentNullException.ThrowIfNull(ring);
        _ring = ring;
    }

    /// <summary>Bytes not yet consumed (including records still being written).</summary>
    public long AvailableBytes => _ring.AvailableData;

    /// <summary>Takes the next record; false when none is ready (empty, or the oldest record is still reserved).</summary>
    public bool TryRead([NotNullWhen(true)] out byte[]? record) => _ring.TryConsume(out record);

    /// <summary>Yields records as programs submit them, until cancelled (submits with BPF_RB_NO_WAKEUP do not wake it).</summary>
    public async IAsyncEnumerable<byte[]> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var wakeup = _ring.NextWakeup;
            while (TryRead(out var record))
            {
                yield return record;
            }

            await wakeup.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
