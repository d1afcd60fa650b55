using SharpBpf.Verification.Explain;

namespace SharpBpf.Verification;

/// <summary>The verifier walk's source-line log and its hooks for the explain recorder.</summary>
internal sealed partial class VerifierRun
{
    private SourceLine? _prevSourceLine;

    /// <summary>When explaining: records every state the walk sees (null otherwise, at no cost).</summary>
    internal VerifierRecorder? Recorder { get; init; }

    /// <summary>
    /// The kernel's <c>verbose_linfo</c> before an instruction: the source line covering <paramref name="pc"/>, unless it
    /// is the record printed last or names the same file and line (column changes alone are not worth a line).
    /// </summary>
    private void LogSourceLine(int pc)
    {
        if (LogLevel == 0 || _options.SourceLines.Count == 0 || SourceLine.Find(_options.SourceLines, pc) is not { } line ||
            ReferenceEquals(line, _prevSourceLine))
        {
            return;
        }

        if (_prevSourceLine is { } prev && prev.FileName == line.FileName && prev.Line == line.Line)
        {
            return;
        }

        Log(VerifierFormat.SourceLine(line) + "\n");
        _prevSourceLine = line;
    }

    private SourceLine? SourceAt(int pc) => pc >= 0 ? SourceLine.Find(_options.SourceLines, pc) : null;
}
