namespace SharpBpf.Linux.Tests.Kernel;

public class LinkAndPinTests
{
    private const string CgroupRoot = "/sys/fs/cgroup/unified";

    [KernelFact(RequiresBpftool = true)]
    public void RawTracepointLinkReportsItsTracepoint()
    {
        using var program = KernelProgram.Load(ProgramType.RawTracepoint, Asm.Return(0), "sb_raw_tp");
        using var link = KernelLink.AttachRawTracepoint(program, "sys_enter");
        var info = link.GetInfo();
        Assert.Equal(BpfLinkType.RawTracepoint, info.Type);
        Assert.Equal("sys_enter", info.TracepointName);
        Assert.Equal(program.Id, info.ProgramId);

        var show = Bpftool.Json("link", "show", "id", info.Id.ToString());
        Assert.Equal("raw_tracepoint", show.GetProperty("type").GetString());
        Assert.Equal((long)program.Id, show.GetProperty("prog_id").GetInt64());
        Assert.Equal("sys_enter", show.GetProperty("tp_name").GetString());
        Assert.Contains(info.Id, BpfSyscall.EnumerateIds(BpfObjectKind.Link));

        using (var byId = KernelLink.FromId(info.Id))
        {
            Assert.Equal(info.Id, byId.GetInfo().Id);
        }

        BpfFileSystem.EnsureMounted();
        string pin = Path.Combine(BpfFileSystem.DefaultMountPoint, $"sharpbpf_link_{Environment.ProcessId}_{Guid.NewGuid():N}");
        link.Pin(pin);
        try
        {
            using var pinned = KernelLink.FromPin(pin);
            Assert.Equal(info.Id, pinned.GetInfo().Id);
            Assert.Equal((long)info.Id, Bpftool.Json("link", "show", "pinned", pin).GetProperty("id").GetInt64());
        }
        finally
        {
            File.Delete(pin);
        }

        var missing = Assert.Throws<BpfSyscallException>(() => KernelLink.AttachRawTracepoint(program, "no_such_tracepoint_sb"));
        Assert.Equal("ENOENT", missing.ErrorName);
        Assert.Equal(BpfCommand.RawTracepointOpen, missing.Command);
    }

    [KernelFact(RequiresBpftool = true)]
    public void CgroupLinkCanBeUpdatedAndDetached()
    {
        if (!Directory.Exists(CgroupRoot))
        {
            Assert.Fail($"no cgroup v2 hierarchy at {CgroupRoot}");
        }

        string cgroup = Path.Combine(CgroupRoot, $"sharpbpf-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(cgroup);
        try
        {
            using var first = LoadCgroupSkb("sb_cg_first");
            using var second = LoadCgroupSkb("sb_cg_second");
            using var directory = LinuxSystem.OpenDirectory(cgroup);
            using var link = KernelLink.Create(new LinkCreateOptions
            {
                Program = first.Handle, Target = directory, AttachType = AttachType.CgroupInetIngress,
            });
            var info = link.GetInfo();
            Assert.Equal(BpfLinkType.Cgroup, info.Type);
            Assert.Equal(AttachType.CgroupInetIngress, info.AttachType);
            Assert.Equal(first.Id, info.ProgramId);
            Assert.NotEqual(0ul, info.CgroupId);

            var show = Bpftool.Json("link", "show", "id", info.Id.ToString());
            Assert.Equal("cgroup", show.GetProperty("type").GetString());
            Assert.Equal((long)info.CgroupId, show.GetProperty("cgroup_id").GetInt64());
            Assert.Equal((long)first.Id, show.GetProperty("prog_id").GetInt64());

            link.Update(second);
            Assert.Equal(second.Id, link.GetInfo().ProgramId);

            // BPF_F_REPLACE with the wrong expected program is refused.
            var wrong = Assert.Throws<BpfSyscallException>(() => link.Update(first, expected: first));
            Assert.Equal("EPERM", wrong.ErrorName);
            Assert.Equal(BpfCommand.LinkUpdate, wrong.Command);
            link.Update(first, expected: second);
            Assert.Equal(first.Id, link.GetInfo().ProgramId);

            link.Detach();
            var afterDetach = Assert.Throws<BpfSyscallException>(() => link.Update(second));
            Assert.Equal("ENOLINK", afterDetach.ErrorName);
        }
        finally
        {
            Directory.Delete(cgroup);
        }
    }

    private static KernelProgram LoadCgroupSkb(string name) => KernelProgram.Load(new ProgramLoadOptions
    {
        Type = ProgramType.CgroupSkb,
        ExpectedAttachType = AttachType.CgroupInetIngress,
        Instructions = Asm.Return(1),
        Name = name,
    });

    [KernelFact(RequiresBpftool = true)]
    public void PinnedMapIsTheSameMapWhenReopened()
    {
        BpfFileSystem.EnsureMounted();
        Assert.True(BpfFileSystem.IsMounted());
        Assert.False(BpfFileSystem.EnsureMounted());

        string path = Path.Combine(BpfFileSystem.DefaultMountPoint, $"sharpbpf_test_{Environment.ProcessId}_{Guid.NewGuid():N}");
        try
        {
            using var map = KernelMap.Create(MapType.Hash, 4, 4, 8, "sb_pinned");
            map.Pin(path);
            Assert.True(File.Exists(path));
            var exists = Assert.Throws<BpfSyscallException>(() => map.Pin(path));
            Assert.Equal("EEXIST", exists.ErrorName);
            Assert.Equal(BpfCommand.ObjPin, exists.Command);

            using var reopened = KernelMap.FromPin(path);
            Assert.Equal(map.Id, reopened.Id);
            Assert.NotEqual(map.Handle.Fd, reopened.Handle.Fd);
            reopened.Update([1, 0, 0, 0], [9, 9, 9, 9]);
            Assert.Equal([9, 9, 9, 9], map.Lookup([1, 0, 0, 0]));

            var show = Bpftool.Json("map", "show", "pinned", path);
            Assert.Equal((long)map.Id, show.GetProperty("id").GetInt64());

            using var program = KernelProgram.Load(ProgramType.Xdp, Asm.Return(Asm.XdpDrop), "sb_pinned_prog");
            program.Pin(path + "_prog");
            using var reopenedProgram = KernelProgram.FromPin(path + "_prog");
            Assert.Equal(program.Id, reopenedProgram.Id);
            Assert.Equal("sb_pinned_prog", reopenedProgram.Name);
            using (var generic = BpfSyscall.ObjectGet(path + "_prog"))
            {
                Assert.Equal(reopenedProgram.Id, BpfObjectInfo.GetProgramInfo(new ProgramHandle(generic.Fd, ownsHandle: false), includeArrays: false).Id);
            }

            File.Delete(path + "_prog");
        }
        finally
        {
            File.Delete(path);
        }

        var gone = Assert.Throws<BpfSyscallException>(() => KernelMap.FromPin(path));
        Assert.Equal("ENOENT", gone.ErrorName);
        Assert.Equal(BpfCommand.ObjGet, gone.Command);
        Assert.Contains(path, gone.Message, StringComparison.Ordinal);
    }

    [KernelFact]
    public void BpffsCanBeMountedWhereItIsAbsent()
    {
        string mountPoint = Path.Combine(Path.GetTempPath(), $"sharpbpf-bpffs-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Assert.False(BpfFileSystem.IsMounted(mountPoint));
        Assert.True(BpfFileSystem.EnsureMounted(mountPoint));
        try
        {
            Assert.True(BpfFileSystem.IsMounted(mountPoint));
            Assert.False(BpfFileSystem.EnsureMounted(mountPoint));
            using var map = KernelMap.Create(MapType.Array, 4, 4, 1, "sb_own_fs");
            map.Pin(Path.Combine(mountPoint, "map"));
            using var reopened = KernelMap.FromPin(Path.Combine(mountPoint, "map"));
            Assert.Equal(map.Id, reopened.Id);
        }
        finally
        {
            BpfFileSystem.Unmount(mountPoint);
            Directory.Delete(mountPoint);
        }

        Assert.False(BpfFileSystem.IsMounted(mountPoint));
        Assert.Equal("ENOENT", Assert.Throws<BpfSyscallException>(() => BpfFileSystem.Unmount(mountPoint)).ErrorName);

        // A pin outside bpffs is refused by the kernel.
        using var outside = KernelMap.Create(MapType.Array, 4, 4, 1, "sb_outside");
        var e = Assert.Throws<BpfSyscallException>(() => outside.Pin(Path.Combine(Path.GetTempPath(), $"sharpbpf-not-bpffs-{Guid.NewGuid():N}")));
        Assert.Equal(BpfCommand.ObjPin, e.Command);
    }
}
