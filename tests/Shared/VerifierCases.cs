using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Verification;

namespace SharpBpf.Testing;

/// <summary>A map a verifier test case uses; map index i is <c>ld_pseudo rX, 1, i</c> in the case's code.</summary>
internal sealed record VerifierCaseMap(MapType Type, uint KeySize, uint ValueSize, uint MaxEntries, uint Flags = 0);

/// <summary>
/// A program and the verdict the Linux kernel gives it: <see cref="Error"/> is the kernel's error line, or null when the
/// kernel accepts the program. The same cases run against SharpBPF's verifier (everywhere) and the kernel (as root).
/// </summary>
internal sealed record VerifierCase(string Name, ProgramType Type, string Code, string? Error, params VerifierCaseMap[] Maps)
{
    public Instruction[] Instructions => Assembler.Assemble(Code);

    /// <summary>The expected attach type given at load (tracing programs: tp_btf, fentry...).</summary>
    public AttachType? Attach { get; init; }

    /// <summary>The attach target in the running kernel's BTF (a tp_btf tracepoint, an fentry function); such cases need that BTF.</summary>
    public string? Target { get; init; }

    /// <summary>The verifier options that load this case as the kernel tests load it (maps named map0, map1...).</summary>
    public VerifierOptions Options(int logLevel = 1) => new()
    {
        ProgramType = Type,
        ExpectedAttachType = Attach,
        AttachTarget = Target,
        KernelBtf = Target is null ? null : SharpBpf.Btf.BtfFile.RunningKernel,
        Maps = Maps.Select((m, i) => new VerifierMap($"map{i}", m.Type, m.KeySize, m.ValueSize, m.MaxEntries, m.Flags)).ToList(),
        LogLevel = logLevel,
    };

    public override string ToString() => Name;
}

/// <summary>The rejection classes (and accepted counterparts) with the kernel's exact error lines.</summary>
internal static class VerifierCases
{
    private static readonly VerifierCaseMap HashMap = new(MapType.Hash, 4, 8, 16);
    private static readonly VerifierCaseMap ArrayMap = new(MapType.Array, 4, 8, 16);
    private static readonly VerifierCaseMap RingBuffer = new(MapType.RingBuffer, 0, 0, 4096);
    private static readonly VerifierCaseMap ReadOnlyArray = new(MapType.Array, 4, 8, 16, 0x80);
    private static readonly VerifierCaseMap ProgramArray = new(MapType.ProgramArray, 4, 4, 4);
    private static readonly VerifierCaseMap WriteOnlyArray = new(MapType.Array, 4, 8, 16, 0x100);
    private static readonly VerifierCaseMap DevMap = new(MapType.DevMap, 4, 4, 4);
    private static readonly VerifierCaseMap CpuMap = new(MapType.CpuMap, 4, 4, 4);
    private static readonly VerifierCaseMap XskMap = new(MapType.XskMap, 4, 4, 4);

    private const string Lookup = """
        *(u32 *)(r10 - 4) = 0
        ld_pseudo r1, 1, 0
        r2 = r10
        r2 += -4
        call 1

        """;

    // bpf_sk_lookup_tcp(ctx, &tuple, sizeof(tuple.ipv4), 0, 0) with a zeroed tuple at fp-16; the call is insn 7.
    private const string SkLookupTcp = """
        *(u64 *)(r10 - 16) = 0
        *(u64 *)(r10 - 8) = 0
        r2 = r10
        r2 += -16
        r3 = 12
        r4 = 0
        r5 = 0
        call 84

        """;

    // Nine instructions that change nothing: enough processed instructions since the last checkpoint for a new one.
    private const string NineMoves = """
        r7 = 0
        r7 = 0
        r7 = 0
        r7 = 0
        r7 = 0
        r7 = 0
        r7 = 0
        r7 = 0
        r7 = 0

        """;

    private static VerifierCase[]? _all;

    public static IReadOnlyList<VerifierCase> All => _all ??= [.. Fixed, .. KernelLayoutCases()];

    /// <summary>
    /// Cases whose offsets come from the running kernel's struct task_struct (its size and member offsets change from
    /// build to build): none without kernel BTF.
    /// </summary>
    private static IEnumerable<VerifierCase> KernelLayoutCases()
    {
        var btf = SharpBpf.Btf.BtfFile.RunningKernel;
        int taskId = btf?.FindId("task_struct", SharpBpf.Btf.BtfKind.Struct) ?? -1;
        if (btf is null || taskId < 0)
        {
            yield break;
        }

        var task = btf.GetType(taskId);
        var members = task.GetMembers();
        int Offset(string name) => members.FirstOrDefault(m => m.Name == name) is { TypeId: > 0 } m ? (int)(m.BitOffset / 8) : -1;
        int size = (int)task.Size, parent = Offset("real_parent"), pid = Offset("pid");
        if (size > short.MaxValue || parent < 0 || pid < 0)
        {
            yield break;
        }

        const string load = "r2 = *(u64 *)(r1 + 0)\n";
        const string done = "\nr0 = 0\nexit\n";
        VerifierCase Case(string name, string code, string? error) =>
            new(name, ProgramType.Tracing, load + code + done, error) { Attach = AttachType.TraceRawTracepoint, Target = "sched_process_exec" };
        yield return Case("tp_btf_beyond_struct", $"r0 = *(u32 *)(r2 + {size})", $"access beyond struct task_struct at off {size} size 4");
        yield return Case("tp_btf_pointer_member_narrow", $"r0 = *(u32 *)(r2 + {parent})",
            $"cannot access ptr member real_parent with moff {parent} in struct task_struct with off {parent} size 4");
        yield return Case("tp_btf_beyond_member", $"r0 = *(u64 *)(r2 + {pid})",
            $"access beyond the end of member pid (mend:{pid + 4}) in struct task_struct with off {pid} size 8");
        // A hole: padding after a member that is not a bitfield, before the next one.
        for (int i = 0; i + 1 < members.Length; i++)
        {
            var (m, next) = (members[i], members[i + 1]);
            long end = (m.BitOffset / 8) + btf.GetSize(m.TypeId);
            if (m.BitfieldSize == 0 && next.BitfieldSize == 0 && m.BitOffset % 8 == 0 && end < next.BitOffset / 8 && end <= short.MaxValue)
            {
                yield return Case("tp_btf_struct_hole", $"r0 = *(u8 *)(r2 + {end})", $"struct task_struct doesn't have field at offset {end}");
                break;
            }
        }

        yield return Case("tp_btf_rcu_pointer_walk", $"r3 = *(u64 *)(r2 + {parent})\nr0 = *(u32 *)(r3 + {pid})", null);
    }

    private static VerifierCase[] Fixed { get; } =
    [
        new("r0_not_initialised", ProgramType.Xdp, "exit", "R0 !read_ok"),
        new("scalar_dereference", ProgramType.Xdp, """
            r1 = 0
            r0 = *(u32 *)(r1 + 0)
            exit
            """, "R1 invalid mem access 'scalar'"),
        new("packet_unchecked", ProgramType.Xdp, """
            r2 = *(u32 *)(r1 + 0)
            r0 = *(u8 *)(r2 + 14)
            exit
            """, "invalid access to packet, off=14 size=1, R2(id=0,off=14,r=0)"),
        new("packet_checked", ProgramType.Xdp, """
            r2 = *(u32 *)(r1 + 0)
            r3 = *(u32 *)(r1 + 4)
            r4 = r2
            r4 += 15
            if r4 > r3 goto +1
            r0 = *(u8 *)(r2 + 14)
            r0 = 2
            exit
            """, null),
        new("packet_off_by_one", ProgramType.Xdp, """
            r2 = *(u32 *)(r1 + 0)
            r3 = *(u32 *)(r1 + 4)
            r4 = r2
            r4 += 14
            if r4 > r3 goto +1
            r0 = *(u8 *)(r2 + 14)
            r0 = 2
            exit
            """, "invalid access to packet, off=14 size=1, R2(id=0,off=14,r=14)"),
        new("packet_unbounded_math", ProgramType.Xdp, """
            r6 = r1
            call 7
            r2 = *(u32 *)(r6 + 0)
            r2 += r0
            r0 = 2
            exit
            """, "math between pkt pointer and register with unbounded min value is not allowed"),
        new("map_value_or_null_dereference", ProgramType.Xdp, Lookup + """
            r0 = *(u64 *)(r0 + 0)
            exit
            """, "R0 invalid mem access 'map_value_or_null'", HashMap),
        new("map_value_checked", ProgramType.Xdp, Lookup + """
            if r0 == 0 goto +1
            r0 = *(u64 *)(r0 + 0)
            r0 = 2
            exit
            """, null, HashMap),
        new("map_value_overrun", ProgramType.Xdp, Lookup + """
            if r0 == 0 goto +1
            r0 = *(u64 *)(r0 + 8)
            r0 = 2
            exit
            """, "invalid access to map value, value_size=8 off=8 size=8", HashMap),
        new("map_value_or_null_arithmetic", ProgramType.Xdp, Lookup + """
            r0 += 8
            exit
            """, "R0 pointer arithmetic on map_value_or_null prohibited, null-check it first", HashMap),
        new("map_value_variable_index", ProgramType.Xdp, Lookup + """
            if r0 == 0 goto +6
            r6 = r0
            call 7
            r0 &= 7
            r6 += r0
            r0 = *(u8 *)(r6 + 0)
            r0 = 2
            exit
            """, null, HashMap),
        new("map_value_unbounded_index", ProgramType.Xdp, Lookup + """
            if r0 == 0 goto +6
            r6 = r0
            call 7
            r0 &= 15
            r6 += r0
            r0 = *(u8 *)(r6 + 0)
            r0 = 2
            exit
            """, "invalid access to map value, value_size=8 off=15 size=1", HashMap),
        new("helper_argument_type", ProgramType.Xdp, """
            r1 = 0
            r2 = r10
            r2 += -8
            call 1
            exit
            """, "R1 type=scalar expected=map_ptr"),
        new("stack_out_of_bounds", ProgramType.Xdp, """
            *(u64 *)(r10 + 8) = 0
            r0 = 2
            exit
            """, "invalid write to stack R10 off=8 size=8"),
        new("stack_misaligned", ProgramType.Xdp, """
            *(u32 *)(r10 - 6) = 0
            r0 = 2
            exit
            """, "misaligned stack access off 0+0+-6 size 4"),
        new("frame_pointer_read_only", ProgramType.Xdp, """
            r10 = 0
            exit
            """, "frame pointer is read only"),
        new("division_by_zero", ProgramType.Xdp, """
            r0 = 1
            r0 /= 0
            exit
            """, "div by zero"),
        new("invalid_shift", ProgramType.Xdp, """
            r0 = 1
            r0 <<= 64
            exit
            """, "invalid shift 64"),
        new("unreachable_instruction", ProgramType.Xdp, """
            r0 = 0
            exit
            r0 = 1
            exit
            """, "unreachable insn 2"),
        new("infinite_loop", ProgramType.Xdp, """
            r0 = 0
            goto -2
            """, "infinite loop detected at insn 0"),
        // Pruning: the join's first state (r6 = 0) must not cover the second (r6 = 64), because r6 becomes a stack offset.
        new("precision_through_join", ProgramType.Xdp, """
            call 7
            r6 = 64
            if r0 == 0 goto +10
            r6 = 0

            """ + NineMoves + """
            r1 = r10
            r1 += -8
            r1 += r6
            r0 = 0
            *(u64 *)(r1 + 0) = r0
            r0 = 2
            exit
            """, "invalid write to stack R1 off=56 size=8"),
        // The same through a spilled stack slot: precision follows the fill back to the slot.
        new("precision_through_spill", ProgramType.Xdp, """
            call 7
            r6 = 64
            *(u64 *)(r10 - 16) = r6
            if r0 == 0 goto +11
            r6 = 0
            *(u64 *)(r10 - 16) = r6

            """ + NineMoves + """
            r2 = *(u64 *)(r10 - 16)
            r1 = r10
            r1 += -8
            r1 += r2
            r0 = 0
            *(u64 *)(r1 + 0) = r0
            r0 = 2
            exit
            """, "invalid write to stack R1 off=56 size=8"),
        // The running kernel knows a lookup in an array with a constant key inside it cannot fail.
        new("array_lookup_constant_key", ProgramType.Xdp, """
            *(u32 *)(r10 - 4) = 0
            ld_pseudo r1, 1, 0
            r2 = r10
            r2 += -4
            call 1
            r1 = *(u64 *)(r0 + 0)
            r0 = 2
            exit
            """, null, ArrayMap),
        new("array_lookup_key_outside", ProgramType.Xdp, """
            r1 = 16
            *(u32 *)(r10 - 8) = r1
            ld_pseudo r1, 1, 0
            r2 = r10
            r2 += -8
            call 1
            r1 = *(u64 *)(r0 + 0)
            r0 = 2
            exit
            """, "R0 invalid mem access 'map_value_or_null'", ArrayMap),
        new("bounded_loop", ProgramType.Xdp, """
            r0 = 0
            r1 = 0
            r1 += 1
            if r1 < 100 goto -2
            r0 = 2
            exit
            """, null),
        new("ringbuf_leak", ProgramType.Xdp, """
            ld_pseudo r1, 1, 0
            r2 = 8
            r3 = 0
            call 131
            r0 = 2
            exit
            """, "BPF_EXIT instruction in main prog would lead to reference leak", RingBuffer),
        new("ringbuf_submitted", ProgramType.Xdp, """
            ld_pseudo r1, 1, 0
            r2 = 8
            r3 = 0
            call 131
            if r0 == 0 goto +4
            *(u64 *)(r0 + 0) = 0
            r1 = r0
            r2 = 0
            call 132
            r0 = 2
            exit
            """, null, RingBuffer),
        new("ringbuf_overrun", ProgramType.Xdp, """
            ld_pseudo r1, 1, 0
            r2 = 8
            r3 = 0
            call 131
            if r0 == 0 goto +4
            *(u64 *)(r0 + 4) = 0
            r1 = r0
            r2 = 0
            call 132
            r0 = 2
            exit
            """, "invalid access to memory, mem_size=8 off=4 size=8", RingBuffer),
        new("context_modified_pointer", ProgramType.Xdp, """
            r1 += 4
            r0 = *(u32 *)(r1 + 0)
            exit
            """, "dereference of modified ctx ptr R1 off=4 disallowed"),
        new("context_bad_offset", ProgramType.Xdp, """
            r0 = *(u32 *)(r1 + 100)
            exit
            """, "invalid bpf_context access off=100 size=4"),
        new("context_write_read_only", ProgramType.SocketFilter, """
            r2 = 1
            *(u32 *)(r1 + 0) = r2
            r0 = 0
            exit
            """, "invalid bpf_context access off=0 size=4"),
        new("helper_not_for_program_type", ProgramType.Xdp, """
            call 26
            exit
            """, "program of this type cannot use helper bpf_skb_load_bytes#26"),
        new("helper_unknown", ProgramType.Xdp, """
            call 100000
            exit
            """, "invalid func unknown#100000"),
        new("subprogram_returns_stack_pointer", ProgramType.Xdp, """
            call pc+2
            r0 = 2
            exit
            r0 = r10
            r0 += -8
            exit
            """, "cannot return stack pointer to the caller"),
        new("subprogram_call", ProgramType.Xdp, """
            r1 = 5
            call pc+2
            r0 += 2
            exit
            r0 = r1
            exit
            """, null),
        new("pointer_bitwise", ProgramType.Xdp, """
            r1 &= 7
            r0 = 2
            exit
            """, "R1 bitwise operator &= on pointer prohibited"),
        new("pointer_32bit_arithmetic", ProgramType.Xdp, """
            w1 += 7
            r0 = 2
            exit
            """, "R1 32-bit pointer arithmetic prohibited"),
        new("kprobe_context_write", ProgramType.Kprobe, """
            r2 = 0
            *(u64 *)(r1 + 0) = r2
            r0 = 0
            exit
            """, "invalid bpf_context access off=0 size=8"),
        new("tracepoint_common_fields", ProgramType.Tracepoint, """
            r0 = *(u64 *)(r1 + 0)
            r0 = 0
            exit
            """, "invalid bpf_context access off=0 size=8"),
        new("raw_tracepoint_arguments", ProgramType.RawTracepoint, """
            r0 = *(u64 *)(r1 + 8)
            r0 = 0
            exit
            """, null),
        new("tc_packet_write", ProgramType.SchedCls, """
            r2 = *(u32 *)(r1 + 76)
            r3 = *(u32 *)(r1 + 80)
            r4 = r2
            r4 += 1
            if r4 > r3 goto +1
            *(u8 *)(r2 + 0) = 1
            r0 = 0
            exit
            """, null),
        new("sock_ops_context", ProgramType.SockOps, """
            r2 = *(u32 *)(r1 + 0)
            r3 = *(u64 *)(r1 + 168)
            r4 = *(u8 *)(r1 + 212)
            r5 = *(u64 *)(r1 + 192)
            r6 = *(u64 *)(r1 + 200)
            r7 = r5
            r7 += 20
            if r7 > r6 goto +1
            r2 = *(u8 *)(r5 + 13)
            *(u32 *)(r1 + 4) = r2
            r0 = 1
            exit
            """, null),
        new("sock_ops_narrow_read", ProgramType.SockOps, """
            r0 = *(u16 *)(r1 + 0)
            r0 = 1
            exit
            """, "invalid bpf_context access off=0 size=2"),
        new("sock_ops_write_read_only", ProgramType.SockOps, """
            r2 = 0
            *(u32 *)(r1 + 20) = r2
            r0 = 1
            exit
            """, "invalid bpf_context access off=20 size=4"),
        new("sock_ops_setsockopt", ProgramType.SockOps, """
            *(u32 *)(r10 - 4) = 0
            r2 = 6
            r3 = 13
            r4 = r10
            r4 += -4
            r5 = 4
            call 49
            r0 = 1
            exit
            """, null),
        new("sock_ops_getsockopt_too_long", ProgramType.SockOps, """
            r2 = 6
            r3 = 13
            r4 = r10
            r4 += -4
            r5 = 8
            call 57
            r0 = 1
            exit
            """, "invalid write to stack R4 off=-4 size=8"),
        new("cgroup_sock_context", ProgramType.CgroupSock, """
            r2 = *(u32 *)(r1 + 4)
            r3 = *(u16 *)(r1 + 12)
            r4 = *(u8 *)(r1 + 49)
            r5 = *(u32 *)(r1 + 72)
            r2 = 7
            *(u32 *)(r1 + 16) = r2
            call 15
            r0 = 1
            exit
            """, null),
        new("cgroup_sock_source_address_at_create", ProgramType.CgroupSock, """
            r0 = *(u32 *)(r1 + 24)
            r0 = 1
            exit
            """, "invalid bpf_context access off=24 size=4"),
        new("cgroup_sock_write_read_only", ProgramType.CgroupSock, """
            r2 = 2
            *(u32 *)(r1 + 4) = r2
            r0 = 1
            exit
            """, "invalid bpf_context access off=4 size=4"),
        new("cgroup_sock_packet_helper", ProgramType.CgroupSock, """
            r2 = 0
            r3 = r10
            r3 += -8
            r4 = 8
            call 26
            r0 = 1
            exit
            """, "program of this type cannot use helper bpf_skb_load_bytes#26"),
        new("cgroup_sock_return_range", ProgramType.CgroupSock, """
            r0 = 2
            exit
            """, "At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]"),
        new("perf_event_read_value", ProgramType.PerfEvent, """
            r6 = r1
            r0 = *(u64 *)(r6 + 168)
            r0 = *(u32 *)(r6 + 176)
            r2 = r10
            r2 += -24
            r3 = 24
            call 56
            r0 = 0
            exit
            """, null),
        new("perf_event_regs_narrow_read", ProgramType.PerfEvent, """
            r0 = *(u32 *)(r1 + 8)
            r0 = 0
            exit
            """, "invalid bpf_context access off=8 size=4"),
        new("tc_tunnel_option_three_arguments", ProgramType.SchedCls, """
            *(u64 *)(r10 - 8) = 0
            r2 = r10
            r2 += -8
            r3 = 8
            call 30
            r0 = 0
            exit
            """, null),
        new("tp_btf_trusted_argument", ProgramType.Tracing, """
            r2 = *(u64 *)(r1 + 0)
            r0 = *(u32 *)(r2 + 0)
            r0 = 0
            exit
            """, null) { Attach = AttachType.TraceRawTracepoint, Target = "sched_process_exec" },
        new("tp_btf_negative_offset", ProgramType.Tracing, """
            r2 = *(u64 *)(r1 + 0)
            r0 = *(u32 *)(r2 - 8)
            r0 = 0
            exit
            """, "R2 is ptr_task_struct invalid negative access: off=-8") { Attach = AttachType.TraceRawTracepoint, Target = "sched_process_exec" },
        new("tp_btf_variable_offset", ProgramType.Tracing, """
            r6 = *(u64 *)(r1 + 0)
            call 7
            r0 &= 7
            r6 += r0
            r0 = *(u8 *)(r6 + 0)
            r0 = 0
            exit
            """, "R6 is ptr_task_struct invalid variable offset: off=0, var_off=(0x0; 0x7)") { Attach = AttachType.TraceRawTracepoint, Target = "sched_process_exec" },
        new("tp_btf_write_to_kernel_object", ProgramType.Tracing, """
            r2 = *(u64 *)(r1 + 0)
            r3 = 0
            *(u32 *)(r2 + 0) = r3
            r0 = 0
            exit
            """, "only read is supported") { Attach = AttachType.TraceRawTracepoint, Target = "sched_process_exec" },
        new("tp_btf_missing_argument", ProgramType.Tracing, """
            r0 = *(u64 *)(r1 + 24)
            r0 = 0
            exit
            """, "invalid bpf_context access off=24 size=8") { Attach = AttachType.TraceRawTracepoint, Target = "sched_process_exec" },
        new("tp_btf_narrow_pointer_argument", ProgramType.Tracing, """
            r0 = *(u32 *)(r1 + 8)
            r0 = 0
            exit
            """, "invalid bpf_context access off=8 size=4") { Attach = AttachType.TraceRawTracepoint, Target = "sched_switch" },
        new("tp_btf_scalar_argument", ProgramType.Tracing, """
            r0 = *(u8 *)(r1 + 0)
            r0 = *(u32 *)(r1 + 24)
            r0 = 0
            exit
            """, null) { Attach = AttachType.TraceRawTracepoint, Target = "sched_switch" },
        new("tp_btf_pointer_multiplication", ProgramType.Tracing, """
            r2 = *(u64 *)(r1 + 0)
            r2 *= 2
            r0 = 0
            exit
            """, "R2 pointer arithmetic with *= operator prohibited") { Attach = AttachType.TraceRawTracepoint, Target = "sched_process_exec" },
        new("tp_btf_scalar_dereference", ProgramType.Tracing, """
            r2 = *(u64 *)(r1 + 8)
            r0 = *(u32 *)(r2 + 0)
            r0 = 0
            exit
            """, "R2 invalid mem access 'scalar'") { Attach = AttachType.TraceRawTracepoint, Target = "sched_process_exec" },
        // ---- structure -------------------------------------------------------------------------------------------
        new("jump_out_of_range", ProgramType.Xdp, """
            goto +4
            r0 = 0
            exit
            """, "jump out of range from insn 0 to 5"),
        new("last_instruction_not_exit", ProgramType.Xdp, """
            r0 = 0
            """, "last insn is not an exit or jmp"),
        new("too_many_processed_instructions", ProgramType.Xdp, """
            r1 = 0
            r1 += 1
            if r1 < 600000 goto -2
            r0 = 2
            exit
            """, "BPF program is too large. Processed 1000001 insn"),
        new("call_chain_too_deep", ProgramType.Xdp, """
            call pc+2
            r0 = 2
            exit
            call pc+1
            exit
            call pc+1
            exit
            call pc+1
            exit
            call pc+1
            exit
            call pc+1
            exit
            call pc+1
            exit
            call pc+1
            exit
            call pc+1
            exit
            r0 = 0
            exit
            """, "the call stack of 9 frames is too deep"),
        new("combined_stack_too_large", ProgramType.Xdp, """
            *(u64 *)(r10 - 320) = 0
            call pc+2
            r0 = 2
            exit
            *(u64 *)(r10 - 320) = 0
            r0 = 0
            exit
            """, "combined stack size of 2 calls is 640. Too large"),
        // ---- registers and ALU -------------------------------------------------------------------------------------
        new("helper_argument_not_initialised", ProgramType.Xdp, """
            ld_pseudo r1, 1, 0
            call 1
            exit
            """, "R2 !read_ok", HashMap),
        new("pointer_multiplication", ProgramType.Xdp, """
            r1 *= 2
            r0 = 2
            exit
            """, "R1 pointer arithmetic with *= operator prohibited"),
        new("pointer_subtracted_from_scalar", ProgramType.Xdp, """
            r0 = 0
            r0 -= r1
            exit
            """, "R0 tried to subtract pointer from scalar"),
        new("map_pointer_arithmetic", ProgramType.Xdp, """
            ld_pseudo r1, 1, 0
            r1 += 8
            r0 = 2
            exit
            """, "R1 pointer arithmetic on map_ptr prohibited", HashMap),
        new("pointer_plus_pointer", ProgramType.Xdp, """
            r1 += r10
            r0 = 2
            exit
            """, "R1 pointer += pointer prohibited"),
        new("stack_pointer_unbounded_math", ProgramType.Xdp, """
            call 7
            r1 = r10
            r1 += r0
            r0 = 2
            exit
            """, "math between fp pointer and register with unbounded min value is not allowed"),
        new("stack_pointer_huge_constant", ProgramType.Xdp, """
            r2 = 1073741824
            r1 = r10
            r1 += r2
            r0 = 2
            exit
            """, "math between fp pointer and 1073741824 is not allowed"),
        new("pointer_partial_copy", ProgramType.Xdp, """
            w2 = w1
            r0 = 2
            exit
            """, null),
        new("pointer_sign_extension", ProgramType.Xdp, """
            r2 = (s8)r1
            r0 = 2
            exit
            """, null),
        new("return_pointer", ProgramType.CgroupSkb, """
            r0 = r1
            exit
            """, "At program exit the register R0 is not a known value (ctx)"),
        // ---- stack ---------------------------------------------------------------------------------------------------
        new("stack_read_beyond_512", ProgramType.Xdp, """
            r0 = *(u64 *)(r10 - 520)
            exit
            """, "invalid read from stack R10 off=-520 size=8"),
        new("stack_variable_offset_out_of_frame", ProgramType.Xdp, """
            call 7
            r0 &= 8
            r1 = r10
            r1 += r0
            r0 = *(u64 *)(r1 + 0)
            r0 = 2
            exit
            """, "invalid variable-offset read from stack R1 var_off=(0x0; 0x8) off=0 size=8"),
        new("stack_variable_offset_misaligned", ProgramType.Xdp, """
            call 7
            r0 &= 7
            r1 = r10
            r1 += r0
            r0 = *(u64 *)(r1 - 8)
            r0 = 2
            exit
            """, "misaligned stack access off (0x0; 0x7)+0+-8 size 8"),
        new("pointer_spill_too_narrow", ProgramType.Xdp, """
            *(u32 *)(r10 - 8) = r1
            r0 = 2
            exit
            """, "invalid size of register spill"),
        new("pointer_fill_too_narrow", ProgramType.Xdp, """
            *(u64 *)(r10 - 8) = r1
            r0 = *(u32 *)(r10 - 8)
            r0 = 2
            exit
            """, "invalid size of register fill"),
        new("spill_into_caller_frame", ProgramType.Xdp, """
            r1 = r10
            r1 += -8
            call pc+2
            r0 = 2
            exit
            *(u64 *)(r10 - 8) = 0
            r2 = r10
            r2 += -8
            *(u64 *)(r1 + 0) = r2
            r0 = 0
            exit
            """, "cannot spill pointers to stack into stack frame of the caller"),
        // ---- memory ----------------------------------------------------------------------------------------------------
        new("map_value_negative_index", ProgramType.Xdp, Lookup + """
            if r0 == 0 goto +7
            r6 = r0
            call 7
            r0 &= 7
            r0 -= 4
            r6 += r0
            r0 = *(u8 *)(r6 + 0)
            r0 = 2
            exit
            """, "R6 min value is negative, either use unsigned index or do a if (index >=0) check.", HashMap),
        new("map_value_unbounded_access", ProgramType.Xdp, Lookup + """
            if r0 == 0 goto +6
            r6 = r0
            call 7
            r0 >>= 1
            r6 += r0
            r0 = *(u8 *)(r6 + 0)
            r0 = 2
            exit
            """, "R6 unbounded memory access, make sure to bounds check any such access", HashMap),
        new("context_variable_offset", ProgramType.Xdp, """
            r6 = r1
            call 7
            r0 &= 4
            r6 += r0
            r0 = *(u32 *)(r6 + 0)
            r0 = 2
            exit
            """, "variable ctx access var_off=(0x0; 0x4) disallowed"),
        new("context_immediate_store", ProgramType.SchedCls, """
            *(u32 *)(r1 + 48) = 0
            r0 = 0
            exit
            """, null),
        new("context_atomic", ProgramType.Xdp, """
            r2 = 1
            lock *(u32 *)(r1 + 0) += r2
            r0 = 2
            exit
            """, "BPF_ATOMIC stores into R1 ctx is not allowed"),
        new("atomic_pointer_into_memory", ProgramType.Xdp, """
            *(u64 *)(r10 - 8) = 0
            lock *(u64 *)(r10 - 8) += r1
            r0 = 2
            exit
            """, null),
        new("cgroup_skb_packet_write", ProgramType.CgroupSkb, """
            r2 = *(u32 *)(r1 + 76)
            r3 = *(u32 *)(r1 + 80)
            r4 = r2
            r4 += 1
            if r4 > r3 goto +1
            *(u8 *)(r2 + 0) = 1
            r0 = 1
            exit
            """, "cannot write into packet"),
        new("legacy_packet_load_in_xdp", ProgramType.Xdp, """
            r6 = r1
            r0 = *(u8 *)skb[12]
            r0 = 2
            exit
            """, "BPF_LD_[ABS|IND] instructions not allowed for this program type"),
        new("legacy_packet_load_without_skb", ProgramType.SocketFilter, """
            r6 = 0
            r0 = *(u8 *)skb[12]
            r0 = 0
            exit
            """, "at the time of BPF_LD_ABS|IND R6 != pointer to skb"),
        // ---- helpers ---------------------------------------------------------------------------------------------------
        new("helper_key_from_context", ProgramType.Xdp, """
            r2 = r1
            ld_pseudo r1, 1, 0
            call 1
            r0 = 2
            exit
            """, "R2 type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_", HashMap),
        new("helper_size_negative", ProgramType.Kprobe, """
            call 7
            r2 = r0
            r2 <<= 32
            r2 s>>= 32
            r1 = r10
            r1 += -8
            r3 = 0
            call 113
            r0 = 0
            exit
            """, "R2 min value is negative, either use unsigned or 'var &= const'"),
        new("helper_size_maybe_zero", ProgramType.Kprobe, """
            call 7
            r2 = r0
            r2 &= 8
            r1 = r10
            r1 += -8
            call 16
            r0 = 0
            exit
            """, "R2 invalid zero-sized read: u64=[0,8]"),
        new("helper_size_unbounded", ProgramType.Kprobe, """
            call 7
            r2 = r0
            r2 >>= 1
            r2 |= 1
            r1 = r10
            r1 += -8
            call 16
            r0 = 0
            exit
            """, "R2 unbounded memory access, use 'var &= const' or 'if (var < const)'"),
        new("helper_writes_beyond_stack", ProgramType.Kprobe, """
            r1 = r10
            r1 += -8
            r2 = 16
            call 16
            r0 = 0
            exit
            """, "invalid write to stack R1 off=-8 size=16"),
        new("ringbuf_size_not_constant", ProgramType.Xdp, """
            call 7
            r2 = r0
            r2 &= 8
            ld_pseudo r1, 1, 0
            r3 = 0
            call 131
            r0 = 2
            exit
            """, "R2 is not a known constant'", RingBuffer),
        new("ringbuf_submit_with_offset", ProgramType.Xdp, """
            ld_pseudo r1, 1, 0
            r2 = 16
            r3 = 0
            call 131
            if r0 == 0 goto +4
            r1 = r0
            r1 += 8
            r2 = 0
            call 132
            r0 = 2
            exit
            """, "R1 must have zero offset when passed to release func or trusted arg to kfunc", RingBuffer),
        new("ringbuf_into_lookup", ProgramType.Xdp, Lookup + """
            r0 = 2
            exit
            """, "invalid zero-sized read", RingBuffer),
        new("hash_map_into_ringbuf", ProgramType.Xdp, """
            ld_pseudo r1, 1, 0
            r2 = 8
            r3 = 0
            call 131
            r0 = 2
            exit
            """, "cannot pass map_type 1 into func bpf_ringbuf_reserve#131", HashMap),
        new("tail_call_without_program_array", ProgramType.Xdp, """
            ld_pseudo r2, 1, 0
            r3 = 0
            call 12
            r0 = 2
            exit
            """, "expected prog array map for tail call", HashMap),
        new("fentry_return_value", ProgramType.Tracing, """
            r0 = *(u64 *)(r1 + 0)
            r0 = 1
            exit
            """, "At program exit the register R0 has smin=1 smax=1 should have been in [0, 0]") { Attach = AttachType.TraceFentry, Target = "bpf_fentry_test1" },
        new("fexit_return_value_argument", ProgramType.Tracing, """
            r0 = *(u64 *)(r1 + 8)
            r0 = 0
            exit
            """, null) { Attach = AttachType.TraceFexit, Target = "bpf_fentry_test1" },
        new("fentry_no_return_value_argument", ProgramType.Tracing, """
            r0 = *(u64 *)(r1 + 8)
            r0 = 0
            exit
            """, "invalid bpf_context access off=8 size=8") { Attach = AttachType.TraceFentry, Target = "bpf_fentry_test1" },
        // ---- callbacks -------------------------------------------------------------------------------------------------
        new("for_each_map_elem_callback", ProgramType.Xdp, """
            ld_pseudo r1, 1, 0
            ld_pseudo r2, 4, 6
            r3 = 0
            r4 = 0
            call 164
            r0 = 2
            exit
            r0 = *(u32 *)(r2 + 0)
            r0 = *(u64 *)(r3 + 0)
            r0 = 0
            exit
            """, null, ArrayMap),
        new("for_each_map_elem_key_write", ProgramType.Xdp, """
            ld_pseudo r1, 1, 0
            ld_pseudo r2, 4, 6
            r3 = 0
            r4 = 0
            call 164
            r0 = 2
            exit
            r0 = 1
            *(u32 *)(r2 + 0) = r0
            r0 = 0
            exit
            """, "write to change key R2 not allowed", ArrayMap),
        new("for_each_map_elem_value_overrun", ProgramType.Xdp, """
            ld_pseudo r1, 1, 0
            ld_pseudo r2, 4, 6
            r3 = 0
            r4 = 0
            call 164
            r0 = 2
            exit
            r0 = *(u64 *)(r3 + 4)
            r0 = 0
            exit
            """, "invalid access to map value, value_size=8 off=4 size=8", ArrayMap),
        new("loop_callback_return_range", ProgramType.Xdp, """
            r1 = 4
            ld_pseudo r2, 4, 6
            r3 = 0
            r4 = 0
            call 181
            r0 = 2
            exit
            r0 = 2
            exit
            """, "At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]"),
        new("for_each_map_elem_key_overrun", ProgramType.Xdp, """
            ld_pseudo r1, 1, 0
            ld_pseudo r2, 4, 6
            r3 = 0
            r4 = 0
            call 164
            r0 = 2
            exit
            r0 = *(u64 *)(r2 + 0)
            r0 = 0
            exit
            """, "invalid access to map key, key_size=4 off=0 size=8", ArrayMap),
        new("callback_returns_pointer", ProgramType.Xdp, """
            ld_pseudo r1, 1, 0
            ld_pseudo r2, 4, 6
            r3 = 0
            r4 = 0
            call 164
            r0 = 2
            exit
            r0 = r3
            exit
            """, "R0 not a scalar value", ArrayMap),
        new("loop_context_not_stack", ProgramType.Xdp, """
            r3 = r1
            r1 = 4
            ld_pseudo r2, 4, 5
            r4 = 0
            call 181
            r0 = 2
            exit
            r0 = 0
            exit
            """, "R3 type=ctx expected=fp"),
        new("stack_pointer_variable_subtraction", ProgramType.Xdp, """
            call 7
            r0 &= 7
            r1 = r10
            r1 -= r0
            r0 = 2
            exit
            """, "R1 subtraction from stack pointer prohibited"),
        new("stack_pointer_out_of_bounds_value", ProgramType.Xdp, """
            call 7
            r0 &= 0x3fffffff
            r0 |= 0x20000000
            r1 = r10
            r1 += r0
            r0 = 2
            exit
            """, "value 536870912 makes fp pointer be out of bounds"),
        new("stack_unbounded_variable_offset", ProgramType.Xdp, """
            call 7
            r0 >>= 1
            r1 = r10
            r1 += r0
            r0 = *(u8 *)(r1 - 8)
            r0 = 2
            exit
            """, "invalid unbounded variable-offset read from stack R1"),
        new("read_only_map_write", ProgramType.Xdp, Lookup + """
            if r0 == 0 goto +2
            r1 = 1
            *(u64 *)(r0 + 0) = r1
            r0 = 2
            exit
            """, "write into map forbidden, value_size=8 off=0 size=8", ReadOnlyArray),
        new("write_only_map_read", ProgramType.Xdp, Lookup + """
            if r0 == 0 goto +1
            r1 = *(u64 *)(r0 + 0)
            r0 = 2
            exit
            """, "read from map forbidden, value_size=8 off=0 size=8", WriteOnlyArray),
        new("sk_lookup_leak", ProgramType.Xdp, SkLookupTcp + """
            r0 = 2
            exit
            """, "BPF_EXIT instruction in main prog would lead to reference leak"),
        new("sk_lookup_released", ProgramType.Xdp, SkLookupTcp + """
            if r0 == 0 goto +4
            r2 = *(u32 *)(r0 + 4)
            r2 = *(u32 *)(r0 + 8)
            r1 = r0
            call 86
            r0 = 2
            exit
            """, null),
        new("sk_lookup_tc_udp_released", ProgramType.SchedCls, SkLookupTcp.Replace("call 84", "call 85") + """
            r6 = r0
            if r6 != 0 goto +2
            r0 = 0
            exit
            r1 = r6
            call 86
            r0 = 0
            exit
            """, null),
        new("sk_lookup_released_on_one_path", ProgramType.Xdp, SkLookupTcp + """
            if r0 == 0 goto +6
            r6 = r0
            r2 = *(u32 *)(r0 + 4)
            if r2 == 2 goto +3
            r1 = r6
            call 86
            r0 = 1
            r0 = 2
            exit
            """, "BPF_EXIT instruction in main prog would lead to reference leak"),
        new("sk_lookup_use_after_release", ProgramType.Xdp, SkLookupTcp + """
            if r0 == 0 goto +4
            r6 = r0
            r1 = r0
            call 86
            r0 = *(u32 *)(r6 + 4)
            r0 = 2
            exit
            """, "R6 invalid mem access 'scalar'"),
        new("sk_lookup_null_deref", ProgramType.Xdp, SkLookupTcp + """
            r2 = *(u32 *)(r0 + 4)
            if r0 == 0 goto +2
            r1 = r0
            call 86
            r0 = 2
            exit
            """, "R0 invalid mem access 'sock_or_null'"),
        new("sk_release_or_null", ProgramType.Xdp, SkLookupTcp + """
            r1 = r0
            call 86
            r0 = 2
            exit
            """, "R1 type=sock_or_null expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_"),
        new("sk_release_twice", ProgramType.Xdp, SkLookupTcp + """
            if r0 == 0 goto +5
            r6 = r0
            r1 = r0
            call 86
            r1 = r6
            call 86
            r0 = 2
            exit
            """, "R1 type=scalar expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_"),
        new("sk_release_not_acquired", ProgramType.SchedCls, """
            r1 = *(u64 *)(r1 + 168)
            if r1 == 0 goto +1
            call 86
            r0 = 0
            exit
            """, "R1 must be referenced when passed to release function"),
        new("sk_lookup_write", ProgramType.Xdp, SkLookupTcp + """
            if r0 == 0 goto +4
            r2 = 0
            *(u32 *)(r0 + 4) = r2
            r1 = r0
            call 86
            r0 = 2
            exit
            """, "R0 cannot write into sock"),
        new("skc_lookup_type_field", ProgramType.Xdp, SkLookupTcp.Replace("call 84", "call 99") + """
            if r0 == 0 goto +3
            r2 = *(u32 *)(r0 + 8)
            r1 = r0
            call 86
            r0 = 2
            exit
            """, "R0 invalid sock_common access off=8 size=4"),
        new("sk_lookup_pointer_arithmetic", ProgramType.Xdp, SkLookupTcp + """
            if r0 == 0 goto +3
            r0 += 4
            r1 = r0
            call 86
            r0 = 2
            exit
            """, "R0 pointer arithmetic on sock prohibited"),
        new("sk_lookup_socket_filter", ProgramType.SocketFilter, SkLookupTcp + """
            r0 = 0
            exit
            """, "program of this type cannot use helper bpf_sk_lookup_tcp#84"),
        new("sk_lookup_tail_call_leak", ProgramType.Xdp, "r7 = r1\n" + SkLookupTcp + """
            if r0 == 0 goto +8
            r6 = r0
            r1 = r7
            ld_pseudo r2, 1, 0
            r3 = 0
            call 12
            r1 = r6
            call 86
            r0 = 2
            exit
            """, "tail_call would lead to reference leak", ProgramArray),
        new("devmap_update", ProgramType.Xdp, """
            *(u32 *)(r10 - 4) = 0
            *(u32 *)(r10 - 8) = 0
            ld_pseudo r1, 1, 0
            r2 = r10
            r2 += -4
            r3 = r10
            r3 += -8
            r4 = 0
            call 2
            r0 = 2
            exit
            """, "write into map forbidden", DevMap),
        new("read_only_map_update", ProgramType.Xdp, """
            *(u32 *)(r10 - 4) = 0
            *(u64 *)(r10 - 16) = 0
            ld_pseudo r1, 1, 0
            r2 = r10
            r2 += -4
            r3 = r10
            r3 += -16
            r4 = 0
            call 2
            r0 = 2
            exit
            """, "write into map forbidden", ReadOnlyArray),
        new("devmap_value_write", ProgramType.Xdp, Lookup + """
            if r0 == 0 goto +2
            r1 = 1
            *(u32 *)(r0 + 0) = r1
            r0 = 2
            exit
            """, "write into map forbidden, value_size=4 off=0 size=4", DevMap),
        new("devmap_value_read", ProgramType.Xdp, Lookup + """
            if r0 == 0 goto +1
            r1 = *(u32 *)(r0 + 0)
            r0 = 2
            exit
            """, null, DevMap),
        new("cpumap_lookup", ProgramType.Xdp, Lookup + """
            r0 = 2
            exit
            """, "cannot pass map_type 16 into func bpf_map_lookup_elem#1", CpuMap),
        new("xskmap_delete", ProgramType.Xdp, """
            *(u32 *)(r10 - 4) = 0
            ld_pseudo r1, 1, 0
            r2 = r10
            r2 += -4
            call 3
            r0 = 2
            exit
            """, "cannot pass map_type 17 into func bpf_map_delete_elem#3", XskMap),
        // bpf_csum_diff over two ring buffer reservations: a helper takes at most one referenced argument.
        new("two_referenced_arguments", ProgramType.SchedCls, """
            ld_pseudo r1, 1, 0
            r2 = 8
            r3 = 0
            call 131
            if r0 == 0 goto out
            r7 = r0
            ld_pseudo r1, 1, 0
            r2 = 8
            r3 = 0
            call 131
            if r0 == 0 goto discard
            r8 = r0
            r1 = r7
            r2 = 8
            r3 = r8
            r4 = 8
            r5 = 0
            call 28
            r1 = r8
            r2 = 0
            call 133
            discard:
            r1 = r7
            r2 = 0
            call 133
            out:
            r0 = 0
            exit
            """, "more than one arg with ref_obj_id R3 4 2", RingBuffer),
        new("socket_filter_no_direct_packet_access", ProgramType.SocketFilter, """
            r2 = *(u32 *)(r1 + 76)
            r0 = 0
            exit
            """, "invalid bpf_context access off=76 size=4"),
    ];
}
