using Xunit.Abstractions;

namespace SharpBpf.Linux.Tests.Verification;

/// <summary>
/// Global and static functions (bpf/verifier/global_funcs.o, one program per rule): SharpBPF's verdict, error line,
/// processed count and level-1 log against the running kernel's (<see cref="RuleObjectTests"/>).
/// </summary>
public class GlobalFunctionKernelTests(ITestOutputHelper output) : RuleObjectTests(output)
{
    // What each program shows; the kernel confirms every line below before SharpBPF's is compared with it.
    private static readonly Dictionary<string, string?> Programs = new()
    {
        ["scalars_and_ctx"] = null,
        ["memory_args"] = null,
        ["null_memory_arg"] = null,
        ["callee_misses_null_check"] = "R1 invalid mem access 'mem_or_null'",
        ["nonnull_given_maybe_null"] = "arg#0 is expected to be non-NULL",
        ["pointer_for_scalar"] = "R1 is not a scalar",
        ["locked_value_for_memory"] = "bpf_spin_lock cannot be accessed directly by load/store",
        ["small_stack_for_memory"] = "invalid read from stack R1 off=-8 size=16",
        ["map_value_for_ctx"] = "arg#0 expects pointer to ctx",
        ["global_returns_pointer"] = "Global function counter_of() doesn't return scalar. Only those are supported.",
        ["global_call_while_locked"] = "global function calls are not allowed while holding a lock,",
        ["static_call_while_locked"] = null,
        ["packet_after_global_pull"] = "R6 invalid mem access 'scalar'",
        ["global_returns_void"] = "Global function nothing() doesn't return scalar. Only those are supported.",
        ["global_recursion"] = "the call stack of 8 frames is too deep !",
        ["global_combined_stack"] = "combined stack size of 2 calls is 608. Too large",
        ["packet_after_global_tail_call"] = "R6 invalid mem access 'scalar'",
        ["packet_after_static_tail_call"] = "R6 invalid mem access 'scalar'",
        ["packet_after_tail_call"] = null,
        ["global_callback"] = "callback function not static",
        ["void_pointer_arg"] = "arg#0 reference type('UNKNOWN ') size cannot be determined: -22",
        ["packet_for_memory"] = null,
        ["short_packet_for_memory"] = "invalid access to packet, off=0 size=14, R1(id=0,off=0,r=10)",
        ["enum_args"] = null,
        ["nullable_tag"] = "arg#0 has invalid combination of tags",
        ["ctx_tag_wrong_type"] = "arg#0 should be `struct __sk_buff *`",
        ["ctx_for_memory"] = "R1 type=ctx expected=fp",
        ["tail_call_under_big_stack"] = "tail_calls are not allowed when call stack of previous frames is 304 bytes. Too large",
    };

    // Level-1 logs that still differ from the kernel's for reasons unrelated to functions.
    private static readonly Dictionary<string, string> LogDifferences = new()
    {
        ["global_call_while_locked"] = "the running kernel counts a held bpf_spin_lock as a reference (refs=1)",
    };

    /// <inheritdoc/>
    protected override string ObjectName => "global_funcs.o";

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, string?> Expected => Programs;

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, string> KnownLogDifferences => LogDifferences;
}
