using System.Buffers.Binary;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Helpers;

namespace SharpBpf.Maps;

/// <summary>
/// The kernel's map helpers as <see cref="BpfHelper"/>s, with their kernel ids (<c>__BPF_FUNC_MAPPER</c>). Every
/// memory argument is read or written through <see cref="BpfExecutionContext.GetSpan"/>, so a bad pointer is a
/// clean fault; so is a map argument that is not a handle of the set (the kernel's verifier would have refused it).
/// </summary>
public static class MapHelpers
{
    /// <summary>bpf_map_lookup_elem(map, key): the value's address, or 0.</summary>
    public const int MapLookupElem = 1;

    /// <summary>bpf_map_update_elem(map, key, value, flags).</summary>
    public const int MapUpdateElem = 2;

    /// <summary>bpf_map_delete_elem(map, key).</summary>
    public const int MapDeleteElem = 3;

    /// <summary>bpf_tail_call(ctx, prog_array, index): continues with the program in the slot (see <see cref="BpfExecutionContext.MaxTailCalls"/>).</summary>
    public const int TailCall = 12;

    /// <summary>bpf_perf_event_output(ctx, map, flags, data, size).</summary>
    public const int PerfEventOutput = 25;

    /// <summary>bpf_map_push_elem(map, value, flags).</summary>
    public const int MapPushElem = 87;

    /// <summary>bpf_map_pop_elem(map, value).</summary>
    public const int MapPopElem = 88;

    /// <summary>bpf_map_peek_elem(map, value).</summary>
    public const int MapPeekElem = 89;

    /// <summary>bpf_spin_lock(lock).</summary>
    public const int SpinLock = 93;

    /// <summary>bpf_spin_unlock(lock).</summary>
    public const int SpinUnlock = 94;

    /// <summary>bpf_ringbuf_output(ringbuf, data, size, flags).</summary>
    public const int RingbufOutput = 130;

    /// <summary>bpf_ringbuf_reserve(ringbuf, size, flags): the record's address, or 0.</summary>
    public const int RingbufReserve = 131;

    /// <summary>bpf_ringbuf_submit(data, flags).</summary>
    public const int RingbufSubmit = 132;

    /// <summary>bpf_ringbuf_discard(data, flags).</summary>
    public const int RingbufDiscard = 133;

    /// <summary>bpf_ringbuf_query(ringbuf, flags).</summary>
    public const int RingbufQuery = 134;

    /// <summary>bpf_for_each_map_elem(map, callback, callback_ctx, flags): the number of elements visited.</summary>
    public const int ForEachMapElem = 164;

    /// <summary>bpf_map_lookup_percpu_elem(map, key, cpu): the value's address on that CPU, or 0.</summary>
    public const int MapLookupPercpuElem = 195;

    // A spin lock a program holds this long is taken to be leaked or deadlocked.
    private const long SpinLockGiveUpIterations = 50_000_000;

    [ThreadStatic]
    private static HashSet<ulong>? t_heldLocks;

    /// <summary>Registers the map helpers for the maps of <paramref name="maps"/>; returns the table.</summary>
    public static HelperTable Register(HelperTable table, MapSet maps)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(maps);

        table.Register(MapLookupElem, "bpf_map_lookup_elem", (ctx, r1, r2, _, _, _) =>
        {
            var map = Map(ctx, maps, r1);
            return map.LookupForProgram(ctx.GetSpan(r2, map.KeySize, MemoryAccess.Read), Cpu(ctx, map));
        });

        table.Register(MapUpdateElem, "bpf_map_update_elem", (ctx, r1, r2, r3, r4, _) =>
        {
            var map = Map(ctx, maps, r1);
            if ((map.Flags & MapFlags.ReadOnlyProgram) != 0)
            {
                return MapResult.NotPermitted.ToHelperReturn();
            }

            var key = ctx.GetSpan(r2, map.KeySize, MemoryAccess.Read);
            var value = ctx.GetSpan(r3, map.ValueSize, MemoryAccess.Read);
            return map.UpdateFromProgram(key, value, (MapUpdateFlags)r4, Cpu(ctx, map)).ToHelperReturn();
        });

        table.Register(MapDeleteElem, "bpf_map_delete_elem", (ctx, r1, r2, _, _, _) =>
        {
            var map = Map(ctx, maps, r1);
            if ((map.Flags & MapFlags.ReadOnlyProgram) != 0)
            {
                return MapResult.NotPermitted.ToHelperReturn();
            }

            return map.DeleteFromProgram(ctx.GetSpan(r2, map.KeySize, MemoryAccess.Read)).ToHelperReturn();
        });

        table.Register(MapPushElem, "bpf_map_push_elem", (ctx, r1, r2, r3, _, _) =>
        {
            var map = Map(ctx, maps, r1);
            return map.PushFromProgram(ctx.GetSpan(r2, map.ValueSize, MemoryAccess.Read), (MapUpdateFlags)r3).ToHelperReturn();
        });

        table.Register(MapPopElem, "bpf_map_pop_elem", (ctx, r1, r2, _, _, _) =>
        {
            var map = Map(ctx, maps, r1);
            return map.PopFromProgram(ctx.GetSpan(r2, map.ValueSize, MemoryAccess.Write)).ToHelperReturn();
        });

        table.Register(MapPeekElem, "bpf_map_peek_elem", (ctx, r1, r2, _, _, _) =>
        {
            var map = Map(ctx, maps, r1);
            var access = map is BloomFilterMap ? MemoryAccess.Read : MemoryAccess.Write;
            return map.PeekFromProgram(ctx.GetSpan(r2, map.ValueSize, access)).ToHelperReturn();
        });

        table.Register(MapLookupPercpuElem, "bpf_map_lookup_percpu_elem", (ctx, r1, r2, r3, _, _) =>
        {
            var map = Map(ctx, maps, r1);
            var key = ctx.GetSpan(r2, map.KeySize, MemoryAccess.Read);
            return map.IsPerCpu && r3 < (ulong)map.PossibleCpus ? map.LookupForProgram(key, (int)r3) : 0;
        });

        table.Register(PerfEventOutput, "bpf_perf_event_output", (ctx, _, r2, r3, r4, r5) =>
        {
            var map = Map(ctx, maps, r2) as PerfEventArrayMap
                ?? throw Fault(ctx, $"bpf_perf_event_output: r2 = 0x{r2:x} is not a perf event array");
            if (r5 > int.MaxValue)
            {
                return MapResult.Invalid.ToHelperReturn();
            }

            return map.Output(ctx.ProcessorId, r3, ctx.GetSpan(r4, (int)r5, MemoryAccess.Read)).ToHelperReturn();
        });

        table.Register(RingbufOutput, "bpf_ringbuf_output", (ctx, r1, r2, r3, r4, _) =>
        {
            var ring = Ring(ctx, maps, r1, "bpf_ringbuf_output");
            if (r3 > int.MaxValue)
            {
                return MapResult.TryAgain.ToHelperReturn();
            }

            return ring.Output(ctx.GetSpan(r2, (int)r3, MemoryAccess.Read), r4).ToHelperReturn();
        });

        table.Register(RingbufReserve, "bpf_ringbuf_reserve", (ctx, r1, r2, r3, _, _) =>
            Ring(ctx, maps, r1, "bpf_ringbuf_reserve").Reserve(r2, r3));

        table.Register(RingbufSubmit, "bpf_ringbuf_submit", (ctx, r1, r2, _, _, _) => Commit(ctx, maps, r1, r2, discard: false));

        table.Register(RingbufDiscard, "bpf_ringbuf_discard", (ctx, r1, r2, _, _, _) => Commit(ctx, maps, r1, r2, discard: true));

        table.Register(RingbufQuery, "bpf_ringbuf_query", (ctx, r1, r2, _, _, _) =>
            Ring(ctx, maps, r1, "bpf_ringbuf_query").Query(r2));

        table.Register(TailCall, "bpf_tail_call", (ctx, _, r2, r3, _, _) =>
        {
            var array = Map(ctx, maps, r2) as ProgramArrayMap
                ?? throw Fault(ctx, $"bpf_tail_call: r2 = 0x{r2:x} is not a program array");

            // The kernel's order: the index (a u32) against max_entries, then the count, then the slot; any failure
            // lets the program continue after the call.
            uint index = (uint)r3;
            var target = index < (uint)array.MaxEntries && ctx.TryCountTailCall() ? array.Get(index) : null;
            ctx.RequestTailCall(target);
            return 0;
        });

        table.Register(ForEachMapElem, "bpf_for_each_map_elem", (ctx, r1, r2, r3, r4, _) =>
        {
            var map = Map(ctx, maps, r1);
            return map switch
            {
                ArrayMap array => r4 != 0 ? unchecked((ulong)Errno.EINVAL) : ForEachArrayElement(ctx, array, r2, r3),
                HashMap hash when map.Type is MapType.Hash or MapType.PerCpuHash or MapType.LruHash or MapType.LruPerCpuHash =>
                    r4 != 0 ? unchecked((ulong)Errno.EINVAL) : ForEachHashElement(ctx, hash, r2, r3),
                _ => throw Fault(ctx, $"bpf_for_each_map_elem: map '{map.Name}' ({map.Type}) cannot be iterated (arrays and hashes only)"),
            };
        });

        table.Register(SpinLock, "bpf_spin_lock", (ctx, r1, _, _, _, _) =>
        {
            ref int word = ref LockWord(ctx, r1, "bpf_spin_lock");
            var held = t_heldLocks ??= [];
            if (!held.Add(r1))
            {
                throw Fault(ctx, $"bpf_spin_lock: the lock at 0x{r1:x} is already held by this program (deadlock)");
            }

            var spin = default(SpinWait);
            for (long i = 0; Interlocked.CompareExchange(ref word, 1, 0) != 0; i++)
            {
                if (i == SpinLockGiveUpIterations)
                {
                    held.Remove(r1);
                    throw Fault(ctx, $"bpf_spin_lock: the lock at 0x{r1:x} was not released (leaked by another run?)");
                }

                spin.SpinOnce(sleep1Threshold: -1);
            }

            return 0;
        });

        table.Register(SpinUnlock, "bpf_spin_unlock", (ctx, r1, _, _, _, _) =>
        {
            ref int word = ref LockWord(ctx, r1, "bpf_spin_unlock");
            if (t_heldLocks is null || !t_heldLocks.Remove(r1))
            {
                throw Fault(ctx, $"bpf_spin_unlock: the lock at 0x{r1:x} is not held by this program");
            }

            SpinLock32.Release(ref word);
            return 0;
        });

        return table;
    }

    /// <summary>
    /// Releases every bpf_spin_lock the current thread's programs still hold (after a run that faulted between
    /// bpf_spin_lock and bpf_spin_unlock, which the kernel's verifier would have prevented); returns how many.
    /// </summary>
    public static unsafe int ReleaseSpinLocks()
    {
        var held = t_heldLocks;
        if (held is null || held.Count == 0)
        {
            return 0;
        }

        int count = held.Count;
        foreach (ulong address in held)
        {
            SpinLock32.Release(ref *(int*)address);
        }

        held.Clear();
        return count;
    }

    // bpf_for_each_array_elem: every index in order, the CPU's own value of per-CPU arrays; the count includes the
    // element whose callback stopped the walk.
    private static ulong ForEachArrayElement(BpfExecutionContext ctx, ArrayMap array, ulong callback, ulong callbackContext)
    {
        int cpu = Cpu(ctx, array);
        var key = ctx.RentCallbackKey(sizeof(uint));
        try
        {
            ulong visited = 0;
            for (int i = 0; i < array.MaxEntries; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(key.AsSpan(), (uint)i);
                visited++;
                ulong stop = ctx.InvokeCallback(callback, array.Handle, key.Start, array.ElementAddress(i, array.IsPerCpu ? cpu : 0), callbackContext);
                if (stop != 0 || ctx.IsStopped)
                {
                    break;
                }
            }

            return visited;
        }
        finally
        {
            ctx.RemoveRegion(key);
        }
    }

    // bpf_for_each_hash_elem: the elements present when the walk starts (in the map's key order), skipping those a
    // callback deleted before their turn.
    private static ulong ForEachHashElement(BpfExecutionContext ctx, HashMap hash, ulong callback, ulong callbackContext)
    {
        int cpu = Cpu(ctx, hash);
        var keys = hash.Keys().ToList();
        var key = ctx.RentCallbackKey(hash.KeySize);
        try
        {
            ulong visited = 0;
            foreach (var current in keys)
            {
                ulong value = hash.IterationValueAddress(current, cpu);
                if (value == 0)
                {
                    continue;
                }

                current.CopyTo(key.AsSpan());
                visited++;
                ulong stop = ctx.InvokeCallback(callback, hash.Handle, key.Start, value, callbackContext);
                if (stop != 0 || ctx.IsStopped)
                {
                    break;
                }
            }

            return visited;
        }
        finally
        {
            ctx.RemoveRegion(key);
        }
    }

    private static BpfMap Map(BpfExecutionContext ctx, MapSet maps, ulong handle) =>
        maps.FindByHandle(handle) ?? throw Fault(ctx, $"0x{handle:x} is not a map handle of this map set");

    private static RingBufferMap Ring(BpfExecutionContext ctx, MapSet maps, ulong handle, string helper) =>
        Map(ctx, maps, handle) as RingBufferMap ?? throw Fault(ctx, $"{helper}: 0x{handle:x} is not a ring buffer");

    private static ulong Commit(BpfExecutionContext ctx, MapSet maps, ulong address, ulong flags, bool discard)
    {
        var ring = maps.FindRingBuffer(address);
        if (ring is null || !ring.Commit(address, flags, discard))
        {
            string helper = discard ? "bpf_ringbuf_discard" : "bpf_ringbuf_submit";
            throw Fault(ctx, $"{helper}: 0x{address:x} is not an outstanding ring buffer reservation");
        }

        return 0;
    }

    private static int Cpu(BpfExecutionContext ctx, BpfMap map)
    {
        int cpu = ctx.ProcessorId;
        if (map.IsPerCpu && (uint)cpu >= (uint)map.PossibleCpus)
        {
            throw Fault(ctx, $"per-CPU map '{map.Name}': the context's ProcessorId {cpu} is not below PossibleCpus {map.PossibleCpus}");
        }

        return cpu;
    }

    private static unsafe ref int LockWord(BpfExecutionContext ctx, ulong address, string helper)
    {
        var span = ctx.GetSpan(address, 4, MemoryAccess.ReadWrite);
        if ((address & 3) != 0)
        {
            throw Fault(ctx, $"{helper}: the lock at 0x{address:x} is not 4-byte aligned");
        }

        return ref *(int*)address;
    }

    private static BpfExecutionException Fault(BpfExecutionContext ctx, string message) =>
        new(new ExecutionFault(FaultKind.HelperError, ctx.CurrentPc, default, $"pc {ctx.CurrentPc}: {message}"));
}
