using SharpBpf.Runtime.Helpers;

namespace SharpBpf.Runtime.Calls;

/// <summary>
/// <c>bpf_loop</c>, the helper-driven loop: it calls a function of the running program once per iteration through
/// <see cref="BpfExecutionContext.InvokeCallback"/>, so the callback runs in its own frame, on the run's budget,
/// with its faults reported like any other.
/// </summary>
public static class LoopHelper
{
    /// <summary>bpf_loop(nr_loops, callback, callback_ctx, flags): the number of iterations run.</summary>
    public const int Loop = 181;

    /// <summary>The most iterations one call may ask for (the kernel's BPF_MAX_LOOPS); more gives -E2BIG.</summary>
    public const uint MaxLoops = 8 * 1024 * 1024;

    /// <summary>Registers <c>bpf_loop</c>; returns the table.</summary>
    public static HelperTable Register(HelperTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        table.Register(Loop, "bpf_loop", static (ctx, r1, r2, r3, r4, _) => Run(ctx, (uint)r1, r2, r3, r4));
        return table;
    }

    // The kernel's bpf_loop: flags must be 0 (-EINVAL), at most BPF_MAX_LOOPS (-E2BIG); callback(index, ctx) returning
    // non-zero stops the loop, and the result counts the iteration that stopped it.
    private static ulong Run(BpfExecutionContext ctx, uint count, ulong callback, ulong callbackContext, ulong flags)
    {
        if (flags != 0)
        {
            return unchecked((ulong)Errno.EINVAL);
        }

        if (count > MaxLoops)
        {
            return unchecked((ulong)Errno.E2BIG);
        }

        for (uint i = 0; i < count; i++)
        {
            ulong stop = ctx.InvokeCallback(callback, i, callbackContext);
            if (ctx.IsStopped)
            {
                return 0;
            }

            if (stop != 0)
            {
                return i + 1;
            }
        }

        return count;
    }
}
