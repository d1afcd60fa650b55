using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Maps;
using SharpBpf.Runtime;

namespace SharpBpf.Tests.Maps;

/// <summary>Builds map sets and runs assembled programs against them.</summary>
internal static class MapTestSupport
{
    public static MapSet NewSet(int cpus = 2) => new(new MapSetOptions { PossibleCpus = cpus });

    public static Interpreter Compile(MapSet set, string source) =>
        new(BpfProgram.Create(Assembler.Assemble(source, AssemblySyntax.Llvm)), new EngineOptions { ResolveImm64 = set.CreateImm64Resolver() });

    public static ulong Run(MapSet set, string source, int cpu = 0, ulong r1 = 0)
    {
        var program = Compile(set, source);
        var context = set.CreateContext(set.CreateHelperTable(), cpu);
        return program.Run(context, r1);
    }

    public static byte[] U32(uint value) => BitConverter.GetBytes(value);

    public static byte[] U64(ulong value) => BitConverter.GetBytes(value);

    public static MapSpec Spec(MapType type, int key, int value, int max, MapFlags flags = MapFlags.None, string name = "m") =>
        new(type, key, value, max, flags, name);
}
