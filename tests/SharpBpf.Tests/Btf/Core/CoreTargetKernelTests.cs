using SharpBpf.Btf;
using SharpBpf.Btf.Core;
using SharpBpf.Isa;
using static SharpBpf.Tests.Btf.Core.CoreTargets;

namespace SharpBpf.Tests.Btf.Core;

/// <summary>
/// The project's CO-RE objects relocated against small kernels built with the BTF writer: a 6.x-like one and a
/// 4.18-like one (`state` instead of `__state`, no in_iowait, a straddling 2-bit in_execve in a u8, PIDTYPE_SID = 2,
/// no BPF_MAP_TYPE_RINGBUF, no enum64). Expected values come from the layouts in <see cref="CoreTargets"/>.
/// </summary>
public sealed class CoreTargetKernelTests
{
    private static readonly Lazy<CoreResult> LayoutsOld = new(() => CoreRelocator.Apply(CoreTestSupport.ProjectObject("core_layouts.o"), OldKernel(), "old"));
    private static readonly Lazy<CoreResult> LayoutsNew = new(() => CoreRelocator.Apply(CoreTestSupport.ProjectObject("core_layouts.o"), NewKernel(), "new"));
    private static readonly Lazy<CoreResult> ProbeOld = new(() => CoreRelocator.Apply(CoreTestSupport.ProjectObject("core_probe.o"), OldKernel(), "old"));

    /// <summary>The relocations of a program whose local spec contains <paramref name="spec"/> (e.g. "task_struct.pid ").</summary>
    private static List<CoreProgramRelocation> Find(CoreResult result, string program, BtfCoreRelocationKind kind, string spec)
    {
        var found = result.FindProgram(program)!.Relocations
            .Where(r => r.Report.Kind == kind && (r.Report.LocalSpec + " ").Contains(spec, StringComparison.Ordinal)).ToList();
        Assert.True(found.Count > 0, $"no {kind} relocation of '{spec}' in {program}");
        return found;
    }

    private static void AssertValue(CoreResult result, string program, BtfCoreRelocationKind kind, string spec, ulong expected)
    {
        foreach (var r in Find(result, program, kind, spec))
        {
            Assert.Equal(CoreRelocationOutcome.Patched, r.Report.Outcome);
            Assert.Equal(expected, r.Report.NewValue);
        }
    }

    private static void AssertPoisoned(CoreResult result, string program, BtfCoreRelocationKind kind, string spec)
    {
        var code = result.FindProgram(program)!.Instructions;
        foreach (var r in Find(result, program, kind, spec))
        {
            Assert.Equal(CoreRelocationOutcome.Poisoned, r.Report.Outcome);
            Assert.Equal(Opcode.Call, code[r.InstructionIndex].Opcode);
            Assert.Equal(CoreRelocator.PoisonHelperId, code[r.InstructionIndex].Immediate);
            Assert.False(string.IsNullOrEmpty(r.Report.Reason));
        }
    }

    private const BtfCoreRelocationKind Off = BtfCoreRelocationKind.FieldByteOffset;

    [Theory]
    [InlineData("layouts_exec")]
    [InlineData("layouts_fork")]
    public void FieldOffsetsFollowTheOldLayout(string program)
    {
        var r = LayoutsOld.Value;
        AssertValue(r, program, Off, "task_struct.signal ", OldSignalOffset);
        AssertValue(r, program, Off, "task_struct.fs ", OldFsOffset);
        AssertValue(r, program, Off, "task_struct.tgid ", OldTgidOffset);
        AssertValue(r, program, Off, "fs_struct.pwd.dentry ", 32 + 8);
        AssertValue(r, program, Off, "task_struct.comm[3] ", OldCommOffset + 3);
        AssertValue(r, program, Off, "signal_struct.rlim[7].rlim_cur ", (ulong)(OldRlimOffset + (7 * 16)));
        AssertValue(r, program, Off, "dentry.d_name.len ", 32 + 4);
        AssertValue(r, program, Off, "bpf_attr___core.key_size ", 4);
        AssertValue(r, program, Off, "task_struct___old.state ", OldStateOffset);
        AssertPoisoned(r, program, Off, "task_struct___new.__state ");
    }

    [Fact]
    public void AnonymousMembersAreWalkedInTheTargetOnly()
    {
        // Locally d_name is a plain member; in the 6.x-like target it sits in an anonymous union: same byte offset,
        // a longer target access path.
        var fresh = Find(LayoutsNew.Value, "layouts_exec", Off, "dentry.d_name.len ").Single();
        var old = Find(LayoutsOld.Value, "layouts_exec", Off, "dentry.d_name.len ").Single();
        Assert.Equal(36ul, fresh.Report.NewValue);
        Assert.Equal(36ul, old.Report.NewValue);
        Assert.Contains("(0:2:1:0:0:1 @ offset 36)", fresh.Report.Candidates.Single(c => c.Matched).Spec, StringComparison.Ordinal);
        Assert.Contains("(0:2:0:0:1 @ offset 36)", old.Report.Candidates.Single(c => c.Matched).Spec, StringComparison.Ordinal);
    }

    [Fact]
    public void ExistenceChecksPickTheFlavourEachKernelHas()
    {
        var exists = BtfCoreRelocationKind.FieldExists;
        AssertValue(LayoutsOld.Value, "layouts_exec", exists, "task_struct___old.state ", 1);
        AssertValue(LayoutsOld.Value, "layouts_exec", exists, "task_struct___new.__state ", 0);
        AssertValue(LayoutsNew.Value, "layouts_exec", exists, "task_struct___old.state ", 0);
        AssertValue(LayoutsNew.Value, "layouts_exec", exists, "task_struct___new.__state ", 1);
        AssertValue(LayoutsNew.Value, "layouts_exec", Off, "task_struct___new.__state ", NewStateOffset);
        AssertPoisoned(LayoutsNew.Value, "layouts_exec", Off, "task_struct___old.state ");
    }

    [Fact]
    public void BitfieldsFollowEachKernelsLayout()
    {
        // New: 1 bit at bit 3 of the u32 at 1192. Old: 2 bits from bit 7 of byte 1195 in a u8: it straddles bytes, so
        // the smallest load holding it is 8 bytes at 1192 (bits 63..65 of it are not reachable with less).
        const string field = "task_struct___signed.in_execve ";
        var n = LayoutsNew.Value;
        AssertValue(n, "layouts_exec", Off, field, 1192);
        AssertValue(n, "layouts_exec", BtfCoreRelocationKind.FieldByteSize, field, 4);
        AssertValue(n, "layouts_exec", BtfCoreRelocationKind.FieldLShiftU64, field, (ulong)(64 - (NewInExecveBit + 1 - (1192 * 8))));
        AssertValue(n, "layouts_exec", BtfCoreRelocationKind.FieldRShiftU64, field, 63);
        var o = LayoutsOld.Value;
        AssertValue(o, "layouts_exec", Off, field, 1192);
        AssertValue(o, "layouts_exec", BtfCoreRelocationKind.FieldByteSize, field, 8);
        AssertValue(o, "layouts_exec", BtfCoreRelocationKind.FieldLShiftU64, field, (ulong)(64 - (OldInExecveBit + 2 - (1192 * 8))));
        AssertValue(o, "layouts_exec", BtfCoreRelocationKind.FieldRShiftU64, field, 62);
        // Declared signed locally, unsigned in both kernels.
        foreach (var r in new[] { n, o })
        {
            var signed = Find(r, "layouts_exec", BtfCoreRelocationKind.FieldSigned, field);
            Assert.All(signed, s => Assert.Equal((1ul, 0ul), (s.Report.OriginalValue, s.Report.NewValue)));
        }
        AssertValue(o, "layouts_exec", BtfCoreRelocationKind.FieldSigned, "task_struct.pid ", 1);
    }

    [Fact]
    public void MissingBitfieldIsPoisonedInEveryInstructionThatExtractsIt()
    {
        // core_probe.o reads in_iowait unconditionally; the 4.18-like kernel has no such field.
        foreach (var kind in new[] { Off, BtfCoreRelocationKind.FieldByteSize, BtfCoreRelocationKind.FieldLShiftU64, BtfCoreRelocationKind.FieldRShiftU64 })
            AssertPoisoned(ProbeOld.Value, "on_exec", kind, "task_struct.in_iowait ");
        var program = ProbeOld.Value.FindProgram("on_exec")!;
        Assert.True(program.Succeeded);
        Assert.True(program.PoisonedCount >= 6);
        AssertValue(ProbeOld.Value, "on_exec", Off, "task_struct.pid ", OldPidOffset);
        AssertValue(ProbeOld.Value, "on_exec", Off, "task_struct___old.state ", OldStateOffset);
        AssertValue(ProbeOld.Value, "on_exec", BtfCoreRelocationKind.FieldExists, "task_struct.__state ", 0);
    }

    [Fact]
    public void LoadThroughAWiderLocalDeclarationIsShrunkToTheTargetsSize()
    {
        var r = Find(LayoutsOld.Value, "layouts_exec", Off, "task_struct___wide.flags ").Single();
        Assert.Equal((8u, 4u), r.Report.MemorySize);
        var insn = LayoutsOld.Value.FindProgram("layouts_exec")!.Instructions[r.InstructionIndex];
        Assert.Equal(InstructionClass.Ldx, insn.Class);
        Assert.Equal(MemorySize.Word, insn.MemorySize);
        Assert.Equal(OldFlagsOffset, insn.Offset);
    }

    [Fact]
    public void LoadOfASignedFieldWithAnotherSizeIsPoisoned()
    {
        // Make flags a signed int: shrinking an 8-byte load of it to 4 bytes would lose the sign, so libbpf poisons.
        var b = BtfBuilder.From(OldKernel());
        int signedInt = Enumerable.Range(1, b.Definitions.Count).First(id => b[id].Kind == BtfKind.Int && b[id].Name == "int");
        int task = Enumerable.Range(1, b.Definitions.Count).First(id => b[id].Kind == BtfKind.Struct && b[id].Name == "task_struct");
        int flags = b[task].Members.FindIndex(m => m.Name == "flags");
        b[task].Members[flags] = b[task].Members[flags] with { TypeId = signedInt };
        var result = CoreRelocator.Apply(CoreTestSupport.ProjectObject("core_layouts.o"), b.Build());
        var r = Find(result, "layouts_exec", Off, "task_struct___wide.flags ").Single();
        Assert.Equal(CoreRelocationOutcome.Poisoned, r.Report.Outcome);
        Assert.Contains(r.Report.Log, l => l.Contains("accesses field incorrectly", StringComparison.Ordinal));
    }

    [Fact]
    public void EnumValuesFollowEachKernel()
    {
        var o = ProbeOld.Value;
        AssertValue(o, "on_exec", BtfCoreRelocationKind.EnumValueExists, "pid_type::PIDTYPE_SID", 1);
        AssertValue(o, "on_exec", BtfCoreRelocationKind.EnumValue, "pid_type::PIDTYPE_SID", 2);

        var lo = LayoutsOld.Value;
        var ln = LayoutsNew.Value;
        AssertValue(ln, "layouts_exec", BtfCoreRelocationKind.EnumValueExists, "BPF_MAP_TYPE_RINGBUF___v2", 1);
        AssertValue(ln, "layouts_exec", BtfCoreRelocationKind.EnumValue, "BPF_MAP_TYPE_RINGBUF___v2", 27);
        AssertValue(lo, "layouts_exec", BtfCoreRelocationKind.EnumValueExists, "BPF_MAP_TYPE_RINGBUF___v2", 0);
        AssertPoisoned(lo, "layouts_exec", BtfCoreRelocationKind.EnumValue, "BPF_MAP_TYPE_RINGBUF___v2");
        // The poisoned enum value is an lddw: both slots become the invalid call.
        var lddw = Find(lo, "layouts_exec", BtfCoreRelocationKind.EnumValue, "BPF_MAP_TYPE_RINGBUF___v2").Single();
        Assert.Equal(CoreRelocator.PoisonHelperId, lo.FindProgram("layouts_exec")!.Instructions[lddw.InstructionIndex + 1].Immediate);

        // A 64-bit enumerator: enum64 in the new kernel, truncated into a 32-bit record in the old one.
        AssertValue(ln, "layouts_exec", BtfCoreRelocationKind.EnumValue, "PERF_CONTEXT_KERNEL", unchecked((ulong)-128L));
        AssertValue(lo, "layouts_exec", BtfCoreRelocationKind.EnumValue, "PERF_CONTEXT_KERNEL", unchecked((uint)-128));
    }

    [Fact]
    public void TypeRelocationsFollowEachKernel()
    {
        foreach (var r in new[] { LayoutsOld.Value, LayoutsNew.Value })
        {
            AssertValue(r, "layouts_fork", BtfCoreRelocationKind.TypeSize, "struct list_head", 16);
            AssertValue(r, "layouts_fork", BtfCoreRelocationKind.TypeSize, "struct rlimit", 16);
            AssertValue(r, "layouts_fork", BtfCoreRelocationKind.TypeExists, "struct sharpbpf_not_in_kernel", 0);
            AssertValue(r, "layouts_fork", BtfCoreRelocationKind.TypeExists, "typedef pid_t", 1);
            // Locally "unsigned long", in the kernel "long unsigned int" (gcc's name): the names differ, no match.
            AssertValue(r, "layouts_fork", BtfCoreRelocationKind.TypeMatches, "struct rlimit", 0);
            int localId = Find(r, "layouts_fork", BtfCoreRelocationKind.TypeIdLocal, "struct task_struct").Single().Report.LocalTypeId;
            AssertValue(r, "layouts_fork", BtfCoreRelocationKind.TypeIdLocal, "struct task_struct", (ulong)localId);
            AssertValue(r, "layouts_fork", BtfCoreRelocationKind.TypeIdTarget, "struct task_struct", (ulong)r.Target.FindId("task_struct", BtfKind.Struct));
        }
        AssertValue(ProbeOld.Value, "on_exec", BtfCoreRelocationKind.TypeMatches, "struct list_head", 1);
        AssertValue(ProbeOld.Value, "on_exec", BtfCoreRelocationKind.TypeMatches, "struct task_struct", 0);
    }

    [Fact]
    public void EveryProgramRelocatesOnBothKernels()
    {
        foreach (var r in new[] { LayoutsOld.Value, LayoutsNew.Value, ProbeOld.Value })
        {
            Assert.True(r.Succeeded, string.Join("\n", r.Relocations.Where(x => x.Outcome == CoreRelocationOutcome.Failed).Select(x => x.Reason)));
            Assert.All(r.Programs, p => p.ToBpfProgram());
        }
    }
}
