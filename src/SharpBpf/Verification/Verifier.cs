using System.Diagnostics;
using SharpBpf.Isa;

namespace SharpBpf.Verification;

/// <summary>
/// The BPF verifier: proves a program safe the way the Linux kernel's verifier does (kernel/bpf/verifier.c, the
/// privileged rule set), path by path, with the kernel's verdict, error wording and log format.
/// </summary>
public static class Verifier
{
    /// <summary>Verifies <paramref name="program"/> for the program type and maps in <paramref name="options"/>.</summary>
    public static VerifierResult Verify(BpfProgram program, VerifierOptions options)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(options);
        return new VerifierRun(program, options).Run();
    }

    /// <summary>Verifies raw instructions, reporting structural errors (which <see cref="BpfProgram.Create"/> throws) as rejections.</summary>
    public static VerifierResult Verify(ReadOnlySpan<Instruction> instructions, VerifierOptions options, string name = "prog") =>
        Verify(instructions, options, name, null);

    /// <summary>As <see cref="Verify(ReadOnlySpan{Instruction}, VerifierOptions, string)"/>, with a recorder of every state seen (explain).</summary>
    internal static VerifierResult Verify(ReadOnlySpan<Instruction> instructions, VerifierOptions options, string name, Explain.VerifierRecorder? recorder)
    {
        ArgumentNullException.ThrowIfNull(options);
        BpfProgram program;
        var watch = Stopwatch.StartNew();
        try
        {
            program = BpfProgram.Create(instructions, name);
        }
        catch (BpfValidationException e)
        {
            var insn = e.Pc >= 0 && e.Pc < instructions.Length ? instructions[e.Pc] : default;
            var error = new VerifierError(e.Pc, insn, e.Reason) { Source = e.Pc >= 0 ? SourceLine.Find(options.SourceLines, e.Pc) : null };
            string log = options.LogLevel > 0 ? e.Reason + "\n" + new VerifierStatistics(0, 0, 0, 0, 0).ToLogLine(options.MaxProcessedInstructions) + "\n" : "";
            return new VerifierResult(false, error, log, new VerifierStatistics(0, 0, 0, 0, 0), watch.Elapsed);
        }

        return recorder is null ? Verify(program, options) : new VerifierRun(program, options) { Recorder = recorder }.Run();
    }
}

/// <summary>A rejection raised inside the walk; caught by <see cref="VerifierRun.Run"/>.</summary>
internal sealed class VerifierRejection(string message) : Exception(message);
