using System.Globalization;
using SharpBpf.Testing;

namespace SharpBpf.Tests.TestSupport;

/// <summary>
/// The bpf_conformance cases in ../shared/conformance, for tests that read more of a .data file than
/// <see cref="SharpBpf.Conformance.ConformanceCase"/> keeps (the <c>-- raw</c> encoding section).
/// </summary>
internal static class ConformanceFiles
{
    /// <summary>Every .data file, ordered by name; empty when ../shared/conformance is absent.</summary>
    public static string[] All() =>
        SharedData.Folder("conformance") is { } dir ? [.. Directory.GetFiles(dir, "*.data").Order(StringComparer.Ordinal)] : [];

    /// <summary>The lines of each <c>-- name</c> section of a .data file, by name.</summary>
    public static Dictionary<string, List<string>> Sections(string path)
    {
        var sections = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? current = null;
        foreach (string line in File.ReadLines(path))
        {
            if (line.StartsWith("-- ", StringComparison.Ordinal))
            {
                current = [];
                sections[line[3..].Trim()] = current;
            }
            else
            {
                current?.Add(line);
            }
        }

        return sections;
    }

    /// <summary>The <c>-- raw</c> section (one <c>0x</c>-prefixed 64-bit instruction word a line), or null without one.</summary>
    public static ulong[]? Raw(string path) =>
        Sections(path).TryGetValue("raw", out var raw)
            ? [.. raw.Select(l => l.Trim()).Where(l => l.Length > 0).Select(l => ulong.Parse(l.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture))]
            : null;
}
