using System.Runtime.InteropServices;
using SharpBpf.Linux.Interop;

namespace SharpBpf.Linux;

/// <summary>The bpf pseudo file system (bpffs), where objects are pinned to outlive their process.</summary>
public static class BpfFileSystem
{
    /// <summary>The conventional mount point.</summary>
    public const string DefaultMountPoint = "/sys/fs/bpf";

    /// <summary>Whether a bpf file system is mounted exactly at <paramref name="path"/> (from /proc/self/mountinfo).</summary>
    public static bool IsMounted(string path = DefaultMountPoint)
    {
        string target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // Fields: id parent major:minor root mountpoint options [optional...] - fstype source superoptions
            var fields = line.Split(' ');
            int separator = Array.IndexOf(fields, "-");
            if (fields.Length > 4 && separator > 4 && separator + 1 < fields.Length &&
                fields[separator + 1] == "bpf" && Unescape(fields[4]) == target)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Mounts bpffs at <paramref name="path"/> unless it is already there (needs CAP_SYS_ADMIN).</summary>
    /// <returns>True when this call mounted it.</returns>
    /// <exception cref="BpfSyscallException">mount(2) failed.</exception>
    public static bool EnsureMounted(string path = DefaultMountPoint)
    {
        if (IsMounted(path))
        {
            return false;
        }

        Directory.CreateDirectory(path);
        if (Libc.Mount("bpf", path, "bpf", 0, IntPtr.Zero) != 0)
        {
            throw new BpfSyscallException("mount", Marshal.GetLastPInvokeError(), $"bpf on {path}");
        }

        return true;
    }

    /// <summary>Unmounts the bpf file system at <paramref name="path"/>; objects pinned only there are released.</summary>
    /// <exception cref="BpfSyscallException">umount2(2) failed (EINVAL when nothing is mounted there).</exception>
    public static void Unmount(string path)
    {
        if (Libc.Unmount(path, 0) != 0)
        {
            throw new BpfSyscallException("umount2", Marshal.GetLastPInvokeError(), path);
        }
    }

    // mountinfo escapes space, tab, newline and backslash as octal.
    private static string Unescape(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
             .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}
