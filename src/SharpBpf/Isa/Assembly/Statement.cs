namespace SharpBpf.Isa.Assembly;

/// <summary>Which field of an instruction a label reference is resolved into.</summary>
internal enum FixupKind
{
    /// <summary>The 16-bit offset of a jump (relative to the next instruction).</summary>
    Offset16,

    /// <summary>The 32-bit immediate of <c>gotol</c>, a local call or a function address load.</summary>
    Immediate32,
}

/// <summary>A reference from an instruction to a label, resolved once every label is known.</summary>
internal readonly record struct LabelReference(string Label, int Column, FixupKind Kind);

/// <summary>One assembled statement: one instruction, or the two slots of <c>lddw</c>.</summary>
internal readonly struct Statement
{
    public Statement(Instruction first, LabelReference? reference = null)
    {
        First = first;
        Reference = reference;
    }

    public Statement(Instruction first, Instruction second, LabelReference? reference = null)
    {
        First = first;
        Second = second;
        Reference = reference;
    }

    public Instruction First { get; }

    /// <summary>The second slot of a 64-bit immediate load.</summary>
    public Instruction? Second { get; }

    public LabelReference? Reference { get; }

    public Statement WithFirst(Instruction first) =>
        Second is { } second ? new Statement(first, second, Reference) : new Statement(first, Reference);
}

/// <summary>A jump or call target: a relative count of instructions, or a label.</summary>
internal readonly record struct JumpTarget(int Value, string? Label, int Column)
{
    public LabelReference? Reference(FixupKind kind) => Label is null ? null : new LabelReference(Label, Column, kind);
}
