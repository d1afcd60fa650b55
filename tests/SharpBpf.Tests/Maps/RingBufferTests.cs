using SharpBpf.Maps;
using static SharpBpf.Tests.Maps.MapTestSupport;

namespace SharpBpf.Tests.Maps;

public class RingBufferTests
{
    private static unsafe void Write(ulong address, ReadOnlySpan<byte> data) => data.CopyTo(new Span<byte>((void*)address, data.Length));

    private static unsafe uint HeaderLength(ulong dataAddress) => *(uint*)(dataAddress - 8);

    [Fact]
    public void RecordsAreReadInOrderAndDiscardedOnesSkipped()
    {
        var set = NewSet();
        var ring = (RingBufferMap)set.Create(Spec(MapType.RingBuffer, 0, 0, 4096, name: "events"));
        var reader = new RingBufferReader(ring);
        Assert.False(reader.TryRead(out _));

        ulong a = ring.Reserve(5, 0);
        ulong b = ring.Reserve(3, 0);
        ulong c = ring.Reserve(16, 0);
        Assert.Equal(a + 16, b); // 8-byte header + 5 bytes, rounded to 8
        Assert.Equal(5u | RingBufferMap.BusyBit, HeaderLength(a));
        Assert.Equal(16L + 16 + 24, ring.ProducerPosition);
        Write(a, "hello"u8);
        Write(b, "abc"u8);
        Write(c, new byte[16]);

        // The second record is submitted first: nothing is readable while the first is busy.
        Assert.True(ring.Commit(b, 0, discard: false));
        Assert.False(reader.TryRead(out _));
        Assert.True(ring.Commit(c, 0, discard: true));
        Assert.Equal(16u | RingBufferMap.DiscardBit, HeaderLength(c));
        Assert.True(ring.Commit(a, 0, discard: false));
        Assert.Equal(5u, HeaderLength(a));
        Assert.False(ring.Commit(a, 0, discard: false)); // already committed

        Assert.True(reader.TryRead(out var first));
        Assert.Equal("hello"u8.ToArray(), first);
        Assert.True(reader.TryRead(out var second));
        Assert.Equal("abc"u8.ToArray(), second);
        Assert.False(reader.TryRead(out _));
        Assert.Equal(ring.ProducerPosition, ring.ConsumerPosition);
    }

    [Fact]
    public void ReserveFailsWithoutRoomAndRecordsWrapAround()
    {
        var set = NewSet();
        var ring = (RingBufferMap)set.Create(Spec(MapType.RingBuffer, 0, 0, 4096));
        var reader = new RingBufferReader(ring);
        Assert.Equal(0UL, ring.Reserve(4096, 0)); // larger than the ring with its header
        Assert.Equal(0UL, ring.Reserve(8, 1)); // flags must be 0

        // 3000 bytes used; a 2000-byte record does not fit until the first is consumed.
        ulong first = ring.Reserve(3000 - 8, 0);
        Assert.NotEqual(0UL, first);
        Assert.Equal(0UL, ring.Reserve(2000, 0));
        Assert.Equal(MapResult.TryAgain, ring.Output(new byte[2000], 0));
        ring.Commit(first, 0, discard: false);
        Assert.True(reader.TryRead(out var consumed));
        Assert.Equal(2992, consumed.Length);

        // Now the record wraps: it starts at 3000 and continues past the end of the 4096-byte ring.
        var payload = Enumerable.Range(0, 2000).Select(i => (byte)i).ToArray();
        Assert.Equal(MapResult.Success, ring.Output(payload, 0));
        Assert.True(reader.TryRead(out var wrapped));
        Assert.Equal(payload, wrapped);
        Assert.Equal(3000L + 2008, ring.ConsumerPosition);

        // Positions keep growing and records keep flowing after the wrap.
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(MapResult.Success, ring.Output(BitConverter.GetBytes(i), 0));
            Assert.True(reader.TryRead(out var record));
            Assert.Equal(i, BitConverter.ToInt32(record));
        }

        Assert.Equal(4096UL, ring.Query(1));
        Assert.Equal(0UL, ring.Query(0));
        Assert.Equal((ulong)ring.ProducerPosition, ring.Query(3));
        Assert.Equal(MapResult.Invalid, ring.Output([1], 4));
    }

    [Fact]
    public async Task ReadAllAsyncYieldsRecordsFromProgramsAsTheyAreSubmitted()
    {
        var set = NewSet();
        var ring = (RingBufferMap)set.Create(Spec(MapType.RingBuffer, 0, 0, 8192, name: "rb"));
        var reader = new RingBufferReader(ring);
        var program = Compile(set, """
            r6 = r1
            r1 = map[idx:0] ll
            r2 = 8
            r3 = 0
            call 131
            if r0 == 0 goto fail
            *(u64 *)(r0 + 0) = r6
            r1 = r0
            r2 = 0
            call 132
            r0 = 0
            exit
            fail:
            r0 = 1
            exit
            """);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var received = new List<ulong>();
        var consumer = Task.Run(async () =>
        {
            await foreach (var record in reader.ReadAllAsync(cts.Token))
            {
                received.Add(BitConverter.ToUInt64(record));
                if (received.Count == 100)
                {
                    break;
                }
            }
        });

        var context = set.CreateContext(set.CreateHelperTable());
        for (ulong i = 0; i < 100; i++)
        {
            while (program.Run(context, i) != 0)
            {
                await Task.Yield(); // full: wait for the reader
            }
        }

        await consumer;
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (ulong)i).ToArray(), received);
    }

    [Fact]
    public void HelpersReserveInsideTheRegisteredDataRegionAndFaultOnBadSubmits()
    {
        var set = NewSet();
        var ring = (RingBufferMap)set.Create(Spec(MapType.RingBuffer, 0, 0, 4096));
        var reader = new RingBufferReader(ring);

        // output + query from a program: r0 = available bytes after one 12-byte output (16 + 8 header = 24).
        ulong available = Run(set, """
            *(u64 *)(r10 - 16) = 1
            *(u32 *)(r10 - 8) = 2
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -16
            r3 = 12
            r4 = 0
            call 130
            if r0 != 0 goto out
            r1 = map[idx:0] ll
            r2 = 0
            call 134
            out:
            exit
            """);
        Assert.Equal(24UL, available);
        Assert.True(reader.TryRead(out var record));
        Assert.Equal(12, record.Length);
        Assert.Equal(2u, BitConverter.ToUInt32(record, 8));

        // reserve then discard: nothing to read.
        Assert.Equal(0UL, Run(set, """
            r1 = map[idx:0] ll
            r2 = 32
            r3 = 0
            call 131
            r1 = r0
            r2 = 0
            call 133
            r0 = 0
            exit
            """));
        Assert.False(reader.TryRead(out _));

        var ex = Assert.Throws<SharpBpf.Runtime.BpfExecutionException>(() => Run(set, """
            r1 = r10
            r1 += -8
            r2 = 0
            call 132
            exit
            """));
        Assert.Equal(SharpBpf.Runtime.FaultKind.HelperError, ex.Fault.Kind);
    }
}
