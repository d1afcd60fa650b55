using System.Globalization;

namespace SharpBpf.Conformance;

/// <summary>A conformance file with a syntax problem, with the line involved.</summary>
public sealed class ConformanceFormatException : BpfException
{
    /// <summary>Creates the exception.</summary>
    public ConformanceFormatException(string path, int line, string message)
        : base($"{path}:{line}: {message}")
    {
        Path = path;
        Line = line;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The 1-based line.</summary>
    public int Line { get; }
}

/// <summary>
/// One case in the text format of the bpf_conformance project: a program in uBPF-style assembly
/// (<c>-- asm</c>), optional input memory (<c>-- mem</c>, hex bytes), and either the expected r0
/// (<c>-- result</c>) or an expected failure (<c>-- error</c>). Other sections are informational.
/// </summary>
public sealed class ConformanceCase
{
    private ConformanceCase(string name, string assembly, int assemblyLine, byte[] memory, ulong? expectedResult, string? expectedError)
    {
        Name = name;
        Assembly = assembly;
        AssemblyLine = assemblyLine;
        Memory = memory;
        ExpectedResult = expectedResult;
        ExpectedError = expectedError;
    }

    /// <summary>The case's name (its file name without extension).</summary>
    public string Name { get; }

    /// <summary>The <c>-- asm</c> section.</summary>
    public string Assembly { get; }

    /// <summary>The file line where the assembly starts (1-based), to map assembler errors back to the file.</summary>
    public int AssemblyLine { get; }

    /// <summary>The input memory (empty when there is none).</summary>
    public byte[] Memory { get; }

    /// <summary>The expected value of r0, when the case expects success.</summary>
    public ulong? ExpectedResult { get; }

    /// <summary>The expected error text, when the case expects the program to fail.</summary>
    public string? ExpectedError { get; }

    /// <summary>Reads a case from a file.</summary>
    public static ConformanceCase Load(string path) =>
        Parse(File.ReadAllText(path), System.IO.Path.GetFileNameWithoutExtension(path), path);

    /// <summary>Parses a case from its text.</summary>
    /// <exception cref="ConformanceFormatException">A section is malformed or the case expects nothing.</exception>
    public static ConformanceCase Parse(string text, string name, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        path ??= name;
        var assembly = new System.Text.StringBuilder();
        int assemblyLine = 0;
        var memory = new List<byte>();
        string? result = null;
        int resultLine = 0;
        string? error = null;
        string section = "";
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            string trimmed = line.Trim();
            if (trimmed.StartsWith("--", StringComparison.Ordinal))
            {
                section = trimmed[2..].Trim();
                if (section == "asm")
                {
                    assemblyLine = i + 2;
                }

                continue;
            }

            switch (section)
            {
                case "asm":
                    assembly.Append(line).Append('\n');
                    break;
                case "mem":
                    ParseMemory(trimmed, memory, path, i + 1);
                    break;
                case "result":
                    if (trimmed.Length > 0 && !trimmed.StartsWith('#'))
                    {
                        result ??= trimmed;
                        resultLine = i + 1;
                    }

                    break;
                case "error":
                    if (trimmed.Length > 0 && !trimmed.StartsWith('#'))
                    {
                        error ??= trimmed;
                    }

                    break;
            }
        }

        if (assemblyLine == 0)
        {
            throw new ConformanceFormatException(path, 1, "no '-- asm' section");
        }

        ulong? expected = null;
        if (result is not null)
        {
            expected = ParseValue(result) ?? throw new ConformanceFormatException(path, resultLine, $"result '{result}' is not a number");
        }
        else if (error is null)
        {
            throw new ConformanceFormatException(path, 1, "neither '-- result' nor '-- error': the case expects nothing");
        }

        return new ConformanceCase(name, assembly.ToString(), assemblyLine, [.. memory], expected, error);
    }

    private static void ParseMemory(string line, List<byte> memory, string path, int lineNumber)
    {
        int hash = line.IndexOf('#', StringComparison.Ordinal);
        if (hash >= 0)
        {
            line = line[..hash];
        }

        foreach (var token in line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (token.Length > 2 || !byte.TryParse(token, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte value))
            {
                throw new ConformanceFormatException(path, lineNumber, $"memory byte '{token}' is not two hex digits");
            }

            memory.Add(value);
        }
    }

    /// <summary>Parses a decimal or 0x-prefixed hex value (negative decimals wrap to 64 bits).</summary>
    public static ulong? ParseValue(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong hex) ? hex : null;
        }

        if (text.StartsWith('-'))
        {
            return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long negative) ? (ulong)negative : null;
        }

        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value) ? value : null;
    }
}
