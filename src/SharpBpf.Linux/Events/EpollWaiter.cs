using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SharpBpf.Linux.Interop;

namespace SharpBpf.Linux.Events;

/// <summary>
/// Blocks in epoll_wait(2) until one of the watched descriptors is readable, or until <see cref="Wake"/> is called
/// (an eventfd in the same set), so that waits can be cancelled without polling.
/// </summary>
internal sealed unsafe class EpollWaiter : IDisposable
{
    private const ulong WakeTag = ulong.MaxValue;
    private readonly BpfFileDescriptor _epoll;
    private readonly BpfFileDescriptor _wake;

    public EpollWaiter()
    {
        int epoll = Libc.EpollCreate(Libc.EpollCloexec);
        if (epoll < 0)
        {
            throw new BpfSyscallException("epoll_create1", Marshal.GetLastPInvokeError());
        }

        _epoll = new BpfFileDescriptor(epoll);
        int wake = Libc.EventFd(0, Libc.EfdCloexec | Libc.EfdNonblock);
        if (wake < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _epoll.Dispose();
            throw new BpfSyscallException("eventfd", errno);
        }

        _wake = new BpfFileDescriptor(wake);
        Add(wake, WakeTag);
    }

    /// <summary>Watches <paramref name="fd"/> for readability; <paramref name="tag"/> is returned by <see cref="Wait"/> when it is ready.</summary>
    public void Add(int fd, ulong tag)
    {
        byte* ev = stackalloc byte[Libc.EpollEventRoom];
        new Span<byte>(ev, Libc.EpollEventRoom).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(ev, 4), Libc.EpollIn);
        // The 64-bit data member follows events at offset 4 (packed, x86-64) or 8 (other architectures).
        int dataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;
        BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(ev + dataOffset, 8), tag);
        if (Libc.EpollControl(_epoll.Fd, Libc.EpollCtlAdd, fd, ev) != 0)
        {
            throw new BpfSyscallException("epoll_ctl", Marshal.GetLastPInvokeError(), $"fd {fd}");
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMilliseconds"/> (-1: forever) and returns the tags of ready descriptors;
    /// empty on timeout or after <see cref="Wake"/>.
    /// </summary>
    public List<ulong> Wait(int timeoutMilliseconds)
    {
        const int MaxEvents = 64;
        byte* events = stackalloc byte[MaxEvents * Libc.EpollEventRoom];
        int stride = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
        int dataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;
        int count;
        while (true)
        {
            count = Libc.EpollWait(_epoll.Fd, events, MaxEvents, timeoutMilliseconds);
            if (count >= 0)
            {
                break;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR)
            {
                throw new BpfSyscallException("epoll_wait", errno);
            }
        }

        var ready = new List<ulong>(count);
        for (int i = 0; i < count; i++)
        {
            ulong tag = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(events + (i * stride) + dataOffset, 8));
            if (tag == WakeTag)
            {
                ulong drained;
                _ = Libc.Read(_wake.Fd, &drained, 8);
            }
            else
            {
                ready.Add(tag);
            }
        }

        return ready;
    }

    /// <summary>Makes a concurrent or the next <see cref="Wait"/> return.</summary>
    public void Wake()
    {
        if (_wake.IsClosed)
        {
            return;
        }

        ulong one = 1;
        _ = Libc.Write(_wake.Fd, &one, 8);
    }

    public void Dispose()
    {
        _wake.Dispose();
        _epoll.Dispose();
    }
}
