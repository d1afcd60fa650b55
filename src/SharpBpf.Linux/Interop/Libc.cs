using System.Reflection;
using System.Runtime.InteropServices;

namespace SharpBpf.Linux.Interop;

/// <summary>The few C library entry points the backend needs: the raw system call, close and mount.</summary>
internal static unsafe partial class Libc
{
    private const string LibraryName = "libc";

    static Libc() => NativeLibrary.SetDllImportResolver(typeof(Libc).Assembly, Resolve);

    // "libc" alone does not load on glibc systems (libc.so is a linker script), so map it to the real shared object.
    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != LibraryName)
        {
            return IntPtr.Zero;
        }

        foreach (var candidate in new[] { "libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so" })
        {
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                return handle;
            }
        }

        return IntPtr.Zero;
    }

    /// <summary>The generic system call entry; bpf() has no dedicated glibc wrapper.</summary>
    [LibraryImport(LibraryName, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall(long number, long arg1, void* arg2, long arg3);

    [LibraryImport(LibraryName, EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(LibraryName, EntryPoint = "send", SetLastError = true)]
    internal static partial nint Send(int fd, byte* buffer, nint length, int flags);

    [LibraryImport(LibraryName, EntryPoint = "recv", SetLastError = true)]
    internal static partial nint Receive(int fd, byte* buffer, nint length, int flags);

    [LibraryImport(LibraryName, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport(LibraryName, EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Mount(string source, string target, string fileSystemType, ulong flags, IntPtr data);

    [LibraryImport(LibraryName, EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Unmount(string target, int flags);

    [LibraryImport(LibraryName, EntryPoint = "geteuid")]
    internal static partial uint GetEffectiveUserId();

    [LibraryImport(LibraryName, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags);

    /// <summary>O_RDONLY | O_DIRECTORY | O_CLOEXEC, for handing directories (cgroups) to the kernel.</summary>
    internal const int OpenDirectoryReadOnly = 0x0 | 0x10000 | 0x80000;

    /// <summary>O_RDONLY | O_CLOEXEC.</summary>
    internal const int OpenReadOnly = 0x80000;

    [LibraryImport(LibraryName, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall5(long number, void* arg1, long arg2, long arg3, long arg4, long arg5);

    [LibraryImport(LibraryName, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int Ioctl(int fd, ulong request, long argument);

    [LibraryImport(LibraryName, EntryPoint = "setsockopt", SetLastError = true)]
    internal static partial int SetSocketOption(nint socket, int level, int name, void* value, uint length);

    [LibraryImport(LibraryName, EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint MemoryMap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport(LibraryName, EntryPoint = "munmap", SetLastError = true)]
    internal static partial int MemoryUnmap(nint address, nuint length);

    [LibraryImport(LibraryName, EntryPoint = "epoll_create1", SetLastError = true)]
    internal static partial int EpollCreate(int flags);

    [LibraryImport(LibraryName, EntryPoint = "epoll_ctl", SetLastError = true)]
    internal static partial int EpollControl(int epoll, int operation, int fd, void* ev);

    [LibraryImport(LibraryName, EntryPoint = "epoll_wait", SetLastError = true)]
    internal static partial int EpollWait(int epoll, void* events, int maxEvents, int timeoutMilliseconds);

    [LibraryImport(LibraryName, EntryPoint = "eventfd", SetLastError = true)]
    internal static partial int EventFd(uint initial, int flags);

    [LibraryImport(LibraryName, EntryPoint = "write", SetLastError = true)]
    internal static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport(LibraryName, EntryPoint = "read", SetLastError = true)]
    internal static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport(LibraryName, EntryPoint = "clock_gettime", SetLastError = true)]
    internal static partial int ClockGetTime(int clock, long* timespec);

    internal const int ClockRealtime = 0, ClockBoottime = 7;

    internal const int ProtRead = 1, ProtWrite = 2, MapShared = 1;
    internal const int EpollCtlAdd = 1, EpollIn = 1;
    internal const int EfdCloexec = 0x80000, EfdNonblock = 0x800;
    internal const int EpollCloexec = 0x80000;

    /// <summary>Room for one struct epoll_event on any architecture (12 bytes packed on x86-64, 16 elsewhere).</summary>
    internal const int EpollEventRoom = 16;
}
