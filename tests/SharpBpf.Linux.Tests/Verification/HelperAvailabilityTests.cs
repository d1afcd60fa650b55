using SharpBpf.Btf;
using SharpBpf.Isa.Assembly;
using SharpBpf.Linux.Tests.Kernel;
using SharpBpf.Verification;
using Xunit.Abstractions;

namespace SharpBpf.Linux.Tests.Verification;

/// <summary>
/// Which helpers each program type may call, against the running kernel: a program calling helper N is loaded for
/// every helper id and program type SharpBPF models, and the kernel's "cannot use helper" refusal is compared with
/// SharpBPF's prototype table.
/// </summary>
public class HelperAvailabilityTests(ITestOutputHelper output)
{
    private static readonly ProgramType[] Types =
    [
        ProgramType.SocketFilter, ProgramType.Kprobe, ProgramType.SchedCls, ProgramType.SchedAct, ProgramType.Tracepoint, ProgramType.Xdp,
        ProgramType.PerfEvent, ProgramType.CgroupSkb, ProgramType.CgroupSock, ProgramType.SockOps, ProgramType.RawTracepoint,
        ProgramType.Tracing,
    ];

    private static bool KernelAllows(ProgramType type, int id)
    {
        // Tracing programs are loaded as tp_btf/sched_process_exec.
        var btf = type == ProgramType.Tracing ? BtfFile.RunningKernel : null;
        try
        {
            using var program = KernelProgram.Load(new ProgramLoadOptions
            {
                Type = type,
                Instructions = Assembler.Assemble($"call {id}\nr0 = 0\nexit"),
                LogLevel = 1,
                ExpectedAttachType = btf is null ? default : AttachType.TraceRawTracepoint,
                AttachBtfId = btf is null ? 0 : (uint)btf.FindId("btf_trace_sched_process_exec", BtfKind.Typedef),
            });
            return true;
        }
        catch (BpfSyscallException e) when (e.VerifierLog is not null)
        {
            return !e.VerifierLog.Contains("program of this type cannot use helper", StringComparison.Ordinal);
        }
    }

    [KernelFact]
    public void No_helper_is_available_where_the_kernel_refuses_it()
    {
        var unsound = new List<string>();
        int missing = 0, agreed = 0;
        foreach (var type in Types)
        {
            for (int id = 1; id < HelperNames.Count; id++)
            {
                bool kernel = KernelAllows(type, id);
                bool ours = HelperPrototypes.Find(id, type) is not null;
                if (ours && !kernel)
                {
                    unsound.Add($"{type} {HelperNames.Find(id)}#{id}");
                }
                else if (kernel && !ours)
                {
                    missing++;
                }
                else
                {
                    agreed++;
                }
            }
        }

        output.WriteLine($"agreed {agreed}, kernel allows but SharpBPF has no prototype {missing}");
        Assert.Empty(unsound);

        // The helpers SharpBPF models for these types are the ones their programs use most; most ids are still unmodelled.
        Assert.True(agreed > missing, $"agreed {agreed}, missing {missing}");
    }
}
