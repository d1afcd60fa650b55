using System.Globalization;
using System.Text.RegularExpressions;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;

namespace SharpBpf.Verification.Explain;

/// <summary>
/// Reads a kernel verifier log (level 1 or 2, as BPF_PROG_LOAD writes it, also inside libbpf's
/// <c>-- BEGIN PROG LOAD LOG --</c> framing) into the same <see cref="ExplainReport"/> the recorder builds: states are
/// rebuilt by applying each printed state to the one before (a full state at the entry and at each
/// <c>from X to Y:</c>, the changed registers after each instruction), the failing path by following each path back
/// to the branch it came from, and provenance from the instructions' own text.
/// </summary>
public static partial class KernelLogParser
{
    [GeneratedRegex(@"^(\d+): \(([0-9a-f]{2})\) ([^;]*?)(?:\s+;(.*))?$")]
    private static partial Regex InstructionLine();

    // "     12: .12...6... (85) call ...", since 6.17 with the loop's SCC number first: "  2  12: ...".
    [GeneratedRegex(@"^\s*(?:\d+ +)?(\d+): [.0-9]{10} \(([0-9a-f]{2})\) (.*)$")]
    private static partial Regex LiveRegsLine();

    // Kernel 6.18's stack liveness trace: "(0) frame 0 insn 36 +live -8,-16", "(23,61) live stack update done in 2 iterations".
    [GeneratedRegex(@"^\([\d,]+\) (?:frame \d+ insn \d+ \+|live stack update done)")]
    private static partial Regex StackLivenessLine();

    [GeneratedRegex(@"^(\d+):((?: frame\d+:)? (?:R\d|fp|refs|cb|async_cb).*)$")]
    private static partial Regex StateLine();

    [GeneratedRegex(@"^from (\d+) to (\d+)(?: \(speculative execution\))?:(.*)$")]
    private static partial Regex FromLine();

    [GeneratedRegex(@"^; (.*) @ ([^ ]+):(\d+)$")]
    private static partial Regex SourceLogLine();

    [GeneratedRegex(@"^(\d+): safe$")]
    private static partial Regex SafeLine();

    [GeneratedRegex(@"^(.*\S)(processed \d+ insns \(limit .*)$")]
    private static partial Regex GluedSummary();

    [GeneratedRegex(@"(?<=[(,])id=(\d+)(?=[,)])")]
    private static partial Regex IdField();

    [GeneratedRegex(@"(?<=[(,])r=(\d+)(?=[,)])")]
    private static partial Regex PacketRange();

    [GeneratedRegex(@"prog '([^']+)'")]
    private static partial Regex LibbpfProgramName();

    /// <summary>Lines of the log's trace that are neither states nor errors.</summary>
    private static bool IsTraceNoise(string line) =>
        line.StartsWith("mark_precise:", StringComparison.Ordinal) || line.StartsWith("func#", StringComparison.Ordinal) ||
        line.StartsWith("Live regs before insn:", StringComparison.Ordinal) || line.StartsWith("Validating ", StringComparison.Ordinal) ||
        (line.StartsWith("Func#", StringComparison.Ordinal) && line.EndsWith("is global and assumed valid.", StringComparison.Ordinal)) ||
        line.StartsWith("propagating ", StringComparison.Ordinal) || line.StartsWith("frame ", StringComparison.Ordinal) ||
        line.StartsWith("last_idx ", StringComparison.Ordinal) || line.StartsWith("parent ", StringComparison.Ordinal) ||
        line.StartsWith("regs=", StringComparison.Ordinal) || line.StartsWith("verification time ", StringComparison.Ordinal) ||
        line.StartsWith("stack depth ", StringComparison.Ordinal) || line.StartsWith("SCC ", StringComparison.Ordinal) || StackLivenessLine().IsMatch(line);

    /// <summary>Parses a log from text.</summary>
    public static ExplainReport Parse(string log, string programName = "prog", ExplainOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        using var reader = new StringReader(log);
        return Parse(reader, programName, options);
    }

    /// <summary>Parses a log line by line (any size: the states kept are bounded by <paramref name="options"/>).</summary>
    public static ExplainReport Parse(TextReader reader, string programName = "prog", ExplainOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var state = new Reconstruction(options ?? new ExplainOptions());
        string? line;
        bool inLibbpfFrame = false;
        while ((line = reader.ReadLine()) is not null)
        {
            line = line.TrimEnd();
            if (line.Contains("-- BEGIN PROG LOAD LOG --", StringComparison.Ordinal))
            {
                // libbpf's framing: the program name is in its prefix; start over in case of several.
                if (LibbpfProgramName().Match(line) is { Success: true } m)
                {
                    programName = m.Groups[1].Value;
                }

                state = new Reconstruction(state.Builder.Options);
                inLibbpfFrame = true;
                continue;
            }

            if (inLibbpfFrame && line.Contains("-- END PROG LOAD LOG --", StringComparison.Ordinal))
            {
                break;
            }

            state.Line(line);
        }

        return state.Finish(programName);
    }

    /// <summary>
    /// The instruction the kernel's disassembler text stands for: <paramref name="opcode"/> is the byte in parentheses,
    /// <paramref name="text"/> what follows (<c>r1 = *(u32 *)(r1 +4)</c>). Immediates the log hides (map addresses)
    /// are not recovered; registers and offsets are. Text that cannot be read gives the opcode with its registers guessed.
    /// </summary>
    public static Instruction ParseInstruction(byte opcode, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string source = opcode == Opcode.LoadImm64 && !text.Contains("map[", StringComparison.Ordinal) ? text + " ll" : text;
        try
        {
            var parsed = Assembler.Assemble(source, AssemblySyntax.Llvm);
            if (parsed.Length > 0 && parsed[0].Opcode == opcode)
            {
                return parsed[0];
            }
        }
        catch (AssemblyException)
        {
            // Read below.
        }

        var regs = RegisterToken().Matches(text).Select(m => byte.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        byte dst = regs.Count > 0 ? regs[0] : (byte)0;
        byte src = regs.Count > 1 ? regs[1] : (byte)0;
        return new Instruction(opcode, dst, src, 0, 0);
    }

    [GeneratedRegex(@"\b[rw](\d{1,2})\b")]
    private static partial Regex RegisterToken();

    /// <summary>A state text (<c> frame1: R1=ctx() R10=fp0 fp-8=mmmmmmmm refs=2</c>) as (frame, slot, value) entries.</summary>
    internal static IEnumerable<(int Frame, string Slot, string Text)> StateEntries(string text, int frame)
    {
        int depth = 0, start = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            char c = i < text.Length ? text[i] : ' ';
            if (c is '(' or '[')
            {
                depth++;
            }
            else if (c is ')' or ']')
            {
                depth--;
            }
            else if (c == ' ' && depth <= 0)
            {
                if (i > start)
                {
                    string token = text[start..i];
                    if (token.StartsWith("frame", StringComparison.Ordinal) && token.EndsWith(':') &&
                        int.TryParse(token.AsSpan(5, token.Length - 6), NumberStyles.None, CultureInfo.InvariantCulture, out int f))
                    {
                        frame = f;
                    }
                    else if (token.IndexOf('=', StringComparison.Ordinal) is > 0 and var eq)
                    {
                        string slot = token[..eq];
                        // Liveness and write marks (R1_w, fp-8_rw, R0_D) are not part of the value.
                        if (slot.IndexOf('_', StringComparison.Ordinal) is > 0 and var mark)
                        {
                            slot = slot[..mark];
                        }

                        yield return (frame, slot, token[(eq + 1)..]);
                    }
                    else if (token is "cb" or "async_cb")
                    {
                        yield return (frame, token, "");
                    }
                }

                start = i + 1;
            }
        }
    }

    /// <summary>The walk through the log: the current state, the visits and the paths.</summary>
    private sealed class Reconstruction(ExplainOptions options)
    {
        public ExplainBuilder Builder { get; } = new(options);

        // The current state: (frame, slot) to value; the current frame.
        private readonly Dictionary<(int Frame, string Slot), string> _state = [];
        private int _frame;
        private bool _sawEntry;

        private readonly SortedDictionary<int, ExplainInstruction> _listing = [];
        private readonly SortedDictionary<int, SourceLine> _sources = [];
        private SourceLine? _pendingSource;

        // Every visit (recorded or not), for the failing path: pc, frame, previous visit on its path, recorded visit.
        private readonly List<(int Pc, int Frame, int Prev, int Path, int Recorded)> _steps = [];
        private readonly Dictionary<int, int[]> _recentSnapshots = [];
        private readonly Dictionary<int, Stack<int>> _pushCandidates = [];
        private readonly Dictionary<int, Dictionary<(int Frame, string Slot), string>> _lastStateAt = [];
        private readonly Dictionary<int, int> _lastStepAt = [];
        private int _prevStep = -1;
        private int _lastInstructionStep = -1;

        private string? _summary;
        private string? _error;
        private bool _errorClosed;
        private string? _stateHeader;

        // "to caller at N:" was just read: N, for the "from EXIT to N:" line that may follow (-1 otherwise).
        private int _returnTarget = -1;
        private int _returnedTo = -1;

        public void Line(string line)
        {
            if (line.Length == 0)
            {
                return;
            }

            if (_stateHeader is not null && line.StartsWith(' '))
            {
                // The state after "caller:", "callee:", "returning from callee:" or "to caller at N:".
                // "caller:" and "callee:" print whole frames (the caller's after its r0-r5 are cleared).
                bool full = _stateHeader is "callee:" or "caller:";
                Apply(line, full);
                _returnedTo = _stateHeader == "to caller:" ? _returnTarget : -1;
                _stateHeader = null;
                return;
            }

            _stateHeader = null;
            int returnedTo = _returnedTo;
            if (!IsTraceNoise(line))
            {
                // Precision propagation may come between the return and the "from" line of a pruned caller.
                _returnedTo = -1;
            }

            Match m;
            if (returnedTo >= 0 && (m = FromLine().Match(line)).Success &&
                int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) == returnedTo)
            {
                // After a return the kernel logs the caller's state as a "from EXIT to N:" line (process_bpf_exit_full),
                // but the path goes on: no branch was popped.
                if (m.Groups[3].Value == " safe")
                {
                    Visit(returnedTo, ExplainVisitKind.Pruned);
                    _prevStep = -1;
                }
                else
                {
                    Apply(m.Groups[3].Value, full: true);
                }

                ResetError();
                return;
            }

            if ((m = LiveRegsLine().Match(line)).Success)
            {
                AddListing(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value, m.Groups[3].Value);
            }
            else if ((m = InstructionLine().Match(line)).Success)
            {
                int pc = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                var insn = AddListing(pc, m.Groups[2].Value, m.Groups[3].Value);
                Visit(pc, ExplainVisitKind.Checked);
                _lastInstructionStep = _steps.Count - 1;
                if (IsConditionalJump(insn.Instruction))
                {
                    // A branch point: "from pc to ..." resumes from this state.
                    _lastStateAt[pc] = new Dictionary<(int, string), string>(_state);
                    if (!_pushCandidates.TryGetValue(pc, out var stack))
                    {
                        _pushCandidates[pc] = stack = new Stack<int>();
                    }

                    stack.Push(_steps.Count - 1);
                }

                var ins = insn.Instruction;
                if (ins.Opcode == Opcode.Call || (ins.Class == InstructionClass.Ld && ins.MemoryMode is MemoryMode.Abs or MemoryMode.Ind))
                {
                    // Calls (helpers, kfuncs and bpf-to-bpf alike) and legacy packet loads leave the caller's r0-r5
                    // uninitialised, then set r0; the log prints only what is initialised.
                    for (int r = 0; r <= 5; r++)
                    {
                        _state.Remove((_frame, "R" + r.ToString(CultureInfo.InvariantCulture)));
                    }
                }

                if (m.Groups[4].Success)
                {
                    var before = IsConditionalJump(ins) ? new Dictionary<(int, string), string>(_state) : null;
                    var printed = Apply(m.Groups[4].Value, full: false);
                    if (before is not null)
                    {
                        SpreadToCopies(printed, before);
                    }
                }

                ResetError();
            }
            else if ((m = SafeLine().Match(line)).Success)
            {
                Visit(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), ExplainVisitKind.Pruned);
                _prevStep = -1;
                ResetError();
            }
            else if ((m = FromLine().Match(line)).Success)
            {
                int from = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                int to = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
                Builder.NewPath(from, to);
                // The branch was pushed at the latest visit of the jump not yet resumed (a return resumes at the exit).
                _prevStep = _pushCandidates.TryGetValue(from, out var stack) && stack.Count > 0 ? stack.Pop() : _lastStepAt.GetValueOrDefault(from, -1);
                // The outer frames are those of the branch point; the line prints the current frame.
                _state.Clear();
                if (_lastStateAt.TryGetValue(from, out var atBranch))
                {
                    foreach (var (key, value) in atBranch)
                    {
                        _state[key] = value;
                    }
                }

                if (m.Groups[3].Value == " safe")
                {
                    // The resumed state was already proven safe there: a path of one pruned visit.
                    Visit(to, ExplainVisitKind.Pruned);
                    _prevStep = -1;
                }
                else
                {
                    Apply(m.Groups[3].Value, full: true);
                }

                ResetError();
            }
            else if ((m = StateLine().Match(line)).Success)
            {
                Apply(m.Groups[2].Value, full: !_sawEntry);
                _sawEntry = true;
                ResetError();
            }
            else if ((m = SourceLogLine().Match(line)).Success)
            {
                _pendingSource = new SourceLine(-1, m.Groups[2].Value, int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), 0, m.Groups[1].Value);
            }
            else if (line is "caller:" or "callee:" or "returning from callee:" || (line.StartsWith("to caller at ", StringComparison.Ordinal) && line.EndsWith(':')))
            {
                _stateHeader = line.StartsWith("to caller", StringComparison.Ordinal) ? "to caller:" : line;
                _returnTarget = _stateHeader == "to caller:" &&
                    int.TryParse(line.AsSpan(13, line.Length - 14), NumberStyles.None, CultureInfo.InvariantCulture, out int target) ? target : -1;
            }
            else if (GluedSummary().Match(line) is { Success: true } glued)
            {
                // Some kernel messages lack their newline: "expected prog array map for tail callprocessed 3 insns ...".
                Line(glued.Groups[1].Value);
                Line(glued.Groups[2].Value);
            }
            else if (line.StartsWith("processed ", StringComparison.Ordinal))
            {
                _summary = line;
                _errorClosed = true;
            }
            else if (!IsTraceNoise(line) && !line.StartsWith(' ') && !_errorClosed && _error is null)
            {
                // The first line after the trace that is none of the above: the error (explanations may follow it).
                _error = line;
            }
        }

        private void ResetError()
        {
            _error = null;
            _errorClosed = false;
        }

        private ExplainInstruction AddListing(int pc, string opcode, string text)
        {
            if (_listing.TryGetValue(pc, out var known) && _pendingSource is null)
            {
                return known;
            }

            byte op = byte.Parse(opcode, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (_pendingSource is { } source)
            {
                _sources[pc] = source with { Pc = pc };
                _pendingSource = null;
            }

            var entry = known ?? new ExplainInstruction(pc, "(" + opcode + ") " + text, ParseInstruction(op, text), null);
            _listing[pc] = entry;
            return entry;
        }

        private static bool IsConditionalJump(Instruction insn) =>
            insn.Class is InstructionClass.Jmp or InstructionClass.Jmp32 &&
            insn.JumpOperation is not (JumpOperation.Ja or JumpOperation.Call or JumpOperation.Exit);

        private List<(int Frame, string Slot, string Text)> Apply(string text, bool full)
        {
            // An empty print (an instruction line ending in ';') still says that references are gone.
            var entries = StateEntries(text.Trim(), 0).ToList();
            int frame = entries.Count > 0 ? entries[0].Frame : _frame;
            if (full)
            {
                foreach (var key in _state.Keys.Where(k => k.Frame >= frame).ToList())
                {
                    _state.Remove(key);
                }
            }
            else if (frame < _frame)
            {
                // Back in the caller: the callee's frame is gone.
                foreach (var key in _state.Keys.Where(k => k.Frame > frame).ToList())
                {
                    _state.Remove(key);
                }
            }

            _frame = frame;
            foreach (var (f, slot, value) in entries)
            {
                _state[(f, slot)] = value;
            }

            // A released reference invalidates every pointer holding it (an unknown scalar for a privileged loader).
            if (_state.TryGetValue((frame, "refs"), out var heldRefs))
            {
                var still = entries.Where(e => e.Slot == "refs").SelectMany(e => e.Text.Split(',')).ToHashSet();
                foreach (string gone in heldRefs.Split(',').Where(r => !still.Contains(r)))
                {
                    foreach (var (key, value) in _state.ToList())
                    {
                        if (value.Contains("ref_obj_id=" + gone + ",", StringComparison.Ordinal) || value.Contains("ref_obj_id=" + gone + ")", StringComparison.Ordinal))
                        {
                            _state[key] = "scalar()";
                        }
                    }
                }
            }

            // References and the callback mark are printed with every state that has them: absent means gone.
            foreach (string always in (string[])["refs", "cb", "async_cb"])
            {
                if (!entries.Any(e => e.Slot == always))
                {
                    _state.Remove((frame, always));
                }
            }

            return entries;
        }

        /// <summary>
        /// What a comparison learns applies to every copy of the compared value, but the log prints only the compared
        /// registers: a null check makes each copy with the same id non-null (<c>mark_ptr_or_null_regs</c>), a packet
        /// bound gives each packet pointer with the same id the new range (<c>find_good_pkt_pointers</c>).
        /// </summary>
        private void SpreadToCopies(List<(int Frame, string Slot, string Text)> printed, Dictionary<(int, string), string> before)
        {
            var keys = printed.Select(e => (e.Frame, e.Slot)).ToHashSet();
            foreach (var (frame, slot, text) in printed)
            {
                string? id = IdOf(text);
                if (before.TryGetValue((frame, slot), out var old) && old != text && old.Contains("_or_null(", StringComparison.Ordinal))
                {
                    // Copies of a maybe-null pointer are exact copies: each becomes what the checked one became.
                    foreach (var (key, value) in _state.ToList())
                    {
                        if (!keys.Contains(key) && value == old)
                        {
                            _state[key] = text;
                        }
                    }
                }

                if (text.StartsWith("pkt(", StringComparison.Ordinal) && RangeOf(text) is { } range)
                {
                    foreach (var (key, value) in _state.ToList())
                    {
                        if (!keys.Contains(key) && value.StartsWith("pkt(", StringComparison.Ordinal) && IdOf(value) == id &&
                            RangeOf(value) is { } known && known < range)
                        {
                            _state[key] = PacketRange().Replace(value, "r=" + range.ToString(CultureInfo.InvariantCulture), 1);
                        }
                    }
                }
            }
        }

        private static string? IdOf(string text) => IdField().Match(text) is { Success: true } m ? m.Groups[1].Value : null;

        // Ranges above 0xffff are the kernel's marks for pointers at or beyond the packet end, not bounds.
        private static int? RangeOf(string text) =>
            PacketRange().Match(text) is { Success: true } m && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int r) ? r : null;

        private void Visit(int pc, ExplainVisitKind kind)
        {
            int[] snapshot = Snapshot();
            int recorded = -1;
            if (Builder.MayRecord(pc) && Builder.State(snapshot) is var id and >= 0)
            {
                recorded = Builder.AddVisit(pc, _frame, id, kind);
            }

            int step = _steps.Count;
            _steps.Add((pc, _frame, _prevStep, Builder.CurrentPath, recorded));
            _lastStepAt[pc] = step;
            if (recorded < 0)
            {
                _recentSnapshots[step] = snapshot;
                _recentSnapshots.Remove(step - Builder.Options.PathWindow);
            }

            _prevStep = step;
        }

        private int[] Snapshot() =>
        [
            .. _state.OrderBy(e => e.Key.Frame).ThenBy(e => SlotOrder(e.Key.Slot)).ThenBy(e => e.Key.Slot, StringComparer.Ordinal)
                .Select(e => Builder.Value(e.Key.Frame, e.Key.Slot, e.Value)),
        ];

        // Registers by number, then stack slots from fp-8 down, then the rest: the order the log prints them.
        private static int SlotOrder(string slot) =>
            slot.StartsWith('R') && int.TryParse(slot.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int r) ? r
            : slot.StartsWith("fp-", StringComparison.Ordinal) && int.TryParse(slot.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out int off) ? 100 + off
            : int.MaxValue;

        public ExplainReport Finish(string programName)
        {
            var sourceList = _sources.Values.ToList();
            var listing = _listing.Values.Select(i => i with { Source = SourceLine.Find(sourceList, i.Pc) }).ToList();
            var failing = new List<int>();
            int errorPc = -1;
            if (_error is not null && _lastInstructionStep >= 0)
            {
                errorPc = _steps[_lastInstructionStep].Pc;
                var chain = new List<int>();
                for (int s = _lastInstructionStep; s >= 0 && chain.Count <= _steps.Count; s = _steps[s].Prev)
                {
                    chain.Add(s);
                }

                chain.Reverse();
                int first = Math.Max(0, chain.Count - Builder.Options.PathWindow);
                if (first > 0)
                {
                    Builder.Note(string.Create(CultureInfo.InvariantCulture, $"the failing path's first {first} steps are left out; its last {chain.Count - first} are shown"));
                }

                foreach (int s in chain.Skip(first))
                {
                    var step = _steps[s];
                    int visit = step.Recorded;
                    if (visit < 0)
                    {
                        int state = _recentSnapshots.TryGetValue(s, out var snap) ? Builder.State(snap, force: true) : -1;
                        visit = Builder.AddLateVisit(step.Pc, step.Frame, step.Path, state, ExplainVisitKind.Checked);
                    }

                    failing.Add(visit);
                }
            }

            if (_steps.Count == 0)
            {
                Builder.Note("the log has no instruction trace (the kernel prints the failing path at log level 1 and every path at level 2)");
            }

            return Builder.Finish(programName, "kernel verifier log", listing, failing, errorPc, _error,
                _summary ?? "(the log has no closing 'processed' line: it may be truncated)");
        }
    }
}
