using SharpBpf.Isa;

namespace SharpBpf.Runtime;

/// <summary>Why a program stopped without reaching <c>exit</c>.</summary>
public enum FaultKind
{
    /// <summary>A load, store or atomic outside every region, or without the access the region allows.</summary>
    MemoryAccess,
    /// <summary>An atomic operation on an address not aligned to its size.</summary>
    MisalignedAtomic,
    /// <summary>A call to a helper id the host did not register.</summary>
    UnknownHelper,
    /// <summary>A <c>callx</c> whose register holds neither a helper id nor a function of the program.</summary>
    InvalidCallTarget,
    /// <summary>A bpf-to-bpf call beyond the frame limit.</summary>
    CallDepthExceeded,
    /// <summary>The instruction budget ran out: the program is probably looping forever.</summary>
    InstructionBudgetExhausted,
    /// <summary>An instruction the engine cannot run here (a kfunc call, a legacy packet load with no packet...).</summary>
    Unsupported,
    /// <summary>A helper refused its arguments.</summary>
    HelperError,
}

/// <summary>Where and why a program faulted.</summary>
/// <param name="Kind">The kind of fault.</param>
/// <param name="Pc">The instruction index.</param>
/// <param name="Instruction">The faulting instruction.</param>
/// <param name="Message">A complete human-readable description.</param>
/// <param name="Address">For memory faults: the first byte accessed.</param>
/// <param name="Size">For memory faults: the access size.</param>
/// <param name="Region">For memory faults: the region containing the address, or the nearest one.</param>
public sealed record ExecutionFault(
    FaultKind Kind,
    int Pc,
    Instruction Instruction,
    string Message,
    ulong Address = 0,
    int Size = 0,
    MemoryRegion? Region = null);

/// <summary>Builds the "where" part of fault messages.</summary>
internal static class FaultLocation
{
    /// <summary>"pc N (instruction text)", reading the second slot of an lddw when the code is known.</summary>
    public static string Describe(Instruction[]? code, int pc, Instruction instruction)
    {
        string text = code is not null && (uint)pc < (uint)code.Length
            ? Isa.Formatting.Disassembler.Format(code, pc)
            : Isa.Formatting.Disassembler.Format(instruction);
        return $"pc {pc} ({text})";
    }
}

/// <summary>A program faulted while running; <see cref="Fault"/> says where and why.</summary>
public sealed class BpfExecutionException : BpfException
{
    /// <summary>Creates the exception for a fault.</summary>
    public BpfExecutionException(ExecutionFault fault) : base(fault?.Message ?? "fault")
    {
        ArgumentNullException.ThrowIfNull(fault);
        Fault = fault;
    }

    /// <summary>The fault.</summary>
    public ExecutionFault Fault { get; }
}
