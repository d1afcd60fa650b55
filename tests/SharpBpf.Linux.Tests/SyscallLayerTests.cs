using System.Runtime.CompilerServices;
using SharpBpf.Linux.Interop;

namespace SharpBpf.Linux.Tests;

/// <summary>Checks of the syscall layer that need no kernel.</summary>
public class SyscallLayerTests
{
    [Fact]
    public void AttributeStructsHaveTheUapiSizes()
    {
        // Sizes from offsetof/sizeof over include/uapi/linux/bpf.h (the end of each command's part of union bpf_attr).
        Assert.Equal(80, Unsafe.SizeOf<MapCreateAttr>());
        Assert.Equal(32, Unsafe.SizeOf<MapElemAttr>());
        Assert.Equal(56, Unsafe.SizeOf<MapBatchAttr>());
        Assert.Equal(152, Unsafe.SizeOf<ProgLoadAttr>());
        Assert.Equal(24, Unsafe.SizeOf<ObjAttr>());
        Assert.Equal(80, Unsafe.SizeOf<TestRunAttr>());
        Assert.Equal(12, Unsafe.SizeOf<GetIdAttr>());
        Assert.Equal(16, Unsafe.SizeOf<InfoAttr>());
        Assert.Equal(24, Unsafe.SizeOf<RawTracepointAttr>());
        Assert.Equal(40, Unsafe.SizeOf<BtfLoadAttr>());
        Assert.Equal(64, Unsafe.SizeOf<LinkCreateAttr>());
        Assert.Equal(16, Unsafe.SizeOf<LinkUpdateAttr>());
    }

    [Theory]
    [InlineData(BpfCommand.MapCreate, "BPF_MAP_CREATE", 0)]
    [InlineData(BpfCommand.MapLookupAndDeleteElem, "BPF_MAP_LOOKUP_AND_DELETE_ELEM", 21)]
    [InlineData(BpfCommand.ObjGetInfoByFd, "BPF_OBJ_GET_INFO_BY_FD", 15)]
    [InlineData(BpfCommand.ProgTestRun, "BPF_PROG_TEST_RUN", 10)]
    [InlineData(BpfCommand.RawTracepointOpen, "BPF_RAW_TRACEPOINT_OPEN", 17)]
    [InlineData(BpfCommand.LinkDetach, "BPF_LINK_DETACH", 34)]
    [InlineData(BpfCommand.TokenCreate, "BPF_TOKEN_CREATE", 36)]
    public void CommandsCarryTheKernelNameAndNumber(BpfCommand command, string name, int number)
    {
        Assert.Equal(name, BpfSyscall.CommandName(command));
        Assert.Equal(number, (int)command);
    }

    [Theory]
    [InlineData(1, "EPERM")]
    [InlineData(2, "ENOENT")]
    [InlineData(7, "E2BIG")]
    [InlineData(13, "EACCES")]
    [InlineData(17, "EEXIST")]
    [InlineData(22, "EINVAL")]
    [InlineData(28, "ENOSPC")]
    [InlineData(95, "EOPNOTSUPP")]
    [InlineData(524, "ENOTSUPP")]
    [InlineData(9999, "E#9999")]
    public void ErrnoNumbersHaveTheirNames(int errno, string name) => Assert.Equal(name, Errno.NameOf(errno));

    [Fact]
    public void ExceptionSaysWhatFailedAndWhy()
    {
        var e = new BpfSyscallException("BPF_PROG_LOAD", 13, "Xdp program 'p'", "0: (95) exit\nR0 !read_ok\n", BpfCommand.ProgLoad);
        Assert.IsAssignableFrom<BpfException>(e);
        Assert.Equal("EACCES", e.ErrorName);
        Assert.Equal(13, e.ErrorNumber);
        Assert.Equal(BpfCommand.ProgLoad, e.Command);
        Assert.StartsWith("BPF_PROG_LOAD failed: EACCES (13, ", e.Message, StringComparison.Ordinal);
        Assert.Contains("[Xdp program 'p']", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("R0 !read_ok", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0", 1)]
    [InlineData("0-1\n", 2)]
    [InlineData("0-3,8,10-11", 12)]
    [InlineData("0-127", 128)]
    public void CpuListsCountUpToTheHighestCpu(string list, int expected) => Assert.Equal(expected, LinuxSystem.ParseCpuListCount(list));

    [Theory]
    [InlineData("")]
    [InlineData("x")]
    [InlineData("0-a")]
    [InlineData("-5")]
    public void MalformedCpuListsAreFormatErrors(string list) => Assert.Throws<FormatException>(() => LinuxSystem.ParseCpuListCount(list));

    [Fact]
    public void PossibleCpusMatchSysfs()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string text = File.ReadAllText("/sys/devices/system/cpu/possible").Trim();
        int highest = text.Split(',').Select(p => int.Parse(p.Split('-')[^1])).Max();
        Assert.Equal(highest + 1, LinuxSystem.PossibleCpuCount);
    }

    [Fact]
    public void SyscallNumberFollowsTheArchitecture()
    {
        var arch = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture;
        if (arch == System.Runtime.InteropServices.Architecture.X64)
        {
            Assert.Equal(321, BpfSyscall.SyscallNumber);
        }
        else if (arch == System.Runtime.InteropServices.Architecture.Arm64)
        {
            Assert.Equal(280, BpfSyscall.SyscallNumber);
        }
    }

    [Theory]
    [InlineData("xdp_prog", "xdp_prog")]
    [InlineData("my-program-with-a-long-name", "myprogramwithal")]
    [InlineData("sec/xdp.main", "secxdp.main")]
    public void KernelNamesKeepOnlyAcceptedCharacters(string name, string expected) => Assert.Equal(expected, KernelProgram.KernelName(name));

    [Fact]
    public void KernelSupportExplainsItself()
    {
        var status = KernelSupport.Status;
        Assert.False(string.IsNullOrWhiteSpace(status.Reason));
        if (!OperatingSystem.IsLinux())
        {
            Assert.False(status.IsSupported);
        }
        else if (LinuxSystem.EffectiveUserId == 0)
        {
            Assert.True(status.HasPrivilege);
        }
    }
}
