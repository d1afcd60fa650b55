using System.Collections.Immutable;

namespace SharpBpf.Isa;

/// <summary>
/// A structurally valid BPF program: its instructions and the start of each function.
/// Engines (the interpreter, the JIT) run a <see cref="BpfProgram"/>; the verifier proves one safe.
/// </summary>
public sealed class BpfProgram
{
    private readonly Instruction[] _instructions;

    private BpfProgram(Instruction[] instructions, ImmutableArray<int> functionStarts, string name)
    {
        _instructions = instructions;
        FunctionStarts = functionStarts;
        Name = name;
    }

    /// <summary>The program's name (the function symbol when it comes from an object file).</summary>
    public string Name { get; }

    /// <summary>The instruction slots (an <c>lddw</c> takes two).</summary>
    public ReadOnlySpan<Instruction> Instructions => _instructions;

    /// <summary>The number of instruction slots.</summary>
    public int Length => _instructions.Length;

    /// <summary>The pc of each function: 0 for the main program, then each bpf-to-bpf call target, ascending.</summary>
    public ImmutableArray<int> FunctionStarts { get; }

    /// <summary>Validates the instructions and builds a program.</summary>
    /// <exception cref="BpfValidationException">The instructions break an encoding or control-flow rule.</exception>
    public static BpfProgram Create(ReadOnlySpan<Instruction> instructions, string name = "prog")
    {
        var starts = ProgramValidator.Validate(instructions);
        return new BpfProgram(instructions.ToArray(), starts, name);
    }

    /// <summary>Decodes little-endian instruction bytes, validates them and builds a program.</summary>
    /// <exception cref="BpfException">The bytes are not whole instructions or break a rule.</exception>
    public static BpfProgram FromBytes(ReadOnlySpan<byte> bytes, string name = "prog") =>
        Create(Instruction.Decode(bytes), name);

    /// <summary>The instruction bytes, little-endian.</summary>
    public byte[] ToBytes() => Instruction.Encode(_instructions);

    internal Instruction[] RawInstructions => _instructions;
}
