using SharpBpf.Verification;

namespace SharpBpf.Testing;

/// <summary>
/// An alignment case: a program and the kernel's error line for it with no alignment flag, with
/// BPF_F_STRICT_ALIGNMENT, and with BPF_F_ANY_ALIGNMENT (alone or with strict); null where the kernel accepts.
/// Map index 0 (<c>map[idx:0]</c>) is an array with 4-byte keys and values of at least 16 bytes.
/// </summary>
internal sealed record AlignmentCase(string Name, ProgramType Type, string Source, string? None, string? Strict, string? Any);

/// <summary>Strict alignment as the kernel enforces it: packets as if NET_IP_ALIGN were 2, map values, context, the stack always, atomics always.</summary>
internal static class AlignmentCases
{
    /// <summary>The map the cases use.</summary>
    public static readonly IReadOnlyList<VerifierMap> Maps = [new("values", MapType.Array, 4, 16, 1)];

    private const string LookupValue = """
        *(u32 *)(r10 - 4) = 0
        r2 = r10
        r2 += -4
        r1 = map[idx:0]
        call 1
        if r0 == 0 goto out

        """;

    public static readonly AlignmentCase[] All =
    [
        new("packet_u32_at_data", ProgramType.Xdp, """
            r2 = *(u32 *)(r1 + 0)
            r3 = *(u32 *)(r1 + 4)
            r4 = r2
            r4 += 8
            if r4 > r3 goto out
            r0 = *(u32 *)(r2 + 0)
            out:
            r0 = 2
            exit
            """, null, "misaligned packet access off 2+0+0+0 size 4", null),
        new("packet_u16_at_12", ProgramType.Xdp, """
            r2 = *(u32 *)(r1 + 0)
            r3 = *(u32 *)(r1 + 4)
            r4 = r2
            r4 += 14
            if r4 > r3 goto out
            r0 = *(u16 *)(r2 + 12)
            out:
            r0 = 2
            exit
            """, null, null, null),
        new("map_value_u32_at_2", ProgramType.SocketFilter, LookupValue + """
            r0 = *(u32 *)(r0 + 2)
            out:
            r0 = 0
            exit
            """, null, "misaligned value access off 0+0+2 size 4", null),
        new("context_u32_at_2", ProgramType.SchedCls, """
            r0 = *(u32 *)(r1 + 2)
            r0 = 0
            exit
            """, "invalid bpf_context access off=2 size=4", "misaligned context access off 0+0+2 size 4", "invalid bpf_context access off=2 size=4"),
        new("stack_u64_at_minus_12", ProgramType.SocketFilter, """
            r1 = 0
            *(u64 *)(r10 - 12) = r1
            r0 = 0
            exit
            """, "misaligned stack access off 0+0+-12 size 8", "misaligned stack access off 0+0+-12 size 8", "misaligned stack access off 0+0+-12 size 8"),
        new("atomic_u32_at_2", ProgramType.SocketFilter, LookupValue + """
            r1 = 1
            lock *(u32 *)(r0 + 2) += w1
            out:
            r0 = 0
            exit
            """, "misaligned value access off 0+0+2 size 4", "misaligned value access off 0+0+2 size 4", "misaligned value access off 0+0+2 size 4"),
    ];
}
