namespace SharpBpf.Objects;

/// <summary>
/// A map definition in an object file is malformed: a BTF-defined map (<c>.maps</c>) whose description breaks
/// the libbpf conventions, or a <c>.maps</c> slot initialiser that points nowhere sensible.
/// </summary>
public sealed class MapDefinitionException : BpfException
{
    /// <summary>Creates an exception for a problem with one map.</summary>
    /// <param name="mapName">The map (for an inner map template, <c>outer.inner</c>).</param>
    /// <param name="problem">What was wrong.</param>
    public MapDefinitionException(string mapName, string problem)
        : base($"map '{mapName}': {problem}")
    {
        MapName = mapName;
        Problem = problem;
    }

    /// <summary>Creates an exception for a problem with one map caused by another error (malformed BTF).</summary>
    public MapDefinitionException(string mapName, string problem, Exception innerException)
        : base($"map '{mapName}': {problem}", innerException)
    {
        MapName = mapName;
        Problem = problem;
    }

    /// <summary>Creates an exception with a message.</summary>
    public MapDefinitionException(string message) : this("?", message) { }

    /// <summary>Creates an exception with a message and the error that caused it.</summary>
    public MapDefinitionException(string message, Exception innerException) : this("?", message, innerException) { }

    /// <summary>Creates an exception with no message.</summary>
    public MapDefinitionException() : this("?", "malformed map definition") { }

    /// <summary>The map whose definition is wrong.</summary>
    public string MapName { get; }

    /// <summary>What was wrong, without the map name.</summary>
    public string Problem { get; }
}
