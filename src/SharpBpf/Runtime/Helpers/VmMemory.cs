namespace SharpBpf.Runtime.Helpers;

/// <summary>Reads of program-supplied addresses that may fault, as the kernel's <c>*_nofault</c> copies do.</summary>
internal static class VmMemory
{
    /// <summary>
    /// Copies a NUL-terminated string of at most <c>destination.Length</c> bytes (NUL included) from
    /// <paramref name="address"/>, like <c>strncpy_from_kernel_nofault</c>: returns the bytes copied including the
    /// NUL, or the destination length when it truncated (the last byte is then NUL), or -EFAULT when it reached
    /// unreadable memory first. An empty destination copies nothing and returns 0.
    /// </summary>
    public static long CopyString(BpfExecutionContext context, ulong address, Span<byte> destination)
    {
        int count = destination.Length;
        if (count == 0)
        {
            return 0;
        }

        int copied = 0;
        while (copied < count)
        {
            ulong at = address + (ulong)copied;
            var region = context.FindRegion(at, 1, MemoryAccess.Read);
            if (region is null || at < address)
            {
                destination[0] = 0;
                return Errno.EFAULT;
            }

            var source = region.AsSpan()[(int)(at - region.Start)..];
            int take = Math.Min(source.Length, count - copied);
            int nul = source[..take].IndexOf((byte)0);
            if (nul >= 0)
            {
                source[..(nul + 1)].CopyTo(destination[copied..]);
                return copied + nul + 1;
            }

            source[..take].CopyTo(destination[copied..]);
            copied += take;
        }

        destination[count - 1] = 0;
        return count;
    }

    /// <summary>Copies <c>destination.Length</c> bytes from <paramref name="address"/>; false when any is unreadable.</summary>
    public static bool TryCopy(BpfExecutionContext context, ulong address, Span<byte> destination)
    {
        if (!context.TryGetSpan(address, destination.Length, MemoryAccess.Read, out var source))
        {
            return false;
        }

        source.CopyTo(destination);
        return true;
    }
}
