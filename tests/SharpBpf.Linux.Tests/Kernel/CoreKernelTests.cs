using SharpBpf.Btf;
using SharpBpf.Btf.Core;
using SharpBpf.Isa;
using SharpBpf.Objects;
using SharpBpf.Testing;

namespace SharpBpf.Linux.Tests.Kernel;

/// <summary>
/// The kernel as the judge of CO-RE relocation and BTF sanitisation: programs relocated by SharpBPF against the
/// running kernel's BTF must pass its verifier (which rejects any reachable poisoned instruction and checks direct
/// loads of tp_btf pointers against task_struct's real layout), and sanitised BTF must be accepted by BPF_BTF_LOAD.
/// </summary>
public sealed class CoreKernelTests
{
    private const string Vmlinux = "/sys/kernel/btf/vmlinux";

    /// <summary>Loads a relocated program with its global data maps created and their descriptors patched in.</summary>
    private static KernelProgram LoadRelocated(BpfObject obj, CoreProgramResult relocated, BtfSpec vmlinux) =>
        Load(obj, relocated.Program, relocated.Instructions, vmlinux);

    private static KernelProgram Load(BpfObject obj, ObjectProgram program, Instruction[] code, BtfSpec vmlinux)
    {
        var insns = (Instruction[])code.Clone();
        var maps = new Dictionary<int, KernelMap>();
        try
        {
            foreach (var r in program.Relocations.Where(r => r.Kind is ProgramRelocationKind.MapValue or ProgramRelocationKind.MapReference))
            {
                if (!maps.TryGetValue(r.MapIndex, out var map))
                {
                    var def = obj.Maps[r.MapIndex];
                    map = KernelMap.Create(def.Type, (int)def.KeySize, (int)def.ValueSize, def.MaxEntries, "sb_core");
                    maps[r.MapIndex] = map;
                }
                insns[r.InstructionIndex] = insns[r.InstructionIndex].WithImmediate(map.Handle.Fd);
            }
            var options = new ProgramLoadOptions
            {
                Type = program.Type,
                Instructions = insns,
                License = obj.License,
                Name = "sb_core",
                ExpectedAttachType = program.ExpectedAttachType ?? default,
                AttachBtfId = program.Type == ProgramType.Tracing
                    ? (uint)vmlinux.FindId("btf_trace_" + program.SectionName.Split('/')[^1], BtfKind.Typedef)
                    : 0,
            };
            return KernelProgram.Load(options);
        }
        finally
        {
            foreach (var map in maps.Values) map.Dispose();
        }
    }

    [KernelFact]
    public void ProgramsRelocatedAgainstTheRunningKernelPassItsVerifier()
    {
        if (!File.Exists(Vmlinux)) return;
        var vmlinux = BtfSpec.Load(Vmlinux);
        int loaded = 0;
        foreach (string name in new[] { "core_layouts.o", "core_probe.o" })
        {
            var obj = BpfObject.Load(Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", name));
            var result = CoreRelocator.Apply(obj, vmlinux);
            Assert.True(result.Succeeded);
            foreach (var program in result.Programs.Where(p => p.Program.Type is ProgramType.Tracing or ProgramType.RawTracepoint))
            {
                Assert.Contains(program.Relocations, r => r.Report.Outcome == CoreRelocationOutcome.Poisoned || r.Report.OriginalValue != r.Report.NewValue);
                using var kernelProgram = LoadRelocated(obj, program, vmlinux);
                loaded++;
            }
        }
        Assert.True(loaded >= 4);
    }

    [KernelFact]
    public void UnrelocatedDirectLoadsAreRejectedWhereRelocatedOnesPass()
    {
        // The control for the test above: core_probe's tp_btf program as compiled (local offsets, no relocation)
        // reads task->real_parent at offset 16, which in the real task_struct is not a pointer, and dereferences it:
        // the verifier refuses. Relocated, the same program passes.
        if (!File.Exists(Vmlinux)) return;
        var vmlinux = BtfSpec.Load(Vmlinux);
        var obj = BpfObject.Load(Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", "core_probe.o"));
        var relocated = CoreRelocator.Apply(obj, vmlinux).FindProgram("on_exec")!;
        var e = Assert.Throws<BpfSyscallException>(() => Load(obj, relocated.Program, relocated.Program.Instructions, vmlinux).Dispose());
        Assert.Equal("EACCES", e.ErrorName);
        using var ok = LoadRelocated(obj, relocated, vmlinux);
    }

    [KernelFact]
    public void SanitizedBtfIsAcceptedByTheKernel()
    {
        var b = new BtfBuilder();
        int @int = b.AddInt("int", 4, BtfIntEncoding.Signed);
        int @float = b.AddFloat("float", 4);
        int tag = b.AddTypeTag("user", @int);
        int ptr = b.AddPointer(tag);
        int proto = b.AddFunctionProto(@int, new BtfParameterDefinition("a", @int), new BtfParameterDefinition("b", ptr));
        int func = b.AddFunction("helper", proto, BtfFunctionLinkage.Global);
        b.AddDeclTag("hot", func);
        b.AddEnum("delta", 4, true, new BtfEnumValueDefinition("NEG", -5), new BtfEnumValueDefinition("POS", 7));
        int wide = b.AddEnum64("wide", 8, false, new BtfEnumValueDefinition("W_SMALL", 1), new BtfEnumValueDefinition("W_BIG", 1L << 32));
        int counter = b.AddVariable("counter", @int);
        int ratio = b.AddVariable("ratio", @float);
        b.AddDataSection(".data", 8, new BtfVariableSectionInfo(counter, 0, 4), new BtfVariableSectionInfo(ratio, 4, 4));
        b.AddStruct("sample", 16, new BtfMemberDefinition("x", @int, 0), new BtfMemberDefinition("f", @float, 32), new BtfMemberDefinition("w", wide, 64));
        var btf = b.Build();
        using (KernelBtf.Load(btf.Data.Span)) { }
        foreach (var missing in new[] { BtfFeatures.Enum64, BtfFeatures.TypeTag, BtfFeatures.DeclTag, BtfFeatures.Float, BtfFeatures.DataSection, BtfFeatures.GlobalFunction })
        {
            // A kernel lacking one feature lacks every later one too: remove it and everything newer.
            var supported = BtfFeatures.All & ~missing;
            supported &= missing switch
            {
                BtfFeatures.DataSection => ~(BtfFeatures.Float | BtfFeatures.DeclTag | BtfFeatures.TypeTag | BtfFeatures.Enum64),
                BtfFeatures.Float => ~(BtfFeatures.DeclTag | BtfFeatures.TypeTag | BtfFeatures.Enum64),
                _ => BtfFeatures.All,
            };
            var sanitized = BtfSanitizer.Sanitize(btf, supported);
            using var loaded = KernelBtf.Load(sanitized);
            Assert.True(loaded.Handle.Fd > 0, missing.ToString());
        }
    }
}
