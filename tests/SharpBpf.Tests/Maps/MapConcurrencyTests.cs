using SharpBpf.Maps;
using static SharpBpf.Tests.Maps.MapTestSupport;

namespace SharpBpf.Tests.Maps;

/// <summary>Several threads run one program against shared maps; no update may be lost.</summary>
public class MapConcurrencyTests
{
    // r1 = the thread number. Each run:
    //  1. adds 1 atomically to the shared counter (key 0 of hash map 0), creating it with BPF_NOEXIST if needed;
    //  2. reads its own key (100 + thread) of hash map 0 and writes value + 1 back with bpf_map_update_elem;
    //  3. adds 1 (plainly) to this CPU's value of per-CPU array map 1;
    //  4. adds 1 (plainly) to this CPU's value of key 0 of per-CPU hash map 2, creating it if needed.
    private const string Program = """
        r6 = r1
        *(u32 *)(r10 - 4) = 0
        r1 = map[idx:0] ll
        r2 = r10
        r2 += -4
        call 1
        if r0 != 0 goto have_counter
        *(u64 *)(r10 - 16) = 0
        r1 = map[idx:0] ll
        r2 = r10
        r2 += -4
        r3 = r10
        r3 += -16
        r4 = 1
        call 2
        r1 = map[idx:0] ll
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto fail
        have_counter:
        r1 = 1
        lock *(u64 *)(r0 + 0) += r1
        r7 = r6
        r7 += 100
        *(u32 *)(r10 - 4) = r7
        r1 = map[idx:0] ll
        r2 = r10
        r2 += -4
        call 1
        r8 = 0
        if r0 == 0 goto no_old
        r8 = *(u64 *)(r0 + 0)
        no_old:
        r8 += 1
        *(u64 *)(r10 - 16) = r8
        r1 = map[idx:0] ll
        r2 = r10
        r2 += -4
        r3 = r10
        r3 += -16
        r4 = 0
        call 2
        if r0 != 0 goto fail
        *(u32 *)(r10 - 4) = 0
        r1 = map[idx:1] ll
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto fail
        r1 = *(u64 *)(r0 + 0)
        r1 += 1
        *(u64 *)(r0 + 0) = r1
        r1 = map[idx:2] ll
        r2 = r10
        r2 += -4
        call 1
        if r0 != 0 goto have_percpu
        *(u64 *)(r10 - 16) = 0
        r1 = map[idx:2] ll
        r2 = r10
        r2 += -4
        r3 = r10
        r3 += -16
        r4 = 1
        call 2
        r1 = map[idx:2] ll
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto fail
        have_percpu:
        r1 = *(u64 *)(r0 + 0)
        r1 += 1
        *(u64 *)(r0 + 0) = r1
        r0 = 0
        exit
        fail:
        r0 = 1
        exit
        """;

    [Fact]
    public void AMillionRunsOnFourThreadsLoseNoUpdate()
    {
        const int threads = 4;
        const int perThread = 250_000;
        var set = NewSet(cpus: threads);
        var hash = set.Create(Spec(MapType.Hash, 4, 8, 16, name: "shared"));
        var perCpuArray = set.Create(Spec(MapType.PerCpuArray, 4, 8, 1, name: "pcpu_array"));
        var perCpuHash = set.Create(Spec(MapType.PerCpuHash, 4, 8, 4, name: "pcpu_hash"));
        var program = Compile(set, Program);
        var helpers = set.CreateHelperTable();

        using var stop = new CancellationTokenSource();
        using var readerStarted = new ManualResetEventSlim();
        long hostReads = 0;
        Exception? readerFailure = null;

        // A dedicated thread, not the pool: under a parallel test run the pool may not schedule it in time.
        var hostReader = new Thread(() =>
        {
            readerStarted.Set();
            try
            {
                // The host walks the map while programs update it: it must never fail or see a foreign key.
                do
                {
                    foreach (var pair in hash.Entries<uint, ulong>())
                    {
                        Assert.True(pair.Key == 0 || pair.Key is >= 100 and < 100 + threads, $"unexpected key {pair.Key}");
                        hostReads++;
                    }
                }
                while (!stop.IsCancellationRequested);
            }
            catch (Exception e)
            {
                readerFailure = e;
            }
        });
        hostReader.Start();
        readerStarted.Wait();

        var failures = new int[threads];
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var context = set.CreateContext(helpers, processorId: t);
            for (int i = 0; i < perThread; i++)
            {
                if (program.Run(context, (ulong)t) != 0)
                {
                    failures[t]++;
                }
            }
        })).ToArray();
        foreach (var worker in workers)
        {
            worker.Start();
        }

        foreach (var worker in workers)
        {
            worker.Join();
        }

        stop.Cancel();
        hostReader.Join();
        Assert.Null(readerFailure);

        Assert.Equal(new int[threads], failures);
        Assert.Equal((ulong)threads * perThread, hash.Lookup<uint, ulong>(0));
        for (uint t = 0; t < threads; t++)
        {
            Assert.Equal((ulong)perThread, hash.Lookup<uint, ulong>(100 + t));
        }

        Assert.True(perCpuArray.TryLookupPerCpu<uint, ulong>(0, out var arrayValues));
        Assert.All(arrayValues, v => Assert.Equal((ulong)perThread, v));
        Assert.True(perCpuHash.TryLookupPerCpu<uint, ulong>(0, out var hashValues));
        Assert.All(hashValues, v => Assert.Equal((ulong)perThread, v));
        Assert.Equal(1 + threads, ((HashMap)hash).Count);
        Assert.True(hostReads > 0);
    }

    [Fact]
    public async Task ConcurrentInsertsAndDeletesKeepTheHashConsistent()
    {
        var set = NewSet(cpus: 4);
        var map = (HashMap)set.Create(Spec(MapType.Hash, 8, 8, 1024));
        var tasks = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (int round = 0; round < 200; round++)
            {
                for (ulong k = 0; k < 64; k++)
                {
                    ulong key = ((ulong)t << 32) | k;
                    Assert.Equal(MapResult.Success, map.Update(key, key * 3, MapUpdateFlags.NoExist));
                }

                for (ulong k = 0; k < 64; k++)
                {
                    ulong key = ((ulong)t << 32) | k;
                    Assert.True(map.TryLookup<ulong, ulong>(key, out var value));
                    Assert.Equal(key * 3, value);
                    Assert.Equal(MapResult.Success, map.Delete(key));
                }
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        Assert.Equal(0, map.Count);
        Assert.Empty(map.Keys());
    }

    [Fact]
    public void LruStaysWithinMaxEntriesUnderConcurrentInserts()
    {
        var set = NewSet(cpus: 4);
        var map = (HashMap)set.Create(Spec(MapType.LruHash, 8, 8, 128));
        Parallel.For(0, 4, t =>
        {
            for (ulong k = 0; k < 20_000; k++)
            {
                ulong key = ((ulong)t << 32) | k;
                Assert.Equal(MapResult.Success, map.Update(key, k));
                map.LookupForProgram(BitConverter.GetBytes(key), 0);
            }
        });
        Assert.Equal(128, map.Count);
        Assert.Equal(128, map.Keys().Count());
    }

    [Fact]
    public async Task SpinLockedValuesLoseNoUpdateAndBpfFLockCopiesUnderTheLock()
    {
        var set = NewSet(cpus: 2);

        // struct { struct bpf_spin_lock lock; u32 pad; u64 counter; }
        var map = set.Create(Spec(MapType.Hash, 4, 16, 4) with { SpinLockOffset = 0 });
        var initial = new byte[16];
        initial[0] = 0xff; // a lock word in the host's buffer is never copied in
        Assert.Equal(MapResult.Success, map.Update(U32(1), initial, MapUpdateFlags.Lock));
        var program = Compile(set, """
            *(u32 *)(r10 - 4) = 1
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -4
            call 1
            if r0 == 0 goto fail
            r6 = r0
            r1 = r6
            call 93
            r1 = *(u64 *)(r6 + 8)
            r1 += 1
            *(u64 *)(r6 + 8) = r1
            r1 = r6
            call 94
            r0 = 0
            exit
            fail:
            r0 = 1
            exit
            """);
        var helpers = set.CreateHelperTable();
        var workers = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            var context = set.CreateContext(helpers, t);
            for (int i = 0; i < 20_000; i++)
            {
                Assert.Equal(0UL, program.Run(context));
            }
        })).ToArray();
        var value = new byte[16];
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(MapResult.Success, map.Lookup(U32(1), value, MapUpdateFlags.Lock));
            Assert.Equal(0u, BitConverter.ToUInt32(value, 0)); // the lock word reads as zero
        }

        await Task.WhenAll(workers);
        Assert.Equal(MapResult.Success, map.Lookup(U32(1), value, MapUpdateFlags.Lock));
        Assert.Equal(40_000UL, BitConverter.ToUInt64(value, 8));

        // A program that takes the same lock twice faults instead of hanging.
        var twice = Compile(set, """
            *(u32 *)(r10 - 4) = 1
            r1 = map[idx:0] ll
            r2 = r10
            r2 += -4
            call 1
            if r0 == 0 goto out
            r6 = r0
            r1 = r6
            call 93
            r1 = r6
            call 93
            out:
            exit
            """);
        var ex = Assert.Throws<SharpBpf.Runtime.BpfExecutionException>(() => twice.Run(set.CreateContext(helpers)));
        Assert.Equal(SharpBpf.Runtime.FaultKind.HelperError, ex.Fault.Kind);
        Assert.Equal(1, MapHelpers.ReleaseSpinLocks());
        Assert.Equal(0UL, program.Run(set.CreateContext(helpers)));
    }
}
