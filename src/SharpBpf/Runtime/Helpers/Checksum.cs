using System.Buffers.Binary;

namespace SharpBpf.Runtime.Helpers;

/// <summary>
/// The kernel's ones'-complement checksum primitives (<c>csum_add</c>, <c>csum_fold</c>, <c>csum_replace*</c>,
/// x86-64 <c>csum_partial</c>). Values are in memory order: a 16-bit checksum is the little-endian read of its two
/// bytes, exactly what a BPF program on a little-endian host loads and passes to the helpers.
/// </summary>
internal static class Checksum
{
    /// <summary>csum_add: 32-bit addition with the carry folded back in.</summary>
    public static uint Add(uint a, uint b)
    {
        uint sum = a + b;
        return sum + (sum < b ? 1u : 0u);
    }

    /// <summary>csum_sub.</summary>
    public static uint Sub(uint a, uint b) => Add(a, ~b);

    /// <summary>csum_fold: folds a 32-bit partial sum to 16 bits and complements it.</summary>
    public static ushort Fold(uint sum)
    {
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }

    /// <summary>csum_from32to16: folds a 32-bit partial sum to 16 bits (end-around carry), without complementing it.</summary>
    public static ushort From32To16(uint sum)
    {
        sum += (sum >> 16) | (sum << 16);
        return (ushort)(sum >> 16);
    }

    /// <summary>csum_replace4: updates a checksum for a 32-bit field changing from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static ushort Replace4(ushort check, uint from, uint to) => Fold(Add(Sub(~(uint)check, from), to));

    /// <summary>csum_replace2, in 16-bit ones'-complement arithmetic.</summary>
    public static ushort Replace2(ushort check, ushort from, ushort to) => (ushort)~Add16(Add16((ushort)~check, (ushort)~from), to);

    /// <summary>csum_replace_by_diff: applies a partial sum <paramref name="diff"/> (from <c>bpf_csum_diff</c>).</summary>
    public static ushort ReplaceByDiff(ushort check, uint diff) => Fold(Add(diff, ~(uint)check));

    /// <summary>
    /// csum_partial as x86-64 computes it: the ones'-complement sum of the bytes read as little-endian words (a
    /// short tail zero-padded) plus <paramref name="seed"/>, in the range [1, 0xffffffff] unless everything is zero.
    /// </summary>
    public static uint Partial(ReadOnlySpan<byte> data, uint seed)
    {
        // 2^32 = 1 modulo 2^32 - 1, so summing 32-bit words gives the residue of the 64-bit word sum.
        ulong total = seed;
        bool any = seed != 0;
        int i = 0;
        for (; i + 4 <= data.Length; i += 4)
        {
            uint word = BinaryPrimitives.ReadUInt32LittleEndian(data[i..]);
            total += word;
            any |= word != 0;
        }

        if (i < data.Length)
        {
            Span<byte> tail = stackalloc byte[4];
            tail.Clear();
            data[i..].CopyTo(tail);
            uint word = BinaryPrimitives.ReadUInt32LittleEndian(tail);
            total += word;
            any |= word != 0;
        }

        if (!any)
        {
            return 0;
        }

        return (uint)(((total - 1) % 0xffff_ffffUL) + 1);
    }

    private static ushort Add16(ushort a, ushort b)
    {
        ushort sum = (ushort)(a + b);
        return (ushort)(sum + (sum < b ? 1 : 0));
    }
}
