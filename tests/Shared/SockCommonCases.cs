namespace SharpBpf.Testing;

/// <summary>
/// __sk_buff.sk (sock_common_or_null): the kernel's verdicts and error lines for reads through it after a null check.
/// </summary>
internal static class SockCommonCases
{
    private static string Read(string access) => $"""
        r1 = *(u64 *)(r1 + 168)
        if r1 == 0 goto out
        {access}
        out:
        r0 = 0
        exit
        """;

    /// <summary>(name, source, the kernel's error line or null when it accepts).</summary>
    public static readonly (string Name, string Source, string? Error)[] All =
    [
        ("family_u32", Read("r0 = *(u32 *)(r1 + 4)"), null),
        ("src_port_u32", Read("r0 = *(u32 *)(r1 + 44)"), null),
        ("dst_ip4_u8", Read("r0 = *(u8 *)(r1 + 52)"), null),
        ("type_is_not_common", Read("r0 = *(u32 *)(r1 + 8)"), "R1 invalid sock_common access off=8 size=4"),
        ("priority_is_not_common", Read("r0 = *(u32 *)(r1 + 20)"), "R1 invalid sock_common access off=20 size=4"),
        ("u64_read", Read("r0 = *(u64 *)(r1 + 0)"), "R1 invalid sock_common access off=0 size=8"),
        ("write", Read("*(u32 *)(r1 + 4) = 1"), "R1 cannot write into sock_common"),
        ("no_null_check", """
            r1 = *(u64 *)(r1 + 168)
            r0 = *(u32 *)(r1 + 4)
            r0 = 0
            exit
            """, "R1 invalid mem access 'sock_common_or_null'"),
    ];
}
