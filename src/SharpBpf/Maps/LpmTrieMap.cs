using System.Buffers.Binary;
using SharpBpf.Runtime;

namespace SharpBpf.Maps;

/// <summary>
/// BPF_MAP_TYPE_LPM_TRIE: longest-prefix match over keys laid out as <c>struct bpf_lpm_trie_key_u8</c>
/// (a host-endian <c>u32 prefixlen</c>, then the data bytes, most significant bit first).
/// </summary>
/// <remarks>
/// A path-compressed binary trie with intermediate (value-less) nodes where two prefixes diverge, as in the
/// kernel. A lookup returns the entry with the longest prefix that matches the key's data within the key's own
/// prefix length. Writers take a lock and publish new nodes whole, so lookups run lock-free. Values live in a
/// pinned arena (max_entries + 1 slots: a replacement takes a fresh slot, as the kernel allocates a new node).
/// A full trie gives -ENOSPC; a prefix length above the data bits gives -EINVAL. Iteration is post-order:
/// more specific prefixes before less specific ones.
/// </remarks>
public sealed class LpmTrieMap : BpfMap
{
    private readonly Lock _lock = new();
    private readonly ValueArena _arena;
    private readonly int _dataSize;
    private readonly int _maxPrefix;
    private readonly Stack<int> _free = new();
    private Node? _root;
    private int _count;

    internal LpmTrieMap(MapSet owner, MapSpec spec) : base(owner, spec)
    {
        _dataSize = spec.KeySize - 4;
        _maxPrefix = _dataSize * 8;
        var access = (spec.Flags & MapFlags.ReadOnlyProgram) != 0 ? MemoryAccess.Read : MemoryAccess.ReadWrite;
        string name = string.IsNullOrEmpty(spec.Name) ? "lpm" : spec.Name;
        owner.Reserve((long)(spec.MaxEntries + 1) * (spec.KeySize + 64), name + " (nodes)");
        _arena = new ValueArena(owner, name, spec.MaxEntries + 1, spec.ValueSize, 1, access, programVisible: true);
        ValueRegion = _arena.Region;
        for (int slot = spec.MaxEntries; slot >= 0; slot--)
        {
            _free.Push(slot);
        }
    }

    /// <summary>The number of entries (intermediate nodes not counted).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <inheritdoc/>
    public override ulong LookupForProgram(ReadOnlySpan<byte> key, int cpu)
    {
        var node = Match(key);
        return node is null ? 0 : _arena.Address(node.Slot);
    }

    /// <inheritdoc/>
    public override MapResult UpdateFromProgram(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu) =>
        UpdateCore(key, value, flags);

    private protected override MapResult LookupCore(ReadOnlySpan<byte> key, Span<byte> value, MapUpdateFlags flags)
    {
        var node = Match(key);
        if (node is null)
        {
            return MapResult.NotFound;
        }

        CopyValue(value, _arena.Value(node.Slot), flags, lockDestination: false);
        return MapResult.Success;
    }

    private protected override MapResult UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags)
    {
        if ((ulong)flags > (ulong)MapUpdateFlags.Exist)
        {
            return MapResult.Invalid;
        }

        uint prefix = BinaryPrimitives.ReadUInt32LittleEndian(key);
        if (prefix > (uint)_maxPrefix)
        {
            return MapResult.Invalid;
        }

        var data = key[4..];
        int prefixLength = (int)prefix;
        lock (_lock)
        {
            Node? parent = null;
            int direction = 0;
            Node? node = _root;
            int match = 0;
            while (node is not null)
            {
                match = MatchLength(node, data, prefixLength);
                if (node.PrefixLength != match || node.PrefixLength == prefixLength || node.PrefixLength == _maxPrefix)
                {
                    break;
                }

                parent = node;
                direction = Bit(data, node.PrefixLength);
                node = node.Children[direction];
            }

            bool exact = node is not null && node.PrefixLength == match && node.PrefixLength == prefixLength;
            if (exact && !node!.IsIntermediate)
            {
                if (flags == MapUpdateFlags.NoExist)
                {
                    return MapResult.Exists;
                }

                int slot = _free.Pop();
                WriteNewValue(slot, value, flags);
                var replacement = new Node(prefixLength, data, slot, node.Children[0], node.Children[1]);
                Publish(parent, direction, replacement);
                _free.Push(node.Slot);
                return MapResult.Success;
            }

            if (flags == MapUpdateFlags.Exist)
            {
                return MapResult.NotFound;
            }

            if (_count == MaxEntries)
            {
                return MapResult.NoSpace;
            }

            int fresh = _free.Pop();
            WriteNewValue(fresh, value, flags);
            Node created;
            if (node is null)
            {
                created = new Node(prefixLength, data, fresh, null, null);
            }
            else if (exact)
            {
                // An intermediate node with exactly this prefix becomes a real entry.
                created = new Node(prefixLength, data, fresh, node.Children[0], node.Children[1]);
            }
            else if (match == prefixLength)
            {
                // The new prefix covers the existing node: the node hangs below it.
                created = Bit(node.Data, match) == 0
                    ? new Node(prefixLength, data, fresh, node, null)
                    : new Node(prefixLength, data, fresh, null, node);
            }
            else
            {
                // They diverge at bit "match": an intermediate node holds both.
                var leaf = new Node(prefixLength, data, fresh, null, null);
                created = Bit(data, match) == 0
                    ? new Node(match, data, -1, leaf, node)
                    : new Node(match, data, -1, node, leaf);
            }

            Publish(parent, direction, created);
            _count++;
            return MapResult.Success;
        }
    }

    private protected override MapResult DeleteCore(ReadOnlySpan<byte> key)
    {
        uint prefix = BinaryPrimitives.ReadUInt32LittleEndian(key);
        if (prefix > (uint)_maxPrefix)
        {
            return MapResult.Invalid;
        }

        var data = key[4..];
        int prefixLength = (int)prefix;
        lock (_lock)
        {
            Node? grandparent = null, parent = null;
            int parentDirection = 0, direction = 0;
            Node? node = _root;
            int match = 0;
            while (node is not null)
            {
                match = MatchLength(node, data, prefixLength);
                if (node.PrefixLength != match || node.PrefixLength == prefixLength)
                {
                    break;
                }

                grandparent = parent;
                parentDirection = direction;
                parent = node;
                direction = Bit(data, node.PrefixLength);
                node = node.Children[direction];
            }

            if (node is null || node.PrefixLength != prefixLength || match != prefixLength || node.IsIntermediate)
            {
                return MapResult.NotFound;
            }

            _count--;
            _free.Push(node.Slot);
            var left = node.Children[0];
            var right = node.Children[1];
            if (left is not null && right is not null)
            {
                Publish(parent, direction, new Node(node.PrefixLength, node.Data, -1, left, right));
            }
            else if (left is not null || right is not null)
            {
                Publish(parent, direction, left ?? right);
            }
            else if (parent is not null && parent.IsIntermediate)
            {
                // The intermediate parent is left with one child: the child takes its place.
                Publish(grandparent, parentDirection, parent.Children[1 - direction]);
            }
            else
            {
                Publish(parent, direction, null);
            }

            return MapResult.Success;
        }
    }

    private protected override MapResult LookupAndDeleteCore(ReadOnlySpan<byte> key, Span<byte> value) => MapResult.NotSupported;

    private protected override MapResult GetNextKeyCore(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        var order = new List<Node>();
        PostOrder(Volatile.Read(ref _root), order);
        if (order.Count == 0)
        {
            return MapResult.NotFound;
        }

        int next = 0;
        if (!key.IsEmpty && BinaryPrimitives.ReadUInt32LittleEndian(key) <= (uint)_maxPrefix)
        {
            int prefixLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(key);
            int at = -1;
            for (int i = 0; i < order.Count && at < 0; i++)
            {
                if (order[i].PrefixLength == prefixLength && MatchLength(order[i], key[4..], prefixLength) == prefixLength)
                {
                    at = i;
                }
            }

            if (at >= 0)
            {
                if (at == order.Count - 1)
                {
                    return MapResult.NotFound;
                }

                next = at + 1;
            }
        }

        BinaryPrimitives.WriteUInt32LittleEndian(nextKey, (uint)order[next].PrefixLength);
        order[next].Data.CopyTo(nextKey[4..]);
        return MapResult.Success;
    }

    private Node? Match(ReadOnlySpan<byte> key)
    {
        uint prefix = BinaryPrimitives.ReadUInt32LittleEndian(key);
        int prefixLength = (int)Math.Min(prefix, (uint)_maxPrefix);
        var data = key[4..];
        Node? found = null;
        var node = Volatile.Read(ref _root);
        while (node is not null)
        {
            int match = MatchLength(node, data, prefixLength);
            if (match < node.PrefixLength)
            {
                break;
            }

            if (!node.IsIntermediate)
            {
                found = node;
            }

            if (node.PrefixLength >= prefixLength)
            {
                break;
            }

            node = Volatile.Read(ref node.Children[Bit(data, node.PrefixLength)]);
        }

        return found;
    }

    private void WriteNewValue(int slot, ReadOnlySpan<byte> value, MapUpdateFlags flags)
    {
        var target = _arena.Value(slot);
        target.Clear();
        CopyValue(target, value, flags & ~MapUpdateFlags.Lock, lockDestination: true);
    }

    private void Publish(Node? parent, int direction, Node? node)
    {
        if (parent is null)
        {
            Volatile.Write(ref _root, node);
        }
        else
        {
            Volatile.Write(ref parent.Children[direction], node);
        }
    }

    private static void PostOrder(Node? node, List<Node> order)
    {
        if (node is null)
        {
            return;
        }

        PostOrder(Volatile.Read(ref node.Children[0]), order);
        PostOrder(Volatile.Read(ref node.Children[1]), order);
        if (!node.IsIntermediate)
        {
            order.Add(node);
        }
    }

    private static int Bit(ReadOnlySpan<byte> data, int index) => (data[index >> 3] >> (7 - (index & 7))) & 1;

    /// <summary>The number of leading bits the node and the key share, up to the shorter of their prefixes.</summary>
    private static int MatchLength(Node node, ReadOnlySpan<byte> data, int prefixLength)
    {
        int limit = Math.Min(node.PrefixLength, prefixLength);
        int bits = 0;
        for (int i = 0; bits < limit; i++)
        {
            int diff = node.Data[i] ^ data[i];
            if (diff != 0)
            {
                bits += System.Numerics.BitOperations.LeadingZeroCount((uint)diff) - 24;
                return Math.Min(bits, limit);
            }

            bits += 8;
        }

        return Math.Min(bits, limit);
    }

    private sealed class Node
    {
        public Node(int prefixLength, ReadOnlySpan<byte> data, int slot, Node? left, Node? right)
        {
            PrefixLength = prefixLength;
            Data = data.ToArray();
            Slot = slot;
            Children = [left, right];
        }

        public int PrefixLength { get; }

        public byte[] Data { get; }

        /// <summary>The value slot, or -1 for an intermediate node.</summary>
        public int Slot { get; }

        public bool IsIntermediate => Slot < 0;

        public Node?[] Children { get; }
    }
}
