namespace SharpBpf.Verification.Explain;

/// <summary>How much of a verification the explain model keeps (memory and page size stay bounded on any program).</summary>
public sealed class ExplainOptions
{
    /// <summary>The most states recorded at one instruction; later visits are only counted (the failing path is always kept).</summary>
    public int MaxStatesPerInstruction { get; init; } = 24;

    /// <summary>The most distinct states recorded over the whole program.</summary>
    public int MaxStates { get; init; } = 60_000;

    /// <summary>The most distinct register and stack slot values kept; later new values are shown as not recorded.</summary>
    public int MaxValues { get; init; } = 100_000;

    /// <summary>How many of the current path's last steps keep their state when not otherwise recorded, and how many steps of the failing path are shown.</summary>
    public int PathWindow { get; init; } = 20_000;

    /// <summary>The most steps of the provenance chain.</summary>
    public int MaxProvenanceSteps { get; init; } = 48;
}
