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
    public void ObjectsReadersAndAttachmentsLeaveNoDescriptorBehind()
    {
        var definition = SharpBpf.Objects.BpfObject.Load(ObjectLoadTests.ProjectObject("xdp_firewall.o"));
        using (var warm = SharpBpf.Linux.Objects.KernelObject.Load(definition))
        using (var ring = new SharpBpf.Linux.Events.RingBufferReader(warm.Map("fw_events")))
        using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp))
        using (var program = KernelProgram.Load(ProgramType.SocketFilter, Asm.Return(0), "sb_leak_sock"))
        using (program.AttachSocketFilter(socket))
        {
            ring.Consume(_ => { });
        }

        int before = OpenDescriptors();
        for (int i = 0; i < 100; i++)
        {
            using var loaded = SharpBpf.Linux.Objects.KernelObject.Load(definition);
            using var ring = new SharpBpf.Linux.Events.RingBufferReader(loaded.Map("fw_events"));
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            using var program = KernelProgram.Load(ProgramType.SocketFilter, Asm.Return(0), "sb_leak_sock");
            using var filter = program.AttachSocketFilter(socket);
            ring.Poll(_ => { }, timeoutMilliseconds: 0);
        }

        // A refused object (its program fails verification) releases what it had created.
        for (int i = 0; i < 30; i++)
        {
            Assert.Throws<SharpBpf.Linux.Objects.KernelObjectException>(() => SharpBpf.Linux.Objects.KernelObject.Load(definition,
                new SharpBpf.Linux.Objects.KernelObjectOptions { Patcher = (_, _, code) => [.. code.Select((insn, at) => at == 0 ? Asm.LdxW(0, 10, 8) : insn)] }));
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
