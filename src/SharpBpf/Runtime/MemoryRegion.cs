using System.Runtime.InteropServices;

namespace SharpBpf.Runtime;

/// <summary>What a program may do with a memory region.</summary>
[Flags]
public enum MemoryAccess
{
    /// <summary>No access.</summary>
    None = 0,
    /// <summary>Loads.</summary>
    Read = 1,
    /// <summary>Stores.</summary>
    Write = 2,
    /// <summary>Loads, stores and atomics.</summary>
    ReadWrite = Read | Write,
}

/// <summary>What a memory region holds; engines and the verifier use it to describe faults and pointers.</summary>
public enum MemoryRegionKind
{
    /// <summary>The BPF stack of the running frames.</summary>
    Stack,
    /// <summary>The program's context (r1 at entry).</summary>
    Context,
    /// <summary>Packet data.</summary>
    Packet,
    /// <summary>Map values (a map's value arena).</summary>
    MapValue,
    /// <summary>Plain input memory, as in the conformance cases.</summary>
    Input,
    /// <summary>Memory handed out by a helper (ring buffer records, for instance).</summary>
    HelperMemory,
    /// <summary>Anything else the host registers.</summary>
    Other,
}

/// <summary>
/// A range of memory a BPF program may touch, at a real address that never moves.
/// </summary>
/// <remarks>
/// <para>
/// The memory model of SharpBPF: programs see real 64-bit addresses, as in the kernel. Everything a program
/// can reach (its stack frames, its context, packets, map values, helper-provided buffers) lives in unmanaged
/// or pinned memory whose address is fixed for the life of the region, and is registered as a
/// <see cref="MemoryRegion"/> with the access it allows. In checked mode every load, store and atomic of the
/// interpreter and the JIT is validated against these regions before it touches memory; a miss is a fault
/// that names the pc, instruction, address, size and nearest region. The verifier reasons about the same
/// regions (a pointer's kind is its region's <see cref="Kind"/>), so that unchecked mode drops only the checks
/// it has proven unnecessary.
/// </para>
/// <para>
/// A region either owns a pinned array (allocated on the pinned object heap, so the GC never moves it and
/// frees it with the region) or wraps host memory whose lifetime the host guarantees.
/// </para>
/// </remarks>
public sealed class MemoryRegion
{
    private readonly byte[]? _pinned;

    private MemoryRegion(ulong start, int length, MemoryAccess access, MemoryRegionKind kind, string name, byte[]? pinned)
    {
        Start = start;
        Length = length;
        Access = access;
        Kind = kind;
        Name = name;
        _pinned = pinned;
    }

    /// <summary>The address of the first byte.</summary>
    public ulong Start { get; }

    /// <summary>The size in bytes.</summary>
    public int Length { get; }

    /// <summary>The address one past the last byte.</summary>
    public ulong End => Start + (ulong)Length;

    /// <summary>What the program may do here.</summary>
    public MemoryAccess Access { get; }

    /// <summary>What the region holds.</summary>
    public MemoryRegionKind Kind { get; }

    /// <summary>A name for messages ("stack", "input", a map's name...).</summary>
    public string Name { get; }

    /// <summary>Allocates a zeroed region on the pinned object heap.</summary>
    public static unsafe MemoryRegion Allocate(int length, MemoryAccess access, MemoryRegionKind kind, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);

        // Never zero-length: a zero-length array may share an address with another object.
        var array = GC.AllocateArray<byte>(Math.Max(length, 1), pinned: true);
        ulong address = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(array, 0);
        return new MemoryRegion(address, length, access, kind, name, array);
    }

    /// <summary>Allocates a pinned region holding a copy of <paramref name="contents"/>.</summary>
    public static MemoryRegion FromBytes(ReadOnlySpan<byte> contents, MemoryAccess access, MemoryRegionKind kind, string name)
    {
        var region = Allocate(contents.Length, access, kind, name);
        contents.CopyTo(region.AsSpan());
        return region;
    }

    /// <summary>
    /// Wraps host memory. The host guarantees that <paramref name="length"/> bytes at <paramref name="address"/>
    /// stay valid and fixed while any engine may run with this region.
    /// </summary>
    public static unsafe MemoryRegion FromPointer(void* address, int length, MemoryAccess access, MemoryRegionKind kind, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (address == null)
        {
            throw new ArgumentNullException(nameof(address));
        }

        return new MemoryRegion((ulong)address, length, access, kind, name, null);
    }

    /// <summary>The region's bytes.</summary>
    public unsafe Span<byte> AsSpan() => new((void*)Start, Length);

    /// <summary>Whether [<paramref name="address"/>, +<paramref name="size"/>) lies inside the region.</summary>
    public bool Contains(ulong address, ulong size) => address - Start <= (ulong)Length && size <= (ulong)Length - (address - Start);

    /// <summary>Keeps a pinned array reachable for as long as the region is.</summary>
    internal byte[]? PinnedArray => _pinned;

    /// <inheritdoc/>
    public override string ToString() => $"'{Name}' [0x{Start:x}, 0x{End:x}) {Access}";
}
