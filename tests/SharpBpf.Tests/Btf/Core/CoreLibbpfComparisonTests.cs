using SharpBpf.Btf;
using SharpBpf.Btf.Core;
using SharpBpf.Isa;
using SharpBpf.Objects;
using SharpBpf.Testing;

namespace SharpBpf.Tests.Btf.Core;

/// <summary>
/// The relocation engine against libbpf itself: the fixtures hold the debug lines libbpf printed while relocating
/// the project's CO-RE objects against the running kernel (bpftool -d prog loadall), and the engine's log must be
/// the same lines in the same order: candidates, matching specs, values and poisoned instructions.
/// </summary>
public sealed class CoreLibbpfComparisonTests
{
    private static readonly Dictionary<string, Lazy<CoreResult>> AgainstVmlinux = new()
    {
        ["core_probe.o"] = new(() => CoreRelocator.Apply(CoreTestSupport.ProjectObject("core_probe.o"), BtfTestEnvironment.Vmlinux)),
        ["core_layouts.o"] = new(() => CoreRelocator.Apply(CoreTestSupport.ProjectObject("core_layouts.o"), BtfTestEnvironment.Vmlinux)),
    };

    private static CoreResult Relocated(string objectName) => AgainstVmlinux[objectName].Value;

    private static void AssertSameAsLibbpf(string objectName)
    {
        var result = Relocated(objectName);
        var mine = result.Relocations.SelectMany(r => r.Log).ToArray();
        var (_, libbpf) = CoreTestSupport.LibbpfFixture(objectName);
        for (int i = 0; i < Math.Min(mine.Length, libbpf.Length); i++) Assert.Equal(libbpf[i], mine[i]);
        Assert.Equal(libbpf.Length, mine.Length);
        Assert.True(result.Succeeded);
    }

    [CoreFixtureFact("core_probe.o")]
    public void CoreProbeRelocatesAsLibbpfDoes() => AssertSameAsLibbpf("core_probe.o");

    [CoreFixtureFact("core_layouts.o")]
    public void CoreLayoutsRelocatesAsLibbpfDoes() => AssertSameAsLibbpf("core_layouts.o");

    [CoreFixtureFact("core_layouts.o")]
    public void PatchedInstructionsCarryTheValuesLibbpfLogged()
    {
        // Every "patched insn #I ... A -> B" line of libbpf must be visible in the relocated code of the function.
        var result = Relocated("core_layouts.o");
        var (_, libbpf) = CoreTestSupport.LibbpfFixture("core_layouts.o");
        int checkedLines = 0;
        foreach (var line in libbpf.Where(l => l.Contains("patched insn #", StringComparison.Ordinal) && !l.Contains("mem_sz", StringComparison.Ordinal)))
        {
            var m = System.Text.RegularExpressions.Regex.Match(line, @"^prog '([^']+)': relo #(\d+): patched insn #(\d+) \((\S+)\) \S+ (\d+) -> (\d+)$");
            Assert.True(m.Success, line);
            string function = m.Groups[1].Value;
            int relo = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
            ulong value = ulong.Parse(m.Groups[6].Value, System.Globalization.CultureInfo.InvariantCulture);
            var report = result.Relocations.Single(r => r.FunctionName == function && r.Index == relo);
            foreach (var program in result.Programs)
            {
                foreach (var applied in program.Relocations.Where(a => a.Report == report))
                {
                    var insn = program.Instructions[applied.InstructionIndex];
                    ulong actual = m.Groups[4].Value switch
                    {
                        "LDX/ST/STX" => (ulong)insn.Offset,
                        "LDIMM64" => (uint)insn.Immediate | ((ulong)(uint)program.Instructions[applied.InstructionIndex + 1].Immediate << 32),
                        _ => (ulong)(uint)insn.Immediate,
                    };
                    Assert.Equal(m.Groups[4].Value == "ALU/ALU64" ? (uint)value : value, actual);
                    checkedLines++;
                }
            }
        }
        Assert.True(checkedLines > 40, $"only {checkedLines} patched instructions checked");
    }

    [CoreFixtureFact("core_layouts.o")]
    public void PoisonedInstructionsCallTheBadReloHelper()
    {
        var result = Relocated("core_layouts.o");
        var (_, libbpf) = CoreTestSupport.LibbpfFixture("core_layouts.o");
        int expected = libbpf.Count(l => l.Contains("w/ invalid insn", StringComparison.Ordinal));
        Assert.True(expected >= 4);
        var exec = result.FindProgram("layouts_exec")!;
        var poisoned = exec.Relocations.Where(r => r.Report.Outcome == CoreRelocationOutcome.Poisoned).ToList();
        Assert.NotEmpty(poisoned);
        foreach (var p in poisoned)
        {
            var insn = exec.Instructions[p.InstructionIndex];
            Assert.Equal(Opcode.Call, insn.Opcode);
            Assert.Equal(CoreRelocator.PoisonHelperId, insn.Immediate);
            Assert.NotNull(p.Report.Reason);
        }
        // The enum value relocation is an lddw: both of its slots are poisoned, as libbpf logs.
        var lddw = poisoned.Single(p => p.Report.Kind == BtfCoreRelocationKind.EnumValue);
        Assert.Equal(CoreRelocator.PoisonHelperId, exec.Instructions[lddw.InstructionIndex + 1].Immediate);
        Assert.Contains("BPF_MAP_TYPE_HV_RENAMED", lddw.Report.Reason, StringComparison.Ordinal);
    }

    [BtfRequiresVmlinuxFact]
    public void SubprogramRelocationsAreAppliedInEveryProgramThatAppendsIt()
    {
        var result = Relocated("core_layouts.o");
        var sub = result.Relocations.Where(r => r.FunctionName == "read_parent_tgid").ToList();
        Assert.Equal(2, sub.Count);
        Assert.All(sub, r => Assert.Equal(".text", r.SectionName));
        foreach (var program in result.Programs)
        {
            var appended = program.Program.Subprograms.Single(s => s.Name == "read_parent_tgid");
            var applied = program.Relocations.Where(r => r.Report.FunctionName == "read_parent_tgid").ToList();
            Assert.Equal(2, applied.Count);
            Assert.All(applied, a => Assert.InRange(a.InstructionIndex, appended.StartIndex, appended.StartIndex + appended.InstructionCount - 1));
            Assert.All(applied, a => Assert.Equal((int)a.Report.NewValue, program.Instructions[a.InstructionIndex].Immediate));
            // The original linked program is untouched.
            Assert.NotEqual(program.Instructions[applied[0].InstructionIndex], program.Program.Instructions[applied[0].InstructionIndex]);
        }
    }

    [SharedFact("samples")]
    public void SampleObjectsRelocateWithoutChangingCodeThatHasNoCoreRecords()
    {
        // None of the shared samples carries CO-RE records (they predate CO-RE or do not use it): relocation must
        // then be the identity, and the engine must not trip on any of their BTF.
        var target = CoreTargets.NewKernel();
        int objects = 0;
        foreach (var (name, _, ext, _) in BtfTestEnvironment.SampleObjectsWithBtf())
        {
            BpfObject obj;
            try
            {
                obj = BpfObject.Load(Path.Combine(SharedData.Folder("samples")!, name));
            }
            catch (BpfException)
            {
                continue; // objects the loader rejects are covered by its own tests
            }
            CoreResult result;
            try
            {
                result = CoreRelocator.Apply(obj, target);
            }
            catch (BtfFormatException)
            {
                continue; // malformed .BTF/.BTF.ext: a clean typed error is the expected behaviour
            }
            objects++;
            foreach (var program in result.Programs)
            {
                if (program.Relocations.Count == 0) Assert.Equal(program.Program.Instructions, program.Instructions);
            }
            Assert.Equal(ext is null ? 0 : result.Relocations.Count, result.Relocations.Count);
        }
        Assert.True(objects > 10);
    }
}
