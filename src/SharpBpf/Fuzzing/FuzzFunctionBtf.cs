using System.Buffers.Binary;
using SharpBpf.Btf;
using SharpBpf.Isa;
using SharpBpf.Verification;

namespace SharpBpf.Fuzzing;

/// <summary>What a generated program's subprogram is to the verifier: static, or global with one of a few prototypes.</summary>
public enum FuzzFunctionKind
{
    /// <summary>A static function (<c>int f(long, long, long, long)</c>), verified with its caller's registers.</summary>
    Static,
    /// <summary>A global <c>int f(long a, long b)</c>.</summary>
    GlobalScalars,
    /// <summary>A global <c>int f(long a)</c>.</summary>
    GlobalScalar,
    /// <summary>A global <c>int f(long *p)</c>: 8 bytes of memory that may be NULL.</summary>
    GlobalMemory,
    /// <summary>A global <c>int f(void *ctx __arg_ctx)</c>: the context.</summary>
    GlobalContext,
}

/// <summary>
/// The BTF that describes generated programs' functions, the same for SharpBPF and the kernel: main is
/// <c>int f(long)</c>, each other function has a static and a global variant of every <see cref="FuzzFunctionKind"/>.
/// </summary>
public static class FuzzFunctionBtf
{
    /// <summary>Functions one program may have (main first).</summary>
    public const int MaxFunctions = 64;

    private static readonly int KindCount = Enum.GetValues<FuzzFunctionKind>().Length;
    private static readonly int[,] TypeIds = new int[MaxFunctions, KindCount];

    /// <summary>The raw BTF.</summary>
    public static byte[] Bytes { get; } = Build();

    /// <summary>The BTF parsed.</summary>
    public static BtfSpec Spec { get; } = BtfSpec.Parse(Bytes);

    private static byte[] Build()
    {
        var builder = new BtfBuilder();
        int intType = builder.AddInt("int", 4, BtfIntEncoding.Signed);
        int longType = builder.AddInt("long", 8, BtfIntEncoding.Signed);
        int longPointer = builder.AddPointer(longType);
        int voidPointer = builder.AddPointer(0);
        int mainProto = builder.AddFunctionProto(intType, new BtfParameterDefinition("ctx", longType));
        int[] protos =
        [
            builder.AddFunctionProto(intType, new BtfParameterDefinition("a", longType), new BtfParameterDefinition("b", longType),
                new BtfParameterDefinition("c", longType), new BtfParameterDefinition("d", longType)),
            builder.AddFunctionProto(intType, new BtfParameterDefinition("a", longType), new BtfParameterDefinition("b", longType)),
            builder.AddFunctionProto(intType, new BtfParameterDefinition("a", longType)),
            builder.AddFunctionProto(intType, new BtfParameterDefinition("p", longPointer)),
            builder.AddFunctionProto(intType, new BtfParameterDefinition("ctx", voidPointer)),
        ];
        for (int i = 0; i < MaxFunctions; i++)
        {
            for (int kind = 0; kind < KindCount; kind++)
            {
                if (i == 0)
                {
                    TypeIds[i, kind] = kind == 0 ? builder.AddFunction("fuzz_main", mainProto, BtfFunctionLinkage.Global) : 0;
                    continue;
                }

                bool global = kind != (int)FuzzFunctionKind.Static;
                TypeIds[i, kind] = builder.AddFunction(global ? $"fuzz_g{i}_{kind}" : $"fuzz_f{i}", protos[kind],
                    global ? BtfFunctionLinkage.Global : BtfFunctionLinkage.Static);
                if (kind == (int)FuzzFunctionKind.GlobalContext)
                {
                    builder.AddDeclTag("arg:ctx", TypeIds[i, kind], 0);
                }
            }
        }

        return builder.ToArray();
    }

    /// <summary>The BTF function of function <paramref name="index"/> (0 is main) of the given kind.</summary>
    public static int TypeId(int index, FuzzFunctionKind kind) => index == 0 ? TypeIds[0, 0] : TypeIds[index, (int)kind];

    /// <summary>The function info of a generated program: each function's start and BTF function (at most <see cref="MaxFunctions"/>).</summary>
    public static IReadOnlyList<FunctionInfo> FunctionInfo(Instruction[] instructions, IReadOnlyList<FuzzFunctionKind> kinds)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        var starts = BpfProgram.Create(instructions).FunctionStarts;
        var info = new List<FunctionInfo>();
        for (int i = 0; i < Math.Min(starts.Length, MaxFunctions); i++)
        {
            info.Add(new FunctionInfo(starts[i], TypeId(i, i > 0 && i - 1 < kinds.Count ? kinds[i - 1] : FuzzFunctionKind.Static)));
        }

        return info;
    }

    /// <summary>The function info as the kernel takes it (<c>struct bpf_func_info</c> records).</summary>
    public static byte[] FunctionInfoRecords(IReadOnlyList<FunctionInfo> info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var records = new byte[8 * info.Count];
        for (int i = 0; i < info.Count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(records.AsSpan(8 * i), info[i].Pc);
            BinaryPrimitives.WriteInt32LittleEndian(records.AsSpan((8 * i) + 4), info[i].TypeId);
        }

        return records;
    }
}
