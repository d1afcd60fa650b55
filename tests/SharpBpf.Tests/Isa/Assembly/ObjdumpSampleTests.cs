using System.Diagnostics;
using System.Text.RegularExpressions;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Testing;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Isa.Assembly;

/// <summary>
/// llvm-objdump-19 listings of the real-world objects in ../shared/samples assemble back to exactly
/// the bytes the listings show (which llvm-objdump read from the objects).
/// </summary>
public partial class ObjdumpSampleTests
{
    [GeneratedRegex(@"^\s*\d+:\t((?:[0-9a-f]{2} )*[0-9a-f]{2})\t", RegexOptions.Multiline)]
    private static partial Regex ListingBytes();

    /// <summary>Runs llvm-objdump once over all the objects (one process keeps the test fast).</summary>
    private static string Disassemble(IEnumerable<string> objectPaths)
    {
        var start = new ProcessStartInfo(ExternalTool.Find(RequiresSamplesAndObjdumpFactAttribute.Objdump)!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-d");
        start.ArgumentList.Add("--mcpu=v4");
        foreach (var path in objectPaths)
        {
            start.ArgumentList.Add(path);
        }

        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        _ = errors.Result;
        return output;
    }

    [RequiresSamplesAndObjdumpFact]
    public void SampleListingsAssembleBackToTheirBytes()
    {
        var objects = Directory.GetFiles(SharedData.Folder("samples")!, "*.o", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}invalid{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(p => new FileInfo(p).Length < 1_000_000) // the 2 MB Cilium objects add time, not coverage
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.NotEmpty(objects);
        // The listing of each object starts with its "path:\tfile format elf64-bpf" header.
        var listing = Disassemble(objects);
        var headers = objects.Select(p => listing.IndexOf(p + ":\tfile format", StringComparison.Ordinal)).ToArray();
        Assert.DoesNotContain(-1, headers);
        int instructions = 0;
        for (int i = 0; i < objects.Length; i++)
        {
            int end = i + 1 < objects.Length ? headers[i + 1] : listing.Length;
            var part = listing[headers[i]..end];
            var expected = ListingBytes().Matches(part)
                .SelectMany(m => m.Groups[1].Value.Split(' '))
                .Select(b => Convert.ToByte(b, 16))
                .ToArray();
            var program = Assembler.Assemble(part);
            Assert.True(
                expected.AsSpan().SequenceEqual(Instruction.Encode(program)),
                $"{Path.GetRelativePath(SharedData.Folder("samples")!, objects[i])}: the assembled listing differs from its bytes");
            instructions += program.Length;
        }

        Assert.True(instructions > 1000);
    }
}
