using SharpBpf.Objects;

namespace SharpBpf.Verification;

/// <summary>What the verifier knows about one map the program refers to (by index, as <c>lddw rX, map</c> does).</summary>
/// <param name="Name">The map's name (the log prints its first 15 characters).</param>
/// <param name="Type">The map type.</param>
/// <param name="KeySize">The key size in bytes.</param>
/// <param name="ValueSize">The value size in bytes.</param>
/// <param name="MaxEntries">The maximum number of entries.</param>
/// <param name="Flags">BPF_F_* map flags.</param>
/// <param name="ReadOnlyValue">For frozen read-only global data (<c>.rodata</c>): the value, whose constant loads the verifier reads.</param>
/// <param name="InnerMapIndex">For maps of maps: the index of the inner map template in the same list, else -1.</param>
public sealed record VerifierMap(string Name, MapType Type, uint KeySize, uint ValueSize, uint MaxEntries, uint Flags = 0,
    ReadOnlyMemory<byte>? ReadOnlyValue = null, int InnerMapIndex = -1)
{
    /// <summary>Whether the map was created with a BTF value type (which bpf_spin_lock needs).</summary>
    public bool HasValueBtf { get; init; }

    /// <summary>The offset of the value's <c>struct bpf_spin_lock</c>, or -1 when it has none.</summary>
    public int SpinLockOffset { get; init; } = -1;

    /// <summary>Whether lookups return a map rather than a value.</summary>
    public bool IsMapOfMaps => Type is MapType.ArrayOfMaps or MapType.HashOfMaps;

    /// <summary>
    /// The verifier's view of an object's maps, by the indexes its code uses; inner map templates of maps of maps
    /// are appended after them.
    /// </summary>
    public static IReadOnlyList<VerifierMap> FromObject(BpfObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        // Malformed BTF counts as none: no map has a value type, so bpf_spin_lock is refused.
        var btf = ObjectBtfInfo.Btf(obj);
        var maps = obj.Maps.Select(m => WithBtf(From(m), m, btf)).ToList();
        for (int i = 0; i < obj.Maps.Count; i++)
        {
            var m = obj.Maps[i];
            if (m.Type is not (MapType.ArrayOfMaps or MapType.HashOfMaps))
            {
                continue;
            }

            int inner = -1;
            if (m.InnerMap is { } template)
            {
                maps.Add(From(template));
                inner = maps.Count - 1;
            }
            else if (m.Kind == MapDefinitionKind.Iproute2)
            {
                inner = obj.Maps.ToList().FindIndex(x => x.Kind == MapDefinitionKind.Iproute2 && x.Id == m.InnerId && x != m);
            }
            else if (m.Kind == MapDefinitionKind.Legacy && m.InnerMapIndex < obj.Maps.Count)
            {
                inner = (int)m.InnerMapIndex;
            }

            maps[i] = maps[i] with { InnerMapIndex = inner };
        }

        return maps;
    }

    private static VerifierMap WithBtf(VerifierMap map, MapDefinition definition, SharpBpf.Btf.BtfSpec? btf) =>
        btf is null || definition.ValueTypeId <= 0 ? map :
            map with { HasValueBtf = true, SpinLockOffset = definition.SpinLockOffset(btf) ?? -1 };

    /// <summary>The verifier's view of an object's map definition.</summary>
    public static VerifierMap From(MapDefinition map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var rodata = map.Kind == MapDefinitionKind.GlobalData && map.IsReadOnly ? map.InitialValue : null;
        return new VerifierMap(map.Name, map.Type, map.KeySize, map.ValueSize, map.MaxEntries, map.Flags, rodata);
    }
}

/// <summary>The kernel's program-load flags (<c>prog_flags</c> of BPF_PROG_LOAD), with their kernel values.</summary>
[Flags]
public enum VerifierFlags
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>BPF_F_STRICT_ALIGNMENT: check pointer alignment (packet with NET_IP_ALIGN 2, map value, context...) as on strict-alignment architectures.</summary>
    StrictAlignment = 1,
    /// <summary>BPF_F_ANY_ALIGNMENT: no alignment checks, but the stack's (which the kernel always checks); wins over <see cref="StrictAlignment"/>.</summary>
    AnyAlignment = 2,
    /// <summary>BPF_F_TEST_RND_HI32: the kernel randomises the upper halves of 32-bit results when it rewrites the program; verification is unchanged.</summary>
    TestRandomHigh32 = 4,
    /// <summary>BPF_F_TEST_STATE_FREQ: create a pruning checkpoint at every prune point.</summary>
    TestStateFrequency = 8,
    /// <summary>BPF_F_SLEEPABLE: the program may sleep.</summary>
    Sleepable = 16,
    /// <summary>BPF_F_XDP_HAS_FRAGS: the XDP program handles multi-buffer packets.</summary>
    XdpHasFragments = 32,
    /// <summary>BPF_F_XDP_DEV_BOUND_ONLY: bound to one device.</summary>
    XdpDeviceBoundOnly = 64,
    /// <summary>BPF_F_TEST_REG_INVARIANTS: the kernel checks its register bound invariants (always kept here).</summary>
    TestRegisterInvariants = 128,
}

/// <summary>The kernel's names of the program-load flags (<c>BPF_F_STRICT_ALIGNMENT</c>...).</summary>
public static class VerifierFlagNames
{
    private static readonly (string Name, VerifierFlags Flag)[] Names =
    [
        ("BPF_F_STRICT_ALIGNMENT", VerifierFlags.StrictAlignment),
        ("BPF_F_ANY_ALIGNMENT", VerifierFlags.AnyAlignment),
        ("BPF_F_TEST_RND_HI32", VerifierFlags.TestRandomHigh32),
        ("BPF_F_TEST_STATE_FREQ", VerifierFlags.TestStateFrequency),
        ("BPF_F_SLEEPABLE", VerifierFlags.Sleepable),
        ("BPF_F_XDP_HAS_FRAGS", VerifierFlags.XdpHasFragments),
        ("BPF_F_XDP_DEV_BOUND_ONLY", VerifierFlags.XdpDeviceBoundOnly),
        ("BPF_F_TEST_REG_INVARIANTS", VerifierFlags.TestRegisterInvariants),
    ];

    /// <summary>Every accepted name, in the kernel's bit order.</summary>
    public static IEnumerable<string> All => Names.Select(n => n.Name);

    /// <summary>The flag named <paramref name="name"/> (case-insensitive; the <c>BPF_F_</c> prefix may be left out), or false.</summary>
    public static bool TryParse(string name, out VerifierFlags flag)
    {
        ArgumentNullException.ThrowIfNull(name);
        string full = name.StartsWith("BPF_F_", StringComparison.OrdinalIgnoreCase) ? name : "BPF_F_" + name;
        foreach (var (known, value) in Names)
        {
            if (string.Equals(known, full, StringComparison.OrdinalIgnoreCase))
            {
                flag = value;
                return true;
            }
        }

        flag = VerifierFlags.None;
        return false;
    }
}

/// <summary>Options of <see cref="Verifier.Verify(Isa.BpfProgram, VerifierOptions)"/>.</summary>
public sealed record VerifierOptions
{
    /// <summary>The program type, which decides the context, the helpers and the return value rules.</summary>
    public ProgramType ProgramType { get; init; } = ProgramType.SocketFilter;

    /// <summary>
    /// The expected attach type given at load (BPF_PROG_LOAD's <c>expected_attach_type</c>); null for the kernel's
    /// default. Decides context rules of cgroup sock programs and the kind of tracing programs.
    /// </summary>
    public AttachType? ExpectedAttachType { get; init; }

    /// <summary>
    /// The attach target: a tp_btf tracepoint or the fentry/fexit function (libbpf's section suffix), whose prototype in
    /// <see cref="KernelBtf"/> types a tracing program's arguments.
    /// </summary>
    public string? AttachTarget { get; init; }

    /// <summary>The kernel's BTF, for BTF-typed pointers of tracing programs; null leaves their arguments untyped numbers.</summary>
    public SharpBpf.Btf.BtfSpec? KernelBtf { get; init; }

    /// <summary>The maps, by the index <c>lddw</c> instructions use.</summary>
    public IReadOnlyList<VerifierMap> Maps { get; init; } = [];

    /// <summary>The log level: 0 none, 1 the failing path with states, 2 every instruction of every path.</summary>
    public int LogLevel { get; init; }

    /// <summary>The most instructions to process before giving up (the kernel's BPF_COMPLEXITY_LIMIT_INSNS).</summary>
    public int MaxProcessedInstructions { get; init; } = 1_000_000;

    /// <summary>Load flags.</summary>
    public VerifierFlags Flags { get; init; }

    /// <summary>Stops the run cleanly (as a rejection) after this long, when set.</summary>
    public TimeSpan? TimeLimit { get; init; }

    /// <summary>
    /// The log buffer's size, as BPF_PROG_LOAD's <c>log_size</c> (a terminating zero included): a longer log keeps its last
    /// <c>MaxLogLength - 1</c> characters, as the kernel's rotating log does since 6.4, or its first ones with
    /// <see cref="FixedLog"/>; <see cref="VerifierResult.LogTrueLength"/> tells the whole length. 0 for no limit.
    /// </summary>
    public int MaxLogLength { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// The kernel's BPF_LOG_FIXED log level bit: a log longer than <see cref="MaxLogLength"/> keeps its beginning
    /// instead of its end.
    /// </summary>
    public bool FixedLog { get; init; }

    /// <summary>
    /// The program's C source lines from BTF line info, sorted by instruction: the log prints them as the kernel does
    /// (<c>; text @ file.c:LINE</c>) and the error names the failing instruction's line. Empty when unknown.
    /// </summary>
    public IReadOnlyList<SourceLine> SourceLines { get; init; } = [];

    /// <summary>
    /// The program's BTF function info (one record per function, sorted by instruction), which types each function in
    /// <see cref="ProgramBtf"/>. A function of global linkage is verified once on its own, with its arguments assumed from
    /// its prototype, and its calls only check the arguments against the prototype, as the kernel does. Empty (every
    /// function verified with its caller's registers) when the program has no BTF.
    /// </summary>
    public IReadOnlyList<FunctionInfo> FunctionInfo { get; init; } = [];

    /// <summary>The program's own BTF (the object's <c>.BTF</c>), which <see cref="FunctionInfo"/> refers to.</summary>
    public SharpBpf.Btf.BtfSpec? ProgramBtf { get; init; }

    /// <summary>
    /// Options for a program of an object: its type and the object's maps; <paramref name="flags"/> are added to those
    /// its section implies (sleepable, XDP fragments), <paramref name="timeLimit"/> stops the run cleanly, and
    /// <paramref name="fallbackType"/> is the type of a program whose section name gives none.
    /// </summary>
    public static VerifierOptions For(BpfObject obj, ObjectProgram program, int logLevel = 0, VerifierFlags flags = VerifierFlags.None, TimeSpan? timeLimit = null,
        ProgramType? fallbackType = null)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(program);
        return new VerifierOptions
        {
            ProgramType = program.Type == ProgramType.Unspecified && fallbackType is { } type ? type : program.Type,
            ExpectedAttachType = program.ExpectedAttachType,
            AttachTarget = program.Section.AttachTarget,
            KernelBtf = program.Type == ProgramType.Tracing ? SharpBpf.Btf.BtfFile.RunningKernel : null,
            Maps = VerifierMap.FromObject(obj),
            LogLevel = logLevel,
            SourceLines = SourceLine.ForProgram(obj, program),
            FunctionInfo = Verification.FunctionInfo.ForProgram(obj, program),
            ProgramBtf = ObjectBtfInfo.Btf(obj),
            Flags = flags | (program.Section.IsSleepable ? VerifierFlags.Sleepable : 0) | (program.Section.IsXdpFrags ? VerifierFlags.XdpHasFragments : 0),
            TimeLimit = timeLimit,
        };
    }
}
