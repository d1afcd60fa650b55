using System.Diagnostics;
using System.Globalization;
using SharpBpf.Fuzzing;
using SharpBpf.Linux;
using SharpBpf.Verification;

namespace SharpBpf.Cli.Commands;

/// <summary>
/// <c>sharpbpf fuzz --verifier [--kernel]</c>: random realistic programs through the verifier; every accepted one
/// run in the checked interpreter on random inputs (a fault is a soundness bug), and with <c>--kernel</c> every one
/// loaded into the running kernel too, counting agreement.
/// </summary>
internal static class VerifierFuzz
{
    private const int MaxReported = 5;

    /// <summary>The counters of one fuzzing run.</summary>
    internal sealed class Tally
    {
        public int Programs { get; set; }
        public int Accepted { get; set; }
        public int Runs { get; set; }
        public int Unsupported { get; set; }
        public int SoundnessBugs { get; set; }
        public int BothAccept { get; set; }
        public int BothReject { get; set; }
        public int WeAcceptKernelRejects { get; set; }
        public int KernelAcceptsWeReject { get; set; }
        public int KernelErrors { get; set; }
        public TimeSpan VerifyTime { get; set; }
        public TimeSpan KernelTime { get; set; }
        public Dictionary<string, int> KernelOnlyReasons { get; } = [];
        public SortedDictionary<ProgramType, (int Programs, int Accepted)> ByType { get; } = [];
    }

    public static int Run(TextWriter output, int cases, int seed, int runsPerProgram, bool kernel, TimeSpan? timeLimit, double globalFunctionRate = 0)
    {
        var random = new Random(seed);
        var generator = new VerifierProgramGenerator(random) { GlobalFunctionRate = globalFunctionRate };
        var soundness = new VerifierSoundness(new Random(seed ^ 0x5eed));
        using var oracle = kernel ? new KernelVerifierOracle() : null;
        var tally = new Tally();
        var timer = Stopwatch.StartNew();
        for (int i = 0; i < cases; i++)
        {
            if (timeLimit is { } limit && timer.Elapsed > limit)
            {
                output.WriteLine($"time limit of {limit.TotalSeconds:0.#} s reached after {i} programs");
                break;
            }

            var fuzzCase = generator.Next();
            var perProgram = TimeSpan.FromSeconds(10);
            bool limitedByRun = timeLimit is { } runLimit && runLimit - timer.Elapsed < perProgram;
            // The BTF function info the kernel gets too.
            var options = fuzzCase.Options(timeLimit: limitedByRun ? timeLimit!.Value - timer.Elapsed : perProgram);
            var started = Stopwatch.GetTimestamp();
            var ours = Verifier.Verify(fuzzCase.Instructions, options, $"fuzz{i}");
            tally.VerifyTime += Stopwatch.GetElapsedTime(started);
            if (limitedByRun && ours.Error?.Message.StartsWith("verification time limit", StringComparison.Ordinal) == true)
            {
                output.WriteLine($"time limit of {timeLimit!.Value.TotalSeconds:0.#} s reached after {i} programs");
                break;
            }

            tally.Programs++;
            var (ofType, acceptedOfType) = tally.ByType.GetValueOrDefault(fuzzCase.Type);
            tally.ByType[fuzzCase.Type] = (ofType + 1, acceptedOfType + (ours.Accepted ? 1 : 0));
            if (ours.Accepted)
            {
                tally.Accepted++;
                var outcome = soundness.Check(fuzzCase.Instructions, fuzzCase.Type, runsPerProgram);
                tally.Runs += outcome.Runs;
                tally.Unsupported += outcome.Unsupported;
                if (outcome.Fault is { } fault)
                {
                    if (++tally.SoundnessBugs <= MaxReported)
                    {
                        output.WriteLine($"SOUNDNESS BUG program {i} ({fuzzCase.Type}): accepted, but faulted: {fault.Message}");
                        output.Write(fuzzCase.Source);
                    }
                }
            }

            if (oracle is not null)
            {
                started = Stopwatch.GetTimestamp();
                var theirs = oracle.Load(fuzzCase);
                tally.KernelTime += Stopwatch.GetElapsedTime(started);
                Compare(output, tally, i, fuzzCase, ours, theirs, oracle);
            }
        }

        if (soundness.LastUnsupported is { } unsupported)
        {
            output.WriteLine($"not runnable in the VM, last: {unsupported.Message}");
        }

        Report(output, tally, kernel, timer.Elapsed);
        return tally.SoundnessBugs == 0 && tally.WeAcceptKernelRejects == 0 ? 0 : 1;
    }

    private static void Compare(TextWriter output, Tally tally, int i, VerifierFuzzCase fuzzCase, VerifierResult ours, KernelVerifierOracle.Verdict theirs, KernelVerifierOracle oracle)
    {
        if (theirs.Error is not null && theirs.Accepted is null)
        {
            tally.KernelErrors++;
            return;
        }

        bool kernelAccepted = theirs.Accepted!.Value;
        switch (ours.Accepted, kernelAccepted)
        {
            case (true, true):
                tally.BothAccept++;
                break;
            case (false, false):
                tally.BothReject++;
                break;
            case (true, false):
                if (++tally.WeAcceptKernelRejects <= MaxReported)
                {
                    output.WriteLine($"WE ACCEPT, KERNEL REJECTS program {i} ({fuzzCase.Type}): kernel: {oracle.ErrorLine(fuzzCase)}");
                    output.Write(fuzzCase.Source);
                }

                break;
            default:
            {
                tally.KernelAcceptsWeReject++;
                string reason = Generalise(ours.Error?.Message ?? "?");
                if (tally.KernelOnlyReasons.TryGetValue(reason, out int n))
                {
                    tally.KernelOnlyReasons[reason] = n + 1;
                }
                else
                {
                    tally.KernelOnlyReasons[reason] = 1;
                    output.WriteLine($"kernel accepts, we reject program {i} ({fuzzCase.Type}): insn {ours.Error?.Pc}: {ours.Error?.Message}");
                    output.Write(fuzzCase.Source);
                }

                break;
            }
        }
    }

    // Error lines with their numbers taken out, so one reason is counted once.
    private static string Generalise(string message) =>
        new(message.Select(c => char.IsAsciiDigit(c) ? '#' : c).ToArray());

    private static void Report(TextWriter output, Tally t, bool kernel, TimeSpan elapsed)
    {
        string kernelTime = kernel ? Invariant($", kernel loads {t.KernelTime.TotalSeconds:F2} s") : "";
        output.WriteLine(Invariant($"{t.Programs} programs in {elapsed.TotalSeconds:F1} s (verifier {t.VerifyTime.TotalSeconds:F2} s{kernelTime})"));
        output.WriteLine(Invariant($"we accept {t.Accepted} ({Percent(t.Accepted, t.Programs)}); soundness: {t.Runs} runs of accepted programs, {t.SoundnessBugs} faulted, {t.Unsupported} not runnable in the VM"));
        output.WriteLine("by type (programs, we accept): " + string.Join(", ", t.ByType.Select(e => Invariant($"{e.Key} {e.Value.Programs} ({e.Value.Accepted})"))));
        if (kernel)
        {
            int compared = t.BothAccept + t.BothReject + t.WeAcceptKernelRejects + t.KernelAcceptsWeReject;
            int kernelAccepts = t.BothAccept + t.KernelAcceptsWeReject;
            string errors = t.KernelErrors > 0 ? Invariant($", {t.KernelErrors} kernel load errors") : "";
            output.WriteLine(Invariant($"kernel accepts {kernelAccepts} ({Percent(kernelAccepts, compared)})"));
            output.WriteLine(Invariant($"agreement over {compared}: both accept {t.BothAccept}, both reject {t.BothReject}, we-accept-kernel-rejects {t.WeAcceptKernelRejects}, kernel-accepts-we-reject {t.KernelAcceptsWeReject}{errors}"));
            foreach (var (reason, n) in t.KernelOnlyReasons.OrderByDescending(r => r.Value))
            {
                output.WriteLine(Invariant($"  {n,7}  we reject: {reason}"));
            }
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Percent(int part, int whole) =>
        whole == 0 ? "0%" : (100.0 * part / whole).ToString("0.0", CultureInfo.InvariantCulture) + "%";
}
