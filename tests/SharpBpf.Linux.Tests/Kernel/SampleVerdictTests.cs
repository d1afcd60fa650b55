using System.Text;
using SharpBpf.Linux.Objects;
using SharpBpf.Objects;
using SharpBpf.Testing;
using Xunit.Abstractions;

namespace SharpBpf.Linux.Tests.Kernel;

/// <summary>
/// Loads every program of every object in ../shared/samples into the kernel and records the kernel's verdict, the
/// reference table for the verifier work. Regenerate it (on the machine whose kernel is the reference) with
/// <c>SHARPBPF_WRITE_VERDICTS=1 dotnet test tests/SharpBpf.Linux.Tests --filter SampleVerdictTests</c>.
/// </summary>
public class SampleVerdictTests(ITestOutputHelper output)
{
    private const string TableName = "samples-kernel-verdicts.tsv";

    private static string TablePath => Path.Combine(SharedData.RepositoryRoot, "tests", "SharpBpf.Linux.Tests", "Fixtures", TableName);

    /// <summary>The kernel release, the table's first line.</summary>
    private static string KernelRelease => File.ReadAllText("/proc/sys/kernel/osrelease").Trim();

    [KernelFact]
    public void EverySampleProgramGetsTheKernelsRecordedVerdict()
    {
        if (SharedData.Folder("samples") is not { } samples)
        {
            output.WriteLine("../shared/samples is absent: nothing to load");
            return;
        }

        var table = BuildTable(samples);
        if (Environment.GetEnvironmentVariable("SHARPBPF_WRITE_VERDICTS") == "1")
        {
            File.WriteAllText(TablePath, table);
            output.WriteLine($"wrote {TablePath}");
            return;
        }

        string recorded = File.ReadAllText(TablePath);
        string recordedRelease = recorded[..recorded.IndexOf('\n', StringComparison.Ordinal)];
        if (recordedRelease != "# kernel " + KernelRelease)
        {
            output.WriteLine($"the table was recorded on another kernel ({recordedRelease}); verdicts are not compared");
            return;
        }

        Assert.Equal(recorded, table);
    }

    private static string BuildTable(string samples)
    {
        var text = new StringBuilder();
        text.Append("# kernel ").Append(KernelRelease).Append('\n');
        text.Append("object\tprogram\tsection\ttype\tinstructions\tverdict\n");
        foreach (var file in Directory.GetFiles(samples, "*.o", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string relative = Path.GetRelativePath(samples, file);
            // Cilium and Open vSwitch name their programs by iproute2 conventions, which say no type: their XDP objects
            // say so in the file name, the rest are tc classifiers.
            var fallback = !(relative.StartsWith("cilium", StringComparison.Ordinal) || relative.StartsWith("ovs", StringComparison.Ordinal)) ? (ProgramType?)null
                : relative.Contains("xdp", StringComparison.Ordinal) ? ProgramType.Xdp : ProgramType.SchedCls;
            BpfObject definition;
            try
            {
                definition = BpfObject.Load(file);
            }
            catch (BpfException e)
            {
                text.Append(relative).Append("\t-\t-\t-\t-\tunreadable: ").Append(e.GetType().Name).Append('\n');
                continue;
            }

            try
            {
                using var loaded = KernelObject.Load(definition, new KernelObjectOptions
                {
                    ContinueOnProgramFailure = true, FallbackProgramType = fallback, ObjectName = Path.GetFileNameWithoutExtension(file),
                });
                foreach (var program in loaded.Programs)
                {
                    text.Append(relative).Append('\t').Append(program.Name).Append('\t').Append(program.Definition.SectionName).Append('\t')
                        .Append(program.Definition.Type == ProgramType.Unspecified ? fallback?.ToString() ?? "-" : program.Definition.Type.ToString()).Append('\t')
                        .Append(program.Definition.Instructions.Length).Append('\t').Append(Verdict(program)).Append('\n');
                }
            }
            catch (KernelObjectException e)
            {
                text.Append(relative).Append("\t-\t-\t-\t-\tobject refused: ").Append(e.SyscallError?.ErrorName ?? "").Append(' ')
                    .Append(e.Message.Split(':')[0]).Append('\n');
            }
        }

        return text.ToString();
    }

    private static string Verdict(KernelObjectProgram program)
    {
        if (program.Program is not null)
        {
            return "loaded";
        }

        if (program.Error?.SyscallError is not { } syscall)
        {
            string prefix = $"program '{program.Name}': ";
            string message = program.Error?.Message ?? "";
            return "not loaded: " + (message.StartsWith(prefix, StringComparison.Ordinal) ? message[prefix.Length..] : message);
        }

        // The verifier's last complaint (the line before the statistics) says why.
        string reason = syscall.VerifierLog?.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .LastOrDefault(line => !line.StartsWith("processed ", StringComparison.Ordinal) && !line.StartsWith("verification time", StringComparison.Ordinal)
                && !line.StartsWith("stack depth", StringComparison.Ordinal)) ?? "";
        return $"{syscall.ErrorName} {reason}".Trim();
    }
}
