using Xunit.Abstractions;

namespace SharpBpf.Linux.Tests.Verification;

/// <summary>
/// References across bpf_loop and bpf_for_each_map_elem callbacks (bpf/verifier/callback_refs.o, one program per rule):
/// taken and released in a round, handed to the caller through the callback context, released by the callback for the
/// caller, and bpf_loop's constant iteration count (the running kernel keeps references per path, not per frame).
/// </summary>
public class CallbackReferenceKernelTests(ITestOutputHelper output) : RuleObjectTests(output)
{
    // What each program shows; the kernel confirms every line below before SharpBPF's is compared with it.
    private static readonly Dictionary<string, string?> Programs = new()
    {
        ["loop_reserve_submit"] = null,
        ["loop_with_reference_held"] = null,
        ["loop_reserve_leak"] = "BPF_EXIT instruction in main prog would lead to reference leak",
        ["loop_once_hand_off"] = null,
        ["loop_thrice_hand_off"] = "BPF_EXIT instruction in main prog would lead to reference leak",
        ["loop_release_for_caller_only"] = "BPF_EXIT instruction in main prog would lead to reference leak",
        ["loop_release_for_caller"] = null,
        ["loop_use_after_release"] = "R6 invalid mem access 'scalar'",
        ["loop_release_socket"] = null,
        ["each_reserve_submit_elem"] = null,
        ["each_reserve_leak_elem"] = "BPF_EXIT instruction in main prog would lead to reference leak",
    };

    /// <summary>Not yet: the log of a call that enters a callback differs (see KernelVerifierLogTests' known differences).</summary>
    protected override bool CompareLogs => false;

    /// <inheritdoc/>
    protected override string ObjectName => "callback_refs.o";

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, string?> Expected => Programs;
}
