using SharpBpf.Btf.Core;
using SharpBpf.Hosting;
using SharpBpf.Objects;
using SharpBpf.Tests.Btf.Core;

namespace SharpBpf.Tests.Hosting;

/// <summary>The VM applies CO-RE against the target it is given, so programs see that kernel's layouts.</summary>
public sealed class CoreHostingTests
{
    [Fact]
    public void ProgramsRunTheInstructionsRelocatedForTheChosenTarget()
    {
        var path = ProjectSamples.ObjectPath("core_probe.o");
        foreach (var target in new[] { CoreTargets.OldKernel(), CoreTargets.NewKernel() })
        {
            var expected = CoreRelocator.Apply(BpfObject.Load(path), target);
            using var vm = VmObject.Load(path, new VmObjectOptions { CoreTarget = target });
            foreach (var program in vm.Programs)
            {
                Assert.True(program.Executable is not null, $"{program.Name}: {program.BuildError}");
                var relocated = expected.FindProgram(program.Name)!;
                Assert.NotEmpty(relocated.Relocations);
                // The VM's code is the relocated code (context conversion leaves tracing programs as they are).
                Assert.Equal(relocated.Instructions, program.Executable!.Program.Instructions.ToArray());
            }
        }

        // The two kernels really differ: task_struct.pid is at another offset in each.
        var old = CoreRelocator.Apply(BpfObject.Load(path), CoreTargets.OldKernel());
        var recent = CoreRelocator.Apply(BpfObject.Load(path), CoreTargets.NewKernel());
        Assert.NotEqual(old.FindProgram("on_new_task")!.Instructions, recent.FindProgram("on_new_task")!.Instructions);
    }

    [Fact]
    public void ObjectsWithoutCoreRecordsIgnoreTheTarget()
    {
        using var vm = VmObject.Load(ProjectSamples.ObjectPath("xdp_firewall.o"), new VmObjectOptions { CoreTarget = CoreTargets.OldKernel() });
        var program = vm.Program("xdp_firewall");
        Assert.NotNull(program.Executable);
    }
}
