using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpBpf.Linux.Interop;

namespace SharpBpf.Linux.Events;

/// <summary>
/// Reads records from a BPF ring buffer map (BPF_MAP_TYPE_RINGBUF) over shared memory, as libbpf's ring_buffer does:
/// the consumer position page is mapped writable, the producer page and the data area (mapped twice in a row, so that
/// a record crossing the end reads contiguously) read-only, and waits block in epoll until the kernel signals data.
/// </summary>
/// <remarks>
/// A ring buffer never loses records silently: when it is full, the program's bpf_ringbuf_reserve/output fails and the
/// program sees it (for example the firewall counts <c>fw_events_lost</c>). One reader per map; not thread-safe, except
/// that <see cref="Dispose"/> and cancellation may come from another thread.
/// </remarks>
public sealed unsafe class RingBufferReader : IDisposable
{
    private const uint BusyBit = 1u << 31, DiscardBit = 1u << 30, HeaderSize = 8;
    private readonly KernelMap _map;
    private readonly EpollWaiter _waiter;
    private readonly nint _consumer;
    private readonly nint _producer;
    private readonly nuint _producerLength;
    private readonly ulong _mask;
    private readonly byte* _data;
    private int _disposed;

    /// <summary>Maps the ring buffer of <paramref name="map"/> (which must stay open while the reader is used).</summary>
    /// <exception cref="ArgumentException">The map is not a ring buffer.</exception>
    /// <exception cref="BpfSyscallException">mmap or epoll failed.</exception>
    public RingBufferReader(KernelMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.Type != MapType.RingBuffer)
        {
            throw new ArgumentException($"map '{map.Name}' is a {map.Type} map, not a ring buffer", nameof(map));
        }

        _map = map;
        int page = Environment.SystemPageSize;
        ulong size = map.MaxEntries;
        _mask = size - 1;
        int fd = map.Handle.Fd;
        _consumer = Libc.MemoryMap(0, (nuint)page, Libc.ProtRead | Libc.ProtWrite, Libc.MapShared, fd, 0);
        if (_consumer == -1)
        {
            throw new BpfSyscallException("mmap", Marshal.GetLastPInvokeError(), $"ring buffer '{map.Name}' consumer page");
        }

        _producerLength = (nuint)(page + (2 * (long)size));
        _producer = Libc.MemoryMap(0, _producerLength, Libc.ProtRead, Libc.MapShared, fd, page);
        if (_producer == -1)
        {
            int errno = Marshal.GetLastPInvokeError();
            _ = Libc.MemoryUnmap(_consumer, (nuint)page);
            throw new BpfSyscallException("mmap", errno, $"ring buffer '{map.Name}' producer pages");
        }

        _data = (byte*)_producer + page;
        try
        {
            _waiter = new EpollWaiter();
            _waiter.Add(fd, 0);
        }
        catch
        {
            Unmap();
            throw;
        }
    }

    /// <summary>How many records this reader has delivered.</summary>
    public long RecordsRead { get; private set; }

    /// <summary>Hands every record available now to <paramref name="onRecord"/> (the span is valid only during the call); returns how many.</summary>
    public int Consume(RecordHandler onRecord)
    {
        ArgumentNullException.ThrowIfNull(onRecord);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        int delivered = 0;
        ulong* consumerPosition = (ulong*)_consumer;
        ulong* producerPosition = (ulong*)_producer;
        ulong consumer = Volatile.Read(ref *consumerPosition);
        while (true)
        {
            ulong producer = Volatile.Read(ref *producerPosition);
            if (consumer >= producer)
            {
                return delivered;
            }

            while (consumer < producer)
            {
                uint header = Volatile.Read(ref *(uint*)(_data + (consumer & _mask)));
                if ((header & BusyBit) != 0)
                {
                    Volatile.Write(ref *consumerPosition, consumer);
                    return delivered; // the producer has reserved but not yet committed this record
                }

                uint length = header & ~(BusyBit | DiscardBit);
                ulong next = consumer + ((length + HeaderSize + 7) & ~7u);
                if ((header & DiscardBit) == 0)
                {
                    onRecord(new ReadOnlySpan<byte>(_data + (consumer & _mask) + HeaderSize, (int)length));
                    delivered++;
                    RecordsRead++;
                }

                consumer = next;
                Volatile.Write(ref *consumerPosition, consumer);
            }
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMilliseconds"/> (-1: forever) for records and delivers them; returns how many
    /// (0 on timeout or when woken by cancellation/dispose).
    /// </summary>
    public int Poll(RecordHandler onRecord, int timeoutMilliseconds = -1)
    {
        int now = Consume(onRecord);
        if (now > 0)
        {
            return now;
        }

        _waiter.Wait(timeoutMilliseconds);
        return _disposed != 0 ? 0 : Consume(onRecord);
    }

    /// <summary>
    /// The records as they arrive, each copied into its own array, until <paramref name="cancellationToken"/> is
    /// cancelled (which ends the enumeration quietly). Waiting happens in epoll on a pool thread: no busy loop.
    /// </summary>
    public async IAsyncEnumerable<byte[]> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var registration = cancellationToken.Register(_waiter.Wake);
        var batch = new List<byte[]>();
        while (!cancellationToken.IsCancellationRequested && _disposed == 0)
        {
            batch.Clear();
            Consume(record => batch.Add(record.ToArray()));
            if (batch.Count == 0)
            {
                await Task.Run(() => _waiter.Wait(-1), CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            foreach (var record in batch)
            {
                yield return record;
            }
        }
    }

    /// <summary>Unmaps the buffer and wakes a pending wait.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _waiter.Wake();
        _waiter.Dispose();
        Unmap();
        GC.KeepAlive(_map);
    }

    private void Unmap()
    {
        _ = Libc.MemoryUnmap(_producer, _producerLength);
        _ = Libc.MemoryUnmap(_consumer, (nuint)Environment.SystemPageSize);
    }
}

/// <summary>Receives one record; the span is valid only during the call.</summary>
/// <param name="record">The record's bytes.</param>
public delegate void RecordHandler(ReadOnlySpan<byte> record);
