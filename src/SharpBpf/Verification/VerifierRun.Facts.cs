namespace SharpBpf.Verification;

internal sealed partial class VerifierRun
{
    // Per instruction, over every visit of the walk: the pointer kinds its memory access went through, how many
    // visits checked it, and whether one of them was not through a bounds-checked pointer (then it is not proven).
    private MemoryKinds[]? _accessKinds;
    private int[]? _accessVisits;
    private bool[]? _accessUnproven;

    /// <summary>
    /// Records what the current visit of a load, store or atomic at <see cref="_pc"/> goes through. Called before the
    /// bounds check: a visit whose check fails rejects the program, and facts of rejected programs are not used.
    /// </summary>
    private void RecordAccessFact(in RegisterState reg)
    {
        int length = _insns.Length;
        _accessKinds ??= new MemoryKinds[length];
        _accessVisits ??= new int[length];
        _accessUnproven ??= new bool[length];
        var kind = KindOf(reg);
        _accessKinds[_pc] |= kind;
        _accessVisits[_pc]++;
        if (kind == MemoryKinds.None)
        {
            _accessUnproven[_pc] = true;
        }
    }

    // The kinds whose accesses CheckMemAccess bounds-checks against a known size; anything else proves nothing.
    private static MemoryKinds KindOf(in RegisterState reg) => (reg.Type, reg.Flags) switch
    {
        (RegisterType.Stack, RegisterTypeFlags.None) => MemoryKinds.Stack,
        (RegisterType.MapValue, RegisterTypeFlags.None) => MemoryKinds.MapValue,
        (RegisterType.Context, RegisterTypeFlags.None) => MemoryKinds.Context,
        (RegisterType.Packet, RegisterTypeFlags.None) => MemoryKinds.Packet,
        (RegisterType.PacketMeta, RegisterTypeFlags.None) => MemoryKinds.PacketMeta,
        (RegisterType.MapKey, RegisterTypeFlags.None) => MemoryKinds.MapKey,
        (RegisterType.Memory, _) when !reg.MaybeNull => MemoryKinds.Memory,
        _ => MemoryKinds.None,
    };

    /// <summary>The facts of this run (meaningful when the program was accepted).</summary>
    private VerifiedFacts BuildFacts()
    {
        var facts = new MemoryAccessFact[_insns.Length];
        if (_accessKinds is not null)
        {
            for (int pc = 0; pc < facts.Length; pc++)
            {
                int visits = _accessVisits![pc];
                if (visits > 0)
                {
                    facts[pc] = new MemoryAccessFact(_accessKinds[pc], visits, !_accessUnproven![pc]);
                }
            }
        }

        return new VerifiedFacts(_insns, facts);
    }
}
