namespace SharpBpf.Linux.Tests.Kernel;

[Collection(SerialKernelCollection.Name)]
public class LeakTests
{
    // Objects other tests left to the finalizer would close descriptors mid-count, so settle them first.
    private static int OpenDescriptors()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return Directory.GetFileSystemEntries("/proc/self/fd").Length;
    }

    [KernelFact]
    public void LoadingAndDisposingAThousandTimesLeaksNoDescriptor()
    {
        byte[] packet = new byte[64];
        // Warm up so that lazily opened runtime files (and the probe) are counted in both snapshots.
        using (var warm = KernelProgram.Load(ProgramType.Xdp, Asm.Return(Asm.XdpDrop), "sb_leak"))
        {
            warm.TestRun(packet);
        }

        int before = OpenDescriptors();
        for (int i = 0; i < 1000; i++)
        {
            using var map = KernelMap.Create(MapType.Array, 4, 8, 1, "sb_leak_map");
            using var program = KernelProgram.Load(new ProgramLoadOptions
            {
                Type = ProgramType.Xdp,
                Instructions = Asm.CountingXdp(SharpBpf.Isa.Imm64Source.MapIndex, 0),
                Name = "sb_leak",
                FdArray = [map.Handle],
            });
            _ = program.GetInfo();
            program.TestRun(packet);
        }

        int after = OpenDescriptors();
        Assert.Equal(before, after);

        // Failed loads must not leak either.
        for (int i = 0; i < 200; i++)
        {
            Assert.Throws<BpfSyscallException>(() => KernelProgram.Load(ProgramType.Xdp, [Asm.Exit], "sb_leak_bad"));
        }

        Assert.Equal(before, OpenDescriptors());
    }

    [KernelFact]
    public void DisposingTwiceClosesOnce()
    {
        var program = KernelProgram.Load(ProgramType.Xdp, Asm.Return(Asm.XdpDrop), "sb_twice");
        int fd = program.Handle.Fd;
        using var other = KernelMap.Create(MapType.Array, 4, 4, 1, "sb_twice_map");
        program.Dispose();
        program.Dispose();
        Assert.True(program.Handle.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => program.TestRun(new byte[64]));

        // The number may be reused by the next object; a second close would have closed that one.
        using var reuse = KernelMap.Create(MapType.Array, 4, 4, 1, "sb_twice_reuse");
        program.Dispose();
        Assert.Equal(fd, reuse.Handle.Fd);
        Assert.Equal(reuse.Id, reuse.GetInfo().Id);
    }
}
