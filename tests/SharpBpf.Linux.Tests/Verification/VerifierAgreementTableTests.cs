using System.Globalization;
using System.Text;
using SharpBpf.Btf;
using SharpBpf.Btf.Core;
using SharpBpf.Linux.Tests.Kernel;
using SharpBpf.Objects;
using SharpBpf.Testing;
using SharpBpf.Verification;
using Xunit.Abstractions;

namespace SharpBpf.Linux.Tests.Verification;

/// <summary>
/// SharpBPF's verdicts against the running kernel's on real objects. The bpf/ objects are compared on every run; with
/// SHARPBPF_VERIFIER_AGREEMENT=1 the ../shared/samples objects are compared too and the table
/// tests/SharpBpf.Linux.Tests/Verification/verifier-agreement.md is rewritten.
/// </summary>
public class VerifierAgreementTableTests(ITestOutputHelper output)
{
    private const string RegenerateVariable = "SHARPBPF_VERIFIER_AGREEMENT";

    private sealed record Row(string Object, string Program, ProgramType Type, int Instructions, KernelVerdict Kernel, VerifierResult Ours)
    {
        public string Outcome => !Kernel.Loaded ? "kernel n/a"
            : Kernel.Accepted && Ours.Accepted ? "both accept"
            : !Kernel.Accepted && !Ours.Accepted ? "both reject"
            : Kernel.Accepted ? "FALSE REJECTION" : "UNSOUND";
    }

    private static List<Row> Compare(string root, IEnumerable<string> files)
    {
        var rows = new List<Row>();
        foreach (var file in files)
        {
            BpfObject obj;
            try
            {
                obj = BpfObject.Load(file);
            }
            catch (BpfException)
            {
                continue;
            }

            using var kernel = new KernelObjectLoading(obj);
            var whole = KernelObjectLoading.LoadAllWithBpftool(file);

            // The kernel verifies what libbpf hands it: programs relocated (CO-RE) for the running kernel.
            var core = CoreRelocator.HasRelocations(obj) && BtfFile.RunningKernel is { } vmlinux ? CoreRelocator.Apply(obj, vmlinux) : null;
            foreach (var program in obj.Programs)
            {
                var options = VerifierOptions.For(obj, program);
                var type = program.Type == ProgramType.Unspecified ? GuessType(file) : program.Type;

                // Both verifiers get the same input: libbpf hands the kernel the BTF function info (which makes global
                // functions verified on their own); a program loaded on its own goes without it.
                bool withFunctionInfo = whole is not null && whole.ContainsKey(KernelProgram.KernelName(program.Name));
                var ours = Verifier.Verify(core?.FindProgram(program.Name)?.Instructions ?? program.Instructions, new VerifierOptions
                {
                    ProgramType = type,
                    ExpectedAttachType = options.ExpectedAttachType,
                    AttachTarget = options.AttachTarget,
                    KernelBtf = options.KernelBtf,
                    Maps = options.Maps,
                    FunctionInfo = withFunctionInfo ? options.FunctionInfo : [],
                    ProgramBtf = withFunctionInfo ? options.ProgramBtf : null,
                    TimeLimit = TimeSpan.FromSeconds(30),
                }, program.Name);
                var verdict = whole is not null && whole.TryGetValue(KernelProgram.KernelName(program.Name), out int processed)
                    ? new KernelVerdict(true, true, null, processed)
                    : kernel.Load(program, type);
                rows.Add(new Row(Path.GetRelativePath(root, file), program.Name, type, program.Instructions.Length, verdict, ours));
            }
        }

        return rows;
    }

    /// <summary>
    /// Old objects whose section names say nothing about the program type (iproute2's tc and ip loaders choose it on
    /// their command line): XDP when the file says so, tc for the networking corpora, else a socket filter.
    /// </summary>
    private static ProgramType GuessType(string file)
    {
        string name = Path.GetFileName(file);
        string folder = Path.GetFileName(Path.GetDirectoryName(file)) ?? "";
        if (name.Contains("xdp", StringComparison.OrdinalIgnoreCase))
        {
            return ProgramType.Xdp;
        }

        // Anything else (the PREVAIL verifier's own test objects) as a socket filter, as PREVAIL loads them.
        return folder is "cilium" or "ovs" or "suricata" or "prototype-kernel" or "linux" ? ProgramType.SchedCls : ProgramType.SocketFilter;
    }

    [KernelFact]
    public void Bpf_objects_get_the_kernel_verdict()
    {
        string repo = SharedData.RepositoryRoot;
        var rows = Compare(repo, Directory.GetFiles(Path.Combine(repo, "bpf", "obj"), "*.o").Order(StringComparer.Ordinal));
        foreach (var row in rows)
        {
            output.WriteLine($"{row.Object} {row.Program}: kernel {(row.Kernel.Accepted ? "accepts" : "rejects: " + row.Kernel.Error)} ({row.Kernel.Processed}), " +
                $"SharpBPF {(row.Ours.Accepted ? "accepts" : "rejects: " + row.Ours.Error)} ({row.Ours.Statistics.Processed})");
        }

        Assert.NotEmpty(rows);
        Assert.DoesNotContain(rows, r => r.Outcome == "UNSOUND");

        Assert.All(rows, r => Assert.Equal("both accept", r.Outcome));

        if (Environment.GetEnvironmentVariable(RegenerateVariable) == "1" && SharedData.Folder("samples") is { } samples)
        {
            var all = rows.Concat(Compare(Path.GetDirectoryName(samples)!, Directory.GetFiles(samples, "*.o", SearchOption.AllDirectories).Order(StringComparer.Ordinal))).ToList();
            File.WriteAllText(Path.Combine(repo, "tests", "SharpBpf.Linux.Tests", "Verification", "verifier-agreement.md"), Table(all));
            Assert.DoesNotContain(all, r => r.Outcome == "UNSOUND");
        }
    }

    /// <summary>
    /// Cilium programs the kernel accepts that hit the 1,000,000-instruction limit here before pruning tracked precision
    /// and stack liveness as the kernel does: accepted now, within 1.5 times the processed count the kernel reports.
    /// </summary>
    [KernelSamplesFact]
    public void Cilium_programs_that_hit_the_limit_are_accepted_close_to_the_kernel_processed_count()
    {
        var obj = BpfObject.Load(Path.Combine(SharedData.Folder("samples")!, "cilium", "bpf_lxc.o"));
        using var kernel = new KernelObjectLoading(obj);
        foreach (var name in new[] { "tail_handle_ipv4", "tail_handle_ipv6", "tail_ipv6_policy" })
        {
            var program = obj.Programs.Single(p => p.Name == name);
            var ours = Verifier.Verify(program.Instructions, new VerifierOptions
            {
                ProgramType = ProgramType.SchedCls,
                Maps = VerifierOptions.For(obj, program).Maps,
            }, program.Name);
            var theirs = kernel.Load(program, ProgramType.SchedCls);
            output.WriteLine($"{name}: kernel {theirs.Processed}, SharpBPF {ours.Statistics.Processed} in {ours.Elapsed.TotalMilliseconds:0} ms");
            Assert.True(theirs.Accepted, $"{name}: kernel: {theirs.Error}");
            Assert.True(ours.Accepted, $"{name}: {ours.Error?.Message}");
            Assert.InRange(ours.Statistics.Processed, 1, theirs.Processed * 1.5);
        }
    }

    /// <summary>A fact that needs privileged bpf() and the ../shared samples; skipped with the reason otherwise.</summary>
    private sealed class KernelSamplesFactAttribute : FactAttribute
    {
        public KernelSamplesFactAttribute() => Skip = SharedData.SkipReason("samples") ?? new KernelFactAttribute().Skip;
    }

    /// <summary>SharpBPF's error line is a line of the kernel's log (or starts one where the kernel forgot the newline before its statistics).</summary>
    private static bool SameErrorLine(Row r) => r.Ours.Error?.Message is { } ours &&
        (r.Kernel.Log ?? "").Split('\n').Any(l => l == ours || l.StartsWith(ours + "processed ", StringComparison.Ordinal));

    private static string Cell(string? text) => (text ?? "").Replace("|", "\\|", StringComparison.Ordinal);

    private static string Table(List<Row> rows)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("# SharpBPF verifier vs the Linux kernel");
        sb.AppendLine();
        sb.AppendLine(inv, $"Generated by `SHARPBPF_VERIFIER_AGREEMENT=1 dotnet test tests/SharpBpf.Linux.Tests --filter VerifierAgreementTableTests` as root on Linux {Environment.OSVersion.Version}.");
        sb.AppendLine("Objects: bpf/obj and ../shared/samples. `kernel n/a`: the program could not be submitted (unknown program type, a map the kernel refused).");
        sb.AppendLine("Programs of old objects whose section name gives no type are loaded as XDP when the file name says xdp, as tc (SchedCls) for the networking corpora, else as socket filters (as the PREVAIL verifier loads its samples).");
        sb.AppendLine("Objects libbpf loads whole (bpftool) give both verifiers their BTF function info, so global functions are verified on their own; the programs of other objects are loaded one by one without it.");
        sb.AppendLine("`same error`: SharpBPF's error line is a line of the kernel's log.");
        sb.AppendLine();
        foreach (var group in rows.GroupBy(r => r.Outcome).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.AppendLine(inv, $"- {group.Key}: {group.Count()}");
        }

        var both = rows.Where(r => r.Outcome == "both reject").ToList();
        sb.AppendLine(inv, $"- both reject with the same error line: {both.Count(SameErrorLine)} of {both.Count}");
        var accepted = rows.Where(r => r.Outcome == "both accept" && r.Kernel.Processed > 0).ToList();
        if (accepted.Count > 0)
        {
            sb.AppendLine(inv, $"- both accept, processed instructions within 1.5x of the kernel's: {accepted.Count(r => r.Ours.Statistics.Processed <= r.Kernel.Processed * 1.5)} of {accepted.Count}");
            var worst = accepted.MaxBy(r => (double)r.Ours.Statistics.Processed / r.Kernel.Processed)!;
            sb.AppendLine(inv, $"- largest ratio of processed instructions (SharpBPF / kernel): {(double)worst.Ours.Statistics.Processed / worst.Kernel.Processed:0.00} ({worst.Object} {worst.Program})");
        }

        sb.AppendLine();
        sb.AppendLine("| object | program | type | insns | outcome | kernel | kernel processed | SharpBPF | SharpBPF processed |");
        sb.AppendLine("| --- | --- | --- | ---: | --- | --- | ---: | --- | ---: |");
        foreach (var r in rows)
        {
            string kernel = !r.Kernel.Loaded ? "n/a: " + r.Kernel.Error : r.Kernel.Accepted ? "accept" : "reject: " + r.Kernel.Error;
            string ours = r.Ours.Accepted ? "accept" : "reject: " + r.Ours.Error!.Message;
            sb.AppendLine(inv, $"| {Cell(r.Object)} | {Cell(r.Program)} | {r.Type} | {r.Instructions} | {r.Outcome} | {Cell(kernel)} | {r.Kernel.Processed} | {Cell(ours)} | {r.Ours.Statistics.Processed} |");
        }

        return sb.ToString();
    }
}
