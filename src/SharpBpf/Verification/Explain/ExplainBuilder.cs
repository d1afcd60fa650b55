using System.Globalization;
using System.Text.RegularExpressions;
using SharpBpf.Isa;

namespace SharpBpf.Verification.Explain;

/// <summary>
/// Collects an <see cref="ExplainReport"/>: distinct values and states interned, visits counted per instruction and
/// recorded up to the caps, then the failing path, the error and the provenance chain. Used by the recorder and by
/// the kernel log parser alike.
/// </summary>
internal sealed partial class ExplainBuilder(ExplainOptions options)
{
    private readonly Dictionary<(int Frame, string Slot, string Text), int> _valueIds = [];
    private readonly List<ExplainValue> _values = [];
    private readonly Dictionary<int[], int> _stateIds = new(StateComparer.Instance);
    private readonly List<int[]> _states = [];
    private readonly List<ExplainVisit> _visits = [];
    private readonly Dictionary<int, int> _recordedAt = [];
    private readonly Dictionary<int, int> _unrecordedAt = [];
    private readonly List<ExplainPath> _paths = [new ExplainPath(0, -1, 0)];
    private readonly List<string> _notes = [];
    private bool _stateCapNoted;

    public ExplainOptions Options { get; } = options;

    /// <summary>The text of a value past <see cref="ExplainOptions.MaxValues"/>.</summary>
    public const string NotRecorded = "(not recorded)";

    public List<ExplainVisit> Visits => _visits;

    public int CurrentPath => _paths.Count - 1;

    public void Note(string note)
    {
        if (_notes.Count < 50 && !_notes.Contains(note))
        {
            _notes.Add(note);
        }
    }

    public int Value(int frame, string slot, string text)
    {
        if (!_valueIds.TryGetValue((frame, slot, text), out int id))
        {
            if (_values.Count >= Options.MaxValues && text != NotRecorded)
            {
                Note(string.Create(CultureInfo.InvariantCulture, $"only the first {Options.MaxValues} distinct register and stack values were recorded"));
                return Value(frame, slot, NotRecorded);
            }

            id = _values.Count;
            _values.Add(new ExplainValue(frame, slot, text));
            _valueIds.Add((frame, slot, text), id);
        }

        return id;
    }

    /// <summary>The id of a state (its value ids in order), or -1 when new and the state cap is reached (unless forced).</summary>
    public int State(int[] values, bool force = false)
    {
        if (_stateIds.TryGetValue(values, out int id))
        {
            return id;
        }

        if (_states.Count >= Options.MaxStates && !force)
        {
            if (!_stateCapNoted)
            {
                _stateCapNoted = true;
                Note(string.Create(CultureInfo.InvariantCulture, $"only the first {Options.MaxStates} distinct states were recorded"));
            }

            return -1;
        }

        id = _states.Count;
        _states.Add(values);
        _stateIds.Add(values, id);
        return id;
    }

    /// <summary>Whether another visit of <paramref name="pc"/> may be recorded; counts it as unrecorded when not.</summary>
    public bool MayRecord(int pc)
    {
        if (_recordedAt.GetValueOrDefault(pc) < Options.MaxStatesPerInstruction)
        {
            return true;
        }

        _unrecordedAt[pc] = _unrecordedAt.GetValueOrDefault(pc) + 1;
        return false;
    }

    public int AddVisit(int pc, int frame, int state, ExplainVisitKind kind = ExplainVisitKind.Checked)
    {
        _recordedAt[pc] = _recordedAt.GetValueOrDefault(pc) + 1;
        _visits.Add(new ExplainVisit(pc, frame, CurrentPath, state, kind, false));
        return _visits.Count - 1;
    }

    /// <summary>A visit of the failing path that was only counted when made: recorded now, outside the caps.</summary>
    public int AddLateVisit(int pc, int frame, int path, int state, ExplainVisitKind kind)
    {
        if (_unrecordedAt.TryGetValue(pc, out int n))
        {
            _unrecordedAt[pc] = n - 1;
        }

        _visits.Add(new ExplainVisit(pc, frame, path, state, kind, false));
        return _visits.Count - 1;
    }

    public void MarkPruned(int visit) => _visits[visit] = _visits[visit] with { Kind = ExplainVisitKind.Pruned };

    public int NewPath(int fromPc, int startPc)
    {
        _paths.Add(new ExplainPath(_paths.Count, fromPc, startPc));
        return _paths.Count - 1;
    }

    public ExplainReport Finish(string programName, string origin, IReadOnlyList<ExplainInstruction> instructions, IReadOnlyList<int> failingPath,
        int errorPc, string? errorMessage, string summary)
    {
        foreach (int v in failingPath)
        {
            _visits[v] = _visits[v] with { OnFailingPath = true };
        }

        ExplainError? error = null;
        IReadOnlyList<ProvenanceStep> provenance = [];
        if (errorMessage is not null)
        {
            var byPc = instructions.ToDictionary(i => i.Pc);
            int frame = failingPath.Count > 0 ? _visits[failingPath[^1]].Frame : 0;
            var insn = byPc.TryGetValue(errorPc, out var at) ? at.Instruction : default;
            string? register = OffendingRegister(errorMessage, insn);
            error = new ExplainError(errorPc, errorMessage, register, frame);
            if (register is not null && failingPath.Count > 0 && _visits[failingPath[^1]].Pc == errorPc)
            {
                var steps = failingPath.Select(v => (_visits[v].Pc, byPc.TryGetValue(_visits[v].Pc, out var i) ? i.Instruction : default, _visits[v].Frame, _visits[v].State)).ToList();
                provenance = new ProvenanceTracer(steps, (state, f, slot) => Lookup(state, f, slot), Options.MaxProvenanceSteps).Trace(register, frame);
            }
        }

        var unrecorded = new int[instructions.Count == 0 ? 0 : instructions.Max(i => i.Pc) + 1];
        foreach (var (pc, n) in _unrecordedAt)
        {
            if (pc >= 0 && pc < unrecorded.Length)
            {
                unrecorded[pc] = n;
            }
        }

        if (unrecorded.Any(n => n > 0))
        {
            Note(string.Create(CultureInfo.InvariantCulture,
                $"at most {Options.MaxStatesPerInstruction} states are recorded per instruction; {unrecorded.Sum()} later visits were only counted"));
        }

        return new ExplainReport(programName, origin, instructions, _values, _states, _visits, unrecorded, _paths, failingPath, error, provenance, summary, _notes);
    }

    private string? Lookup(int state, int frame, string slot)
    {
        if (state < 0)
        {
            return null;
        }

        foreach (int id in _states[state])
        {
            var v = _values[id];
            if (v.Frame == frame && v.Slot == slot)
            {
                return v.Text;
            }
        }

        return null;
    }

    [GeneratedRegex(@"\bR(10|[0-9])\b")]
    private static partial Regex RegisterName();

    /// <summary>The register an error line is about: the first it names, else the one the failing instruction uses.</summary>
    internal static string? OffendingRegister(string message, Instruction insn)
    {
        if (RegisterName().Match(message) is { Success: true } m)
        {
            return "R" + m.Groups[1].Value;
        }

        if (insn.Opcode == 0)
        {
            return null;
        }

        return insn.Class switch
        {
            InstructionClass.Ldx => "R" + insn.Src,
            InstructionClass.St or InstructionClass.Stx => "R" + insn.Dst,
            InstructionClass.Alu or InstructionClass.Alu64 => insn.Source == OperandSource.Register && insn.AluOperation != AluOperation.End ? "R" + insn.Src : "R" + insn.Dst,
            InstructionClass.Jmp or InstructionClass.Jmp32 when insn.JumpOperation == JumpOperation.Exit => "R0",
            InstructionClass.Jmp or InstructionClass.Jmp32 when insn.JumpOperation == JumpOperation.Call => "R1",
            InstructionClass.Jmp or InstructionClass.Jmp32 => "R" + insn.Dst,
            _ => null,
        };
    }

    private sealed class StateComparer : IEqualityComparer<int[]>
    {
        public static readonly StateComparer Instance = new();

        public bool Equals(int[]? x, int[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(int[] obj)
        {
            var hash = new HashCode();
            hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(obj.AsSpan()));
            return hash.ToHashCode();
        }
    }
}
