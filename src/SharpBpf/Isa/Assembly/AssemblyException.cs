namespace SharpBpf.Isa.Assembly;

/// <summary>
/// Assembly source text could not be assembled. The message, and the properties, say where
/// (1-based line and column) and what the assembler expected to find there.
/// </summary>
public sealed class AssemblyException : BpfException
{
    /// <summary>Creates an exception for a problem at a line and column of the source.</summary>
    /// <param name="line">The 1-based line number.</param>
    /// <param name="column">The 1-based column (characters, a tab counting as one).</param>
    /// <param name="expected">What would have been valid at that place.</param>
    /// <param name="found">The text found there instead; empty at the end of the line.</param>
    public AssemblyException(int line, int column, string expected, string found)
        : base(FormatMessage(line, column, expected, found))
    {
        Line = line;
        Column = column;
        Expected = expected;
        Found = found;
    }

    /// <summary>Creates an exception with only a message (no position).</summary>
    public AssemblyException(string message) : base(message)
    {
        Expected = string.Empty;
        Found = string.Empty;
    }

    /// <summary>Creates an exception with only a message and the error that caused it (no position).</summary>
    public AssemblyException(string message, Exception innerException) : base(message, innerException)
    {
        Expected = string.Empty;
        Found = string.Empty;
    }

    /// <summary>Creates an exception with no message.</summary>
    public AssemblyException()
    {
        Expected = string.Empty;
        Found = string.Empty;
    }

    /// <summary>The 1-based line of the problem (0 when unknown).</summary>
    public int Line { get; }

    /// <summary>The 1-based column of the problem (0 when unknown).</summary>
    public int Column { get; }

    /// <summary>What the assembler expected at <see cref="Line"/> and <see cref="Column"/>.</summary>
    public string Expected { get; }

    /// <summary>The text found instead (empty at the end of a line).</summary>
    public string Found { get; }

    private static string FormatMessage(int line, int column, string expected, string found) =>
        found.Length == 0
            ? $"line {line}, column {column}: expected {expected}, found end of line"
            : $"line {line}, column {column}: expected {expected}, found '{found}'";
}
