using Xunit.Abstractions;

namespace SharpBpf.Linux.Tests.Verification;

/// <summary>
/// Socket pointers and their references (bpf/verifier/sockets.o, one program per rule): socket map lookups, the
/// socket casts and the pointers they derive from a referenced socket, <c>bpf_sock_ops.sk</c>, socket local storage. SharpBPF's verdict,
/// error line, processed count and level-1 log against the running kernel's (<see cref="RuleObjectTests"/>).
/// </summary>
public class SocketKernelTests(ITestOutputHelper output) : RuleObjectTests(output)
{
    // What each program shows; the kernel confirms every line below before SharpBPF's is compared with it.
    private static readonly Dictionary<string, string?> Programs = new()
    {
        ["sockmap_lookup_leak"] = "BPF_EXIT instruction in main prog would lead to reference leak",
        ["sockmap_lookup_release"] = null,
        ["sockhash_lookup_release"] = null,
        ["sockmap_lookup_write"] = "R0 cannot write into sock",
        ["sockmap_lookup_xdp"] = null,
        ["xskmap_lookup_read"] = null,
        ["xskmap_lookup_write"] = "R0 cannot write into xdp_sock",
        ["fullsock_read"] = null,
        ["sock_common_type"] = "R1 invalid sock_common access off=8 size=4",
        ["tcp_sock_read"] = null,
        ["tcp_sock_narrow"] = "R0 invalid tcp_sock access off=0 size=2",
        ["tcp_sock_write"] = "R0 cannot write into tcp_sock",
        ["tcp_sock_beyond"] = "R0 invalid tcp_sock access off=112 size=4",
        ["tcp_sock_of_null"] = "R1 type=sock_common_or_null expected=sock_common, sock, tcp_sock, xdp_sock",
        ["listener_read"] = null,
        ["derived_after_release"] = "R8 invalid mem access 'scalar'",
        ["release_derived"] = null,
        ["derived_null_leak"] = "BPF_EXIT instruction in main prog would lead to reference leak",
        ["listener_of_lookup"] = null,
        ["sockops_sk_read"] = null,
        ["sockops_sk_no_null_check"] = "R1 invalid mem access 'sock_or_null'",
        ["sockops_sk_tcp"] = null,
        ["sockops_sk_release"] = "program of this type cannot use helper bpf_sk_release#86",
        ["sk_storage_count"] = null,
        ["sk_storage_of_null"] = "R2 type=sock_common_or_null expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_",
        ["sk_storage_delete"] = null,
        ["sk_storage_lookup"] = "cannot pass map_type 24 into func bpf_map_lookup_elem#1",
        ["sockops_sk_storage"] = null,
        ["sk_storage_of_lookup"] = null,
        ["cgroup_sock_storage"] = null,
        ["sockmap_update"] = null,
        ["sockmap_update_not_socket"] = "R3 type=fp expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_",
        ["sockmap_delete_cgroup_skb"] = "cannot pass map_type 15 into func bpf_map_delete_elem#3",
        ["sockhash_delete_sockops"] = null,
        ["sockhash_update_sockops"] = "cannot pass map_type 18 into func bpf_map_update_elem#2",
        ["sk_assign_lookup"] = null,
        ["sk_assign_of_null"] = "R2 type=sock_common_or_null expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_",
        ["syncookie_check"] = null,
        ["syncookie_gen_beyond_packet"] = "invalid access to packet, off=34 size=20, R4(id=0,off=34,r=34)",
        ["sk_cgroup"] = null,
    };

    /// <inheritdoc/>
    protected override string ObjectName => "sockets.o";

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, string?> Expected => Programs;
}
