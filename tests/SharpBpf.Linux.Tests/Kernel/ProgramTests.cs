using System.Buffers.Binary;
using SharpBpf.Isa;

namespace SharpBpf.Linux.Tests.Kernel;

public class ProgramTests
{
    private static byte[] Packet(int length)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)(i * 7 + 3);
        }

        return data;
    }

    [KernelFact]
    public void XdpDropProgramReturnsDropAndLeavesThePacket()
    {
        using var program = KernelProgram.Load(ProgramType.Xdp, Asm.Return(Asm.XdpDrop), "sb_xdp_drop");
        var packet = Packet(64);
        var result = program.TestRun(packet);
        Assert.Equal((uint)Asm.XdpDrop, result.ReturnValue);
        Assert.Equal(packet, result.Data);
    }

    [KernelFact]
    public void XdpProgramThatWritesThePacketShowsInDataOut()
    {
        using var program = KernelProgram.Load(ProgramType.Xdp, Asm.MarkFirstByteXdp(), "sb_xdp_mark");
        var packet = Packet(60);
        var result = program.TestRun(packet, repeat: 10);
        Assert.Equal((uint)Asm.XdpPass, result.ReturnValue);
        Assert.Equal(60, result.Data.Length);
        Assert.Equal(0xAB, result.Data[0]);
        Assert.Equal(packet.AsSpan(1).ToArray(), result.Data.AsSpan(1).ToArray());
    }

    [KernelFact]
    public void SocketFilterSeesThePacketLength()
    {
        // r0 = skb->len (offset 0 of struct __sk_buff). Test runs of non-L2 program types see the skb after the
        // 14-byte Ethernet header has been pulled (bpf_prog_test_run_skb), so the length is 14 less.
        using var program = KernelProgram.Load(ProgramType.SocketFilter, [Asm.LdxW(0, 1, 0), Asm.Exit], "sb_sock_len");
        foreach (int length in new[] { 14, 100, 1500 })
        {
            var result = program.TestRun(Packet(length));
            Assert.Equal((uint)(length - 14), result.ReturnValue);
        }
    }

    [KernelFact]
    public void ContextGoesInAndComesBackOut()
    {
        // skb->mark = 0x1234 (struct __sk_buff: 192 bytes, mark at offset 8); r0 = skb->cb[0] (offset 48).
        using var program = KernelProgram.Load(ProgramType.SchedCls,
            [Asm.StW(1, 8, 0x1234), Asm.LdxW(0, 1, 48), Asm.Exit], "sb_ctx");
        var context = new byte[192];
        BinaryPrimitives.WriteUInt32LittleEndian(context.AsSpan(48), 777);
        var result = program.TestRun(new TestRunOptions { Data = Packet(64), Context = context });
        Assert.Equal(777u, result.ReturnValue);
        Assert.Equal(192, result.Context.Length);
        Assert.Equal(0x1234u, BinaryPrimitives.ReadUInt32LittleEndian(result.Context.AsSpan(8)));
        Assert.Equal(777u, BinaryPrimitives.ReadUInt32LittleEndian(result.Context.AsSpan(48)));

        // Fields a test run may not set are refused.
        var refused = new byte[192];
        refused[0] = 1; // len
        Assert.Equal("EINVAL", Assert.Throws<BpfSyscallException>(() => program.TestRun(new TestRunOptions { Data = Packet(64), Context = refused })).ErrorName);
    }

    [KernelFact]
    public void RawTracepointTestRunHonoursTheRequestedCpu()
    {
        // r0 = bpf_get_smp_processor_id() (helper 8)
        using var program = KernelProgram.Load(ProgramType.RawTracepoint, [Asm.Call(8), Asm.Exit], "sb_on_cpu");
        for (uint cpu = 0; cpu < (uint)Math.Min(Environment.ProcessorCount, 4); cpu++)
        {
            var result = program.TestRun(new TestRunOptions
            {
                Context = new byte[8], ContextOutCapacity = 0, Flags = 1 /* BPF_F_TEST_RUN_ON_CPU */, Cpu = cpu,
            });
            Assert.Equal(cpu, result.ReturnValue);
        }

        var bad = Assert.Throws<BpfSyscallException>(() => program.TestRun(new TestRunOptions
        {
            Context = new byte[8], ContextOutCapacity = 0, Flags = 1, Cpu = 100_000,
        }));
        Assert.Equal("ENXIO", bad.ErrorName);
    }

    [KernelFact]
    public void DataOutThatDoesNotFitIsENOSPC()
    {
        using var program = KernelProgram.Load(ProgramType.Xdp, Asm.Return(Asm.XdpPass), "sb_xdp_small");
        var e = Assert.Throws<BpfSyscallException>(() => program.TestRun(new TestRunOptions { Data = Packet(64), DataOutCapacity = 10 }));
        Assert.Equal("ENOSPC", e.ErrorName);
        Assert.Equal(BpfCommand.ProgTestRun, e.Command);
    }

    [KernelFact(RequiresBpftool = true)]
    public void ProgramsReachMapsByFdAndByFdArrayIndex()
    {
        using var counter = KernelMap.Create(MapType.Array, 4, 8, 1, "sb_counter");
        using var byFd = KernelProgram.Load(ProgramType.Xdp, Asm.CountingXdp(Imm64Source.MapFd, counter.Handle.Fd), "sb_count_fd");
        using var byIndex = KernelProgram.Load(new ProgramLoadOptions
        {
            Type = ProgramType.Xdp,
            Instructions = Asm.CountingXdp(Imm64Source.MapIndex, 0),
            Name = "sb_count_idx",
            FdArray = [counter.Handle],
        });

        Assert.Equal((uint)Asm.XdpPass, byFd.TestRun(Packet(64), repeat: 25).ReturnValue);
        Assert.Equal((uint)Asm.XdpPass, byIndex.TestRun(Packet(64), repeat: 17).ReturnValue);
        Assert.Equal(42ul, BinaryPrimitives.ReadUInt64LittleEndian(counter.Lookup(new byte[4])!));

        Assert.Equal([counter.Id], byFd.GetInfo().MapIds);
        Assert.Equal([counter.Id], byIndex.GetInfo().MapIds);
        var show = Bpftool.Json("prog", "show", "id", byIndex.Id.ToString());
        Assert.Equal([(long)counter.Id], show.GetProperty("map_ids").EnumerateArray().Select(e => e.GetInt64()));
    }

    [KernelFact]
    public void RejectedProgramCarriesTheVerifierLog()
    {
        // exit without setting r0: the verifier refuses to read an uninitialised register.
        var e = Assert.Throws<BpfSyscallException>(() => KernelProgram.Load(ProgramType.Xdp, [Asm.Exit], "sb_bad"));
        Assert.Equal("EACCES", e.ErrorName);
        Assert.Equal(BpfCommand.ProgLoad, e.Command);
        Assert.NotNull(e.VerifierLog);
        Assert.Contains("R0 !read_ok", e.VerifierLog, StringComparison.Ordinal);
        Assert.Contains("R0 !read_ok", e.Message, StringComparison.Ordinal);
        Assert.Contains("BPF_PROG_LOAD", e.Message, StringComparison.Ordinal);

        // An out-of-bounds stack access is reported with its offset.
        var stack = Assert.Throws<BpfSyscallException>(() => KernelProgram.Load(ProgramType.Xdp,
            [Asm.StW(10, 8, 1), .. Asm.Return(0)], "sb_bad_stack"));
        Assert.Contains("invalid write to stack", stack.VerifierLog!, StringComparison.Ordinal);
    }

    [KernelFact]
    public void VerifierLogGrowsUntilItFits()
    {
        var body = Enumerable.Range(0, 300).Select(_ => Asm.AddImm(0, 1)).ToList();
        body.Insert(0, Asm.MovImm(0, 0));
        body.Add(Asm.Exit);
        using var program = KernelProgram.Load(new ProgramLoadOptions
        {
            Type = ProgramType.SocketFilter,
            Instructions = body.ToArray(),
            Name = "sb_long_log",
            LogLevel = 2,
            InitialLogSize = 1024,
        });
        Assert.NotNull(program.VerifierLog);
        Assert.True(program.VerifierLog.Length > 4096, $"log is only {program.VerifierLog.Length} chars");
        Assert.Contains("processed 302 insns", program.VerifierLog, StringComparison.Ordinal);
        Assert.Equal(300u, program.TestRun(Packet(20)).ReturnValue);

        var capped = Assert.Throws<BpfSyscallException>(() => KernelProgram.Load(new ProgramLoadOptions
        {
            Type = ProgramType.SocketFilter,
            Instructions = body.ToArray(),
            LogLevel = 2,
            InitialLogSize = 1024,
            MaxLogSize = 2048,
        }));
        Assert.Equal("ENOSPC", capped.ErrorName);
        Assert.False(string.IsNullOrEmpty(capped.VerifierLog));
    }

    [KernelFact(RequiresBpftool = true)]
    public void ProgramInfoAgreesWithBpftool()
    {
        using var program = KernelProgram.Load(ProgramType.Xdp, Asm.MarkFirstByteXdp(), "sb_info_prog");
        var info = program.GetInfo();
        var show = Bpftool.Json("prog", "show", "id", info.Id.ToString());
        Assert.Equal("xdp", show.GetProperty("type").GetString());
        Assert.Equal("sb_info_prog", show.GetProperty("name").GetString());
        Assert.Equal(info.Name, show.GetProperty("name").GetString());
        Assert.Equal(info.Tag, show.GetProperty("tag").GetString());
        Assert.Equal((long)info.XlatedLength, show.GetProperty("bytes_xlated").GetInt64());
        Assert.Equal((long)info.JitedLength, show.GetProperty("bytes_jited").GetInt64());
        Assert.Equal((long)info.CreatedByUid, show.GetProperty("uid").GetInt64());
        Assert.Equal(info.GplCompatible, show.GetProperty("gpl_compatible").GetBoolean());
        Assert.Equal((int)info.XlatedLength, info.XlatedInstructions.Length);
        Assert.Equal((int)info.JitedLength, info.JitedCode.Length);
        Assert.Equal(10u, info.VerifiedInstructions);
        Assert.Equal([info.Tag], info.ProgramTags);
        Assert.Single(info.JitedKsyms);
        Assert.Equal([info.JitedLength], info.JitedFunctionLengths);

        // The translated instructions are the ones bpftool prints as raw opcodes.
        var xlated = Bpftool.Json("prog", "dump", "xlated", "id", info.Id.ToString(), "opcodes");
        var bytes = xlated.EnumerateArray().SelectMany(i => OpcodeBytes(i.GetProperty("opcodes"))).ToArray();
        Assert.Equal(bytes, info.XlatedInstructions);
        var decoded = Instruction.Decode(info.XlatedInstructions);
        Assert.Equal(Asm.MarkFirstByteXdp().Length, decoded.Length);
    }

    [KernelFact(RequiresBpftool = true)]
    public void ProgramEnumerationMatchesBpftool()
    {
        using var a = KernelProgram.Load(ProgramType.Xdp, Asm.Return(1), "sb_enum_a");
        using var b = KernelProgram.Load(ProgramType.SocketFilter, Asm.Return(0), "sb_enum_b");
        var ours = BpfSyscall.EnumerateIds(BpfObjectKind.Program).ToHashSet();
        Assert.Contains(a.Id, ours);
        Assert.Contains(b.Id, ours);
        Assert.Equal(ours.Order(), ours.ToList());

        var listed = Bpftool.Json("prog", "show").EnumerateArray().ToDictionary(e => e.GetProperty("id").GetUInt32());
        Assert.Equal("socket_filter", listed[b.Id].GetProperty("type").GetString());
        int compared = 0;
        foreach (uint id in ours.Intersect(listed.Keys))
        {
            ProgramInfo info;
            try
            {
                using var opened = KernelProgram.FromId(id);
                info = opened.GetInfo(includeArrays: false);
            }
            catch (BpfSyscallException e) when (e.ErrorName == "ENOENT")
            {
                continue; // unloaded by someone else in between
            }

            Assert.Equal(id, info.Id);
            Assert.Equal(listed[id].GetProperty("tag").GetString(), info.Tag);
            // The kernel keeps 15 characters of a name; bpftool completes longer ones from the program's BTF.
            string listedName = listed[id].TryGetProperty("name", out var n) ? n.GetString()! : "";
            Assert.True(info.Name.Length < 15 ? listedName == info.Name : listedName.StartsWith(info.Name, StringComparison.Ordinal),
                $"program {id}: bpftool names it '{listedName}', the kernel's info '{info.Name}'");
            compared++;
        }

        Assert.True(compared >= 2);
        Assert.False(BpfSyscall.GetNextId(BpfObjectKind.Program, int.MaxValue - 1, out _));
    }

    [KernelFact(RequiresBpftool = true)]
    public void StatisticsCountRunsWhileEnabled()
    {
        using var program = KernelProgram.Load(ProgramType.Xdp, Asm.Return(Asm.XdpPass), "sb_stats");
        using (BpfSyscall.EnableStats(BpfStatsType.RunTime))
        {
            program.TestRun(Packet(64), repeat: 50);
        }

        var info = program.GetInfo(includeArrays: false);
        Assert.True(info.RunCount >= 50, $"run count {info.RunCount}");
        var show = Bpftool.Json("prog", "show", "id", info.Id.ToString());
        Assert.Equal((long)info.RunCount, show.GetProperty("run_cnt").GetInt64());
        Assert.Equal((long)info.RunTimeNanoseconds, show.GetProperty("run_time_ns").GetInt64());
    }

    [KernelFact]
    public void LoadingFromAValidatedBpfProgramUsesItsName()
    {
        var validated = BpfProgram.Create(Asm.Return(Asm.XdpDrop), "my-program-with-a-long-name");
        using var program = KernelProgram.Load(validated, ProgramType.Xdp);
        Assert.Equal("myprogramwithal", program.GetInfo(includeArrays: false).Name);
        Assert.Equal((uint)Asm.XdpDrop, program.TestRun(Packet(64)).ReturnValue);
    }

    [FentryFact]
    public void FentryProgramLoadsAgainstAKernelFunctionBtfId()
    {
        uint btfId = VmlinuxFunctionId("bpf_fentry_test1");
        var program = LoadFentry(btfId);
        using var owned = program;
        var info = program.GetInfo(includeArrays: false);
        Assert.Equal(btfId, info.AttachBtfId);

        using var link = new KernelLink_Raw(BpfSyscall.RawTracepointOpen(null, program.Handle));
        var linkInfo = BpfObjectInfo.GetLinkInfo(link.Handle);
        Assert.Equal(BpfLinkType.Tracing, linkInfo.Type);
        Assert.Equal(AttachType.TraceFentry, linkInfo.AttachType);
        Assert.Equal(btfId, linkInfo.TracingTarget.BtfId);
        Assert.Equal(info.Id, linkInfo.ProgramId);
    }

    /// <summary>bpftool prints each instruction as code, src_reg, dst_reg, off[2], imm[4] hex strings.</summary>
    private static byte[] OpcodeBytes(System.Text.Json.JsonElement o)
    {
        static byte B(System.Text.Json.JsonElement e) => Convert.ToByte(e.GetString()!, 16);
        return [B(o.GetProperty("code")), (byte)((B(o.GetProperty("src_reg")) << 4) | B(o.GetProperty("dst_reg"))),
            .. o.GetProperty("off").EnumerateArray().Select(B), .. o.GetProperty("imm").EnumerateArray().Select(B)];
    }

    private sealed class KernelLink_Raw(LinkHandle handle) : IDisposable
    {
        public LinkHandle Handle { get; } = handle;

        public void Dispose() => Handle.Dispose();
    }

    /// <summary>Loads a trivial fentry program attached to the kernel function with this BTF id.</summary>
    internal static KernelProgram LoadFentry(uint btfId) => KernelProgram.Load(new ProgramLoadOptions
    {
        Type = ProgramType.Tracing,
        ExpectedAttachType = AttachType.TraceFentry,
        AttachBtfId = btfId,
        Instructions = Asm.Return(0),
        Name = "sb_fentry",
    });

    internal static uint VmlinuxFunctionId(string name)
    {
        int id = SharpBpf.Btf.BtfSpec.Load("/sys/kernel/btf/vmlinux").FindId(name, SharpBpf.Btf.BtfKind.Function);
        Assert.True(id > 0, $"{name} is not in vmlinux BTF");
        return (uint)id;
    }
}
