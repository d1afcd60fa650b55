using SharpBpf.Objects;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Contexts;
using SharpBpf.Verification;

namespace SharpBpf.Hosting;

/// <summary>One program of a <see cref="VmObject"/>, prepared for its engine (or the reason it could not be).</summary>
public sealed class VmProgram
{
    private readonly VmObject _owner;

    internal VmProgram(VmObject owner, ObjectProgram source, PacketContextKind packetKind, ExecutableProgram? executable, string? buildError,
        VerifierResult? verification)
    {
        _owner = owner;
        Verification = verification;
        Source = source;
        PacketKind = packetKind;
        Executable = executable;
        BuildError = buildError;
    }

    /// <summary>The program's name (its function symbol).</summary>
    public string Name => Source.Name;

    /// <summary>The program as the object file holds it.</summary>
    public ObjectProgram Source { get; }

    /// <summary>The program type its section implies.</summary>
    public ProgramType Type => Source.Type;

    /// <summary>The context it runs with on packets, or <see cref="PacketContextKind.None"/>.</summary>
    public PacketContextKind PacketKind { get; }

    /// <summary>Whether it can run on packets (an XDP, socket filter or tc program that was prepared).</summary>
    public bool RunsOnPackets => PacketKind != PacketContextKind.None && Executable is not null;

    /// <summary>The prepared program (context accesses converted, map references resolved), or null when preparing failed.</summary>
    public ExecutableProgram? Executable { get; }

    /// <summary>Why the program could not be prepared, or null.</summary>
    public string? BuildError { get; }

    /// <summary>The verifier's verdict (null when <see cref="VmObjectOptions.Verify"/> is off or preparing failed before it).</summary>
    public VerifierResult? Verification { get; }

    /// <summary>Whether it runs in unchecked mode (asked for, and the verifier accepted it).</summary>
    public bool IsUnchecked => Executable?.Options.Safety == SafetyMode.Unchecked;

    /// <summary>Runs the program on a packet (see <see cref="VmObject.RunPacket(VmProgram, ReadOnlySpan{byte})"/>).</summary>
    public PacketRunResult RunPacket(ReadOnlySpan<byte> packet) => _owner.RunPacket(this, packet);

    /// <summary>Runs the program on a tracing context (see <see cref="VmObject.RunTracing(VmProgram, ReadOnlySpan{byte})"/>).</summary>
    public ulong RunTracing(ReadOnlySpan<byte> context) => _owner.RunTracing(this, context);

    /// <summary>Runs a kprobe-style program on registers (see <see cref="VmObject.RunTracing(VmProgram, PtRegs)"/>).</summary>
    public ulong RunTracing(PtRegs registers) => _owner.RunTracing(this, registers);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} (SEC(\"{Source.SectionName}\"), {Type})";
}
