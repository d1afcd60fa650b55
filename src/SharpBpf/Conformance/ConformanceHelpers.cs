using SharpBpf.Runtime;

namespace SharpBpf.Conformance;

/// <summary>
/// The helpers the bpf_conformance and uBPF test cases call, by the ids those suites use:
/// 0 gather_bytes, 1 memfrob, 2 no_op, 3 sqrti, 4 strcmp_ext, 5 unwind.
/// </summary>
public static class ConformanceHelpers
{
    /// <summary>The longest string strcmp_ext will scan before it gives up with a fault.</summary>
    private const int MaxStringLength = 1 << 20;

    /// <summary>A new table with the six helpers.</summary>
    public static HelperTable Create() => Register(new HelperTable());

    /// <summary>Adds the six helpers to a table.</summary>
    public static HelperTable Register(HelperTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        return table
            .Register(0, "gather_bytes", static (_, a, b, c, d, e) =>
                ((a & 0xff) << 32) | ((b & 0xff) << 24) | ((c & 0xff) << 16) | ((d & 0xff) << 8) | (e & 0xff))
            .Register(1, "memfrob", static (ctx, ptr, len, _, _, _) =>
            {
                var bytes = ctx.GetSpan(ptr, checked((int)Math.Min(len, int.MaxValue)), MemoryAccess.ReadWrite);
                foreach (ref byte b in bytes)
                {
                    b ^= 42;
                }

                return 0;
            })
            .Register(2, "no_op", static (_, _, _, _, _, _) => 0)
            .Register(3, "sqrti", static (_, a, _, _, _, _) => IntegerSquareRoot(a))
            .Register(4, "strcmp_ext", static (ctx, a, b, _, _, _) => (ulong)(long)CompareStrings(ctx, a, b))
            .Register(5, "unwind", static (ctx, a, _, _, _, _) =>
            {
                if (a == 0)
                {
                    ctx.Stop(0);
                }

                return a;
            });
    }

    /// <summary>floor(sqrt(value)) exactly, for every 64-bit value.</summary>
    public static ulong IntegerSquareRoot(ulong value)
    {
        ulong root = (ulong)Math.Sqrt(value);

        // The double estimate can be off by one either way near 2^64.
        while (root > 0 && (root > uint.MaxValue || root * root > value))
        {
            root--;
        }

        while (root < uint.MaxValue && (root + 1) * (root + 1) <= value)
        {
            root++;
        }

        return root;
    }

    private static int CompareStrings(BpfExecutionContext ctx, ulong a, ulong b)
    {
        for (int i = 0; i < MaxStringLength; i++)
        {
            byte x = ctx.GetSpan(a + (ulong)i, 1, MemoryAccess.Read)[0];
            byte y = ctx.GetSpan(b + (ulong)i, 1, MemoryAccess.Read)[0];
            if (x != y || x == 0)
            {
                return x - y;
            }
        }

        return 0;
    }
}
