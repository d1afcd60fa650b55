using System.Buffers.Binary;
using System.Text;

namespace SharpBpf.Linux.Tests.Kernel;

public class BtfTests
{
    // Strings of the test BTF; offsets are computed from this list.
    private const string FileName = "sharp.c";
    private const string SourceLine = "return XDP_PASS;";

    /// <summary>
    /// Builds raw BTF by hand: [1] int (signed, 32 bits), [2] func_proto returning int with no parameters,
    /// [3] func "sb_main" of that prototype. Returns the blob and the string offsets of the file name and line.
    /// </summary>
    internal static (byte[] Blob, uint FileOffset, uint LineOffset) BuildBtf(uint intBits = 32)
    {
        var strings = new MemoryStream();
        uint Add(string s)
        {
            uint at = (uint)strings.Length;
            var bytes = Encoding.ASCII.GetBytes(s + "\0");
            strings.Write(bytes);
            return at;
        }

        Add("");
        uint intName = Add("int");
        uint funcName = Add("sb_main");
        uint file = Add(FileName);
        uint line = Add(SourceLine);

        var types = new List<uint>
        {
            intName, 1u << 24, 4, (1u << 24) | intBits,   // INT, size 4, encoding signed, bits
            0, 13u << 24, 1,                              // FUNC_PROTO, vlen 0, returns type 1
            funcName, 12u << 24, 2,                       // FUNC, static linkage, type 2
        };
        var typeBytes = new byte[types.Count * 4];
        for (int i = 0; i < types.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(typeBytes.AsSpan(i * 4), types[i]);
        }

        var header = new byte[24];
        BinaryPrimitives.WriteUInt16LittleEndian(header, 0xeB9F);
        header[2] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), 24);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), (uint)typeBytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), (uint)typeBytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), (uint)strings.Length);
        return ([.. header, .. typeBytes, .. strings.ToArray()], file, line);
    }

    [KernelFact(RequiresBpftool = true)]
    public void LoadedBtfIsDescribedAsBpftoolSeesIt()
    {
        var (blob, _, _) = BuildBtf();
        using var btf = KernelBtf.Load(blob);
        var info = btf.GetInfo(includeData: true);
        Assert.Equal((uint)blob.Length, info.Size);
        Assert.Equal(blob, info.Data);
        Assert.False(info.IsKernelBtf);
        var show = Bpftool.Json("btf", "show", "id", info.Id.ToString());
        Assert.Equal((long)info.Id, show.GetProperty("id").GetInt64());
        Assert.Equal((long)blob.Length, show.GetProperty("size").GetInt64());

        using var vmlinux = KernelBtf.FromId(1);
        var kernel = vmlinux.GetInfo();
        Assert.True(kernel.IsKernelBtf);
        Assert.Equal("vmlinux", kernel.Name);
        Assert.Equal(new FileInfo("/sys/kernel/btf/vmlinux").Length, kernel.Size);
        Assert.Contains(info.Id, BpfSyscall.EnumerateIds(BpfObjectKind.Btf));
    }

    [KernelFact]
    public void BtfLogIsReturnedWhenAskedFor()
    {
        var (blob, _, _) = BuildBtf();
        using var btf = KernelBtf.Load(blob, logLevel: 1);
        Assert.NotNull(btf.Log);
        Assert.Contains("magic: 0xeb9f", btf.Log, StringComparison.Ordinal);
        Assert.Contains("sb_main", btf.Log, StringComparison.Ordinal);
    }

    [KernelFact]
    public void RejectedBtfCarriesTheKernelLog()
    {
        var (blob, _, _) = BuildBtf(intBits: 40); // 40 bits do not fit a 4-byte int
        var e = Assert.Throws<BpfSyscallException>(() => KernelBtf.Load(blob));
        Assert.Equal("EINVAL", e.ErrorName);
        Assert.Equal(BpfCommand.BtfLoad, e.Command);
        Assert.False(string.IsNullOrWhiteSpace(e.VerifierLog));
        Assert.Contains("[1] INT int", e.VerifierLog, StringComparison.Ordinal);
    }

    [KernelFact(RequiresBpftool = true)]
    public void MapsAndProgramsCarryBtfFuncAndLineInfo()
    {
        var (blob, file, line) = BuildBtf();
        using var btf = KernelBtf.Load(blob);
        uint btfId = btf.GetInfo().Id;

        using var map = KernelMap.Create(new MapCreateOptions
        {
            Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = "sb_btf_map",
            Btf = btf.Handle, BtfKeyTypeId = 1, BtfValueTypeId = 1,
        });
        var mapInfo = map.GetInfo();
        Assert.Equal(btfId, mapInfo.BtfId);
        Assert.Equal(1u, mapInfo.BtfKeyTypeId);
        Assert.Equal(1u, mapInfo.BtfValueTypeId);
        Assert.Equal((long)btfId, Bpftool.Json("map", "show", "id", map.Id.ToString()).GetProperty("btf_id").GetInt64());

        var funcInfo = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(funcInfo.AsSpan(4), 3); // insn 0 is function [3]
        var lineInfo = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(lineInfo.AsSpan(4), file);
        BinaryPrimitives.WriteUInt32LittleEndian(lineInfo.AsSpan(8), line);
        BinaryPrimitives.WriteUInt32LittleEndian(lineInfo.AsSpan(12), (12u << 10) | 5); // line 12, column 5

        using var program = KernelProgram.Load(new ProgramLoadOptions
        {
            Type = ProgramType.Xdp,
            Instructions = Asm.Return(Asm.XdpPass),
            Name = "sb_btf_prog",
            Btf = btf.Handle,
            FuncInfo = funcInfo,
            LineInfo = lineInfo,
        });
        var info = program.GetInfo();
        Assert.Equal(btfId, info.BtfId);
        Assert.Equal(8u, info.FuncInfoRecordSize);
        Assert.Equal(funcInfo, info.FuncInfo);
        Assert.Equal(16u, info.LineInfoRecordSize);
        Assert.Equal(lineInfo, info.LineInfo);

        Assert.Equal((long)btfId, Bpftool.Json("prog", "show", "id", info.Id.ToString()).GetProperty("btf_id").GetInt64());
        var xlated = Bpftool.Json("prog", "dump", "xlated", "id", info.Id.ToString(), "linum");
        var first = xlated.EnumerateArray().First();
        Assert.Equal("int sb_main()", first.GetProperty("proto").GetString());
        Assert.Equal(SourceLine, first.GetProperty("src").GetString());
        Assert.Equal(12, first.GetProperty("line_num").GetInt32());
        Assert.Equal(5, first.GetProperty("line_col").GetInt32());

        var btfShow = Bpftool.Json("btf", "show", "id", btfId.ToString());
        Assert.Contains((long)info.Id, btfShow.GetProperty("prog_ids").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Contains((long)map.Id, btfShow.GetProperty("map_ids").EnumerateArray().Select(e => e.GetInt64()));
    }
}
