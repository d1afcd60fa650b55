using SharpBpf.Btf;
using SharpBpf.Isa;
using SharpBpf.Linux.Tests.Kernel;
using SharpBpf.Testing;
using SharpBpf.Verification;
using Xunit.Abstractions;

namespace SharpBpf.Linux.Tests.Verification;

/// <summary>
/// The verifier test cases loaded into the running kernel: the kernel's verdict must be SharpBPF's, and SharpBPF's error
/// line must be a line of the kernel's own log.
/// </summary>
public class KernelVerifierAgreementTests(ITestOutputHelper output)
{
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in VerifierCases.All)
        {
            // fentry/fexit loads are refused with EPERM before verification on the machines this runs on (no
            // trampolines for test functions under lockdown): those cases are checked in-process only.
            if (c.Attach is not (AttachType.TraceFentry or AttachType.TraceFexit))
            {
                data.Add(c.Name);
            }
        }

        return data;
    }

    /// <summary>Loads a case into the kernel: (accepted, log) with log level 1.</summary>
    internal static (bool Accepted, string Log) LoadIntoKernel(VerifierCase c, uint logLevel = 1)
    {
        var maps = c.Maps.Select((m, i) => KernelMap.Create(m.Type, (int)m.KeySize, (int)m.ValueSize, m.MaxEntries, $"map{i}", (MapCreateFlags)m.Flags)).ToList();
        try
        {
            var insns = c.Instructions;
            for (int pc = 0; pc < insns.Length; pc++)
            {
                if (insns[pc].IsLoadImm64 && insns[pc].Imm64Source == Imm64Source.MapFd)
                {
                    insns[pc] = insns[pc].WithImmediate(maps[insns[pc].Immediate].Handle.Fd);
                }
            }

            // Programs with callbacks need BTF func_info: main is int f(long), the others static int f(long x4).
            using var btf = CallbackFunctionsBtf(insns, out var funcInfo);
            try
            {
                using var program = KernelProgram.Load(new ProgramLoadOptions
                {
                    Type = c.Type,
                    Instructions = insns,
                    ExpectedAttachType = c.Attach ?? default,
                    Btf = funcInfo.Length > 0 ? btf!.Handle : null,
                    FuncInfo = funcInfo,
                    AttachBtfId = c.Target is null ? 0 : (uint)AttachBtfId(c),
                    Name = "sb_verify",
                    LogLevel = logLevel,
                });
                return (true, program.VerifierLog ?? "");
            }
            catch (BpfSyscallException e) when (e.VerifierLog is not null)
            {
                return (false, e.VerifierLog);
            }
        }
        finally
        {
            maps.ForEach(m => m.Dispose());
        }
    }

    private static KernelBtf? CallbackFunctionsBtf(Instruction[] insns, out byte[] funcInfo)
    {
        funcInfo = [];
        if (!insns.Any(i => i.IsLoadImm64 && i.Imm64Source == Imm64Source.Function))
        {
            return null;
        }

        var builder = new BtfBuilder();
        int intType = builder.AddInt("int", 4, BtfIntEncoding.Signed);
        int longType = builder.AddInt("long", 8, BtfIntEncoding.Signed);
        int mainProto = builder.AddFunctionProto(intType, new BtfParameterDefinition("ctx", longType));
        int otherProto = builder.AddFunctionProto(intType, new BtfParameterDefinition("a", longType), new BtfParameterDefinition("b", longType),
            new BtfParameterDefinition("c", longType), new BtfParameterDefinition("d", longType));
        var starts = BpfProgram.Create(insns).FunctionStarts;
        funcInfo = new byte[8 * starts.Length];
        for (int i = 0; i < starts.Length; i++)
        {
            int type = i == 0 ? builder.AddFunction("case_main", mainProto, BtfFunctionLinkage.Global) : builder.AddFunction($"case_f{i}", otherProto, BtfFunctionLinkage.Static);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(funcInfo.AsSpan(8 * i), starts[i]);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(funcInfo.AsSpan((8 * i) + 4), type);
        }

        return KernelBtf.Load(builder.ToArray());
    }

    /// <summary>The kernel BTF id a case attaches to: the tracepoint's btf_trace_ typedef, or the function.</summary>
    private static int AttachBtfId(VerifierCase c)
    {
        var btf = BtfFile.RunningKernel ?? throw new InvalidOperationException("no kernel BTF");
        return c.Attach == AttachType.TraceRawTracepoint ? btf.FindId("btf_trace_" + c.Target, BtfKind.Typedef) : btf.FindId(c.Target!, BtfKind.Function);
    }

    [KernelTheory]
    [MemberData(nameof(Names))]
    public void Kernel_gives_the_same_verdict_and_error_line(string name)
    {
        var c = VerifierCases.All.Single(x => x.Name == name);
        var (kernelAccepted, kernelLog) = LoadIntoKernel(c);
        var ours = Verifier.Verify(c.Instructions, c.Options(1));
        output.WriteLine("kernel:\n" + kernelLog + "\nSharpBPF:\n" + ours.Log);
        Assert.Equal(kernelAccepted, ours.Accepted);
        Assert.Equal(c.Error is null, kernelAccepted);
        if (!kernelAccepted)
        {
            // The kernel forgets the newline after a few messages ("expected prog array map for tail call"): the
            // statistics line then follows on the same line.
            var kernelLines = kernelLog.Split('\n').Select(l => l.IndexOf("processed ", StringComparison.Ordinal) is > 0 and var i ? l[..i] : l).ToArray();
            Assert.Contains(ours.Error!.Message, kernelLines);
            Assert.Contains(c.Error!, kernelLines);
        }
    }
}
