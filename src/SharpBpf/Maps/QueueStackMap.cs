using System.Buffers.Binary;
using System.Numerics;

namespace SharpBpf.Maps;

/// <summary>
/// BPF_MAP_TYPE_QUEUE (FIFO) and BPF_MAP_TYPE_STACK (LIFO): keyless bounded containers of values. Push with
/// BPF_EXIST on a full map drops the oldest value; without it a full map gives -E2BIG; pop and peek on an empty
/// map give -ENOENT. Values are copied in and out, so they are not program memory.
/// </summary>
public sealed class QueueStackMap : BpfMap
{
    private readonly Lock _lock = new();
    private readonly byte[] _storage;
    private readonly int _size;
    private int _head;
    private int _tail;

    internal QueueStackMap(MapSet owner, MapSpec spec) : base(owner, spec)
    {
        _size = spec.MaxEntries + 1;
        owner.Reserve((long)_size * spec.ValueSize, string.IsNullOrEmpty(spec.Name) ? "queue" : spec.Name);
        _storage = new byte[(long)_size * spec.ValueSize];
    }

    /// <summary>Whether this is a stack (else a queue).</summary>
    public bool IsStack => Type == MapType.Stack;

    /// <summary>The number of values held.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return (_head - _tail + _size) % _size;
            }
        }
    }

    private protected override MapResult PushCore(ReadOnlySpan<byte> value, MapUpdateFlags flags)
    {
        if ((flags & MapUpdateFlags.NoExist) != 0 || (ulong)flags > (ulong)MapUpdateFlags.Exist)
        {
            return MapResult.Invalid;
        }

        lock (_lock)
        {
            if ((_head + 1) % _size == _tail)
            {
                if (flags != MapUpdateFlags.Exist)
                {
                    return MapResult.TooBig;
                }

                _tail = (_tail + 1) % _size; // overwrite the oldest
            }

            value.CopyTo(Slot(_head));
            _head = (_head + 1) % _size;
            return MapResult.Success;
        }
    }

    private protected override MapResult PopCore(Span<byte> value) => Take(value, remove: true);

    private protected override MapResult PeekCore(Span<byte> value) => Take(value, remove: false);

    private protected override MapResult LookupCore(ReadOnlySpan<byte> key, Span<byte> value, MapUpdateFlags flags) => Take(value, remove: false);

    private protected override MapResult UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags) => PushCore(value, flags);

    private protected override MapResult LookupAndDeleteCore(ReadOnlySpan<byte> key, Span<byte> value) => Take(value, remove: true);

    private protected override MapResult DeleteCore(ReadOnlySpan<byte> key) => MapResult.Invalid;

    private protected override MapResult GetNextKeyCore(ReadOnlySpan<byte> key, Span<byte> nextKey) => MapResult.Invalid;

    private MapResult Take(Span<byte> value, bool remove)
    {
        lock (_lock)
        {
            if (_head == _tail)
            {
                return MapResult.NotFound;
            }

            int index = IsStack ? (_head - 1 + _size) % _size : _tail;
            Slot(index).CopyTo(value);
            if (remove)
            {
                if (IsStack)
                {
                    _head = index;
                }
                else
                {
                    _tail = (_tail + 1) % _size;
                }
            }

            return MapResult.Success;
        }
    }

    private Span<byte> Slot(int index) => _storage.AsSpan(index * ValueSize, ValueSize);
}

/// <summary>
/// BPF_MAP_TYPE_BLOOM_FILTER: push adds a value, peek answers "maybe present" (0) or "absent" (-ENOENT); there
/// are no false negatives. The bit array has <c>roundup_pow_of_two(max_entries * hashes / 5 * 7)</c> bits, as in
/// the kernel; <see cref="MapSpec.MapExtra"/> gives the number of hash functions (default 5).
/// </summary>
public sealed class BloomFilterMap : BpfMap
{
    private readonly ulong[] _bits;
    private readonly ulong _bitMask;
    private readonly int _hashes;
    private readonly ulong _seed;

    internal BloomFilterMap(MapSet owner, MapSpec spec) : base(owner, spec)
    {
        _hashes = spec.MapExtra == 0 ? 5 : (int)spec.MapExtra;
        // As the kernel: (entries * hashes / 5) * 7 bits, at least 64, rounded up to a power of two; 2^32 past 2^31.
        ulong wanted = (ulong)spec.MaxEntries * (ulong)_hashes / 5 * 7;
        ulong bits = wanted > 1UL << 31 ? 1UL << 32 : wanted <= 64 ? 64 : BitOperations.RoundUpToPowerOf2(wanted);
        owner.Reserve((long)(bits / 8), string.IsNullOrEmpty(spec.Name) ? "bloom" : spec.Name);
        _bits = new ulong[bits / 64];
        _bitMask = bits - 1;
        _seed = (spec.Flags & MapFlags.ZeroSeed) != 0 ? 0 : (ulong)Random.Shared.NextInt64();
    }

    /// <summary>The number of hash functions.</summary>
    public int HashFunctions => _hashes;

    /// <summary>The size of the bit array.</summary>
    public long BitCount => (long)_bitMask + 1;

    /// <summary>Whether <paramref name="value"/> may have been pushed (false means it certainly was not).</summary>
    public bool MayContain(ReadOnlySpan<byte> value)
    {
        for (int i = 0; i < _hashes; i++)
        {
            ulong bit = KeyHash.Compute(value, _seed + (ulong)i) & _bitMask;
            if ((Volatile.Read(ref _bits[bit >> 6]) & (1UL << (int)(bit & 63))) == 0)
            {
                return false;
            }
        }

        return true;
    }

    private protected override MapResult PushCore(ReadOnlySpan<byte> value, MapUpdateFlags flags)
    {
        if (flags != MapUpdateFlags.Any)
        {
            return MapResult.Invalid;
        }

        for (int i = 0; i < _hashes; i++)
        {
            ulong bit = KeyHash.Compute(value, _seed + (ulong)i) & _bitMask;
            Interlocked.Or(ref _bits[bit >> 6], 1UL << (int)(bit & 63));
        }

        return MapResult.Success;
    }

    private protected override MapResult PeekCore(Span<byte> value) => MayContain(value) ? MapResult.Success : MapResult.NotFound;

    private protected override MapResult PopCore(Span<byte> value) => MapResult.OperationNotSupported;

    private protected override MapResult LookupCore(ReadOnlySpan<byte> key, Span<byte> value, MapUpdateFlags flags) => PeekCore(value);

    private protected override MapResult UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags) => PushCore(value, flags);

    private protected override MapResult DeleteCore(ReadOnlySpan<byte> key) => MapResult.OperationNotSupported;
}

/// <summary>The seeded 64-bit hash of keys and bloom filter values (a multiply-xorshift mix; not the kernel's jhash).</summary>
internal static class KeyHash
{
    public static ulong Compute(ReadOnlySpan<byte> key, ulong seed)
    {
        ulong h = seed ^ ((ulong)key.Length * 0x9E3779B97F4A7C15UL);
        int i = 0;
        for (; i + 8 <= key.Length; i += 8)
        {
            h ^= BinaryPrimitives.ReadUInt64LittleEndian(key[i..]);
            h *= 0xBF58476D1CE4E5B9UL;
            h ^= h >> 31;
        }

        ulong tail = 0;
        for (int shift = 0; i < key.Length; i++, shift += 8)
        {
            tail |= (ulong)key[i] << shift;
        }

        h ^= tail;
        h *= 0x94D049BB133111EBUL;
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 32;
        return h;
    }
}
