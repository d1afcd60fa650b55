using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using SharpBpf.Linux.Objects;
using SharpBpf.Objects;

namespace SharpBpf.Linux.Tests.Kernel;

/// <summary>Runs a command and fails the test with its output when it fails.</summary>
internal static class Shell
{
    public static string Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(30_000), $"{file} {string.Join(' ', arguments)} timed out");
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {stderr.Result}{stdout.Result}");
        return stdout.Result;
    }
}

/// <summary>
/// A private network namespace joined to the test's namespace by a veth pair: <see cref="HostDevice"/> (10.199.N.1)
/// here, its peer (10.199.N.2) inside the namespace. Traffic sent from inside arrives on the host device's ingress.
/// </summary>
internal sealed class VethPair : IDisposable
{
    private static int _counter;

    public VethPair()
    {
        int n = Interlocked.Increment(ref _counter) % 200;
        string tag = $"{Environment.ProcessId % 100000}{n}";
        Namespace = $"sbns{tag}";
        HostDevice = $"sbh{tag}";
        PeerDevice = $"sbp{tag}";
        HostAddress = $"10.199.{n}.1";
        PeerAddress = $"10.199.{n}.2";
        Shell.Run("ip", "netns", "add", Namespace);
        try
        {
            Shell.Run("ip", "link", "add", HostDevice, "type", "veth", "peer", "name", PeerDevice, "netns", Namespace);
            Shell.Run("ip", "addr", "add", HostAddress + "/24", "dev", HostDevice);
            Shell.Run("ip", "link", "set", HostDevice, "up");
            Shell.Run("ip", "-n", Namespace, "addr", "add", PeerAddress + "/24", "dev", PeerDevice);
            Shell.Run("ip", "-n", Namespace, "link", "set", PeerDevice, "up");
            Shell.Run("ip", "-n", Namespace, "link", "set", "lo", "up");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Namespace { get; }

    public string HostDevice { get; }

    public string PeerDevice { get; }

    public string HostAddress { get; }

    public string PeerAddress { get; }

    /// <summary>Sends <paramref name="count"/> UDP datagrams from inside the namespace to the host end.</summary>
    public void SendUdpFromPeer(int port, int count)
    {
        Shell.Run("ip", "netns", "exec", Namespace, "bash", "-c",
            $"for i in $(seq {count}); do echo sharpbpf > /dev/udp/{HostAddress}/{port}; done");
    }

    public void Dispose()
    {
        // Deleting the namespace destroys the peer, which takes the host end of the pair with it.
        var start = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "netns", "del", Namespace })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        process.WaitForExit(30_000);
    }
}

/// <summary>A cgroup v2 created for one test and removed afterwards.</summary>
internal sealed class TestCgroup : IDisposable
{
    public const string Root = "/sys/fs/cgroup/unified";

    public TestCgroup()
    {
        Path = System.IO.Path.Combine(Root, $"sharpbpf-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Runs a bash command in a child process that first moves itself into this cgroup.</summary>
    public void RunInside(string command) => Shell.Run("bash", "-c", $"echo $$ > {Path}/cgroup.procs && {command}");

    public void Dispose()
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                Directory.Delete(Path);
                return;
            }
            catch (IOException)
            {
                Thread.Sleep(20); // the child process may still be leaving
            }
        }
    }
}

/// <summary>The attach_points.o fixture, loaded with its getpid filter set to this process.</summary>
internal static partial class AttachPoints
{
    public const int Uprobe = 0, Uretprobe = 1, CgroupSkb = 2, SockOps = 3, PerfEvent = 4, Tracepoint = 5, RawTracepoint = 6, Tc = 7, Xdp = 8, Socket = 9;

    public static KernelObject Load()
    {
        var definition = BpfObject.Load(System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", "attach_points.o"));
        definition.SetReadOnlyData(BitConverter.GetBytes((uint)Environment.ProcessId));
        return KernelObject.Load(definition, new KernelObjectOptions { ObjectName = "attach_points" });
    }

    public static ulong Hits(KernelObject loaded, int slot) =>
        BinaryPrimitives.ReadUInt64LittleEndian(loaded.Map("hits").Lookup(BitConverter.GetBytes(slot)));

    [LibraryImport("libc.so.6", EntryPoint = "getpid")]
    public static partial int GetPid();

    [LibraryImport("libc.so.6", EntryPoint = "gettid")]
    public static partial int GetTid();

    [LibraryImport("libc.so.6", EntryPoint = "labs")]
    public static partial long Labs(long value);
}
