using System.Runtime.InteropServices;
using SharpBpf.Linux.Interop;

namespace SharpBpf.Linux;

/// <summary>
/// An owned file descriptor for a kernel BPF object. Closed exactly once, when disposed or finalized;
/// while a system call uses it, the SafeHandle reference count keeps it from being closed underneath.
/// </summary>
public class BpfFileDescriptor : SafeHandle
{
    /// <summary>Creates an empty (invalid) descriptor, for marshalling.</summary>
    public BpfFileDescriptor() : base(new IntPtr(-1), ownsHandle: true) { }

    /// <summary>Wraps a descriptor.</summary>
    /// <param name="fd">The descriptor number.</param>
    /// <param name="ownsHandle">Whether disposing closes it.</param>
    public BpfFileDescriptor(int fd, bool ownsHandle = true) : base(new IntPtr(-1), ownsHandle) => SetHandle(new IntPtr(fd));

    /// <inheritdoc/>
    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The descriptor number (only meaningful while the handle is open).</summary>
    public int Fd => checked((int)handle.ToInt64());

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => Libc.Close(checked((int)handle.ToInt64())) == 0;

    /// <summary>Takes a reference for the duration of a call and returns the descriptor number.</summary>
    internal FdLease Lease() => new(this);
}

/// <summary>A loaded program's descriptor.</summary>
public sealed class ProgramHandle : BpfFileDescriptor
{
    /// <summary>Creates an empty handle, for marshalling.</summary>
    public ProgramHandle() { }

    /// <summary>Wraps a program descriptor.</summary>
    public ProgramHandle(int fd, bool ownsHandle = true) : base(fd, ownsHandle) { }
}

/// <summary>A map's descriptor.</summary>
public sealed class MapHandle : BpfFileDescriptor
{
    /// <summary>Creates an empty handle, for marshalling.</summary>
    public MapHandle() { }

    /// <summary>Wraps a map descriptor.</summary>
    public MapHandle(int fd, bool ownsHandle = true) : base(fd, ownsHandle) { }
}

/// <summary>A link's descriptor; closing it detaches the program unless the link is pinned.</summary>
public sealed class LinkHandle : BpfFileDescriptor
{
    /// <summary>Creates an empty handle, for marshalling.</summary>
    public LinkHandle() { }

    /// <summary>Wraps a link descriptor.</summary>
    public LinkHandle(int fd, bool ownsHandle = true) : base(fd, ownsHandle) { }
}

/// <summary>A loaded BTF object's descriptor.</summary>
public sealed class BtfHandle : BpfFileDescriptor
{
    /// <summary>Creates an empty handle, for marshalling.</summary>
    public BtfHandle() { }

    /// <summary>Wraps a BTF descriptor.</summary>
    public BtfHandle(int fd, bool ownsHandle = true) : base(fd, ownsHandle) { }
}

/// <summary>Holds a SafeHandle reference while a raw descriptor number is in use.</summary>
internal ref struct FdLease
{
    private readonly SafeHandle? _handle;
    private bool _added;

    public FdLease(SafeHandle? handle)
    {
        _handle = handle;
        _added = false;
        if (handle is not null)
        {
            if (handle.IsClosed || handle.IsInvalid)
            {
                throw new ObjectDisposedException(handle.GetType().Name, "the BPF object's file descriptor is closed");
            }

            handle.DangerousAddRef(ref _added);
        }
    }

    /// <summary>The descriptor number, or 0 when no handle was given (the kernel's "none").</summary>
    public readonly uint Fd => _handle is null ? 0u : (uint)_handle.DangerousGetHandle().ToInt64();

    public void Dispose()
    {
        if (_added)
        {
            _handle!.DangerousRelease();
            _added = false;
        }
    }
}
